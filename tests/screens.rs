//! Component tests of every screen: the real `App` in a `VirtualDom` on a
//! fixed clock, with an in-memory store, a scripted bank that runs the real
//! STK1 server maths, clicks through the event API, and assertions on the
//! HTML rendered by dioxus-ssr.
use dioxus::prelude::*;
use dioxus_core::{AttributeValue, ElementId, Event, Mutation, Mutations};
use dioxus_html::{PlatformEventData, SerializedFormData, SerializedMouseData};
use rand_core::OsRng;
use softtoken::i18n::Lang;
use softtoken::services::bank::{BankStatus, BoxFuture, ClientError};
use softtoken::services::clipboard::MemoryClipboard;
use softtoken::services::store::MemoryStore;
use softtoken::services::{
    BankClient, BankDirectory, BankEntry, FixedClock, PinnedKey, Services, StoreError, TokenMeta,
    TokenStore,
};
use softtoken::ui::{App, StartOptions};
use softtoken_core::stk1::client::{ClientHandshake, Paired};
use softtoken_core::stk1::messages::{Device, FinishRequest, FinishResponse, Platform, TokenState};
use softtoken_core::stk1::server::{respond, PendingSession, ServerEphemeral, ServerKey};
use softtoken_core::{Generator, Params, Secret, Serial};
use std::any::Any;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BANK_ID: &str = "demo";
const KID: &str = "k1";
const URL: &str = "http://127.0.0.1:8700";
/// RFC 6238 appendix B SHA-1 seed.
const RFC_SEED: &[u8] = b"12345678901234567890";

/// A bank that runs the real STK1 server side in process.
struct FakeBank {
    key: ServerKey,
    clock: FixedClock,
    store: Arc<MemoryStore>,
    /// Bank clock − device clock.
    server_skew: AtomicI64,
    states: Mutex<HashMap<String, TokenState>>,
    /// Status answers carry the bank time.
    status_time: bool,
    pending: Mutex<Vec<PendingSession>>,
    fail_init: Mutex<Option<ClientError>>,
    fail_finish: Mutex<Option<ClientError>>,
    fail_status: Mutex<Option<ClientError>>,
    /// Serials pending in the store when finish was called.
    pending_at_finish: Mutex<Vec<Vec<String>>>,
    calls: Mutex<Vec<&'static str>>,
}

