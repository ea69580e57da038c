//! Token storage as the screens see it: metadata (no secrets) plus the
//! secret in the platform keystore, added in two phases.
use softtoken_core::stk1::messages::FinishRequest;
use softtoken_core::{Secret, Serial};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use thiserror::Error;

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

/// Why the store failed. Texts carry no secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The platform keystore refused or is unavailable.
    #[error("keystore: {0}")]
    Keystore(String),
    /// The metadata file is damaged; it was kept aside, nothing was deleted.
    #[error("token list damaged (kept at {kept})")]
    Corrupted {
        /// Where the damaged file was kept.
        kept: String,
    },
    /// The metadata file was written by a newer app version.
    #[error("token list written by a newer app version")]
    NewerVersion,
    /// A token's secret is missing from the keystore.
    #[error("secret of {serial} missing from keystore")]
    SecretMissing {
        /// Serial concerned.
        serial: String,
    },
    /// The serial is not in the store.
    #[error("no token {serial}")]
    NotFound {
        /// Serial concerned.
        serial: String,
    },
    /// Any other I/O failure.
    #[error("storage: {0}")]
    Io(String),
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

/// In-memory store for tests, with failure injection.
#[derive(Default)]
pub struct MemoryStore {
    committed: Mutex<Vec<TokenMeta>>,
    pending: Mutex<Vec<PendingAdd>>,
    secrets: Mutex<BTreeMap<String, Vec<u8>>>,
    /// When set, every call fails with this error.
    pub fail_with: Mutex<Option<StoreError>>,
}

impl MemoryStore {
    /// A store holding `tokens` with their secrets.
    pub fn with_tokens(tokens: Vec<(TokenMeta, Secret)>) -> MemoryStore {
        let s = MemoryStore::default();
        for (m, sec) in tokens {
            s.secrets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(m.serial.as_str().to_owned(), sec.expose().to_vec());
            s.committed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(m);
        }
        s
    }

    /// Pending (begun, not committed) serials.
    pub fn pending(&self) -> Vec<String> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|p| p.meta.serial.as_str().to_owned())
            .collect()
    }

    /// Number of secrets held.
    pub fn secret_count(&self) -> usize {
        self.secrets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn check(&self) -> Result<(), StoreError> {
        match &*self.fail_with.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl TokenStore for MemoryStore {
    fn list(&self) -> Result<Vec<TokenMeta>, StoreError> {
        self.check()?;
        Ok(self
            .committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    fn secret(&self, serial: &Serial) -> Result<Secret, StoreError> {
        self.check()?;
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(serial.as_str())
            .map(|b| Secret::from_slice(b))
            .ok_or_else(|| StoreError::SecretMissing {
                serial: serial.as_str().to_owned(),
            })
    }

    fn begin_add(
        &self,
        meta: &TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(meta.serial.as_str().to_owned(), secret.expose().to_vec());
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|p| p.meta.serial != meta.serial);
        pending.push(PendingAdd {
            meta: meta.clone(),
            finish: finish.cloned(),
        });
        Ok(())
    }

    fn commit_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.check()?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let pos = pending
            .iter()
            .position(|p| &p.meta.serial == serial)
            .ok_or_else(|| StoreError::NotFound {
                serial: serial.as_str().to_owned(),
            })?;
        let p = pending.remove(pos);
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(p.meta);
        Ok(())
    }

    fn abort_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.check()?;
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p| &p.meta.serial != serial);
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(serial.as_str());
        Ok(())
    }

    fn pending_adds(&self) -> Result<Vec<PendingAdd>, StoreError> {
        self.check()?;
        Ok(self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    fn remove(&self, serial: &Serial) -> Result<(), StoreError> {
        self.check()?;
        let mut c = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        let before = c.len();
        c.retain(|m| &m.serial != serial);
        if c.len() == before {
            return Err(StoreError::NotFound {
                serial: serial.as_str().to_owned(),
            });
        }
        self.secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(serial.as_str());
        Ok(())
    }

    fn record_pairing(
        &self,
        serial: &Serial,
        bind_by: u64,
        clock_offset: Option<i64>,
        _measured_at: u64,
    ) -> Result<(), StoreError> {
        self.check()?;
        for m in self
            .committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter_mut()
        {
            if &m.serial == serial {
                m.bind_by = Some(bind_by);
                if clock_offset.is_some() {
                    m.clock_offset = clock_offset;
                }
            }
        }
        Ok(())
    }
}
