//! What makes the app poll pending transactions besides opening a screen:
//! a `softtoken://txn` link (through `TxnTriggers`, as `main` hands it
//! over), the app coming to the foreground, and what stops it: the app
//! hidden. The real `App` in a `VirtualDom` with the `TxnTriggers` root
//! context `main` gives, over `services::testing::TxnBank` (wrapped so a
//! poll can be held in flight).
use crate::harness::{meta, SERIAL, SERIAL2};
use dioxus::prelude::*;
use softtoken::i18n::Lang;
use softtoken::services::bank::{BoxFuture, ClientError};
use softtoken::services::testing::{FixedClock, MemoryClipboard, MemoryStore, TxnBank};
use softtoken::services::txn_link::TxnLink;
use softtoken::services::{BankClient, BankDirectory, BankEntry, PinnedKey, Services, TokenMeta};
use softtoken::ui::transaction::triggers::{TxnTriggers, POLLS_PER_WINDOW};
use softtoken::ui::{App, StartOptions};
use softtoken_core::stk1::client::Paired;
use softtoken_core::stk1::messages::{FinishRequest, FinishResponse};
use softtoken_core::txn::wire::{DecisionRequest, DecisionResponse, PollResponse, WireTransaction};
use softtoken_core::txn::{derive_txn_keys, Kind, Transaction, TxnId, TxnKey, NONCE_LEN};
use softtoken_core::{Secret, Serial};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

const NOW: u64 = 1_700_000_000;
const BANK: &str = "demo";

fn secret(serial: &str) -> Secret {
    let b = if serial == SERIAL { 7 } else { 8 };
    Secret::from_slice(&[b; 20])
}

fn token(serial: &str) -> (TokenMeta, Secret) {
    (meta(serial, "デモ信用金庫"), secret(serial))
}

/// A transfer of 12,000 yen pending for `serial`, signed with its K_TXN.
fn pending_for(serial: &str) -> WireTransaction {
    let s = Serial::parse_strict(serial).unwrap();
    let fields = [
        ("payee_bank", "かけしん信用金庫"),
        ("payee_branch", "本店営業部"),
        ("account_type", "普通"),
        ("account_number", "1234567"),
        ("payee_name", "ヤマダ タロウ"),
        ("amount", "12000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let tx = Transaction::new(
        TxnId::from_bytes([9; 16]),
        s.clone(),
        Kind::Transfer,
        NOW,
        NOW + 300,
        fields,
    )
    .unwrap();
    let (key, _) = derive_txn_keys(&secret(serial), &s);
    WireTransaction::sign(&tx, &key)
}

/// `TxnBank` with polls that can be held in flight, and its own count of
/// polls in flight (a poll the app dropped counts as ended).
#[derive(Default)]
struct HeldBank {
    inner: TxnBank,
    hold: AtomicBool,
    release: Notify,
    in_flight: Mutex<(usize, usize)>,
}

struct InFlight<'a>(&'a HeldBank);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.lock().unwrap().0 -= 1;
    }
}

impl HeldBank {
    fn at(unix: u64) -> HeldBank {
        HeldBank {
            inner: TxnBank::at(unix),
            ..HeldBank::default()
        }
    }

    fn polls(&self) -> usize {
        self.inner.polls.lock().unwrap().len()
    }

    fn now_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().0
    }

    fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    fn set_hold(&self, on: bool) {
        self.hold.store(on, Ordering::SeqCst);
        if !on {
            self.release.notify_waiters();
        }
    }
}

impl BankClient for HeldBank {
    fn init<'a>(
        &'a self,
        bank: &'a BankEntry,
        key: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>> {
        self.inner.init(bank, key)
    }

    fn finish<'a>(
        &'a self,
        url: &'a str,
        request: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>> {
        self.inner.finish(url, request)
    }

    fn status<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
    ) -> BoxFuture<'a, Result<softtoken::services::bank::BankStatus, ClientError>> {
        self.inner.status(url, serial)
    }

    fn poll_pending<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
        key: &'a TxnKey,
        t: u64,
        nonce: [u8; NONCE_LEN],
    ) -> BoxFuture<'a, Result<PollResponse, ClientError>> {
        Box::pin(async move {
            {
                let mut f = self.in_flight.lock().unwrap();
                f.0 += 1;
                f.1 = f.1.max(f.0);
            }
            let _guard = InFlight(self);
            let answer = self.inner.poll_pending(url, serial, key, t, nonce).await;
            while self.hold.load(Ordering::SeqCst) {
                let released = self.release.notified();
                if !self.hold.load(Ordering::SeqCst) {
                    break;
                }
                released.await;
            }
            answer
        })
    }

    fn decide<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
        txn_id: &'a TxnId,
        request: &'a DecisionRequest,
    ) -> BoxFuture<'a, Result<DecisionResponse, ClientError>> {
        self.inner.decide(url, serial, txn_id, request)
    }
}

