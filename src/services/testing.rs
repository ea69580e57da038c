//! Test doubles of the services: a settable clock, an in-memory token store
//! with failure injection, a clipboard that remembers what was copied, and
//! scripted banks: [`FakeBank`] runs the real STK1 server maths in process
//! (with failure injection and a call log), [`TxnBank`] answers STK1-TXN
//! polls, [`OfflineBank`] never answers.
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
use rand_core::OsRng;
use softtoken_core::stk1::client::{ClientHandshake, Paired};
use softtoken_core::stk1::messages::{Device, FinishRequest, FinishResponse, Platform, TokenState};
use softtoken_core::stk1::server::{respond, PendingSession, ServerEphemeral, ServerKey};
use softtoken_core::stk1::ErrorCode;
use softtoken_core::txn::wire::{
    DecisionRequest, DecisionResponse, PollResponse, TxnState, WireTransaction,
};
use softtoken_core::txn::{TxnId, TxnKey, NONCE_LEN};
use softtoken_core::{Generator, Params, Secret, Serial};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
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

/// Bank id of [`FakeBank::entry`].
pub const BANK_ID: &str = "demo";
/// Server key id of [`FakeBank::entry`].
pub const KID: &str = "k1";
/// Token-service URL of [`FakeBank::entry`].
pub const URL: &str = "http://127.0.0.1:8700";
/// RFC 6238 appendix B SHA-1 seed.
pub const RFC_SEED: &[u8] = b"12345678901234567890";

/// A bank that runs the real STK1 server side in process, at its own
/// clock (the device's [`FixedClock`] plus [`FakeBank::server_skew`]).
pub struct FakeBank {
    /// The bank's STK1 server key (pinned by [`FakeBank::entry`]).
    pub key: ServerKey,
    /// The device's clock the bank's time is derived from.
    pub clock: FixedClock,
    /// The app's store, to record what was pending at `finish`.
    pub store: Arc<MemoryStore>,
    /// Bank clock − device clock, seconds.
    pub server_skew: AtomicI64,
    /// Token states by serial (`expired` when absent).
    pub states: Mutex<HashMap<String, TokenState>>,
    /// Status answers carry the bank time.
    pub status_time: bool,
    /// Provisioning sessions begun by `init`.
    pub pending: Mutex<Vec<PendingSession>>,
    /// When set, `init` fails with this error.
    pub fail_init: Mutex<Option<ClientError>>,
    /// When set, `finish` fails with this error.
    pub fail_finish: Mutex<Option<ClientError>>,
    /// When set, `status` fails with this error.
    pub fail_status: Mutex<Option<ClientError>>,
    /// Serials pending in the store when finish was called.
    pub pending_at_finish: Mutex<Vec<Vec<String>>>,
    /// Calls received, by name (`init`, `finish`, `status`).
    pub calls: Mutex<Vec<&'static str>>,
}

