//! The platform keystore, reached through `keyring-core`, under one
//! namespace per app profile.

use crate::StoreError;
use softtoken_core::{Secret, Serial};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The keystore "service" under which one app profile keeps its secrets.
///
/// Every keystore item of softtoken has service = [`Namespace::service`] and
/// user (account) = the token's compact serial. Two profiles (two QA
/// simulators started with different `--profile` directories) have
/// different namespaces and never see each other's secrets.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    service: String,
}

impl Namespace {
    /// The prefix of every service name.
    pub const APP: &'static str = "softtoken";

    /// The namespace of the app's normal (only) profile on a phone or a
    /// desktop: service `softtoken`.
    pub fn default_profile() -> Namespace {
        Namespace {
            service: Self::APP.to_string(),
        }
    }

    /// The namespace of a named profile: service `softtoken.profile.<id>`.
    /// `id` is 1 to 64 characters from `A-Z a-z 0-9 - _`.
    pub fn profile(id: &str) -> Result<Namespace, StoreError> {
        let invalid = |reason| StoreError::InvalidNamespace {
            name: id.to_string(),
            reason,
        };
        if id.is_empty() || id.len() > 64 {
            return Err(invalid("it must have 1 to 64 characters"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid("only letters, digits, '-' and '_' are allowed"));
        }
        Ok(Namespace {
            service: format!("{}.profile.{id}", Self::APP),
        })
    }

    /// The namespace of a profile directory (the simulator's `--profile
    /// DIR`): `softtoken.profile.d-<16 hex digits of SHA-256 of the
    /// directory's canonical path>`. The directory must exist (create it
    /// first). Moving or renaming the directory changes the namespace: its
    /// tokens then report [`StoreError::SecretMissing`].
    pub fn for_profile_dir(dir: &Path) -> Result<Namespace, StoreError> {
        use sha2::Digest;
        let canonical = dir
            .canonicalize()
            .map_err(|e| StoreError::io("resolve", dir, e))?;
        let digest = sha2::Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Namespace::profile(&format!("d-{hex}"))
    }

    /// The keystore service name, e.g. `softtoken` or
    /// `softtoken.profile.qa-old`.
    pub fn service(&self) -> &str {
        &self.service
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({})", self.service)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.service)
    }
}

/// A keystore failure before the serial is known to the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    Unavailable(String),
    Locked(String),
    Failure(String),
    Unreadable,
}

impl Fault {
    fn into_error(self, serial: &Serial) -> StoreError {
        match self {
            Fault::Unavailable(detail) => StoreError::KeystoreUnavailable { detail },
            Fault::Locked(detail) => StoreError::KeystoreLocked { detail },
            Fault::Failure(detail) => StoreError::KeystoreFailure { detail },
            Fault::Unreadable => StoreError::SecretUnreadable {
                serial: serial.clone(),
            },
        }
    }
}

/// What a keystore back end does: three calls keyed by (service, user).
/// Values are the secret's strict base32 text (valid UTF-8, which every
/// store accepts, KWallet included).
pub(crate) trait Backend: Send + Sync {
    /// A short, non-secret description for `Debug`.
    fn describe(&self) -> String;
    /// Creates or replaces the item.
    fn put(&self, service: &str, user: &str, value: &[u8]) -> Result<(), Fault>;
    /// The item's value, `None` if there is no item.
    fn get(&self, service: &str, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Fault>;
    /// Deletes the item; `false` if there was none.
    fn delete(&self, service: &str, user: &str) -> Result<bool, Fault>;
}

/// The place where token secrets live, under one [`Namespace`].
///
/// Contract:
/// * [`Keystore::platform`] is the only production constructor: it reaches
///   the platform store (Secret Service on Linux, protected data on iOS,
///   login keychain on macOS, Android keystore, Windows credential manager)
///   or fails with [`StoreError::KeystoreUnavailable`]; there is never a
///   fallback to memory or to a file;
/// * in-memory keystores exist only with the `test-store` cargo feature
///   (see `testing`), for tests;
/// * every call is synchronous and may block on IPC (call it from a
///   blocking thread in an async app); it never logs;
/// * `Debug` shows the namespace and the back end, never a secret.
///
/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct Keystore {
    backend: Arc<dyn Backend>,
    namespace: Namespace,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("namespace", &self.namespace)
            .field("backend", &self.backend.describe())
            .finish()
    }
}

