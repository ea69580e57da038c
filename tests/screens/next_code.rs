//! The next code in the last five seconds of a step: shown under the
//! current one, smaller and labelled, copied on a click. The app renders
//! it with the step, hidden unless the step's last five seconds have begun;
//! the web view's countdown timer un-hides it at 5 s left, so a second in
//! between sends no edit.
use crate::harness::{app, rfc_token, world, SERIAL};
use crate::token::tag_of;
use softtoken::i18n::Lang;
use softtoken_core::stk1::messages::TokenState;

// RFC 6238 (SHA-1) vectors, six digits: T = 1111111109 → 07081804 and
// T = 1111111111 → 14050471. Step 37037036 runs from 1111111080 to
// 1111111109; 1111111111 is in the step after it.
const STEP_START: u64 = 1_111_111_080;
const CURRENT: &str = ">081 804<";
const NEXT: &str = ">050 471<";

/// Whether the next code's box is rendered hidden.
fn hidden(html: &str) -> bool {
    tag_of(html, "next-code-box").contains(" hidden")
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn at_second_26_the_next_code_is_shown_and_copied() {
    let w = world(STEP_START + 26, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains(CURRENT), "{html}");
    assert!(!hidden(&html), "{html}");
    assert!(html.contains("次のワンタイムパスワード"), "{html}");
    assert!(html.contains(NEXT), "{html}");
    assert_eq!(h.label_of("otp-code").as_deref(), Some("0 8 1 8 0 4"));
    assert_eq!(h.label_of("next-code").as_deref(), Some("0 5 0 4 7 1"));
    // The current code comes first, the next one after the countdown.
    let (cur, next) = (html.find(CURRENT).unwrap(), html.find(NEXT).unwrap());
    let seconds = html.find("あと 4 秒").unwrap();
    assert!(cur < seconds && seconds < next, "{html}");

    h.click("next-code").await;
    assert_eq!(*h.clipboard.0.lock().unwrap(), vec!["050471".to_string()]);
    assert!(h.html().contains("ワンタイムパスワードをコピーしました"));

    let h = app(&w, Lang::En, None).await;
    assert!(h.html().contains("Next one-time password"), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn at_second_10_the_next_code_is_hidden() {
    // In the page already (the web view's timer un-hides it at 5 s left),
    // but hidden: neither painted nor in the accessibility tree.
    let w = world(STEP_START + 10, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains(CURRENT), "{html}");
    assert!(hidden(&html), "{html}");
    assert!(!tag_of(&html, "countdown").contains("urgent"), "{html}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_next_code_is_rendered_with_the_step_and_becomes_the_code_at_0_s() {
    // Opened at 24 s: hidden. The seconds up to the boundary send nothing
    // (the web view shows it at 25 s); at 0 s it is the code, and the box
    // holds the step after it, hidden again.
    let w = world(STEP_START + 24, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(h.html().contains(NEXT) && hidden(&h.html()), "{}", h.html());
    assert_eq!(h.label_of("next-code").as_deref(), Some("0 5 0 4 7 1"));
    for t in STEP_START + 25..STEP_START + 30 {
        let edits = h.tick_edits(t).await;
        assert!(edits.is_empty(), "{t}: {edits:#?}");
    }
    let edits = h.tick_edits(STEP_START + 30).await;
    assert!(!edits.is_empty());
    let html = h.html();
    assert!(!html.contains(CURRENT), "{html}");
    assert_eq!(h.label_of("otp-code").as_deref(), Some("0 5 0 4 7 1"));
    assert!(hidden(&html), "{html}");
    assert_ne!(h.label_of("next-code").as_deref(), Some("0 5 0 4 7 1"));
    assert!(html.contains("あと 30 秒"), "{html}");

    // Opened at 25 s: shown from the first render.
    let w = world(STEP_START + 25, rfc_token());
    let h = app(&w, Lang::Ja, None).await;
    assert!(!hidden(&h.html()), "{}", h.html());
    assert!(tag_of(&h.html(), "countdown").contains("countdown urgent"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_second_while_the_next_code_is_shown_sends_nothing() {
    let w = world(STEP_START + 26, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let edits = h.tick_edits(STEP_START + 27).await;
    assert!(edits.is_empty(), "{edits:#?}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_copy_note_of_the_next_code_goes_with_its_step() {
    let w = world(STEP_START + 27, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    h.click("next-code").await;
    assert!(h.html().contains("ワンタイムパスワードをコピーしました"));
    h.tick_to(STEP_START + 30).await;
    assert!(!h.html().contains("コピーしました"), "{}", h.html());
}
