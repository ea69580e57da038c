//! Services the screens reach through typed context hooks.
//!
//! Every screen gets its collaborators from the Dioxus context, never from
//! globals, so component tests can inject a fixed clock, an in-memory store
//! and a scripted bank (`testing`, only in test builds). The modules are
//! UI-free: the screens (`crate::ui`) call them and render their results.
pub mod bank;
pub mod clipboard;
pub mod clock;
pub mod directory;
pub mod http;
pub mod keystore;
pub mod pairing;
pub mod recovery;
pub mod scanner;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod txn_link;

pub use bank::{BankClient, BankStatus, ClientError};
pub use clipboard::Clipboard;
pub use clock::{Clock, SystemClock};
pub use directory::{BankDirectory, BankEntry, DirectoryError, PinnedKey};
pub use pairing::{Paired, PairingError};
pub use recovery::{recover_pending, Recovery};
pub use store::{ErrorKind, PendingAdd, StoreError, TokenMeta, TokenStore};

use std::sync::Arc;

/// All services of one app instance, provided as one root context
/// (`Send + Sync` because the desktop launcher requires it).
#[derive(Clone)]
pub struct Services {
    /// Source of the current time.
    pub clock: Arc<dyn Clock>,
    /// Token metadata and secrets.
    pub store: Arc<dyn TokenStore>,
    /// The banks' token services.
    pub bank: Arc<dyn BankClient>,
    /// Banks this build trusts.
    pub directory: Arc<BankDirectory>,
    /// Where copied codes go.
    pub clipboard: Arc<dyn Clipboard>,
}