impl Keystore {
    /// Connects to the platform keystore for `namespace`.
    ///
    /// Errors: [`StoreError::KeystoreUnavailable`] when the platform store
    /// cannot be reached (on Linux: no session bus, or no Secret Service
    /// on it). Does not touch any item.
    pub fn platform(namespace: Namespace) -> Result<Keystore, StoreError> {
        let backend = platform::connect().map_err(|fault| match fault {
            Fault::Unavailable(detail) | Fault::Locked(detail) | Fault::Failure(detail) => {
                StoreError::KeystoreUnavailable { detail }
            }
            Fault::Unreadable => StoreError::KeystoreUnavailable {
                detail: "unexpected answer".into(),
            },
        })?;
        Ok(Keystore { backend, namespace })
    }

    #[cfg_attr(not(any(test, feature = "test-store")), allow(dead_code))]
    pub(crate) fn with_backend(backend: Arc<dyn Backend>, namespace: Namespace) -> Keystore {
        Keystore { backend, namespace }
    }

    /// The namespace of this keystore.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Stores (creates or replaces) the secret of `serial`.
    pub fn put(&self, serial: &Serial, secret: &Secret) -> Result<(), StoreError> {
        let text = secret.to_base32();
        self.backend
            .put(self.namespace.service(), serial.as_str(), text.as_bytes())
            .map_err(|f| f.into_error(serial))
    }

    /// The secret of `serial`, `None` if the keystore has no item for it.
    /// An item that is not strict base32 gives [`StoreError::SecretUnreadable`].
    pub fn get(&self, serial: &Serial) -> Result<Option<Secret>, StoreError> {
        let value = self
            .backend
            .get(self.namespace.service(), serial.as_str())
            .map_err(|f| f.into_error(serial))?;
        let Some(value) = value else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&value).map_err(|_| StoreError::SecretUnreadable {
            serial: serial.clone(),
        })?;
        match Secret::from_base32(text) {
            Ok(secret) if !secret.is_empty() => Ok(Some(secret)),
            _ => Err(StoreError::SecretUnreadable {
                serial: serial.clone(),
            }),
        }
    }

    /// Deletes the secret of `serial`; `Ok(false)` if there was none
    /// (deleting is idempotent).
    pub fn delete(&self, serial: &Serial) -> Result<bool, StoreError> {
        self.backend
            .delete(self.namespace.service(), serial.as_str())
            .map_err(|f| f.into_error(serial))
    }
}

/// `keyring-core` back end shared by every platform.
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "ios",
        target_os = "macos",
        target_os = "android",
        target_os = "windows"
    )),
    allow(dead_code)
)]
mod keyring_backend {
    use super::{Backend, Fault};
    use keyring_core::{CredentialStore, Entry, Error};
    use std::collections::HashMap;
    use std::sync::Arc;
    use zeroize::Zeroizing;

    /// One `keyring-core` credential store plus the entry modifiers the
    /// platform needs (e.g. the iOS access policy).
    pub(crate) struct KeyringBackend {
        pub(crate) store: Arc<CredentialStore>,
        pub(crate) modifiers: &'static [(&'static str, &'static str)],
        pub(crate) name: &'static str,
    }

    /// Maps a keyring error to a fault without ever formatting the error's
    /// payload bytes (`BadEncoding`/`BadDataFormat` carry the secret).
    pub(crate) fn fault(error: Error) -> Fault {
        match error {
            Error::NoStorageAccess(e) => Fault::Locked(e.to_string()),
            Error::PlatformFailure(e) => Fault::Failure(e.to_string()),
            Error::BadEncoding(_) | Error::BadDataFormat(..) => Fault::Unreadable,
            Error::BadStoreFormat(reason) => {
                Fault::Failure(format!("store data malformed: {reason}"))
            }
            Error::TooLong(name, len) => Fault::Failure(format!("{name} longer than {len}")),
            Error::Invalid(attr, reason) => Fault::Failure(format!("{attr} invalid: {reason}")),
            Error::Ambiguous(items) => {
                Fault::Failure(format!("{} items match one token", items.len()))
            }
            Error::NoDefaultStore => Fault::Unavailable("no credential store".into()),
            Error::NotSupportedByStore(what) => Fault::Failure(format!("unsupported: {what}")),
            Error::NoEntry => Fault::Failure("no entry".into()),
            _ => Fault::Failure("unknown keystore error".into()),
        }
    }

