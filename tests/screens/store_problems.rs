//! Keystore and metadata problems: a clear screen, nothing deleted, reload.
use crate::harness::{app, rfc_token, world};
use softtoken::i18n::Lang;
use softtoken::services::StoreError;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn keystore_and_metadata_errors_get_a_clear_screen_and_delete_nothing() {
    for (err, text) in [
        (
            StoreError::keystore_locked("org.freedesktop.Secret locked"),
            "キーストア",
        ),
        (
            StoreError::Corrupted {
                path: "tokens.json".into(),
                reason: "expected value at line 1 column 1".into(),
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
        h.click("retry").await;
        assert!(h.html().contains("K7M3 Q9XZ 2PD0"), "{}", h.html());
    }
}
