//! The next code in the last five seconds of a step: shown under the
//! current one, smaller and labelled, copied on a click, and appearing and
//! going only at the step's boundaries (a tick in between still sends two
//! edits).
use crate::harness::{app, rfc_token, world, SERIAL};
use softtoken::i18n::Lang;
use softtoken_core::stk1::messages::TokenState;

// RFC 6238 (SHA-1) vectors, six digits: T = 1111111109 → 07081804 and
// T = 1111111111 → 14050471. Step 37037036 runs from 1111111080 to
// 1111111109; 1111111111 is in the step after it.
const STEP_START: u64 = 1_111_111_080;
const CURRENT: &str = ">081 804<";
const NEXT: &str = ">050 471<";

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn at_second_26_the_next_code_is_shown_and_copied() {
    let w = world(STEP_START + 26, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains(CURRENT), "{html}");
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
async fn at_second_10_no_next_code() {
    let w = world(STEP_START + 10, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains(CURRENT), "{html}");
    assert!(!html.contains(r#"id="next-code""#), "{html}");
    assert!(!html.contains("次のワンタイムパスワード"), "{html}");
    assert!(!html.contains(NEXT), "{html}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_next_code_appears_at_25_s_and_becomes_the_code_at_0_s() {
    let w = world(STEP_START + 24, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(!h.html().contains(NEXT), "{}", h.html());
    h.tick_to(STEP_START + 25).await;
    assert!(h.html().contains(NEXT), "{}", h.html());
    assert!(h.html().contains(CURRENT));
    for t in STEP_START + 26..STEP_START + 30 {
        h.tick_to(t).await;
        assert!(h.html().contains(NEXT), "{t}: {}", h.html());
    }
    h.tick_to(STEP_START + 30).await;
    let html = h.html();
    assert!(!html.contains(r#"id="next-code""#), "{html}");
    assert!(!html.contains(CURRENT), "{html}");
    assert_eq!(h.label_of("otp-code").as_deref(), Some("0 5 0 4 7 1"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_tick_while_the_next_code_is_shown_still_sends_two_edits() {
    let w = world(STEP_START + 26, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let edits = h.tick_edits(STEP_START + 27).await;
    assert_eq!(edits.len(), 2, "{edits:#?}");
    assert!(edits.iter().any(|e| e.contains("あと 3 秒")), "{edits:#?}");
    assert!(
        edits.iter().any(|e| e.contains("stroke-dashoffset")),
        "{edits:#?}"
    );
}
