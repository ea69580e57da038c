//! Interrupted pairings resolved at start and while the app runs.
use crate::harness::{app, dir_of, meta, world, Harness, World, SERIAL};
use softtoken::i18n::Lang;
use softtoken::services::testing::MemoryStore;
use softtoken::services::{BankClient, ClientError, PendingAdd, StoreError, TokenMeta, TokenStore};
use softtoken_core::stk1::messages::{FinishRequest, TokenState};
use softtoken_core::stk1::ErrorCode;
use softtoken_core::{Secret, Serial};
use std::sync::Arc;
use std::time::Duration;

/// A pairing interrupted after `begin_add` (the app stopped before
/// `commit_add`): the bank has the session, the store a pending token.
pub async fn interrupted_pairing(w: &World, keep_finish: bool) -> Serial {
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
        code: ErrorCode::SessionExpired,
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
            code: ErrorCode::SessionExpired,
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
        code: ErrorCode::RateLimited,
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
    h.click(&format!("dismiss-{}", serial.as_str())).await;
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
        Err(StoreError::keystore_locked("locked"))
    }
    fn abort_add(&self, _: &Serial) -> Result<(), StoreError> {
        Err(StoreError::keystore_locked("locked"))
    }
    fn pending_adds(&self) -> Result<Vec<PendingAdd>, StoreError> {
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
    let p = PendingAdd {
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