impl FakeBank {
    /// A bank on `clock` (no skew) for the app holding `store`.
    pub fn new(clock: FixedClock, store: Arc<MemoryStore>) -> FakeBank {
        FakeBank {
            key: ServerKey::from_secret_bytes(KID, [7u8; 32]),
            clock,
            store,
            server_skew: AtomicI64::new(0),
            states: Mutex::new(HashMap::new()),
            status_time: false,
            pending: Mutex::new(Vec::new()),
            fail_init: Mutex::new(None),
            fail_finish: Mutex::new(None),
            fail_status: Mutex::new(None),
            pending_at_finish: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The directory entry pinning this bank's key.
    pub fn entry(&self) -> BankEntry {
        BankEntry {
            id: BANK_ID.into(),
            name: "デモ信用金庫".into(),
            url: URL.into(),
            keys: vec![PinnedKey {
                kid: KID.into(),
                public: self.key.public_bytes(),
            }],
        }
    }

    /// The bank's time, Unix seconds.
    pub fn bank_now(&self) -> u64 {
        self.clock
            .now_unix()
            .saturating_add_signed(self.server_skew.load(Ordering::SeqCst))
    }

    /// The bank's own view of a token's code at `unix`. Panics when no
    /// session of `serial` was begun (a test's mistake).
    pub fn bank_code(&self, serial: &str, unix: u64) -> String {
        let p = lock(&self.pending);
        let Some(s) = p.iter().find(|s| s.serial.as_str() == serial) else {
            panic!("FakeBank: no session for serial {serial}");
        };
        match Generator::new(&s.token_key, Params::STK1).and_then(|g| g.totp(unix)) {
            Ok(code) => code.as_str().to_owned(),
            Err(e) => panic!("FakeBank: cannot compute the code: {e}"),
        }
    }

    /// Sets the state `status` reports for `serial`.
    pub fn set_state(&self, serial: &str, state: TokenState) {
        lock(&self.states).insert(serial.into(), state);
    }
}

impl BankClient for FakeBank {
    fn init<'a>(
        &'a self,
        _bank: &'a BankEntry,
        key: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>> {
        Box::pin(async move {
            lock(&self.calls).push("init");
            if let Some(e) = lock(&self.fail_init).clone() {
                return Err(e);
            }
            let device = Device {
                platform: Platform::Test,
                app_version: "test".into(),
            };
            let (hs, req) = ClientHandshake::start(&mut OsRng, &key.kid, &key.public, device);
            let (resp, pending) = respond(
                &self.key,
                &req,
                ServerEphemeral::generate(&mut OsRng),
                Serial::generate(&mut OsRng),
                self.bank_now(),
                300,
            )
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
            lock(&self.pending).push(pending);
            hs.finish(&resp).map_err(|_| ClientError::NotTheBank)
        })
    }

    fn finish<'a>(
        &'a self,
        _url: &'a str,
        request: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>> {
        Box::pin(async move {
            lock(&self.calls).push("finish");
            lock(&self.pending_at_finish).push(self.store.pending());
            if let Some(e) = lock(&self.fail_finish).clone() {
                return Err(e);
            }
            let ok = lock(&self.pending)
                .iter()
                .any(|s| s.check_finish(request).is_ok());
            if !ok {
                return Err(ClientError::Refused {
                    code: ErrorCode::ConfirmFailed,
                });
            }
            self.set_state(request.serial.as_str(), TokenState::Issued);
            Ok(FinishResponse {
                v: 1,
                serial: request.serial.clone(),
                state: TokenState::Issued,
                bind_by: self.bank_now() + 3600,
            })
        })
    }

    fn status<'a>(
        &'a self,
        _url: &'a str,
        serial: &'a Serial,
    ) -> BoxFuture<'a, Result<BankStatus, ClientError>> {
        Box::pin(async move {
            lock(&self.calls).push("status");
            if let Some(e) = lock(&self.fail_status).clone() {
                return Err(e);
            }
            let state = *lock(&self.states)
                .get(serial.as_str())
                .unwrap_or(&TokenState::Expired);
            Ok(BankStatus {
                state,
                server_time: self.status_time.then(|| self.bank_now()),
            })
        })
    }
}

/// A bank whose every call fails with "no network".
pub struct OfflineBank;

impl BankClient for OfflineBank {
    fn init<'a>(
        &'a self,
        _: &'a BankEntry,
        _: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>> {
        Box::pin(async { Err(ClientError::Network("connection refused".into())) })
    }
    fn finish<'a>(
        &'a self,
        _: &'a str,
        _: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>> {
        Box::pin(async { Err(ClientError::Network("connection refused".into())) })
    }
    fn status<'a>(
        &'a self,
        _: &'a str,
        _: &'a Serial,
    ) -> BoxFuture<'a, Result<BankStatus, ClientError>> {
        Box::pin(async { Err(ClientError::Network("connection refused".into())) })
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
