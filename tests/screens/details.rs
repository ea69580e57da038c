//! Details and removal behind the exchange warning.
use crate::harness::{app, rfc_token, world, SERIAL};
use softtoken::i18n::Lang;
use softtoken::services::{StoreError, TokenStore};
use softtoken_core::stk1::messages::TokenState;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn details_and_remove_with_the_exchange_warning() {
    let w = world(1_700_000_000, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    h.click("details").await;
    let html = h.html();
    assert!(html.contains("デモ信用金庫"));
    assert!(html.contains("K7M3 Q9XZ 2PD0"));
    assert!(html.contains("2023年11月15日"), "paired on, JST: {html}");
    assert!(html.contains("利用中"));
    assert!(html.contains("「交換」による登録が完了するまで、古いトークンを削除しないでください"));
    assert!(!html.contains("remove-dialog"));

    h.click("remove").await;
    assert!(h.html().contains("remove-dialog"));
    h.click("remove-cancel").await;
    assert!(!h.html().contains("remove-dialog"));
    assert_eq!(w.store.list().unwrap().len(), 1, "cancel keeps the token");

    h.click("remove").await;
    h.click("remove-confirm").await;
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
    h.click("details").await;
    h.click("remove").await;
    *w.store.fail_with.lock().unwrap() = Some(StoreError::keystore_locked("locked"));
    h.click("remove-confirm").await;
    assert!(h.html().contains("何も削除していません"), "{}", h.html());
    *w.store.fail_with.lock().unwrap() = None;
    assert_eq!(w.store.list().unwrap().len(), 1);
    assert_eq!(w.store.secret_count(), 1);
}
