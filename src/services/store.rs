//! Token storage as the screens see it: metadata (no secrets) plus the
//! secret in the platform keystore, added in two phases.
use softtoken_core::stk1::messages::FinishRequest;
use softtoken_core::{Secret, Serial};
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

pub use softtoken_store::ErrorKind;

/// What the app keeps about a token besides its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMeta {
    /// Serial shown to the customer.
    pub serial: Serial,
    /// Bank id from the directory.
    pub bank_id: String,
    /// Bank name at pairing time.
    pub bank_name: String,
    /// Token service base URL.
    pub url: String,
    /// Pairing time, Unix seconds.
    pub paired_at: u64,
    /// Register in web banking before this time (Unix seconds), if known.
    pub bind_by: Option<u64>,
    /// Last measured `server_time - device_time` in seconds, if known.
    pub clock_offset: Option<i64>,
}

/// A pairing that was begun (secret in the keystore, entry `pending`) but
/// never confirmed: the app stopped, or lost the bank's answer, between
/// `begin_add` and `commit_add`. Not listed by [`TokenStore::list`].
#[derive(Clone, PartialEq, Eq)]
pub struct PendingAdd {
    /// The token as it was being added.
    pub meta: TokenMeta,
    /// The STK1 `finish` body to resend, if it was kept.
    pub finish: Option<FinishRequest>,
}

impl fmt::Debug for PendingAdd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAdd")
            .field("meta", &self.meta)
            .field("finish", &self.finish.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Why the store failed, with the store's typed fields kept (screens decide
/// by variant or [`StoreError::kind`], never by text). Texts carry no secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The platform keystore is unavailable, locked or reported an error.
    #[error("keystore {}: {detail}", kind.as_str())]
    Keystore {
        /// [`ErrorKind::KeystoreUnavailable`], [`ErrorKind::KeystoreLocked`]
        /// or [`ErrorKind::KeystoreFailure`].
        kind: ErrorKind,
        /// The platform's own words (no secret).
        detail: String,
    },
    /// The metadata file is damaged; it was left in place, nothing was
    /// deleted.
    #[error("token list {path} damaged: {reason}")]
    Corrupted {
        /// The damaged file.
        path: String,
        /// What is wrong with it (no secret: the file never holds one).
        reason: String,
    },
    /// The metadata file was written by a newer app version.
    #[error("token list written by a newer app version")]
    NewerVersion,
    /// A token's secret is missing from the keystore.
    #[error("secret of {serial} missing from keystore")]
    SecretMissing {
        /// Serial concerned.
        serial: Serial,
    },
    /// The keystore holds something for the token that is not its secret.
    #[error("secret of {serial} in the keystore is unreadable")]
    SecretUnreadable {
        /// Serial concerned.
        serial: Serial,
    },
    /// The serial is not in the store.
    #[error("no token {serial}")]
    NotFound {
        /// Serial concerned.
        serial: Serial,
    },
    /// Another error of the token store (a file of the profile, a token
    /// in the wrong phase, …), with its kind.
    #[error("storage {}: {detail}", kind.as_str())]
    Other {
        /// The store's kind of error.
        kind: ErrorKind,
        /// The store's text (no secret).
        detail: String,
    },
    /// A failure of the app around the store (a store task that failed,
    /// a stored secret that keys no generator).
    #[error("storage: {0}")]
    Io(String),
}

impl StoreError {
    /// The stable kind of this error, in the token store's terms.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Keystore { kind, .. } => *kind,
            StoreError::Corrupted { .. } => ErrorKind::MetadataCorrupt,
            StoreError::NewerVersion => ErrorKind::MetadataTooNew,
            StoreError::SecretMissing { .. } => ErrorKind::SecretMissing,
            StoreError::SecretUnreadable { .. } => ErrorKind::SecretUnreadable,
            StoreError::NotFound { .. } => ErrorKind::UnknownToken,
            StoreError::Other { kind, .. } => *kind,
            StoreError::Io(_) => ErrorKind::Io,
        }
    }

    /// A locked keystore (the person can unlock it and reload).
    pub fn keystore_locked(detail: impl Into<String>) -> StoreError {
        StoreError::Keystore {
            kind: ErrorKind::KeystoreLocked,
            detail: detail.into(),
        }
    }
}

/// The token store. Contract: a failure at any step leaves neither
/// metadata without a secret nor a secret without metadata visible in
/// `list`; nothing is deleted on error.
pub trait TokenStore: Send + Sync {
    /// Committed tokens in pairing order.
    fn list(&self) -> Result<Vec<TokenMeta>, StoreError>;
    /// The secret of a committed token.
    fn secret(&self, serial: &Serial) -> Result<Secret, StoreError>;
    /// Phase 1: saves a pending record and the secret in the keystore;
    /// `finish` is kept so it can be resent after a crash.
    fn begin_add(
        &self,
        meta: &TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError>;
    /// Phase 2: makes a pending token visible.
    fn commit_add(&self, serial: &Serial) -> Result<(), StoreError>;
    /// Drops a pending token (bank refused `finish`).
    fn abort_add(&self, serial: &Serial) -> Result<(), StoreError>;
    /// Pairings begun and not yet committed or aborted, oldest first.
    fn pending_adds(&self) -> Result<Vec<PendingAdd>, StoreError>;
    /// Removes a token and its secret.
    fn remove(&self, serial: &Serial) -> Result<(), StoreError>;
    /// Records what pairing learned: the registration deadline and, when
    /// known, the clock offset (`server - device` seconds) measured at
    /// `measured_at`. Metadata only.
    fn record_pairing(
        &self,
        serial: &Serial,
        bind_by: u64,
        clock_offset: Option<i64>,
        measured_at: u64,
    ) -> Result<(), StoreError>;
}

/// Runs `f` on `store` on tokio's blocking pool, so that keystore (D-Bus)
/// and file I/O never stall the UI thread; runs it inline when no tokio
/// runtime is current. A panicked task becomes [`StoreError::Io`].
pub async fn blocking<T, F>(store: &Arc<dyn TokenStore>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&dyn TokenStore) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => rt
            .spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| StoreError::Io(format!("store task failed: {e}")))?,
        Err(_) => f(&*store),
    }
}
