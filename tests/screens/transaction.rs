//! 取引認証 screens (STK1-TXN): the offline 取引認証番号 screen against the
//! spec's vector (token `K7M3Q9XZ2PD0`, `K_TOKEN = 726c…`).
use crate::harness::{app, meta, world, SERIAL};
use softtoken::i18n::Lang;
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::Secret;

const K_TOKEN: &str = "726c4957f09af0142f7f33b057e6d159b4e632ac";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vector_token() -> Vec<(softtoken::services::TokenMeta, Secret)> {
    vec![(
        meta(SERIAL, "デモ信用金庫"),
        Secret::from_slice(&unhex(K_TOKEN)),
    )]
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn offline_code_is_the_spec_vector_and_follows_the_step() {
    let w = world(1_700_000_000, vector_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    h.click("offline-open").await;
    let html = h.html();
    assert!(html.contains("取引認証番号"), "{html}");
    assert!(!html.contains("414 993"));
    h.type_into("offline-question", "1234567").await;
    h.click("offline-show").await;
    let html = h.html();
    assert!(html.contains(">414 993<"), "{html}");
    assert!(html.contains(r#"aria-label="4 1 4 9 9 3""#), "{html}");
    // 1700000000 is 20 s into its 30 s step.
    assert!(html.contains("あと 10 秒"), "{html}");
    // Tap to copy: the plain digits.
    h.click("otp-code").await;
    assert_eq!(h.clipboard.0.lock().unwrap().last().unwrap(), "414993");
    // The next 30 s step (1700000010..1700000039, the spec's t =
    // 1700000030) has the spec's next code.
    h.tick_to(1_700_000_009).await;
    assert!(h.html().contains(">414 993<"));
    assert!(h.html().contains("あと 1 秒"));
    h.tick_to(1_700_000_010).await;
    let html = h.html();
    assert!(html.contains(">073 759<"), "{html}");
    assert!(!html.contains("414 993"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn offline_code_accepts_full_width_and_refuses_non_digits() {
    let w = world(1_700_000_000, vector_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::En, None).await;
    h.click("offline-open").await;
    h.type_into("offline-question", "12a45").await;
    h.click("offline-show").await;
    let html = h.html();
    assert!(html.contains(r#"id="offline-invalid""#), "{html}");
    assert!(!html.contains(r#"id="otp-code""#), "{html}");
    // The spec's payment question 12345, typed in full-width digits.
    h.type_into("offline-question", "１２３４５").await;
    h.click("offline-show").await;
    let html = h.html();
    assert!(!html.contains(r#"id="offline-invalid""#), "{html}");
    assert!(html.contains(">985 725<"), "{html}");
    assert!(html.contains("Transaction code"), "{html}");
    h.click("offline-back").await;
    assert!(h.html().contains(r#"id="offline-open""#));
}
