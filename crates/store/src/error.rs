//! The store's error type and the stable kinds the UI maps to its texts.

use softtoken_core::Serial;
use std::path::PathBuf;
use thiserror::Error;

/// Why a storage operation failed.
///
/// Contract:
/// * the `Display` text is plain language a person can act on, and carries
///   only non-secret context (serials, paths, platform error texts, never a
///   secret, a code or keystore bytes);
/// * every variant has a stable [`ErrorKind`] ([`StoreError::kind`]) that the
///   app maps to its own (e.g. Japanese) catalogue;
/// * an operation that returns an error has deleted nothing: no secret and
///   no metadata entry is lost (see the crate documentation for the journal).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// There is no platform keystore to talk to (no Secret Service on the
    /// session bus, no Android context, …). There is never a fallback to a
    /// file or to memory.
    #[error(
        "The system keystore is not available ({detail}). On Linux a Secret Service \
         such as GNOME Keyring must be running and unlocked. Nothing was changed."
    )]
    KeystoreUnavailable {
        /// The platform's own words (no secret).
        detail: String,
    },
    /// The keystore exists but refused access (locked, prompt dismissed,
    /// permission denied).
    #[error(
        "The system keystore refused access; it may be locked. Unlock it and try again. \
         Nothing was deleted. ({detail})"
    )]
    KeystoreLocked {
        /// The platform's own words (no secret).
        detail: String,
    },
    /// The keystore answered with an error.
    #[error("The system keystore reported an error: {detail}. Nothing was deleted.")]
    KeystoreFailure {
        /// The platform's own words (no secret).
        detail: String,
    },
    /// The token's metadata exists but its key is not in the keystore (for
    /// example deleted with a keyring manager, or the profile directory was
    /// moved). The token cannot show codes; remove it and pair again.
    #[error(
        "The key of token {serial} is missing from the system keystore. This token can no \
         longer show codes: remove it and pair a new one (the bank's 交換 procedure)."
    )]
    SecretMissing {
        /// The token concerned.
        serial: Serial,
    },
    /// The keystore holds something for the token that is not a key written
    /// by this app. Nothing was changed.
    #[error(
        "The key of token {serial} in the system keystore is unreadable. Nothing was changed."
    )]
    SecretUnreadable {
        /// The token concerned.
        serial: Serial,
    },
    /// The token list file cannot be read as a token list. The file was left
    /// exactly as it is; the store refuses to open (and so to write) until the
    /// person decides, see [`crate::TokenStore::set_aside`].
    #[error(
        "The token list {path} is damaged ({reason}). It was left untouched and nothing \
         was deleted; the keys stay in the system keystore. Restore the file from a backup, \
         or set it aside to start with an empty token list."
    )]
    MetadataCorrupt {
        /// The damaged file (still at its place).
        path: PathBuf,
        /// What is wrong, e.g. the JSON parser's message (no secret: the
        /// file never holds one).
        reason: String,
    },
    /// The token list file was written by a newer version of the app. It was
    /// left untouched; the store refuses to open until the app is updated or
    /// the person sets the file aside.
    #[error(
        "The token list {path} was written by a newer version of this app (format {found}; \
         this version reads format {supported}). Update the app. The file was left untouched."
    )]
    MetadataTooNew {
        /// The file (still at its place).
        path: PathBuf,
        /// Its format version.
        found: u64,
        /// The newest format this build reads.
        supported: u32,
    },
    /// Reading or writing a file of the profile directory failed.
    #[error("Could not {action} {path}: {source}. Nothing was deleted.")]
    Io {
        /// What was attempted ("write", "read", "create", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// [`crate::TokenStore::begin_add`] for a serial the store already has.
    #[error("Token {serial} is already stored.")]
    AlreadyExists {
        /// The token concerned.
        serial: Serial,
    },
    /// No token with this serial in the store.
    #[error("There is no token {serial} in this app.")]
    UnknownToken {
        /// The token concerned.
        serial: Serial,
    },
    /// The operation does not apply to the token in its current journal
    /// phase (e.g. `commit_add` of a ready token, `secret` of a token being
    /// removed).
    #[error("Token {serial} is {phase}; this operation needs it to be {expected}.")]
    WrongPhase {
        /// The token concerned.
        serial: Serial,
        /// Its phase.
        phase: crate::Phase,
        /// The phase(s) the operation needs.
        expected: &'static str,
    },
    /// A profile name that cannot be used as a keystore namespace.
    #[error("The profile name {name:?} is not usable: {reason}.")]
    InvalidNamespace {
        /// The name given.
        name: String,
        /// Why.
        reason: &'static str,
    },
}

/// Stable, machine-readable kind of a [`StoreError`], for the app's message
/// catalogue. [`ErrorKind::as_str`] never changes for an existing kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`StoreError::KeystoreUnavailable`]
    KeystoreUnavailable,
    /// [`StoreError::KeystoreLocked`]
    KeystoreLocked,
    /// [`StoreError::KeystoreFailure`]
    KeystoreFailure,
    /// [`StoreError::SecretMissing`]
    SecretMissing,
    /// [`StoreError::SecretUnreadable`]
    SecretUnreadable,
    /// [`StoreError::MetadataCorrupt`]
    MetadataCorrupt,
    /// [`StoreError::MetadataTooNew`]
    MetadataTooNew,
    /// [`StoreError::Io`]
    Io,
    /// [`StoreError::AlreadyExists`]
    AlreadyExists,
    /// [`StoreError::UnknownToken`]
    UnknownToken,
    /// [`StoreError::WrongPhase`]
    WrongPhase,
    /// [`StoreError::InvalidNamespace`]
    InvalidNamespace,
}

impl ErrorKind {
    /// The stable snake_case name, e.g. `"keystore_unavailable"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::KeystoreUnavailable => "keystore_unavailable",
            ErrorKind::KeystoreLocked => "keystore_locked",
            ErrorKind::KeystoreFailure => "keystore_failure",
            ErrorKind::SecretMissing => "secret_missing",
            ErrorKind::SecretUnreadable => "secret_unreadable",
            ErrorKind::MetadataCorrupt => "metadata_corrupt",
            ErrorKind::MetadataTooNew => "metadata_too_new",
            ErrorKind::Io => "io",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::UnknownToken => "unknown_token",
            ErrorKind::WrongPhase => "wrong_phase",
            ErrorKind::InvalidNamespace => "invalid_namespace",
        }
    }
}

impl StoreError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::KeystoreUnavailable { .. } => ErrorKind::KeystoreUnavailable,
            StoreError::KeystoreLocked { .. } => ErrorKind::KeystoreLocked,
            StoreError::KeystoreFailure { .. } => ErrorKind::KeystoreFailure,
            StoreError::SecretMissing { .. } => ErrorKind::SecretMissing,
            StoreError::SecretUnreadable { .. } => ErrorKind::SecretUnreadable,
            StoreError::MetadataCorrupt { .. } => ErrorKind::MetadataCorrupt,
            StoreError::MetadataTooNew { .. } => ErrorKind::MetadataTooNew,
            StoreError::Io { .. } => ErrorKind::Io,
            StoreError::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            StoreError::UnknownToken { .. } => ErrorKind::UnknownToken,
            StoreError::WrongPhase { .. } => ErrorKind::WrongPhase,
            StoreError::InvalidNamespace { .. } => ErrorKind::InvalidNamespace,
        }
    }

    /// `true` for the errors of the keystore itself (unavailable, locked,
    /// failure): the app shows the message and lets the person retry.
    pub fn is_keystore(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::KeystoreUnavailable | ErrorKind::KeystoreLocked | ErrorKind::KeystoreFailure
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
