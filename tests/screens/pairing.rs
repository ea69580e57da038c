//! Pairing: from a link, a picked bank or a QR image; refused links;
//! failures that leave nothing behind; the clock warning.
use crate::fakes::{FakeBank, BANK_ID, KID};
use crate::harness::{app, world};
use softtoken::i18n::Lang;
use softtoken::services::{ClientError, StoreError, TokenStore};
use softtoken_core::stk1::ErrorCode;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

pub fn link(bank: &str, kid: &str) -> String {
    format!("softtoken://pair?v=1&bank={bank}&url=http%3A%2F%2F127.0.0.1%3A8700&kid={kid}")
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_from_a_link_asks_first_then_shows_serial_code_and_next_steps() {
    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
    let html = h.html();
    assert!(
        html.contains("次の金融機関とトークンを登録します"),
        "{html}"
    );
    assert!(html.contains("デモ信用金庫"));
    assert!(
        w.bank.calls.lock().unwrap().is_empty(),
        "nothing before consent"
    );

    h.click("pair-go").await;
    let html = h.html();
    assert!(html.contains("トークンを発行しました"), "{html}");
    // Order: init (confirm verified) → begin_add → finish → commit_add.
    assert_eq!(*w.bank.calls.lock().unwrap(), vec!["init", "finish"]);
    let list = w.store.list().unwrap();
    assert_eq!(list.len(), 1);
    let serial = list[0].serial.clone();
    assert_eq!(
        *w.bank.pending_at_finish.lock().unwrap(),
        vec![vec![serial.as_str().to_owned()]],
        "secret stored before finish"
    );
    assert!(w.store.pending().is_empty(), "committed after finish");
    assert!(html.contains(&serial.formatted()));
    // The code the app shows is the bank's code for this token.
    let code = w.bank.bank_code(serial.as_str(), 1_700_000_000);
    assert!(
        html.contains(&format!("{} {}", &code[..3], &code[3..])),
        "{html}"
    );
    assert!(html.contains("「利用開始」"));
    assert!(html.contains("新ソフトウェアトークンに表示されているシリアル番号"));
    assert!(html.contains("登録の期限"));
    assert!(!html.contains("clock-warning"));
    assert_eq!(list[0].bind_by, Some(1_700_003_600));

    h.click("show-token").await;
    assert!(h.html().contains("未登録"), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_by_picking_a_bank_and_by_pasting_a_link() {
    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, None).await;
    assert!(
        h.html().contains("お取引の金融機関を選んでください"),
        "{}",
        h.html()
    );
    h.click("bank-demo").await;
    assert!(h.html().contains("よろしいですか"));
    h.click("pair-cancel").await;
    h.type_into("pair-link", &link(BANK_ID, KID)).await;
    h.click("use-link").await;
    assert!(h.html().contains("よろしいですか"), "{}", h.html());
    h.click("pair-go").await;
    assert!(h.html().contains("トークンを発行しました"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn untrusted_links_are_refused_in_plain_words() {
    let w = world(1_700_000_000, vec![]);
    for (l, text) in [
        (link("evil", KID), "この金融機関はアプリに登録されていない"),
        (
            link(BANK_ID, "k9"),
            "リンクの鍵がこの金融機関のものと一致しない",
        ),
        (
            "softtoken://pair?v=1&bank=demo&url=http%3A%2F%2Fevil.example&kid=k1".to_string(),
            "登録済みアドレスと一致しません",
        ),
        (
            "https://example.com".to_string(),
            "リンクの形式が正しくありません",
        ),
    ] {
        let h = app(&w, Lang::Ja, Some(&l)).await;
        assert!(h.html().contains(text), "{l}: {}", h.html());
        assert!(!h.html().contains("よろしいですか"));
    }
    assert!(w.bank.calls.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_failures_explain_and_leave_nothing_behind() {
    for (init, finish, text) in [
        (
            Some(ClientError::Network("refused".into())),
            None,
            "銀行に接続できません",
        ),
        (
            Some(ClientError::NotTheBank),
            None,
            "本物の銀行であることを確認できませんでした",
        ),
        (
            Some(ClientError::Refused {
                code: ErrorCode::RateLimited,
            }),
            None,
            "受け付けませんでした",
        ),
        (
            None,
            Some(ClientError::Refused {
                code: ErrorCode::SessionExpired,
            }),
            "時間がかかりすぎた",
        ),
        (
            None,
            Some(ClientError::Network("timeout".into())),
            "銀行に接続できません",
        ),
    ] {
        let w = world(1_700_000_000, vec![]);
        *w.bank.fail_init.lock().unwrap() = init.clone();
        *w.bank.fail_finish.lock().unwrap() = finish.clone();
        let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
        h.click("pair-go").await;
        let html = h.html();
        assert!(html.contains(text), "{init:?}/{finish:?}: {html}");
        assert!(html.contains("もう一度試す"));
        assert!(w.store.list().unwrap().is_empty());
        assert_eq!(w.store.secret_count(), 0, "secret removed again");
        assert!(w.store.pending().is_empty());
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn keystore_failure_during_pairing_stops_before_finish() {
    let w = world(1_700_000_000, vec![]);
    let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
    *w.store.fail_with.lock().unwrap() = Some(StoreError::keystore_locked("locked"));
    h.click("pair-go").await;
    *w.store.fail_with.lock().unwrap() = None;
    assert!(
        h.html().contains("トークンを端末に保存できませんでした"),
        "{}",
        h.html()
    );
    assert_eq!(
        *w.bank.calls.lock().unwrap(),
        vec!["init"],
        "no finish without a stored secret"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn pairing_warns_about_the_clock() {
    let mut w = world(1_700_000_000, vec![]);
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.server_skew = AtomicI64::new(120);
    w.bank = Arc::new(bank);
    let mut h = app(&w, Lang::Ja, Some(&link(BANK_ID, KID))).await;
    h.click("pair-go").await;
    assert!(h.html().contains("120 秒遅れています"), "{}", h.html());
    assert_eq!(w.store.list().unwrap()[0].clock_offset, Some(120));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn qr_image_of_a_link_is_read() {
    // A QR code of the link, drawn with the `qrcode` crate, saved as PNG.
    let w = world(1_700_000_000, vec![]);
    let l = link(BANK_ID, KID);
    let code = qrcode::QrCode::new(l.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let path = std::env::temp_dir().join(format!("softtoken-qr-{}.png", std::process::id()));
    img.save(&path).unwrap();
    assert_eq!(
        softtoken::qr::decode_image(&std::fs::read(&path).unwrap()),
        Ok(softtoken_core::stk1::link::PairLink::parse(&l).unwrap())
    );
    let mut h = app(&w, Lang::Ja, None).await;
    h.type_into("qr-path", path.to_str().unwrap()).await;
    h.click("read-qr").await;
    assert!(h.html().contains("よろしいですか"), "{}", h.html());
    std::fs::write(&path, b"not an image").unwrap();
    h.click("pair-cancel").await;
    h.type_into("qr-path", path.to_str().unwrap()).await;
    h.click("read-qr").await;
    assert!(h.html().contains("PNG または JPEG の画像ではありません"));
    let _ = std::fs::remove_file(&path);
}
