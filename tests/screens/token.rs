//! The token screen: code, countdown, bank states, clock warnings, the list
//! of several tokens and the language switch.
use crate::fakes::{FakeBank, OfflineBank, RFC_SEED};
use crate::harness::{app, dir_of, meta, rfc_token, world, Harness, SERIAL, SERIAL2};
use softtoken::i18n::Lang;
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

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn countdown_ticks_and_code_changes_exactly_at_the_step_boundary() {
    let w = world(1_111_111_107, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(h.html().contains("あと 3 秒"));
    assert!(h.html().contains(">081 804<"));
    h.tick_to(1_111_111_108).await;
    assert!(h.html().contains("あと 2 秒"), "{}", h.html());
    h.tick_to(1_111_111_109).await;
    assert!(h.html().contains("あと 1 秒"));
    assert!(h.html().contains(">081 804<"), "same step, same code");
    h.tick_to(1_111_111_110).await;
    let g = Generator::new(&Secret::from_slice(RFC_SEED), Params::STK1).unwrap();
    let next = g.totp(1_111_111_110).unwrap();
    assert_ne!(next.as_str(), "081804");
    assert!(
        h.html().contains(&format!(">{}<", next.grouped())),
        "{}",
        h.html()
    );
    assert!(h.html().contains("あと 30 秒"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_tick_changes_only_the_seconds_and_the_ring() {
    // Idle cost: between step boundaries a tick must send the web view two
    // edits (seconds text, ring offset) and nothing else.
    let w = world(1_111_111_100, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let mut h = app(&w, Lang::Ja, None).await;
    let edits = h.tick_edits(1_111_111_101).await;
    assert_eq!(edits.len(), 2, "{edits:#?}");
    assert!(edits.iter().any(|e| e.contains("あと 9 秒")), "{edits:#?}");
    assert!(
        edits.iter().any(|e| e.contains("stroke-dashoffset")),
        "{edits:#?}"
    );
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