/// The app as `main` runs it: the triggers are a root context.
struct TriggerApp {
    dom: VirtualDom,
    clock: FixedClock,
    bank: Arc<HeldBank>,
    triggers: TxnTriggers,
}

impl TriggerApp {
    fn start(tokens: Vec<(TokenMeta, Secret)>, triggers: TxnTriggers) -> TriggerApp {
        let clock = FixedClock::at(NOW);
        let bank = Arc::new(HeldBank::at(NOW));
        let services = Services {
            clock: Arc::new(clock.clone()),
            store: Arc::new(MemoryStore::with_tokens(tokens)),
            bank: bank.clone(),
            directory: Arc::new(BankDirectory::default()),
            clipboard: Arc::new(MemoryClipboard::default()),
        };
        let mut dom = VirtualDom::new(App)
            .with_root_context(services)
            .with_root_context(StartOptions {
                lang: Lang::Ja,
                pair_link: None,
            })
            .with_root_context(triggers.clone());
        dom.rebuild_in_place();
        TriggerApp {
            dom,
            clock,
            bank,
            triggers,
        }
    }

    /// Runs every task that is ready now (time is paused; the 50 ms
    /// timeout is always the earliest timer).
    async fn settle(&mut self) {
        for _ in 0..50 {
            if tokio::time::timeout(Duration::from_millis(50), self.dom.wait_for_work())
                .await
                .is_err()
            {
                break;
            }
            self.dom.render_immediate_to_vec();
        }
        self.dom.render_immediate_to_vec();
    }

    /// Lets `secs` seconds pass, one tick at a time.
    async fn pass(&mut self, secs: u64) {
        for _ in 0..secs {
            let t = softtoken::services::Clock::now_unix(&self.clock) + 1;
            self.clock.set(t);
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.settle().await;
        }
    }

    fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    fn polls(&self) -> usize {
        self.bank.polls()
    }
}

fn link(bank: &str, serial: &str) -> TxnLink {
    TxnLink {
        bank: bank.into(),
        serial: Serial::parse_strict(serial).unwrap(),
    }
}

