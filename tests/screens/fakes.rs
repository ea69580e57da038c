//! The test doubles live in `softtoken::services::testing` (one copy for
//! the crate's unit tests and these screen tests); this module re-exports
//! the banks and constants under their old path.
pub use softtoken::services::testing::{FakeBank, OfflineBank, BANK_ID, KID, RFC_SEED, URL};