impl FakeBank {
    fn new(clock: FixedClock, store: Arc<MemoryStore>) -> FakeBank {
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

    fn entry(&self) -> BankEntry {
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

    fn bank_now(&self) -> u64 {
        (softtoken::services::Clock::now_unix(&self.clock) as i64
            + self.server_skew.load(Ordering::SeqCst)) as u64
    }

    /// The bank's own view of a token's current code.
    fn bank_code(&self, serial: &str, unix: u64) -> String {
        let p = self.pending.lock().unwrap();
        let s = p.iter().find(|s| s.serial.as_str() == serial).unwrap();
        let g = Generator::new(&s.token_key, Params::STK1).unwrap();
        g.totp(unix).unwrap().as_str().to_owned()
    }

    fn set_state(&self, serial: &str, state: TokenState) {
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
                    code: "confirm_failed".into(),
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
struct OfflineBank;

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

fn meta(serial: &str, bank: &str) -> TokenMeta {
    TokenMeta {
        serial: Serial::parse_strict(serial).unwrap(),
        bank_id: BANK_ID.into(),
        bank_name: bank.into(),
        url: URL.into(),
        paired_at: 1_700_000_000,
        bind_by: None,
        clock_offset: None,
    }
}

const SERIAL: &str = "K7M3Q9XZ2PD0";
const SERIAL2: &str = "2V0716016FKF";

/// The app under test.
struct Harness {
    dom: VirtualDom,
    labels: HashMap<String, ElementId>,
    clock: FixedClock,
    clipboard: MemoryClipboard,
}

impl Harness {
    fn start(
        store: Arc<dyn TokenStore>,
        bank: Arc<dyn BankClient>,
        directory: BankDirectory,
        clock: FixedClock,
        lang: Lang,
        pair_link: Option<String>,
    ) -> Harness {
        dioxus_html::set_event_converter(Box::new(dioxus_html::SerializedHtmlEventConverter));
        let clipboard = MemoryClipboard::default();
        let services = Services {
            clock: Arc::new(clock.clone()),
            store,
            bank,
            directory: Arc::new(directory),
            clipboard: Arc::new(clipboard.clone()),
        };
        let mut dom = VirtualDom::new(App)
            .with_root_context(services)
            .with_root_context(StartOptions { lang, pair_link });
        let m = dom.rebuild_to_vec();
        let mut h = Harness {
            dom,
            labels: HashMap::new(),
            clock,
            clipboard,
        };
        h.absorb(m);
        h
    }

    fn absorb(&mut self, m: Mutations) {
        for e in m.edits {
            if let Mutation::SetAttribute {
                name: "aria-label",
                value: AttributeValue::Text(t),
                id,
                ..
            } = e
            {
                self.labels.insert(t, id);
            }
        }
    }

    fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    /// Runs every task that is ready now (no timer fires: time is paused
    /// and the 50 ms timeout is always the earliest timer).
    async fn settle(&mut self) {
        for _ in 0..50 {
            match tokio::time::timeout(Duration::from_millis(50), self.dom.wait_for_work()).await {
                Ok(()) => {
                    let m = self.dom.render_immediate_to_vec();
                    self.absorb(m);
                }
                Err(_) => break,
            }
        }
        let m = self.dom.render_immediate_to_vec();
        self.absorb(m);
    }

    /// Sets the clock and lets the one-second ticker fire once.
    async fn tick_to(&mut self, unix: u64) {
        self.clock.set(unix);
        let _ = tokio::time::timeout(Duration::from_millis(1001), self.dom.wait_for_work()).await;
        let m = self.dom.render_immediate_to_vec();
        self.absorb(m);
        self.settle().await;
    }

    /// Sets the clock, lets the ticker fire once and returns the edits the
    /// web view would receive for that tick (as debug strings).
    async fn tick_edits(&mut self, unix: u64) -> Vec<String> {
        self.clock.set(unix);
        let mut out = Vec::new();
        for _ in 0..5 {
            if tokio::time::timeout(Duration::from_millis(1001), self.dom.wait_for_work())
                .await
                .is_err()
            {
                break;
            }
            let m = self.dom.render_immediate_to_vec();
            out.extend(m.edits.iter().map(|e| format!("{e:?}")));
            self.absorb(m);
        }
        out
    }

    fn fire(&mut self, label: &str, name: &str, data: Box<dyn Any>) {
        let id = *self.labels.get(label).unwrap_or_else(|| {
            panic!(
                "no control labelled {label:?}; have {:?}",
                self.labels.keys()
            )
        });
        let event = Event::new(Rc::new(PlatformEventData::new(data)) as Rc<dyn Any>, true);
        self.dom.runtime().handle_event(name, event, id);
        let m = self.dom.render_immediate_to_vec();
        self.absorb(m);
    }

    async fn click(&mut self, label: &str) {
        self.fire(label, "click", Box::new(SerializedMouseData::default()));
        self.settle().await;
    }

    async fn type_into(&mut self, label: &str, value: &str) {
        self.fire(
            label,
            "input",
            Box::new(SerializedFormData::new(value.to_owned(), Vec::new())),
        );
        self.settle().await;
    }
}

struct World {
    store: Arc<MemoryStore>,
    bank: Arc<FakeBank>,
    clock: FixedClock,
}

fn world(unix: u64, tokens: Vec<(TokenMeta, Secret)>) -> World {
    let clock = FixedClock::at(unix);
    let store = Arc::new(MemoryStore::with_tokens(tokens));
    let bank = Arc::new(FakeBank::new(clock.clone(), store.clone()));
    World { store, bank, clock }
}

fn dir_of(bank: &FakeBank) -> BankDirectory {
    let mut d = BankDirectory::default();
    let e = bank.entry();
    let key = softtoken_core::encoding::encode(&e.keys[0].public);
    d.trust_profile(&format!(
        r#"{{"bank_id":"{BANK_ID}","name":"{}","url":"{URL}","server_key_id":"{KID}","server_public_key":"{key}"}}"#,
        e.name
    ))
    .unwrap();
    d
}

async fn app(w: &World, lang: Lang, link: Option<&str>) -> Harness {
    let mut h = Harness::start(
        w.store.clone(),
        w.bank.clone(),
        dir_of(&w.bank),
        w.clock.clone(),
        lang,
        link.map(str::to_owned),
    );
    h.settle().await;
    h
}

fn rfc_token() -> Vec<(TokenMeta, Secret)> {
    vec![(meta(SERIAL, "デモ信用金庫"), Secret::from_slice(RFC_SEED))]
}

// ---------------------------------------------------------------- token

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn one_token_opens_straight_to_its_code() {
    // RFC 6238 vector: T = 1111111109 → 07081804 → six digits 081804.
    let w = world(1_111_111_109, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains("デモ信用金庫"), "{html}");
    assert!(html.contains("K7M3 Q9XZ 2PD0"));
    assert!(html.contains(">081 804<"), "{html}");
    assert!(html.contains(r#"aria-label="0 8 1 8 0 4""#));
    // 1111111109 % 30 = 29 → 1 s left.
    assert!(html.contains("あと 1 秒"), "{html}");
    assert!(html.contains("利用中"));
    assert!(!html.contains("clock-warning"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn countdown_ticks_and_code_changes_exactly_at_the_step_boundary() {
    let w = world(1_111_111_107, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(h.html().contains("あと 3 秒"));
    assert!(h.html().contains(">081 804<"));
    h.tick_to(1_111_111_108).await;
    assert!(h.html().contains("あと 2 秒"), "{}", h.html());
    h.tick_to(1_111_111_109).await;
    assert!(h.html().contains("あと 1 秒"));
    assert!(h.html().contains(">081 804<"), "same step, same code");
    h.tick_to(1_111_111_110).await;
    let g = Generator::new(&Secret::from_slice(RFC_SEED), Params::STK1).unwrap();
    let next = g.totp(1_111_111_110).unwrap();
    assert_ne!(next.as_str(), "081804");
    assert!(
        h.html().contains(&format!(">{}<", next.grouped())),
        "{}",
        h.html()
    );
    assert!(h.html().contains("あと 30 秒"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_tick_changes_only_the_seconds_and_the_ring() {
    // Idle cost: between step boundaries a tick must send the web view two
    // edits (seconds text, ring offset) and nothing else.
    let w = world(1_111_111_100, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let edits = h.tick_edits(1_111_111_101).await;
    assert_eq!(edits.len(), 2, "{edits:#?}");
    assert!(edits.iter().any(|e| e.contains("あと 9 秒")), "{edits:#?}");
    assert!(
        edits.iter().any(|e| e.contains("stroke-dashoffset")),
        "{edits:#?}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn clicking_the_code_copies_it_without_the_space() {
    let w = world(1_111_111_109, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(!h.html().contains("コピーしました"));
    h.click("0 8 1 8 0 4").await;
    assert_eq!(*h.clipboard.0.lock().unwrap(), vec!["081804".to_string()]);
    assert!(h.html().contains("ワンタイムパスワードをコピーしました"));
    // The note belongs to that code: gone when the step changes.
    h.tick_to(1_111_111_110).await;
    assert!(!h.html().contains("コピーしました"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn bank_states_are_explained() {
    for (state, ja, en) in [
        (TokenState::Issued, "「利用開始」", "「交換」"),
        (TokenState::Active, "利用中", "In use"),
        (
            TokenState::Revoked,
            "利用中止または交換済み",
            "Stopped or replaced",
        ),
        (
            TokenState::Expired,
            "期限内に登録されなかった",
            "Not registered in time",
        ),
    ] {
        let w = world(1_700_000_000, rfc_token());
        w.bank.set_state(SERIAL, state);
        let h = app(&w, Lang::Ja, None).await;
        assert!(h.html().contains(ja), "{state:?}: {}", h.html());
        let h = app(&w, Lang::En, None).await;
        assert!(h.html().contains(en), "{state:?}: {}", h.html());
    }
    let w = world(1_700_000_000, rfc_token());
    let h = Harness::start(
        w.store.clone(),
        Arc::new(OfflineBank),
        dir_of(&w.bank),
        w.clock.clone(),
        Lang::Ja,
        None,
    );
    let mut h = h;
    h.settle().await;
    assert!(h.html().contains("銀行に状態を確認できませんでした"));
    assert!(h.html().contains(">"), "code still shown offline");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn issued_state_tells_how_to_register() {
    let w = world(1_700_000_000, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Issued);
    let h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains("未登録"));
    assert!(html.contains("ログイン画面で「利用開始」"));
    assert!(html.contains("「交換」"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn clock_warning_when_device_and_bank_differ_by_more_than_15_s() {
    let mut w = world(1_700_000_000, rfc_token());
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew = AtomicI64::new(-40);
    bank.status_time = true;
    bank.set_state(SERIAL, TokenState::Active);
    w.bank = Arc::new(bank);
    let h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains("40 秒進んでいます"), "{html}");
    assert!(html.contains("日付と時刻を自動設定"));
    // Codes are never shifted: still the device-time code.
    let g = Generator::new(&Secret::from_slice(RFC_SEED), Params::STK1).unwrap();
    assert!(html.contains(&g.totp(1_700_000_000).unwrap().grouped()));

    // 15 s is tolerated.
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew = AtomicI64::new(15);
    bank.status_time = true;
    w.bank = Arc::new(bank);
    let h = app(&w, Lang::Ja, None).await;
    assert!(!h.html().contains("clock-warning"));

    // Without a fresh bank time, the offset measured at pairing is used.
    let mut m = meta(SERIAL, "デモ信用金庫");
    m.clock_offset = Some(20);
    let w = world(1_700_000_000, vec![(m, Secret::from_slice(RFC_SEED))]);
    let h = app(&w, Lang::En, None).await;
    assert!(h.html().contains("20 s behind the bank"), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn bank_time_from_the_status_answer_shows_and_hides_the_clock_warning() {
    // 5 s off: no warning.
    let mut w = world(1_700_000_000, rfc_token());
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew.store(5, Ordering::SeqCst);
    bank.status_time = true;
    bank.set_state(SERIAL, TokenState::Active);
    w.bank = Arc::new(bank);
    let h = app(&w, Lang::En, None).await;
    assert!(h.html().contains("In use"), "{}", h.html());
    assert!(!h.html().contains("clock-warning"));

    // No (or no valid) bank time in the answer, nothing stored: no warning,
    // no error.
    let mut w = world(1_700_000_000, rfc_token());
    let bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew.store(-40, Ordering::SeqCst);
    bank.set_state(SERIAL, TokenState::Active);
    w.bank = Arc::new(bank);
    let h = app(&w, Lang::En, None).await;
    assert!(h.html().contains("In use"));
    assert!(!h.html().contains("clock-warning"));

    // 40 s ahead → warning with the fix; stays while ticking (the bank's
    // time is not compared with a later device second).
    let mut w = world(1_700_000_000, rfc_token());
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew.store(-40, Ordering::SeqCst);
    bank.status_time = true;
    bank.set_state(SERIAL, TokenState::Active);
    let bank = Arc::new(bank);
    w.bank = bank.clone();
    let mut h = app(&w, Lang::En, None).await;
    assert!(h.html().contains("40 s ahead of the bank"), "{}", h.html());
    assert!(h.html().contains("Set date and time automatically"));
    for t in 1_700_000_001..1_700_000_021 {
        h.tick_to(t).await;
    }
    assert!(h.html().contains("40 s ahead of the bank"), "{}", h.html());
    // The person sets the clock right: the device clock jumps back 40 s,
    // the status is asked again and the warning goes.
    let polls = bank.calls.lock().unwrap().len();
    bank.server_skew.store(0, Ordering::SeqCst);
    h.tick_to(1_699_999_981).await;
    assert!(bank.calls.lock().unwrap().len() > polls, "asked again");
    assert!(!h.html().contains("clock-warning"), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn several_tokens_are_listed_and_open_one_by_one() {
    let w = world(
        1_700_000_000,
        vec![
            (meta(SERIAL, "デモ信用金庫"), Secret::from_slice(RFC_SEED)),
            (
                meta(SERIAL2, "みらい信用金庫"),
                Secret::from_slice(&[9u8; 20]),
            ),
        ],
    );
    let mut h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains("トークン一覧"));
    assert!(html.contains("K7M3 Q9XZ 2PD0") && html.contains("2V07 1601 6FKF"));
    h.click("トークンを開く: みらい信用金庫 2V07 1601 6FKF")
        .await;
    let g = Generator::new(&Secret::from_slice(&[9u8; 20]), Params::STK1).unwrap();
    assert!(h.html().contains(&g.totp(1_700_000_000).unwrap().grouped()));
    assert!(h.html().contains("みらい信用金庫"));
    h.click("戻る").await;
    assert!(h.html().contains("トークン一覧"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn language_switch() {
    let w = world(1_700_000_000, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(h.html().contains("シリアル番号"));
    h.click("English").await;
    assert!(h.html().contains("Serial number"), "{}", h.html());
    assert!(h.html().contains("In use"));
    h.click("日本語").await;
    assert!(h.html().contains("シリアル番号"));
}

// ---------------------------------------------------------------- details

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn details_and_remove_with_the_exchange_warning() {
    let w = world(1_700_000_000, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    h.click("詳細").await;
    let html = h.html();
    assert!(html.contains("デモ信用金庫"));
    assert!(html.contains("K7M3 Q9XZ 2PD0"));
    assert!(html.contains("2023年11月15日"), "paired on, JST: {html}");
    assert!(html.contains("利用中"));
    assert!(html.contains("「交換」による登録が完了するまで、古いトークンを削除しないでください"));
    assert!(!html.contains("remove-dialog"));

    h.click("このトークンを削除").await;
    assert!(h.html().contains("remove-dialog"));
    h.click("キャンセル").await;
    assert!(!h.html().contains("remove-dialog"));
    assert_eq!(w.store.list().unwrap().len(), 1, "cancel keeps the token");

    h.click("このトークンを削除").await;
    h.click("削除する").await;
    assert!(w.store.list().unwrap().is_empty());
    assert_eq!(w.store.secret_count(), 0);
    assert!(
        h.html().contains("まだトークンがありません"),
        "{}",
        h.html()
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn failed_removal_shows_the_error_and_keeps_the_token() {
    let w = world(1_700_000_000, rfc_token());
    let mut h = app(&w, Lang::Ja, None).await;
    h.click("詳細").await;
    h.click("このトークンを削除").await;
    *w.store.fail_with.lock().unwrap() = Some(StoreError::Keystore("locked".into()));
    h.click("削除する").await;
    assert!(h.html().contains("何も削除していません"), "{}", h.html());
    *w.store.fail_with.lock().unwrap() = None;
    assert_eq!(w.store.list().unwrap().len(), 1);
    assert_eq!(w.store.secret_count(), 1);
}

// ---------------------------------------------------------------- store problems

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn keystore_and_metadata_errors_get_a_clear_screen_and_delete_nothing() {
    for (err, text) in [
        (
            StoreError::Keystore("org.freedesktop.Secret locked".into()),
            "キーストア",
        ),
        (
            StoreError::Corrupted {
                kept: "tokens.json".into(),
            },
            "壊れています",
        ),
        (StoreError::NewerVersion, "新しいバージョン"),
    ] {
        let w = world(1_700_000_000, rfc_token());
        *w.store.fail_with.lock().unwrap() = Some(err.clone());
        let mut h = app(&w, Lang::Ja, None).await;
        let html = h.html();
        assert!(html.contains("トークンを読み込めません"), "{html}");
        assert!(html.contains(text), "{err:?}: {html}");
        assert!(html.contains("何も削除していません"));
        // Fixed (keystore unlocked): "Reload" brings the token back.
        *w.store.fail_with.lock().unwrap() = None;
        assert_eq!(w.store.secret_count(), 1);
        h.click("再読み込み").await;
        assert!(h.html().contains("K7M3 Q9XZ 2PD0"), "{}", h.html());
    }
}

// ---------------------------------------------------------------- pairing

fn link(bank: &str, kid: &str) -> String {
    format!("softtoken://pair?v=1&bank={bank}&url=http%3A%2F%2F127.0.0.1%3A8700&kid={kid}")
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_from_a_link_asks_first_then_shows_serial_code_and_next_steps() {
    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
    let html = h.html();
    assert!(
        html.contains("次の金融機関とトークンを登録します"),
        "{html}"
    );
    assert!(html.contains("デモ信用金庫"));
    assert!(
        w.bank.calls.lock().unwrap().is_empty(),
        "nothing before consent"
    );

    h.click("登録する").await;
    let html = h.html();
    assert!(html.contains("トークンを発行しました"), "{html}");
    // Order: init (confirm verified) → begin_add → finish → commit_add.
    assert_eq!(*w.bank.calls.lock().unwrap(), vec!["init", "finish"]);
    let list = w.store.list().unwrap();
    assert_eq!(list.len(), 1);
    let serial = list[0].serial.clone();
    assert_eq!(
        *w.bank.pending_at_finish.lock().unwrap(),
        vec![vec![serial.as_str().to_owned()]],
        "secret stored before finish"
    );
    assert!(w.store.pending().is_empty(), "committed after finish");
    assert!(html.contains(&serial.formatted()));
    // The code the app shows is the bank's code for this token.
    let code = w.bank.bank_code(serial.as_str(), 1_700_000_000);
    assert!(
        html.contains(&format!("{} {}", &code[..3], &code[3..])),
        "{html}"
    );
    assert!(html.contains("「利用開始」"));
    assert!(html.contains("新ソフトウェアトークンに表示されているシリアル番号"));
    assert!(html.contains("登録の期限"));
    assert!(!html.contains("clock-warning"));
    assert_eq!(list[0].bind_by, Some(1_700_003_600));

    h.click("トークンを表示").await;
    assert!(h.html().contains("未登録"), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_by_picking_a_bank_and_by_pasting_a_link() {
    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(
        h.html().contains("お取引の金融機関を選んでください"),
        "{}",
        h.html()
    );
    h.click("デモ信用金庫").await;
    assert!(h.html().contains("よろしいですか"));
    h.click("キャンセル").await;
    h.type_into(
        "または、銀行の「ワンタイムパスワード利用開始」画面のリンク（softtoken://pair…）を貼り付けてください",
        &link(BANK_ID, KID),
    )
    .await;
    h.click("リンクを使う").await;
    assert!(h.html().contains("よろしいですか"), "{}", h.html());
    h.click("登録する").await;
    assert!(h.html().contains("トークンを発行しました"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn untrusted_links_are_refused_in_plain_words() {
    let w = world(1_700_000_000, vec![]);
    for (l, text) in [
        (link("evil", KID), "この金融機関はアプリに登録されていない"),
        (
            link(BANK_ID, "k9"),
            "リンクの鍵がこの金融機関のものと一致しない",
        ),
        (
            "softtoken://pair?v=1&bank=demo&url=http%3A%2F%2Fevil.example&kid=k1".to_string(),
            "登録済みアドレスと一致しません",
        ),
        (
            "https://example.com".to_string(),
            "リンクの形式が正しくありません",
        ),
    ] {
        let h = app(&w, Lang::Ja, Some(&l)).await;
        assert!(h.html().contains(text), "{l}: {}", h.html());
        assert!(!h.html().contains("よろしいですか"));
    }
    assert!(w.bank.calls.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_failures_explain_and_leave_nothing_behind() {
    for (init, finish, text) in [
        (
            Some(ClientError::Network("refused".into())),
            None,
            "銀行に接続できません",
        ),
        (
            Some(ClientError::NotTheBank),
            None,
            "本物の銀行であることを確認できませんでした",
        ),
        (
            Some(ClientError::Refused {
                code: "rate_limited".into(),
            }),
            None,
            "受け付けませんでした",
        ),
        (
            None,
            Some(ClientError::Refused {
                code: "session_expired".into(),
            }),
            "時間がかかりすぎた",
        ),
        (
            None,
            Some(ClientError::Network("timeout".into())),
            "銀行に接続できません",
        ),
    ] {
        let w = world(1_700_000_000, vec![]);
        *w.bank.fail_init.lock().unwrap() = init.clone();
        *w.bank.fail_finish.lock().unwrap() = finish.clone();
        let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
        h.click("登録する").await;
        let html = h.html();
        assert!(html.contains(text), "{init:?}/{finish:?}: {html}");
        assert!(html.contains("もう一度試す"));
        assert!(w.store.list().unwrap().is_empty());
        assert_eq!(w.store.secret_count(), 0, "secret removed again");
        assert!(w.store.pending().is_empty());
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn keystore_failure_during_pairing_stops_before_finish() {
    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
    *w.store.fail_with.lock().unwrap() = Some(StoreError::Keystore("locked".into()));
    h.click("登録する").await;
    *w.store.fail_with.lock().unwrap() = None;
    assert!(
        h.html().contains("トークンを端末に保存できませんでした"),
        "{}",
        h.html()
    );
    assert_eq!(
        *w.bank.calls.lock().unwrap(),
        vec!["init"],
        "no finish without a stored secret"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_warns_about_the_clock() {
    let mut w = world(1_700_000_000, vec![]);
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew = AtomicI64::new(120);
    w.bank = Arc::new(bank);
    let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
    h.click("登録する").await;
    assert!(h.html().contains("120 秒遅れています"), "{}", h.html());
    assert_eq!(w.store.list().unwrap()[0].clock_offset, Some(120));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn qr_image_of_a_link_is_read() {
    // A QR code of the link, drawn with the `qrcode` crate, saved as PNG.
    let w = world(1_700_000_000, vec![]);
    let l = link(BANK_ID, KID);
    let code = qrcode::QrCode::new(l.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let path = std::env::temp_dir().join(format!("softtoken-qr-{}.png", std::process::id()));
    img.save(&path).unwrap();
    assert_eq!(softtoken::qr::decode_file(&path).unwrap(), l);
    let mut h = app(&w, Lang::Ja, None).await;
    h.type_into("QRコードの画像ファイル", path.to_str().unwrap())
        .await;
    h.click("QRコードを読み取る").await;
    assert!(h.html().contains("よろしいですか"), "{}", h.html());
    std::fs::write(&path, b"not an image").unwrap();
    h.click("キャンセル").await;
    h.type_into("QRコードの画像ファイル", path.to_str().unwrap())
        .await;
    h.click("QRコードを読み取る").await;
    assert!(h.html().contains("QRコードを読み取れませんでした"));
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------- interrupted pairing

/// A pairing interrupted after `begin_add` (the app stopped before
/// `commit_add`): the bank has the session, the store a pending token.
async fn interrupted_pairing(w: &World, keep_finish: bool) -> Serial {
    let bank = w.bank.entry();
    let paired = w.bank.init(&bank, &bank.keys[0]).await.unwrap();
    let mut m = meta(paired.serial.as_str(), "デモ信用金庫");
    m.paired_at = 1_700_000_000;
    w.store
        .begin_add(
            &m,
            &paired.secret,
            keep_finish.then_some(&paired.finish_request),
        )
        .unwrap();
    w.bank.calls.lock().unwrap().clear();
    paired.serial
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn interrupted_pairing_is_finished_at_start() {
    let w = world(1_700_000_000, vec![]);
    let serial = interrupted_pairing(&w, true).await;
    assert!(w.store.list().unwrap().is_empty(), "pending is hidden");
    let h = app(&w, Lang::Ja, None).await;
    assert_eq!(*w.bank.calls.lock().unwrap().first().unwrap(), "finish");
    let list = w.store.list().unwrap();
    assert_eq!(list.len(), 1, "committed after the resent finish");
    assert_eq!(list[0].serial, serial);
    assert_eq!(list[0].bind_by, Some(1_700_003_600), "deadline recorded");
    assert!(w.store.pending().is_empty());
    let html = h.html();
    assert!(html.contains("登録が完了しました"), "{html}");
    let code = w.bank.bank_code(serial.as_str(), 1_700_000_000);
    assert!(
        html.contains(&format!("{} {}", &code[..3], &code[3..])),
        "the recovered (only) token opens: {html}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn refused_finish_asks_the_status_and_commits_a_token_the_bank_issued() {
    let w = world(1_700_000_000, vec![]);
    let serial = interrupted_pairing(&w, true).await;
    // The first finish reached the bank, its answer was lost; the session
    // has expired since.
    w.bank.set_state(serial.as_str(), TokenState::Issued);
    *w.bank.fail_finish.lock().unwrap() = Some(ClientError::Refused {
        code: "session_expired".into(),
    });
    let h = app(&w, Lang::En, None).await;
    let calls = w.bank.calls.lock().unwrap().clone();
    assert_eq!(&calls[..2], &["finish", "status"]);
    assert_eq!(w.store.list().unwrap().len(), 1);
    assert_eq!(w.store.secret_count(), 1);
    assert!(h.html().contains("is now complete"), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn expired_pairing_is_dropped_and_the_person_is_told_to_pair_again() {
    for lang in [Lang::Ja, Lang::En] {
        let w = world(1_700_000_000, vec![]);
        let serial = interrupted_pairing(&w, true).await;
        // Unknown to the bank: status answers `expired`.
        *w.bank.fail_finish.lock().unwrap() = Some(ClientError::Refused {
            code: "session_expired".into(),
        });
        let h = app(&w, lang, None).await;
        assert!(w.store.list().unwrap().is_empty());
        assert!(w.store.pending().is_empty(), "pending add aborted");
        assert_eq!(w.store.secret_count(), 0, "its secret removed");
        let html = h.html();
        let (did_not, again) = match lang {
            Lang::Ja => ("登録は完了していませんでした", "もう一度「トークンを追加」"),
            Lang::En => ("did not complete", "Please pair again"),
        };
        assert!(html.contains(did_not), "{html}");
        assert!(html.contains(again), "{html}");
        assert!(html.contains(&serial.formatted()));
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn network_error_keeps_the_pending_token_and_retries() {
    let w = world(1_700_000_000, vec![]);
    let serial = interrupted_pairing(&w, true).await;
    *w.bank.fail_finish.lock().unwrap() = Some(ClientError::Network("timeout".into()));
    *w.bank.fail_status.lock().unwrap() = Some(ClientError::Network("timeout".into()));
    let mut h = app(&w, Lang::Ja, None).await;
    assert_eq!(w.store.pending(), vec![serial.as_str().to_owned()]);
    assert_eq!(w.store.secret_count(), 1, "never deleted on an error");
    assert!(
        h.html().contains("まだ銀行で確認できていません"),
        "{}",
        h.html()
    );
    assert!(h.html().contains("自動で再試行します"));
    // A refusal that only means "later" changes nothing either.
    *w.bank.fail_finish.lock().unwrap() = Some(ClientError::Refused {
        code: "rate_limited".into(),
    });
    tokio::time::advance(Duration::from_secs(61)).await;
    h.settle().await;
    assert_eq!(w.store.pending().len(), 1);
    assert_eq!(w.store.secret_count(), 1);
    // The bank is back: the next retry finishes the pairing.
    *w.bank.fail_finish.lock().unwrap() = None;
    *w.bank.fail_status.lock().unwrap() = None;
    tokio::time::advance(Duration::from_secs(61)).await;
    h.settle().await;
    assert!(w.store.pending().is_empty());
    assert_eq!(w.store.list().unwrap().len(), 1);
    assert!(h.html().contains("登録が完了しました"), "{}", h.html());
    assert!(!h.html().contains("まだ銀行で確認できていません"));
    h.click("閉じる").await;
    assert!(!h.html().contains("登録が完了しました"), "dismissed");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pending_token_without_a_kept_finish_is_decided_by_its_status() {
    let w = world(1_700_000_000, vec![]);
    let serial = interrupted_pairing(&w, false).await;
    w.bank.set_state(serial.as_str(), TokenState::Active);
    let _h = app(&w, Lang::Ja, None).await;
    assert_eq!(w.bank.calls.lock().unwrap().first(), Some(&"status"));
    assert_eq!(w.store.list().unwrap().len(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn store_failure_while_recovering_deletes_nothing() {
    let w = world(1_700_000_000, vec![]);
    let _serial = interrupted_pairing(&w, true).await;
    // Keystore locked after the pending list was read: the commit fails.
    let store = Arc::new(CommitFails(w.store.clone()));
    let mut h = Harness::start(
        store,
        w.bank.clone(),
        dir_of(&w.bank),
        w.clock.clone(),
        Lang::En,
        None,
    );
    h.settle().await;
    assert_eq!(w.store.pending().len(), 1, "still pending");
    assert_eq!(w.store.secret_count(), 1);
    assert!(
        h.html().contains("could not be saved on this device"),
        "{}",
        h.html()
    );
}

/// A store whose `commit_add` and `abort_add` fail (keystore locked).
struct CommitFails(Arc<MemoryStore>);

impl TokenStore for CommitFails {
    fn list(&self) -> Result<Vec<TokenMeta>, StoreError> {
        self.0.list()
    }
    fn secret(&self, serial: &Serial) -> Result<Secret, StoreError> {
        self.0.secret(serial)
    }
    fn begin_add(
        &self,
        meta: &TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError> {
        self.0.begin_add(meta, secret, finish)
    }
    fn commit_add(&self, _: &Serial) -> Result<(), StoreError> {
        Err(StoreError::Keystore("locked".into()))
    }
    fn abort_add(&self, _: &Serial) -> Result<(), StoreError> {
        Err(StoreError::Keystore("locked".into()))
    }
    fn pending_adds(&self) -> Result<Vec<softtoken::services::PendingAdd>, StoreError> {
        self.0.pending_adds()
    }
    fn remove(&self, serial: &Serial) -> Result<(), StoreError> {
        self.0.remove(serial)
    }
    fn record_pairing(
        &self,
        serial: &Serial,
        bind_by: u64,
        clock_offset: Option<i64>,
        at: u64,
    ) -> Result<(), StoreError> {
        self.0.record_pairing(serial, bind_by, clock_offset, at)
    }
}

#[test]
fn pending_add_debug_hides_the_finish_request() {
    let m = meta(SERIAL, "デモ信用金庫");
    let p = softtoken::services::PendingAdd {
        meta: m,
        finish: Some(FinishRequest {
            v: 1,
            session_id: "SESSIONSECRETID".into(),
            serial: Serial::parse_strict(SERIAL).unwrap(),
            client_confirm: "CONFIRMVALUE".into(),
        }),
    };
    let d = format!("{p:?}");
    assert!(
        !d.contains("SESSIONSECRETID") && !d.contains("CONFIRMVALUE"),
        "{d}"
    );
    assert!(d.contains("redacted"));
}

// ---------------------------------------------------------------- store off the UI thread

/// Delegates to a [`MemoryStore`], counting `list` calls and recording the
/// threads every call ran on.
struct Spy {
    inner: Arc<MemoryStore>,
    lists: Mutex<usize>,
    threads: Mutex<Vec<std::thread::ThreadId>>,
    /// `secret` fails as if the keystore were locked.
    secret_locked: Mutex<bool>,
}

impl Spy {
    fn new(inner: Arc<MemoryStore>) -> Spy {
        Spy {
            inner,
            lists: Mutex::new(0),
            threads: Mutex::new(Vec::new()),
            secret_locked: Mutex::new(false),
        }
    }
    fn seen(&self) {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
    }
}

impl TokenStore for Spy {
    fn list(&self) -> Result<Vec<TokenMeta>, StoreError> {
        self.seen();
        *self.lists.lock().unwrap() += 1;
        self.inner.list()
    }
    fn secret(&self, serial: &Serial) -> Result<Secret, StoreError> {
        self.seen();
        if *self.secret_locked.lock().unwrap() {
            return Err(StoreError::Keystore("locked".into()));
        }
        self.inner.secret(serial)
    }
    fn begin_add(
        &self,
        meta: &TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError> {
        self.seen();
        self.inner.begin_add(meta, secret, finish)
    }
    fn commit_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.seen();
        self.inner.commit_add(serial)
    }
    fn abort_add(&self, serial: &Serial) -> Result<(), StoreError> {
        self.seen();
        self.inner.abort_add(serial)
    }
    fn pending_adds(&self) -> Result<Vec<softtoken::services::PendingAdd>, StoreError> {
        self.seen();
        self.inner.pending_adds()
    }
    fn remove(&self, serial: &Serial) -> Result<(), StoreError> {
        self.seen();
        self.inner.remove(serial)
    }
    fn record_pairing(
        &self,
        serial: &Serial,
        bind_by: u64,
        clock_offset: Option<i64>,
        at: u64,
    ) -> Result<(), StoreError> {
        self.seen();
        self.inner.record_pairing(serial, bind_by, clock_offset, at)
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn start_reads_the_list_once_and_no_store_call_runs_on_the_ui_thread() {
    let w = world(1_111_111_109, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let spy = Arc::new(Spy::new(w.store.clone()));
    let mut h = Harness::start(
        spy.clone(),
        w.bank.clone(),
        dir_of(&w.bank),
        w.clock.clone(),
        Lang::Ja,
        None,
    );
    // Before the store answered: a loading state, no code yet.
    assert!(h.html().contains(r#"id="loading""#), "{}", h.html());
    h.settle().await;
    assert!(h.html().contains(">081 804<"), "{}", h.html());
    assert_eq!(
        *spy.lists.lock().unwrap(),
        1,
        "one read of the list at start"
    );
    // Details and back: no further read of the list.
    h.click("詳細").await;
    h.click("戻る").await;
    assert_eq!(*spy.lists.lock().unwrap(), 1);
    // Removal runs off the UI thread too.
    h.click("詳細").await;
    h.click("このトークンを削除").await;
    h.click("削除する").await;
    assert!(w.store.list().unwrap().is_empty());
    let ui = std::thread::current().id();
    let threads = spy.threads.lock().unwrap().clone();
    assert!(threads.len() >= 4, "{threads:?}");
    assert!(
        threads.iter().all(|t| *t != ui),
        "a store call ran on the UI thread"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn locked_keystore_on_the_token_screen_recovers_with_reload() {
    let w = world(1_111_111_109, rfc_token());
    let spy = Arc::new(Spy::new(w.store.clone()));
    *spy.secret_locked.lock().unwrap() = true;
    let mut h = Harness::start(
        spy.clone(),
        w.bank.clone(),
        dir_of(&w.bank),
        w.clock.clone(),
        Lang::Ja,
        None,
    );
    h.settle().await;
    assert!(h.html().contains("キーストア"), "{}", h.html());
    *spy.secret_locked.lock().unwrap() = false;
    h.click("再読み込み").await;
    assert!(h.html().contains(">081 804<"), "{}", h.html());
    assert_eq!(w.store.secret_count(), 1, "nothing deleted");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_stores_off_the_ui_thread_and_stays_on_its_result() {
    let w = world(1_700_000_000, vec![]);
    let spy = Arc::new(Spy::new(w.store.clone()));
    let mut h = Harness::start(
        spy.clone(),
        w.bank.clone(),
        dir_of(&w.bank),
        w.clock.clone(),
        Lang::Ja,
        None,
    );
    h.settle().await;
    // No token: the start screen is pairing; once paired, the result stays.
    h.click("デモ信用金庫").await;
    h.click("登録する").await;
    assert!(h.html().contains("トークンを発行しました"), "{}", h.html());
    assert_eq!(w.store.list().unwrap().len(), 1);
    let ui = std::thread::current().id();
    assert!(spy.threads.lock().unwrap().iter().all(|t| *t != ui));
}

#[test]
fn every_control_is_labelled() {
    // Static check over the screens' sources: each button/input has an
    // aria-label (or is the code button, labelled by its digits).
    for (name, src) in [
        ("app", include_str!("../src/ui/app.rs")),
        ("token", include_str!("../src/ui/token.rs")),
        ("tokens", include_str!("../src/ui/tokens.rs")),
        ("details", include_str!("../src/ui/details.rs")),
        ("pair", include_str!("../src/ui/pair.rs")),
        ("problem", include_str!("../src/ui/problem.rs")),
        ("code", include_str!("../src/ui/widgets/code.rs")),
    ] {
        for (i, chunk) in src.split("button {").skip(1).enumerate() {
            let head: String = chunk.lines().take(8).collect();
            assert!(
                head.contains("aria_label"),
                "{name}: button #{i} has no label"
            );
        }
        for (i, chunk) in src.split("input {").skip(1).enumerate() {
            let head: String = chunk.lines().take(8).collect();
            assert!(
                head.contains("aria_label"),
                "{name}: input #{i} has no label"
            );
        }
    }
}