fn shows_transaction_screen(html: &str) -> bool {
    html.contains(r#"id="txn-title""#)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_link_for_a_held_token_polls_at_once_and_shows_its_transaction() {
    // Two tokens: the app opens on the list, where nothing polls.
    let mut app = TriggerApp::start(vec![token(SERIAL), token(SERIAL2)], TxnTriggers::default());
    app.settle().await;
    app.pass(3).await;
    let list = app.html();
    assert!(list.contains(r#"id="add-token""#), "the list: {list}");
    assert!(!shows_transaction_screen(&list), "{list}");
    assert_eq!(app.polls(), 0, "the list polls nothing");

    *app.bank.inner.pending.lock().unwrap() = vec![pending_for(SERIAL)];
    app.triggers.open_link(link(BANK, SERIAL));
    app.settle().await;
    let html = app.html();
    assert!(shows_transaction_screen(&html), "{html}");
    assert!(html.contains(r#"id="txn-amount""#), "{html}");
    assert!(html.contains("12,000円"), "{html}");
    assert!(html.contains(r#"id="txn-approve""#), "{html}");
    let polls = app.bank.inner.polls.lock().unwrap().clone();
    assert_eq!(polls.len(), 1, "one poll, at once");
    assert_eq!(polls[0].0.as_str(), SERIAL, "the linked token's");
    assert_eq!(app.triggers.take_link(), None, "the link is routed once");

    // The window is the transaction screen's: every 5 s from now.
    app.pass(5).await;
    assert_eq!(app.polls(), 2);
    assert_eq!(app.bank.max_in_flight(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_link_for_a_token_the_app_does_not_hold_shows_a_notice_and_polls_nothing() {
    let mut app = TriggerApp::start(vec![token(SERIAL), token(SERIAL2)], TxnTriggers::default());
    app.settle().await;
    let stranger = loop {
        let s = Serial::generate(&mut rand_core::OsRng);
        if s.as_str() != SERIAL && s.as_str() != SERIAL2 {
            break s;
        }
    };
    for (bank, serial) in [
        // The serial of a held token, at another bank.
        ("other-bank", SERIAL),
        // The right bank, a serial the app does not hold.
        (BANK, stranger.as_str()),
    ] {
        app.triggers.open_link(link(bank, serial));
        app.settle().await;
        let html = app.html();
        assert!(html.contains(r#"id="txn-link-unknown""#), "{html}");
        assert!(html.contains("登録されていない"), "{html}");
        assert!(!shows_transaction_screen(&html), "{html}");
        assert!(html.contains(r#"id="add-token""#), "still the list: {html}");
        app.pass(12).await;
        assert_eq!(app.polls(), 0, "{bank} {serial}: nothing polled");
    }
    // A later link for a held token is routed and the notice goes.
    app.triggers.open_link(link(BANK, SERIAL2));
    app.settle().await;
    let html = app.html();
    assert!(shows_transaction_screen(&html), "{html}");
    assert!(!html.contains(r#"id="txn-link-unknown""#), "{html}");
    assert_eq!(app.polls(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn coming_to_the_foreground_polls_once_and_restarts_the_window() {
    // One token: the app opens on its token screen, which polls.
    let mut app = TriggerApp::start(vec![token(SERIAL)], TxnTriggers::default());
    app.settle().await;
    assert_eq!(app.polls(), 1, "a poll when the token screen opens");
    app.pass(2).await;
    assert_eq!(app.polls(), 1);
    app.triggers.foreground();
    app.settle().await;
    assert_eq!(app.polls(), 2, "one poll at once on the foreground event");
    // Let the first window run out and well past it.
    app.pass(300).await;
    let after_window = app.polls();
    // The foreground poll started a new window of 37 polls.
    assert_eq!(after_window, 1 + POLLS_PER_WINDOW as usize);
    app.pass(30).await;
    assert_eq!(app.polls(), after_window, "no polls after the window");
    // Out of the window, a foreground event starts a new one.
    app.triggers.foreground();
    app.settle().await;
    assert_eq!(app.polls(), after_window + 1);
    app.pass(12).await;
    assert_eq!(
        app.polls(),
        after_window + 3,
        "at once, then 5 s and 10 s later"
    );
    assert_eq!(app.bank.max_in_flight(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_hidden_app_polls_nothing_until_it_is_visible_again() {
    let mut app = TriggerApp::start(vec![token(SERIAL)], TxnTriggers::default());
    app.settle().await;
    assert_eq!(app.polls(), 1);
    app.triggers.set_visible(false);
    app.settle().await;
    app.pass(60).await;
    assert_eq!(app.polls(), 1, "nothing while hidden");
    // A link while hidden is routed (the screen opens) but polls nothing.
    app.triggers.open_link(link(BANK, SERIAL));
    app.settle().await;
    assert!(shows_transaction_screen(&app.html()), "{}", app.html());
    app.pass(20).await;
    assert_eq!(app.polls(), 1, "nothing while hidden, even on a new screen");
    // Visible again: a poll at once, then every 5 s.
    app.triggers.set_visible(true);
    app.settle().await;
    assert_eq!(app.polls(), 2);
    // Visible → visible is no event.
    app.triggers.set_visible(true);
    app.settle().await;
    assert_eq!(app.polls(), 2);
    app.pass(5).await;
    assert_eq!(app.polls(), 3);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_app_started_hidden_polls_only_once_shown() {
    let triggers = TxnTriggers::default();
    triggers.set_visible(false);
    let mut app = TriggerApp::start(vec![token(SERIAL)], triggers);
    app.settle().await;
    app.pass(30).await;
    assert!(app.html().contains(r#"id="txn-open""#), "{}", app.html());
    assert_eq!(app.polls(), 0);
    app.triggers.foreground();
    app.settle().await;
    assert_eq!(app.polls(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn triggers_while_a_poll_is_in_flight_never_start_a_second_one() {
    let mut app = TriggerApp::start(vec![token(SERIAL)], TxnTriggers::default());
    app.bank.set_hold(true);
    app.settle().await;
    // The token screen's first poll waits for its answer.
    assert_eq!(app.bank.now_in_flight(), 1);
    for _ in 0..3 {
        app.triggers.foreground();
        app.settle().await;
    }
    app.pass(12).await;
    assert_eq!(app.bank.now_in_flight(), 1);
    assert_eq!(app.polls(), 1, "no second request while one is in flight");
    // A link for the token opens its transaction screen meanwhile: the
    // token screen's poll is dropped with it, the new one waits its turn.
    app.triggers.open_link(link(BANK, SERIAL));
    app.settle().await;
    assert!(shows_transaction_screen(&app.html()), "{}", app.html());
    assert_eq!(app.bank.now_in_flight(), 1);
    // A link naming the shown screen, and more focus events, while held.
    app.triggers.open_link(link(BANK, SERIAL));
    app.triggers.foreground();
    app.settle().await;
    app.pass(3).await;
    assert_eq!(app.bank.now_in_flight(), 1);
    let held = app.polls();
    assert_eq!(held, 2, "the token screen's and the transaction screen's");
    // Released: the wakes that came meanwhile are served by one poll.
    app.bank.set_hold(false);
    app.settle().await;
    app.pass(1).await;
    assert_eq!(
        app.polls(),
        held + 1,
        "one follow-up poll for all the wakes"
    );
    app.pass(5).await;
    assert_eq!(app.polls(), held + 2, "then the 5 s cadence");
    assert_eq!(app.bank.max_in_flight(), 1);
    assert_eq!(app.bank.now_in_flight(), 0);
}
