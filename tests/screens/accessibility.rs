//! Every control has an accessible name, and a button's name is the text
//! it shows.
use crate::fakes::RFC_SEED;
use crate::harness::{app, meta, rfc_token, world, Harness, SERIAL, SERIAL2};
use softtoken::i18n::Lang;
use softtoken::services::{ClientError, StoreError};
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::Secret;
use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_control_is_labelled() {
    // Static check over every source of the screens and widgets: each
    // button/input element has an aria-label (the code button is labelled
    // by its digits; `Button` widgets by their message).
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
    let files = sources(&ui);
    assert!(files.len() >= 15, "{files:?}");
    let mut buttons = 0;
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        let name = path.display();
        for (i, chunk) in src.split("button {").skip(1).enumerate() {
            buttons += 1;
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
    assert!(buttons >= 5, "found only {buttons} button elements");
}

/// `(id, aria-label, shown text)` of every button in `html`.
fn buttons(html: &str) -> Vec<(String, String, String)> {
    let attr = |tag: &str, name: &str| -> String {
        let key = format!(r#"{name}=""#);
        tag.find(&key)
            .map(|at| {
                let from = at + key.len();
                tag[from..from + tag[from..].find('"').unwrap()].to_owned()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<button") {
        rest = &rest[at..];
        let open_end = rest.find('>').unwrap();
        let tag = &rest[..open_end];
        let close = rest.find("</button>").unwrap();
        let inner = &rest[open_end + 1..close];
        let mut text = String::new();
        let mut in_tag = false;
        for c in inner.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        out.push((
            attr(tag, "id"),
            attr(tag, "aria-label"),
            text.trim().to_owned(),
        ));
        rest = &rest[close..];
    }
    out
}

/// Checks that every button of the current screen is named, and named by
/// what it shows (a leading `‹ ` is decoration); the code buttons (current
/// and next) and the token list entries are named by their own rules,
/// checked elsewhere.
/// Returns the ids seen.
fn check_names(h: &Harness) -> Vec<String> {
    let html = h.html();
    let mut ids = Vec::new();
    for (id, label, text) in buttons(&html) {
        assert!(!id.is_empty(), "a button without an id: {html}");
        assert!(!label.is_empty(), "{id} has no name: {html}");
        let code = id == "otp-code" || id == "next-code";
        if !code && !id.starts_with("token-2") && !id.starts_with("token-K") {
            assert_eq!(
                text.trim_start_matches("‹ "),
                label,
                "{id}: name and text differ"
            );
        }
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn buttons_are_named_by_the_text_they_show() {
    for lang in [Lang::Ja, Lang::En] {
        let mut seen = Vec::new();
        // Token screen, details, removal dialog.
        let w = world(1_700_000_000, rfc_token());
        w.bank.set_state(SERIAL, TokenState::Active);
        let mut h = app(&w, lang, None).await;
        seen.extend(check_names(&h));
        h.click("details").await;
        seen.extend(check_names(&h));
        h.click("remove").await;
        seen.extend(check_names(&h));

        // Several tokens: the list, and a token's screen with "back".
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
        let mut h = app(&w, lang, None).await;
        seen.extend(check_names(&h));
        h.click(&format!("token-{SERIAL2}")).await;
        seen.extend(check_names(&h));

        // Pairing: choose, confirm, failed, done.
        let w = world(1_700_000_000, vec![]);
        let mut h = app(&w, lang, None).await;
        seen.extend(check_names(&h));
        h.click("bank-demo").await;
        seen.extend(check_names(&h));
        *w.bank.fail_init.lock().unwrap() = Some(ClientError::NotTheBank);
        h.click("pair-go").await;
        seen.extend(check_names(&h));
        *w.bank.fail_init.lock().unwrap() = None;
        h.click("pair-retry").await;
        h.click("pair-go").await;
        seen.extend(check_names(&h));

        // A recovery notice (a pairing left pending, now confirmed).
        let w = world(1_700_000_000, vec![]);
        let _ = crate::interrupted_pairing::interrupted_pairing(&w, true).await;
        let h = app(&w, lang, None).await;
        seen.extend(check_names(&h));

        // The store problem screen.
        let w = world(1_700_000_000, rfc_token());
        *w.store.fail_with.lock().unwrap() = Some(StoreError::keystore_locked("locked"));
        let h = app(&w, lang, None).await;
        seen.extend(check_names(&h));

        for id in [
            "lang-switch",
            "otp-code",
            "details",
            "back",
            "remove",
            "remove-cancel",
            "remove-confirm",
            "add-token",
            "token-back",
            "bank-demo",
            "use-link",
            "read-qr",
            "pair-cancel",
            "pair-go",
            "pair-retry",
            "show-token",
            "retry",
        ] {
            assert!(seen.iter().any(|s| s == id), "{lang:?}: {id} not checked");
        }
        assert!(
            seen.iter().any(|s| s.starts_with("dismiss-")),
            "{lang:?}: no notice checked"
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn controls_are_named_in_the_language_shown() {
    let w = world(1_700_000_000, rfc_token());
    let mut h = app(&w, Lang::Ja, None).await;
    assert_eq!(h.label_of("details").as_deref(), Some("詳細"));
    h.click("details").await;
    assert_eq!(h.label_of("back").as_deref(), Some("戻る"));
    assert_eq!(h.label_of("remove").as_deref(), Some("このトークンを削除"));
    h.click("remove").await;
    assert_eq!(h.label_of("remove-cancel").as_deref(), Some("キャンセル"));
    assert_eq!(h.label_of("remove-confirm").as_deref(), Some("削除する"));
    h.click("lang-switch").await;
    assert_eq!(h.label_of("remove-confirm").as_deref(), Some("Remove"));

    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, None).await;
    assert_eq!(h.label_of("bank-demo").as_deref(), Some("デモ信用金庫"));
    assert_eq!(
        h.label_of("pair-link").as_deref(),
        Some("または、銀行の「ワンタイムパスワード利用開始」画面のリンク（softtoken://pair…）を貼り付けてください")
    );
    assert_eq!(h.label_of("use-link").as_deref(), Some("リンクを使う"));
    assert_eq!(
        h.label_of("qr-path").as_deref(),
        Some("QRコードの画像ファイル")
    );
    assert_eq!(h.label_of("read-qr").as_deref(), Some("QRコードを読み取る"));
    h.click("bank-demo").await;
    assert_eq!(h.label_of("pair-cancel").as_deref(), Some("キャンセル"));
    assert_eq!(h.label_of("pair-go").as_deref(), Some("登録する"));
    h.click("pair-go").await;
    assert_eq!(h.label_of("show-token").as_deref(), Some("トークンを表示"));
}
