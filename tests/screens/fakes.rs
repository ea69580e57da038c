//! Banks for the tests: [`FakeBank`] runs the real STK1 server maths in
//! process (with failure injection and a call log), [`OfflineBank`] never
//! answers.
use rand_core::OsRng;
use softtoken::services::bank::{BankStatus, BoxFuture, ClientError};
use softtoken::services::testing::{FixedClock, MemoryStore};
use softtoken::services::{BankClient, BankEntry, Clock, PinnedKey};
use softtoken_core::stk1::client::{ClientHandshake, Paired};
use softtoken_core::stk1::messages::{Device, FinishRequest, FinishResponse, Platform, TokenState};
use softtoken_core::stk1::server::{respond, PendingSession, ServerEphemeral, ServerKey};
use softtoken_core::stk1::ErrorCode;
use softtoken_core::{Generator, Params, Serial};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

pub const BANK_ID: &str = "demo";
pub const KID: &str = "k1";
pub const URL: &str = "http://127.0.0.1:8700";
/// RFC 6238 appendix B SHA-1 seed.
pub const RFC_SEED: &[u8] = b"12345678901234567890";

/// A bank that runs the real STK1 server side in process.
pub struct FakeBank {
    pub key: ServerKey,
    pub clock: FixedClock,
    pub store: Arc<MemoryStore>,
    /// Bank clock − device clock.
    pub server_skew: AtomicI64,
    pub states: Mutex<HashMap<String, TokenState>>,
    /// Status answers carry the bank time.
    pub status_time: bool,
    pub pending: Mutex<Vec<PendingSession>>,
    pub fail_init: Mutex<Option<ClientError>>,
    pub fail_finish: Mutex<Option<ClientError>>,
    pub fail_status: Mutex<Option<ClientError>>,
    /// Serials pending in the store when finish was called.
    pub pending_at_finish: Mutex<Vec<Vec<String>>>,
    pub calls: Mutex<Vec<&'static str>>,
}

impl FakeBank {
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

    pub fn bank_now(&self) -> u64 {
        (Clock::now_unix(&self.clock) as i64 + self.server_skew.load(Ordering::SeqCst)) as u64
    }

    /// The bank's own view of a token's current code.
    pub fn bank_code(&self, serial: &str, unix: u64) -> String {
        let p = self.pending.lock().unwrap();
        let s = p.iter().find(|s| s.serial.as_str() == serial).unwrap();
        let g = Generator::new(&s.token_key, Params::STK1).unwrap();
        g.totp(unix).unwrap().as_str().to_owned()
    }

    pub fn set_state(&self, serial: &str, state: TokenState) {
        self.states.lock().unwrap().insert(serial.into(), state);
    }
}

impl BankClient for FakeBank {
    fn init<'a>(
        &'a self,
        _bank: &'a BankEntry,
        key: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push("init");
            if let Some(e) = self.fail_init.lock().unwrap().clone() {
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
            self.pending.lock().unwrap().push(pending);
            hs.finish(&resp).map_err(|_| ClientError::NotTheBank)
        })
    }

    fn finish<'a>(
        &'a self,
        _url: &'a str,
        request: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push("finish");
            self.pending_at_finish
                .lock()
                .unwrap()
                .push(self.store.pending());
            if let Some(e) = self.fail_finish.lock().unwrap().clone() {
                return Err(e);
            }
            let ok = self
                .pending
                .lock()
                .unwrap()
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
            self.calls.lock().unwrap().push("status");
            if let Some(e) = self.fail_status.lock().unwrap().clone() {
                return Err(e);
            }
            let state = *self
                .states
                .lock()
                .unwrap()
                .get(serial.as_str())
                .unwrap_or(&TokenState::Expired);
            Ok(BankStatus {
                state,
                server_time: self.status_time.then(|| self.bank_now()),
            })
        })
    }
}

/// A status-less bank whose every call fails with "no network".
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
