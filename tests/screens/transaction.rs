//! 取引認証 screens (STK1-TXN): the transaction screen and the offline
//! 取引認証番号 screen against the spec's vector (token `K7M3Q9XZ2PD0`, `K_TOKEN = 726c…`).
use crate::harness::{app, meta, world, Harness, SERIAL};
use softtoken::i18n::Lang;
use softtoken::services::testing::{FixedClock, MemoryStore, TxnBank};
use softtoken::services::{BankDirectory, ClientError};
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::txn::wire::WireTransaction;
use softtoken_core::txn::{derive_txn_keys, Decision, Kind, Transaction, TxnId};
use softtoken_core::{Secret, Serial};
use std::sync::Arc;

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

const APPROVAL: &str = "4e606ac1b353774f0c8a15e63281daaaace79050f1e8a133f58d2b1a9b6d038b";
const REJECTION: &str = "ae07584edea5433ac0874731203e8b10a98cef62c75ec2af8aeb59dca9511c5d";

/// The spec's transfer, signed by the bank with the vector token's K_TXN.
fn vector_wire() -> WireTransaction {
    transfer_wire(core::array::from_fn(|i| i as u8))
}

/// The vector's transfer under transaction id `id`, signed with its K_TXN.
fn transfer_wire(id: [u8; 16]) -> WireTransaction {
    let serial = Serial::parse_strict(SERIAL).unwrap();
    let fields = [
        ("payee_bank", "かけしん信用金庫"),
        ("payee_branch", "本店営業部"),
        ("account_type", "普通"),
        ("account_number", "1234567"),
        ("payee_name", "ヤマダ タロウ"),
        ("amount", "12000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let tx = Transaction::new(
        TxnId::from_bytes(id),
        serial.clone(),
        Kind::Transfer,
        1_700_000_000,
        1_700_000_300,
        fields,
    )
    .unwrap();
    let (key, _) = derive_txn_keys(&Secret::from_slice(&unhex(K_TOKEN)), &serial);
    WireTransaction::sign(&tx, &key)
}

/// The app on the vector token's transaction screen, the bank at
/// `bank_now` with `pending`, the app clock at `app_now`.
async fn txn_app(
    bank_now: u64,
    app_now: u64,
    pending: Vec<WireTransaction>,
    lang: Lang,
) -> (Harness, Arc<TxnBank>) {
    let bank = Arc::new(TxnBank::at(bank_now));
    *bank.pending.lock().unwrap() = pending;
    let store = Arc::new(MemoryStore::with_tokens(vector_token()));
    let mut h = Harness::start(
        store,
        bank.clone(),
        BankDirectory::default(),
        FixedClock::at(app_now),
        lang,
        None,
    );
    h.settle().await;
    // The token screen's watch opens the transaction screen by itself.
    assert!(h.html().contains(r#"id="txn-title""#), "{}", h.html());
    (h, bank)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_pending_transfer_is_shown_as_the_bank_signed_it_and_approved() {
    // The app clock is 100 s behind the bank: the time left follows the bank.
    let (mut h, bank) = txn_app(1_700_000_012, 1_699_999_912, vec![vector_wire()], Lang::Ja).await;
    let html = h.html();
    for shown in [
        "かけしん信用金庫",
        "本店営業部",
        "普通",
        "1234567",
        "ヤマダ タロウ",
        "12,000円",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    for label in [
        "振込先金融機関",
        "支店名",
        "科目",
        "口座番号",
        "受取人名",
        "金額",
    ] {
        assert!(html.contains(&format!(">{label}<")), "{label}: {html}");
    }
    assert!(html.contains(r#"id="txn-kind">振込<"#), "{html}");
    assert!(
        html.contains(r#"id="txn-account_number">1234567<"#),
        "{html}"
    );
    assert!(html.contains("あと 288 秒"), "{html}");
    // One poll by the token screen's watch, one by the transaction screen.
    assert_eq!(bank.polls.lock().unwrap().len(), 2);
    assert_eq!(
        bank.polls.lock().unwrap()[0].1,
        1_699_999_912,
        "t is the app clock"
    );
    assert!(bank.decisions.lock().unwrap().is_empty());
    h.click("txn-approve").await;
    let d = bank.decisions.lock().unwrap().clone();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].1.decision, Decision::Approve);
    assert_eq!(d[0].1.mac.to_vec(), unhex(APPROVAL));
    let html = h.html();
    assert!(html.contains("取引を承認しました"), "{html}");
    assert!(
        html.contains("Webバンキングの画面に戻ってください"),
        "{html}"
    );
    assert!(!html.contains(r#"id="txn-approve""#));
    assert_eq!(bank.max_in_flight(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn reject_asks_once_more() {
    let (mut h, bank) = txn_app(1_700_000_012, 1_700_000_012, vec![vector_wire()], Lang::En).await;
    assert!(h.html().contains("¥12,000"), "{}", h.html());
    h.click("txn-reject").await;
    assert!(
        bank.decisions.lock().unwrap().is_empty(),
        "not sent before the second ask"
    );
    assert!(h.html().contains(r#"id="txn-reject-ask""#));
    h.click("txn-reject-cancel").await;
    assert!(bank.decisions.lock().unwrap().is_empty());
    h.click("txn-reject").await;
    h.click("txn-reject-confirm").await;
    let d = bank.decisions.lock().unwrap().clone();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].1.decision, Decision::Reject);
    assert_eq!(d[0].1.mac.to_vec(), unhex(REJECTION));
    let html = h.html();
    assert!(html.contains("You rejected the transaction."), "{html}");
    assert!(
        html.contains("Please return to the web banking page"),
        "{html}"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_tampered_transaction_is_not_approvable() {
    let mut w = vector_wire();
    w.fields[3].1 = "7654321".into();
    let (h, _bank) = txn_app(1_700_000_012, 1_700_000_012, vec![w], Lang::Ja).await;
    let html = h.html();
    assert!(html.contains(r#"id="txn-invalid""#), "{html}");
    assert!(!html.contains(r#"id="txn-approve""#));
    assert!(!html.contains("7654321"), "tampered values are not shown");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_expired_transaction_is_not_approvable() {
    // Expired by the bank's clock although the app clock says otherwise.
    let (h, _bank) = txn_app(1_700_000_300, 1_700_000_100, vec![vector_wire()], Lang::Ja).await;
    let html = h.html();
    assert!(!html.contains(r#"id="txn-approve""#), "{html}");
    assert!(html.contains(r#"id="txn-invalid""#), "{html}");
    // Shown, then the bank's time runs out while the screen is open.
    let (mut h, bank) = txn_app(1_700_000_290, 1_700_000_290, vec![vector_wire()], Lang::Ja).await;
    assert!(h.html().contains(r#"id="txn-approve""#));
    h.tick_to(1_700_000_300).await;
    let html = h.html();
    assert!(html.contains(r#"id="txn-expired""#), "{html}");
    assert!(!html.contains(r#"id="txn-approve""#));
    assert!(bank.decisions.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_bank_without_the_extension_offers_no_confirmation() {
    let bank = Arc::new(TxnBank::at(1_700_000_012));
    *bank.poll_fails_with.lock().unwrap() = Some(ClientError::TxnNotSupported);
    let store = Arc::new(MemoryStore::with_tokens(vector_token()));
    let mut h = Harness::start(
        store,
        bank.clone(),
        BankDirectory::default(),
        FixedClock::at(1_700_000_012),
        Lang::Ja,
        None,
    );
    h.settle().await;
    // The watch stops after the 404 and stays on the token screen.
    assert!(h.html().contains(r#"id="txn-open""#), "{}", h.html());
    assert_eq!(bank.polls.lock().unwrap().len(), 1);
    h.click("txn-open").await;
    let html = h.html();
    assert!(html.contains(r#"id="txn-unsupported""#), "{html}");
    assert!(!html.contains(r#"id="txn-approve""#));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_token_screen_polls_every_5_s_for_3_minutes_only_while_shown() {
    let bank = Arc::new(TxnBank::at(1_700_000_000));
    let store = Arc::new(MemoryStore::with_tokens(vector_token()));
    let mut h = Harness::start(
        store,
        bank.clone(),
        BankDirectory::default(),
        FixedClock::at(1_700_000_000),
        Lang::Ja,
        None,
    );
    h.settle().await;
    let polls = |b: &TxnBank| b.polls.lock().unwrap().len();
    assert_eq!(polls(&bank), 1, "a poll when the token screen opens");
    let mut now = 1_700_000_000;
    for _ in 0..12 {
        now += 1;
        h.tick_to(now).await;
    }
    // About 12 s later: two or three more, never one per tick.
    let p = polls(&bank);
    assert!((2..=4).contains(&p), "{p} polls after 12 s");
    // Off the token screen mid-window: no polling.
    h.click("details").await;
    for _ in 0..20 {
        now += 1;
        h.tick_to(now).await;
    }
    assert_eq!(polls(&bank), p, "no polling off the token screen");
    // Back on it: a poll at once and a new 3-minute window.
    h.click("back").await;
    assert_eq!(polls(&bank), p + 1);
    for _ in 0..220 {
        now += 1;
        h.tick_to(now).await;
    }
    // Once at open and every 5 s for 180 s: 37 polls, then no more.
    assert_eq!(polls(&bank), p + 37);
    assert_eq!(bank.max_in_flight(), 1);
}

/// Regression: 「戻る」 on a pending transaction led back to the token
/// screen, whose watch opened the same transaction again at its next
/// poll, so the customer could never leave it (e.g. for the offline
/// 取引認証番号 screen) without deciding.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn back_from_an_undecided_transaction_does_not_reopen_it() {
    let (mut h, bank) = txn_app(1_700_000_000, 1_700_000_000, vec![vector_wire()], Lang::Ja).await;
    h.click("txn-back").await;
    let mut now = 1_700_000_000;
    for _ in 0..20 {
        now += 1;
        h.tick_to(now).await;
    }
    let html = h.html();
    assert!(!html.contains(r#"id="txn-title""#), "reopened: {html}");
    assert!(html.contains(r#"id="offline-open""#), "{html}");
    let polls = bank.polls.lock().unwrap().len();
    assert!(polls >= 4, "the token screen still polls: {polls}");
    // The customer can still open it on purpose.
    h.click("txn-open").await;
    assert!(h.html().contains(r#"id="txn-approve""#), "{}", h.html());
    h.click("txn-back").await;
    // Another transaction opens by itself.
    *bank.pending.lock().unwrap() = vec![transfer_wire([0xA5; 16])];
    for _ in 0..6 {
        now += 1;
        h.tick_to(now).await;
    }
    let html = h.html();
    assert!(html.contains(r#"id="txn-approve""#), "{html}");
}
