//! # softtoken-store
//!
//! Token storage of the softtoken app, UI-free and synchronous (an async
//! app calls it from a blocking thread, e.g. `spawn_blocking`).
//!
//! * Secrets live **only** in the platform keystore, through `keyring-core`
//!   ([`Keystore`]): Secret Service over zbus on Linux, the protected-data
//!   store on iOS (this device only, no iCloud), the login keychain on
//!   macOS, the Android keystore, the Windows credential manager. There is
//!   no fallback: without a keystore, [`Keystore::platform`] fails with
//!   [`StoreError::KeystoreUnavailable`].
//! * Each profile has its own [`Namespace`] (keystore service name); the
//!   keystore user name is the token's serial.
//! * Metadata without secrets ([`TokenMeta`]) is a versioned JSON file
//!   `<profile dir>/tokens.json`, replaced atomically (temp file, fsync,
//!   rename, fsync of the directory).
//! * [`TokenStore`] keeps both in step with a small journal (phases
//!   [`Phase::Pending`], [`Phase::Ready`], [`Phase::Removing`]);
//!   [`TokenStore::open`] completes or rolls back what a crash interrupted
//!   and says so ([`Recovered`]).
//! * Errors are [`StoreError`] with plain-language texts and a stable
//!   [`ErrorKind`] for the app's catalogue.
//!
//! ```no_run
//! use softtoken_store::{Keystore, Namespace, TokenStore, TokenMeta, BankRef};
//! # fn demo(paired: softtoken_core::stk1::client::Paired, dir: &std::path::Path)
//! # -> Result<(), softtoken_store::StoreError> {
//! let keystore = Keystore::platform(Namespace::for_profile_dir(dir)?)?;
//! let (mut store, recovered) = TokenStore::open(dir, keystore)?;
//! # let _ = recovered;
//! let bank = BankRef { id: "demo".into(), name: "Demo Shinkin".into(), url: "http://127.0.0.1:8080".into() };
//! let meta = TokenMeta::new(paired.serial.clone(), bank, paired.params, 1_700_000_000);
//! store.begin_add(meta, &paired.secret, Some(&paired.finish_request))?;
//! // … POST finish, and when the bank says "issued":
//! store.commit_add(&paired.serial)?;
//! let secret = store.secret(&paired.serial)?;
//! # let _ = secret;
//! # Ok(()) }
//! ```
//!
//! Contracts common to the whole crate: no logging; no secret in any file,
//! error text or `Debug` output; the in-memory keystores of the `testing` module
//! exist only with the `test-store` feature.
//!
//! The design, file format and recovery rules are in `docs/storage.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The workspace denies unwrap/expect (Cargo.toml `[workspace.lints]`);
// unit tests may use them.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod keystore;
pub mod metadata;
mod store;
mod token;

#[cfg(any(test, feature = "test-store"))]
pub mod testing;

pub use error::{ErrorKind, StoreError};
pub use keystore::{Keystore, Namespace};
pub use store::{Recovered, TokenStore};
pub use token::{BankRef, BankState, ClockOffset, PendingFinish, Phase, TokenEntry, TokenMeta};

#[cfg(test)]
mod tests;
