//! Test doubles of the services: a settable clock, an in-memory token store
//! with failure injection, and a clipboard that remembers what was copied.
//!
//! Compiled only for the crate's own tests and with the `testing` feature
//! (which the package's dev-dependency on itself turns on for its
//! integration tests); a release build has none of them, so it cannot keep
//! a secret in memory-only storage by accident.
use crate::services::clipboard::Clipboard;
use crate::services::clock::Clock;
use crate::services::store::{PendingAdd, StoreError, TokenMeta, TokenStore};
use softtoken_core::stk1::messages::FinishRequest;
use softtoken_core::{Secret, Serial};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A clock that shows a set time until it is set again.
#[derive(Debug, Clone, Default)]
pub struct FixedClock(Arc<AtomicU64>);

impl FixedClock {
    /// A clock standing at `unix` seconds.
    pub fn at(unix: u64) -> Self {
        FixedClock(Arc::new(AtomicU64::new(unix * 1000)))
    }

    /// Moves the clock to `unix` seconds (clones share the time).
    pub fn set(&self, unix: u64) {
        self.0.store(unix * 1000, Ordering::SeqCst);
    }

    /// Moves the clock to `millis` milliseconds.
    pub fn set_millis(&self, millis: u64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Remembers what was copied.
#[derive(Debug, Clone, Default)]
pub struct MemoryClipboard(pub Arc<Mutex<Vec<String>>>);

impl Clipboard for MemoryClipboard {
    fn copy(&self, text: &str) -> bool {
        match self.0.lock() {
            Ok(mut v) => {
                v.push(text.to_owned());
                true
            }
            Err(_) => false,
        }
    }
}

/// In-memory token store with failure injection. Secrets are held as
/// [`Secret`] (zeroised when dropped), keyed by serial.
#[derive(Default)]
pub struct MemoryStore {
    committed: Mutex<Vec<TokenMeta>>,
    pending: Mutex<Vec<PendingAdd>>,
    secrets: Mutex<BTreeMap<Serial, Secret>>,
    /// When set, every call fails with this error.
    pub fail_with: Mutex<Option<StoreError>>,
}

/// Locks `m`, going on with the data of a test that panicked while
/// holding it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    /// A store holding `tokens` with their secrets.
    pub fn with_tokens(tokens: Vec<(TokenMeta, Secret)>) -> MemoryStore {
        let s = MemoryStore::default();
        for (m, sec) in tokens {
            lock(&s.secrets).insert(m.serial.clone(), sec);
            lock(&s.committed).push(m);
        }
        s
    }

    /// Pending (begun, not committed) serials.
    pub fn pending(&self) -> Vec<String> {
        lock(&self.pending)
            .iter()
            .map(|p| p.meta.serial.as_str().to_owned())
            .collect()
    }

    /// Number of secrets held.
    pub fn secret_count(&self) -> usize {
        lock(&self.secrets).len()
    }

    fn check(&self) -> Result<(), StoreError> {
        match &*lock(&self.fail_with) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

impl TokenStore for MemoryStore {
    fn list(&self) -> Result<Vec<TokenMeta>, StoreError> {
        self.check()?;
        Ok(lock(&self.committed).clone())
    }

    fn secret(&self, serial: &Serial) -> Result<Secret, StoreError> {
        self.check()?;
        lock(&self.secrets)
            .get(serial)
            .cloned()
            .ok_or_else(|| StoreError::SecretMissing {
                serial: serial.clone(),
            })
    }

    fn begin_add(
        &self,
        meta: &TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError> {
        self.check()?;
        lock(&self.secrets).insert(meta.serial.clone(), secret.clone());
        let mut pending = lock(&self.pending);
        pending.retain(|p| p.meta.serial != meta.serial);
        pending.push(PendingAdd {
            meta: meta.clone(),
            finish: finish.cloned(),
        });
        Ok(())
    }

    fn commit_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.check()?;
        let mut pending = lock(&self.pending);
        let pos = pending
            .iter()
            .position(|p| &p.meta.serial == serial)
            .ok_or_else(|| StoreError::NotFound {
                serial: serial.clone(),
            })?;
        let p = pending.remove(pos);
        lock(&self.committed).push(p.meta);
        Ok(())
    }

    fn abort_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.check()?;
        lock(&self.pending).retain(|p| &p.meta.serial != serial);
        lock(&self.secrets).remove(serial);
        Ok(())
    }

    fn pending_adds(&self) -> Result<Vec<PendingAdd>, StoreError> {
        self.check()?;
        Ok(lock(&self.pending).clone())
    }

    fn remove(&self, serial: &Serial) -> Result<(), StoreError> {
        self.check()?;
        let mut c = lock(&self.committed);
        let before = c.len();
        c.retain(|m| &m.serial != serial);
        if c.len() == before {
            return Err(StoreError::NotFound {
                serial: serial.clone(),
            });
        }
        lock(&self.secrets).remove(serial);
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
        for m in lock(&self.committed).iter_mut() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::clock::millis_to_next_second;

    #[test]
    fn fixed_clock_clones_share_time() {
        let c = FixedClock::at(10);
        let d = c.clone();
        d.set(20);
        assert_eq!(c.now_unix(), 20);
        assert_eq!(millis_to_next_second(20_250), 750);
        assert_eq!(millis_to_next_second(20_000), 1000);
    }
}
