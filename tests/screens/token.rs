//! The token screen: code, countdown, bank states, clock warnings, the list
//! of several tokens and the language switch.
use crate::fakes::{FakeBank, OfflineBank, RFC_SEED};
use crate::harness::{app, dir_of, meta, rfc_token, world, Harness, SERIAL, SERIAL2};
use dioxus::prelude::VirtualDom;
use softtoken::i18n::Lang;
use softtoken::services::clock::AdjustableClock;
use softtoken::services::testing::MemoryClipboard;
use softtoken::services::Services;
use softtoken::ui::widgets::digits_label;
use softtoken::ui::{App, StartOptions};
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::{Generator, Params, Secret};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

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

/// The opening tag of the element with id `id` in `html`.
pub fn tag_of<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no element {id:?}: {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..end]
}

/// The value of attribute `name` of the element with id `id`.
pub fn attr_of(html: &str, id: &str, name: &str) -> Option<String> {
    let tag = tag_of(html, id);
    let key = format!(r#" {name}=""#);
    let from = tag.find(&key)? + key.len();
    Some(tag[from..from + tag[from..].find('"')?].to_owned())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_countdown_is_rendered_with_its_anchor_for_the_web_view() {
    // What the window shows before its timer runs, and what the timer
    // counts from: the app clock in ms, the period, and the text around
    // the number.
    let w = world(1_111_111_107, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let h = app(&w, Lang::Ja, None).await;
    let html = h.html();
    assert!(html.contains("あと 3 秒"), "{html}");
    assert!(html.contains(">081 804<"));
    let tag = tag_of(&html, "countdown");
    assert!(tag.contains(r#"role="timer""#), "{tag}");
    assert!(
        !tag.contains("aria-live") && !tag.contains("aria-label"),
        "{tag}"
    );
    assert!(
        tag.contains(r#"class="countdown urgent""#),
        "3 s left: {tag}"
    );
    assert_eq!(
        attr_of(&html, "countdown", "data-clock-ms").as_deref(),
        Some("1111111107000")
    );
    assert_eq!(
        attr_of(&html, "countdown", "data-period").as_deref(),
        Some("30")
    );
    assert_eq!(attr_of(&html, "countdown", "data-t0").as_deref(), Some("0"));
    assert_eq!(
        attr_of(&html, "countdown", "data-ending").as_deref(),
        Some("5")
    );
    assert_eq!(
        attr_of(&html, "countdown", "data-text-before").as_deref(),
        Some("あと ")
    );
    assert_eq!(
        attr_of(&html, "countdown", "data-text-after").as_deref(),
        Some(" 秒")
    );
    // 3 of 30 s left: the ring is 90 % gone.
    assert!(html.contains(r#"stroke-dashoffset="90.0""#), "{html}");

    let w = world(1_111_111_090, rfc_token());
    let h = app(&w, Lang::En, None).await;
    let html = h.html();
    assert!(html.contains("20 s left"), "{html}");
    assert!(tag_of(&html, "countdown").contains(r#"class="countdown""#));
    assert_eq!(
        attr_of(&html, "countdown", "data-text-after").as_deref(),
        Some(" s left")
    );
    assert_eq!(
        attr_of(&html, "countdown", "data-text-before").as_deref(),
        Some("")
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_code_changes_exactly_at_the_step_boundary() {
    let w = world(1_111_111_107, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    h.tick_to(1_111_111_108).await;
    h.tick_to(1_111_111_109).await;
    assert!(h.html().contains(">081 804<"), "same step, same code");
    assert_eq!(h.label_of("otp-code").as_deref(), Some("0 8 1 8 0 4"));
    let edits = h.tick_edits(1_111_111_110).await;
    let g = Generator::new(&Secret::from_slice(RFC_SEED), Params::STK1).unwrap();
    let next = g.totp(1_111_111_110).unwrap();
    assert_ne!(next.as_str(), "081804");
    let html = h.html();
    assert!(html.contains(&format!(">{}<", next.grouped())), "{html}");
    assert_eq!(
        h.label_of("otp-code").as_deref(),
        Some(digits_label(next.as_str()).as_str())
    );
    // The new step is rendered in full and the web view's timer re-anchored.
    assert!(html.contains("あと 30 秒"), "{html}");
    assert!(!tag_of(&html, "countdown").contains("urgent"), "{html}");
    assert_eq!(
        attr_of(&html, "countdown", "data-clock-ms").as_deref(),
        Some("1111111110000")
    );
    assert!(
        edits.iter().any(|e| e.contains("data-clock-ms")),
        "{edits:#?}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_second_passing_within_a_step_sends_the_web_view_nothing() {
    // Idle cost: between step boundaries the seconds are the web view's
    // own timer; the app sends no edit at all, whatever second it is
    // (including the urgent seconds and the next code's appearance at 5 s
    // left).
    let w = world(1_111_111_081, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let before = h.html();
    for t in 1_111_111_082..1_111_111_110 {
        let edits = h.tick_edits(t).await;
        assert!(edits.is_empty(), "at {t}: {edits:#?}");
    }
    assert_eq!(h.html(), before, "nothing re-rendered within the step");
    // The boundary is one batch of edits, then quiet again.
    assert!(!h.tick_edits(1_111_111_110).await.is_empty());
    for t in 1_111_111_111..1_111_111_115 {
        let edits = h.tick_edits(t).await;
        assert!(edits.is_empty(), "at {t}: {edits:#?}");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_clock_shift_re_anchors_the_countdown() {
    // The app clock moves against the monotonic clock (set by hand, a QA
    // shift, or the device slept): the countdown is rendered again from the
    // new time, so the web view's timer counts from it.
    let w = world(1_111_111_081, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(h.html().contains("あと 29 秒"));
    // One tick, but the clock moved 2 s: a shift of one second.
    let edits = h.tick_edits(1_111_111_083).await;
    assert!(
        edits.iter().any(|e| e.contains("1111111083000")),
        "{edits:#?}"
    );
    let html = h.html();
    assert!(html.contains("あと 27 秒"), "{html}");
    assert!(html.contains(">081 804<"), "same step");
    // Back 10 s within the step.
    h.tick_to(1_111_111_074).await;
    let html = h.html();
    assert_eq!(
        attr_of(&html, "countdown", "data-clock-ms").as_deref(),
        Some("1111111074000")
    );
    assert!(html.contains("あと 6 秒"), "{html}");
    // And the ticks after it are quiet again.
    assert!(h.tick_edits(1_111_111_075).await.is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn clicking_the_code_copies_it_without_the_space() {
    let w = world(1_111_111_109, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(!h.html().contains("コピーしました"));
    assert_eq!(h.label_of("otp-code").as_deref(), Some("0 8 1 8 0 4"));
    h.click("otp-code").await;
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
    assert_eq!(
        h.label_of("token-2V0716016FKF").as_deref(),
        Some("トークンを開く: みらい信用金庫 2V07 1601 6FKF")
    );
    h.click("token-2V0716016FKF").await;
    let g = Generator::new(&Secret::from_slice(&[9u8; 20]), Params::STK1).unwrap();
    assert!(h.html().contains(&g.totp(1_700_000_000).unwrap().grouped()));
    assert!(h.html().contains("みらい信用金庫"));
    h.click("token-back").await;
    assert!(h.html().contains("トークン一覧"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn language_switch() {
    let w = world(1_700_000_000, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(h.html().contains("シリアル番号"));
    assert_eq!(h.label_of("lang-switch").as_deref(), Some("English"));
    h.click("lang-switch").await;
    assert!(h.html().contains("Serial number"), "{}", h.html());
    assert!(h.html().contains("In use"));
    assert_eq!(h.label_of("lang-switch").as_deref(), Some("日本語"));
    h.click("lang-switch").await;
    assert!(h.html().contains("シリアル番号"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_change_the_clock_announces_re_anchors_the_countdown_at_once() {
    // A clock whose offset is set at run time (the QA panel) announces the
    // change: the countdown is rendered from the new time before the next
    // whole second.
    let w = world(1_111_111_081, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let clock = Arc::new(AdjustableClock::new(Arc::new(w.clock.clone()), 0));
    let clipboard = MemoryClipboard::default();
    let services = Services {
        clock: clock.clone(),
        store: w.store.clone(),
        bank: w.bank.clone(),
        directory: Arc::new(dir_of(&w.bank)),
        clipboard: Arc::new(clipboard.clone()),
    };
    let dom = VirtualDom::new(App)
        .with_root_context(services)
        .with_root_context(StartOptions {
            lang: Lang::Ja,
            pair_link: None,
        });
    let mut h = Harness::from_dom(dom, w.clock.clone(), clipboard);
    h.settle().await;
    assert!(h.html().contains("あと 29 秒"), "{}", h.html());
    let started = tokio::time::Instant::now();
    clock.set_offset(12);
    h.settle().await;
    let html = h.html();
    assert_eq!(
        attr_of(&html, "countdown", "data-clock-ms").as_deref(),
        Some("1111111093000")
    );
    assert!(html.contains("あと 17 秒"), "{html}");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}
