//! Test doubles of the services: a settable clock, an in-memory token store
//! with failure injection, and a clipboard that remembers what was copied.
//!
//! Compiled only for the crate's own tests and with the `testing` feature
//! (which the package's dev-dependency on itself turns on for its
//! integration tests); a release build has none of them, so it cannot keep
//! a secret in memory-only storage by accident.
use crate::services::bank::{BankClient, BankStatus, BoxFuture, ClientError};
use crate::services::clipboard::Clipboard;
use crate::services::clock::Clock;
use crate::services::directory::{BankEntry, PinnedKey};
use crate::services::store::{PendingAdd, StoreError, TokenMeta, TokenStore};
use softtoken_core::stk1::client::Paired;
use softtoken_core::stk1::messages::{FinishRequest, FinishResponse, TokenState};
use softtoken_core::txn::wire::{
    DecisionRequest, DecisionResponse, PollResponse, TxnState, WireTransaction,
};
use softtoken_core::txn::{TxnId, TxnKey, NONCE_LEN};
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

/// A scripted token service with the STK1-TXN extension: it answers polls
/// with the transactions it was given (already signed, e.g. with
/// `WireTransaction::sign`) at its own clock, and records every decision
/// request as sent. Pairing calls fail as a network error; status says
/// `active` at the bank's clock.
#[derive(Default)]
pub struct TxnBank {
    /// The bank's clock (`server_time` of poll answers).
    pub clock: FixedClock,
    /// What the next polls answer, oldest first.
    pub pending: Mutex<Vec<WireTransaction>>,
    /// When set, every poll fails with this error.
    pub poll_fails_with: Mutex<Option<ClientError>>,
    /// Polls received: `(serial, t)`.
    pub polls: Mutex<Vec<(Serial, u64)>>,
    /// Decision requests received, as sent.
    pub decisions: Mutex<Vec<(TxnId, DecisionRequest)>>,
    /// Calls in flight now, and the most ever at once.
    in_flight: Mutex<(usize, usize)>,
}

impl TxnBank {
    /// A bank whose clock stands at `unix`.
    pub fn at(unix: u64) -> TxnBank {
        TxnBank {
            clock: FixedClock::at(unix),
            ..TxnBank::default()
        }
    }

    /// The most calls that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        lock(&self.in_flight).1
    }

    fn enter(&self) {
        let mut f = lock(&self.in_flight);
        f.0 += 1;
        f.1 = f.1.max(f.0);
    }

    fn leave(&self) {
        let mut f = lock(&self.in_flight);
        f.0 = f.0.saturating_sub(1);
    }
}

impl BankClient for TxnBank {
    fn init<'a>(
        &'a self,
        _bank: &'a BankEntry,
        _key: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>> {
        Box::pin(async { Err(ClientError::Network("not scripted".into())) })
    }

    fn finish<'a>(
        &'a self,
        _url: &'a str,
        _request: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>> {
        Box::pin(async { Err(ClientError::Network("not scripted".into())) })
    }

    fn status<'a>(
        &'a self,
        _url: &'a str,
        _serial: &'a Serial,
    ) -> BoxFuture<'a, Result<BankStatus, ClientError>> {
        Box::pin(async move {
            Ok(BankStatus {
                state: TokenState::Active,
                server_time: Some(self.clock.now_unix()),
            })
        })
    }

    fn poll_pending<'a>(
        &'a self,
        _url: &'a str,
        serial: &'a Serial,
        _key: &'a TxnKey,
        t: u64,
        _nonce: [u8; NONCE_LEN],
    ) -> BoxFuture<'a, Result<PollResponse, ClientError>> {
        Box::pin(async move {
            self.enter();
            lock(&self.polls).push((serial.clone(), t));
            tokio::task::yield_now().await;
            self.leave();
            if let Some(e) = lock(&self.poll_fails_with).clone() {
                return Err(e);
            }
            Ok(PollResponse {
                v: 1,
                server_time: self.clock.now_unix(),
                transactions: lock(&self.pending).clone(),
            })
        })
    }

    fn decide<'a>(
        &'a self,
        _url: &'a str,
        _serial: &'a Serial,
        txn_id: &'a TxnId,
        request: &'a DecisionRequest,
    ) -> BoxFuture<'a, Result<DecisionResponse, ClientError>> {
        Box::pin(async move {
            lock(&self.decisions).push((*txn_id, request.clone()));
            lock(&self.pending).retain(|w| w.txn_id != *txn_id);
            Ok(DecisionResponse {
                v: 1,
                txn_id: *txn_id,
                state: TxnState::after(request.decision),
            })
        })
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