    impl KeyringBackend {
        fn entry(&self, service: &str, user: &str) -> Result<Entry, Fault> {
            let label = format!("softtoken token {user} ({service})");
            let mut mods: HashMap<&str, &str> = self.modifiers.iter().copied().collect();
            if self.name == "Secret Service" {
                mods.insert("label", &label);
            }
            let mods = (!mods.is_empty()).then_some(&mods);
            self.store.build(service, user, mods).map_err(fault)
        }
    }

    impl Backend for KeyringBackend {
        fn describe(&self) -> String {
            self.name.to_string()
        }

        fn put(&self, service: &str, user: &str, value: &[u8]) -> Result<(), Fault> {
            self.entry(service, user)?.set_secret(value).map_err(fault)
        }

        fn get(&self, service: &str, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Fault> {
            match self.entry(service, user)?.get_secret() {
                Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
                Err(Error::NoEntry) => Ok(None),
                Err(e) => Err(fault(e)),
            }
        }

        fn delete(&self, service: &str, user: &str) -> Result<bool, Fault> {
            match self.entry(service, user)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(Error::NoEntry) => Ok(false),
                Err(e) => Err(fault(e)),
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
mod platform {
    use super::keyring_backend::{fault, KeyringBackend};
    use super::{Backend, Fault};
    use std::sync::Arc;

    /// Secret Service over zbus (gnome-keyring, KWallet, KeePassXC).
    pub(super) fn connect() -> Result<Arc<dyn Backend>, Fault> {
        let store =
            zbus_secret_service_keyring_store::Store::new().map_err(|e| match fault(e) {
                Fault::Unreadable => Fault::Unavailable("Secret Service".into()),
                other => other,
            })?;
        Ok(Arc::new(KeyringBackend {
            store,
            modifiers: &[],
            name: "Secret Service",
        }))
    }
}

#[cfg(target_os = "ios")]
mod platform {
    use super::keyring_backend::{fault, KeyringBackend};
    use super::{Backend, Fault};
    use std::sync::Arc;

    /// The protected-data store, local only (never iCloud), items readable
    /// while the device is unlocked and never migrated to another device.
    pub(super) fn connect() -> Result<Arc<dyn Backend>, Fault> {
        let store = apple_native_keyring_store::protected::Store::new().map_err(fault)?;
        Ok(Arc::new(KeyringBackend {
            store,
            modifiers: &[("access-policy", "when-unlocked-this-device-only")],
            name: "iOS protected data",
        }))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::keyring_backend::{fault, KeyringBackend};
    use super::{Backend, Fault};
    use std::sync::Arc;

    /// The login keychain (legacy keychain items never synchronise).
    pub(super) fn connect() -> Result<Arc<dyn Backend>, Fault> {
        let store = apple_native_keyring_store::keychain::Store::new().map_err(fault)?;
        Ok(Arc::new(KeyringBackend {
            store,
            modifiers: &[],
            name: "macOS keychain",
        }))
    }
}

#[cfg(target_os = "android")]
mod platform {
    use super::keyring_backend::{fault, KeyringBackend};
    use super::{Backend, Fault};
    use std::sync::Arc;

    /// The Android keystore-backed store (needs the NDK context).
    pub(super) fn connect() -> Result<Arc<dyn Backend>, Fault> {
        let store = android_native_keyring_store::Store::new().map_err(fault)?;
        Ok(Arc::new(KeyringBackend {
            store,
            modifiers: &[],
            name: "Android keystore",
        }))
    }
}

#[cfg(target_os = "windows")]
mod platform {
    use super::keyring_backend::{fault, KeyringBackend};
    use super::{Backend, Fault};
    use std::sync::Arc;

    /// The Windows credential manager.
    pub(super) fn connect() -> Result<Arc<dyn Backend>, Fault> {
        let store = windows_native_keyring_store::Store::new().map_err(fault)?;
        Ok(Arc::new(KeyringBackend {
            store,
            modifiers: &[],
            name: "Windows credential manager",
        }))
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "ios",
    target_os = "macos",
    target_os = "android",
    target_os = "windows"
)))]
mod platform {
    use super::{Backend, Fault};
    use std::sync::Arc;

    pub(super) fn connect() -> Result<Arc<dyn Backend>, Fault> {
        Err(Fault::Unavailable(
            "no keystore is supported on this platform".into(),
        ))
    }
}
