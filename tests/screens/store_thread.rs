//! No store call on the UI thread; one read of the list at start.
use crate::harness::{dir_of, rfc_token, world, Harness, SERIAL};
use softtoken::i18n::Lang;
use softtoken::services::testing::MemoryStore;
use softtoken::services::{PendingAdd, StoreError, TokenMeta, TokenStore};
use softtoken_core::stk1::messages::{FinishRequest, TokenState};
use softtoken_core::{Secret, Serial};
use std::sync::{Arc, Mutex};

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
            return Err(StoreError::keystore_locked("locked"));
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
    fn pending_adds(&self) -> Result<Vec<PendingAdd>, StoreError> {
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
    h.click("details").await;
    h.click("back").await;
    assert_eq!(*spy.lists.lock().unwrap(), 1);
    // Removal runs off the UI thread too.
    h.click("details").await;
    h.click("remove").await;
    h.click("remove-confirm").await;
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
    h.click("retry").await;
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
    h.click("bank-demo").await;
    h.click("pair-go").await;
    assert!(h.html().contains("トークンを発行しました"), "{}", h.html());
    assert_eq!(w.store.list().unwrap().len(), 1);
    let ui = std::thread::current().id();
    assert!(spy.threads.lock().unwrap().iter().all(|t| *t != ui));
}
