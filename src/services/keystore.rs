//! The real [`TokenStore`]: `softtoken-store` (platform keystore +
//! metadata JSON) for one profile directory.
use crate::services::store::{PendingAdd, StoreError, TokenMeta, TokenStore};
use softtoken_core::stk1::messages::FinishRequest;
use softtoken_core::{Params, Secret, Serial};
use softtoken_store as store;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Maps the store crate's errors to the app's, keeping their kinds and
/// typed fields (serials, paths, the platform's words); never a secret, by
/// the store's contract.
pub fn map_error(e: store::StoreError) -> StoreError {
    let kind = e.kind();
    match e {
        store::StoreError::KeystoreUnavailable { detail }
        | store::StoreError::KeystoreLocked { detail }
        | store::StoreError::KeystoreFailure { detail } => StoreError::Keystore { kind, detail },
        store::StoreError::SecretMissing { serial } => StoreError::SecretMissing { serial },
        store::StoreError::SecretUnreadable { serial } => StoreError::SecretUnreadable { serial },
        store::StoreError::MetadataCorrupt { path, reason } => StoreError::Corrupted {
            path: path.display().to_string(),
            reason,
        },
        store::StoreError::MetadataTooNew { .. } => StoreError::NewerVersion,
        store::StoreError::UnknownToken { serial } => StoreError::NotFound { serial },
        other => StoreError::Other {
            kind,
            detail: other.to_string(),
        },
    }
}

fn to_app(m: &store::TokenMeta) -> TokenMeta {
    TokenMeta {
        serial: m.serial.clone(),
        bank_id: m.bank.id.clone(),
        bank_name: m.bank.name.clone(),
        url: m.bank.url.clone(),
        paired_at: m.paired_at,
        bind_by: m.bind_by,
        clock_offset: m.clock_offset.map(|c| c.seconds),
    }
}

/// Where a profile lives: the metadata directory and the keystore namespace.
#[derive(Debug, Clone)]
pub enum Profile {
    /// The app's normal profile in the platform data directory.
    Default(PathBuf),
    /// The simulator's `--profile DIR` (own namespace derived from DIR).
    Dir(PathBuf),
}

/// One profile's token store. Opening it (keystore connection, metadata
/// read, one keystore read per token) starts on a background thread as
/// soon as the store is created, so that it overlaps the window's start;
/// a failure there is not kept: the first call opens again and reports it,
/// so a keystore or file problem becomes a screen (and "Reload" retries)
/// instead of a crash.
pub struct ProfileStore {
    shared: Arc<Shared>,
}

struct Shared {
    profile: Profile,
    inner: Mutex<Option<store::TokenStore>>,
}

impl ProfileStore {
    /// A store for `profile`; starts opening it in the background.
    pub fn new(profile: Profile) -> Self {
        let shared = Arc::new(Shared {
            profile,
            inner: Mutex::new(None),
        });
        let warm = shared.clone();
        // If the thread cannot start, the first call opens the store.
        let _ = std::thread::Builder::new()
            .name("store-open".into())
            .spawn(move || {
                let _ = warm.with(|_| Ok(()));
            });
        ProfileStore { shared }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut store::TokenStore) -> Result<R, store::StoreError>,
    ) -> Result<R, StoreError> {
        self.shared.with(f)
    }
}

impl Shared {
    fn dir(&self) -> &Path {
        match &self.profile {
            Profile::Default(d) | Profile::Dir(d) => d,
        }
    }

    fn open(&self) -> Result<store::TokenStore, store::StoreError> {
        let dir = self.dir();
        std::fs::create_dir_all(dir).map_err(|e| store::StoreError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source: e,
        })?;
        let ns = match &self.profile {
            Profile::Default(_) => store::Namespace::default_profile(),
            Profile::Dir(d) => store::Namespace::for_profile_dir(d)?,
        };
        let ks = store::Keystore::platform(ns)?;
        let (s, _recovered) = store::TokenStore::open(dir, ks)?;
        Ok(s)
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut store::TokenStore) -> Result<R, store::StoreError>,
    ) -> Result<R, StoreError> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(self.open().map_err(map_error)?);
        }
        match guard.as_mut() {
            Some(s) => f(s).map_err(map_error),
            None => Err(StoreError::Io("store not open".into())),
        }
    }
}

impl TokenStore for ProfileStore {
    fn list(&self) -> Result<Vec<TokenMeta>, StoreError> {
        self.with(|s| Ok(s.tokens().map(to_app).collect()))
    }

    fn secret(&self, serial: &Serial) -> Result<Secret, StoreError> {
        self.with(|s| s.secret(serial))
    }

    fn begin_add(
        &self,
        meta: &TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError> {
        let bank = store::BankRef {
            id: meta.bank_id.clone(),
            name: meta.bank_name.clone(),
            url: meta.url.clone(),
        };
        let m = store::TokenMeta::new(meta.serial.clone(), bank, Params::STK1, meta.paired_at);
        self.with(|s| s.begin_add(m, secret, finish))
    }

    fn commit_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.with(|s| s.commit_add(serial))
    }

    fn abort_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.with(|s| s.abort_add(serial))
    }

    fn pending_adds(&self) -> Result<Vec<PendingAdd>, StoreError> {
        self.with(|s| {
            Ok(s.entries()
                .iter()
                .filter(|e| e.phase() == store::Phase::Pending)
                .map(|e| PendingAdd {
                    meta: to_app(e.meta()),
                    finish: e.pending_finish().map(|f| f.request().clone()),
                })
                .collect())
        })
    }

    fn remove(&self, serial: &Serial) -> Result<(), StoreError> {
        self.with(|s| s.remove(serial))
    }

    fn record_pairing(
        &self,
        serial: &Serial,
        bind_by: u64,
        clock_offset: Option<i64>,
        measured_at: u64,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.set_bind_by(serial, bind_by)?;
            match clock_offset {
                Some(o) => s.set_clock_offset(serial, o, measured_at),
                None => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ErrorKind;

    fn serial() -> Serial {
        Serial::parse_strict("K7M3Q9XZ2PD0").unwrap()
    }

    #[test]
    fn keystore_missing_secret_message_is_not_doubled() {
        let e = map_error(store::StoreError::SecretMissing { serial: serial() });
        assert_eq!(e, StoreError::SecretMissing { serial: serial() });
        let text = e.to_string();
        assert_eq!(text, "secret of K7M3Q9XZ2PD0 missing from keystore");
        assert_eq!(text.matches("K7M3Q9XZ2PD0").count(), 1, "{text}");
        assert!(!text.contains("The key of token"), "{text}");
    }

    #[test]
    fn store_errors_keep_their_kind_and_fields() {
        let locked = map_error(store::StoreError::KeystoreLocked {
            detail: "prompt dismissed".into(),
        });
        assert_eq!(
            locked,
            StoreError::Keystore {
                kind: ErrorKind::KeystoreLocked,
                detail: "prompt dismissed".into(),
            }
        );
        assert_eq!(locked.kind(), ErrorKind::KeystoreLocked);
        let corrupt = map_error(store::StoreError::MetadataCorrupt {
            path: PathBuf::from("/p/tokens.json"),
            reason: "expected value".into(),
        });
        assert_eq!(
            corrupt,
            StoreError::Corrupted {
                path: "/p/tokens.json".into(),
                reason: "expected value".into(),
            }
        );
        assert_eq!(
            map_error(store::StoreError::UnknownToken { serial: serial() }),
            StoreError::NotFound { serial: serial() }
        );
        assert_eq!(
            map_error(store::StoreError::SecretUnreadable { serial: serial() }).kind(),
            ErrorKind::SecretUnreadable
        );
        let newer = map_error(store::StoreError::MetadataTooNew {
            path: PathBuf::from("/p/tokens.json"),
            found: 9,
            supported: 1,
        });
        assert_eq!(newer, StoreError::NewerVersion);
        let other = map_error(store::StoreError::AlreadyExists { serial: serial() });
        assert_eq!(other.kind(), ErrorKind::AlreadyExists);
        assert!(matches!(other, StoreError::Other { .. }));
    }
}
