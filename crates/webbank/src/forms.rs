//! Form bodies and the fragments several screens share: the
//! authentication form (契約者ID + ログインパスワード, 「戻る」「次へ」), the
//! one-time-password field, code and serial validation, the pairing QR code
//! with the app's download notes, and the recording of back-end answers in
//! the customer's OTP history. Form bodies have no CSRF field: [`CsrfForm`]
//! checks it before they are read.
//!
//! [`CsrfForm`]: crate::request::CsrfForm

use maud::{html, Markup, PreEscaped};
use qrcode::render::svg;
use qrcode::QrCode;
use serde::Deserialize;
use softtoken_core::stk1::link::PairLink;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::{Code, Serial, SerialError};

use crate::db::{Event, EventContext, EventKind, TokenChange};
use crate::i18n::Lang;
use crate::layout::{self, FieldKind};
use crate::token_service_client::TokenServiceError;
use crate::web_state::WebState;

/// Digits of a code.
pub const DIGITS: u32 = 6;

/// 契約者ID + ログインパスワード.
#[derive(Deserialize)]
pub struct AuthForm {
    /// Contract ID as typed.
    #[serde(default)]
    pub contract_id: String,
    /// Password (never re-filled, never logged).
    #[serde(default)]
    pub password: String,
}

/// One code.
#[derive(Deserialize)]
pub struct CodeForm {
    /// Code as typed (never re-filled, never logged).
    #[serde(default)]
    pub otp: String,
}

/// A token's serial and code.
#[derive(Deserialize)]
pub struct SerialForm {
    /// Serial as typed (re-filled).
    #[serde(default)]
    pub serial: String,
    /// Code as typed (never re-filled).
    #[serde(default)]
    pub otp: String,
}

/// No field but the CSRF token (confirmation buttons, logout).
#[derive(Deserialize)]
pub struct NoFields {}

/// The contract ID and password fields (login and 利用者認証).
pub fn credential_fields(l: Lang, contract_id: &str) -> Markup {
    html! {
        (layout::text_field(l.t("契約者ID（利用者番号）", "Contract ID (user number)"), "contract_id", contract_id, FieldKind::Digits(16)))
        (layout::text_field(l.t("ログインパスワード", "Login password"), "password", "", FieldKind::Password))
    }
}

/// The authentication step of 利用開始 / 交換 / 利用中止: `#auth-form`
/// posting to `action`, submit `#auth-submit` 「次へ」.
pub fn auth_form(l: Lang, csrf: &str, action: &str, contract_id: &str) -> Markup {
    html! {
        form method="post" action=(action) #auth-form {
            (layout::csrf_field(csrf))
            (credential_fields(l, contract_id))
            div.buttons {
                (layout::back(l))
                (layout::submit("auth-submit", l.t("次へ", "Next")))
            }
        }
    }
}

/// The one-time-password field `#f-otp` (name `otp`), the same on every
/// screen that asks for a code; never re-filled.
pub fn otp_field(l: Lang) -> Markup {
    layout::text_field(
        l.t(
            "ワンタイムパスワード(半角数字)",
            "One-time password (digits)",
        ),
        "otp",
        "",
        FieldKind::Code,
    )
}

/// A typed code, or the message to show.
pub fn parse_code(text: &str, l: Lang) -> Result<Code, &'static str> {
    if text.trim().is_empty() {
        return Err(l.t(
            "ワンタイムパスワードを入力してください。",
            "Enter the one-time password.",
        ));
    }
    Code::parse(text, DIGITS).ok_or(l.t(
        "ワンタイムパスワードは半角数字6桁で入力してください。",
        "The one-time password is 6 digits.",
    ))
}

/// A typed serial, or the message to show.
pub fn parse_serial(text: &str, l: Lang) -> Result<Serial, &'static str> {
    if text.trim().is_empty() {
        return Err(l.t(
            "シリアル番号を入力してください。",
            "Enter the serial number.",
        ));
    }
    Serial::parse_typed(text).map_err(|e| match e {
        SerialError::Check => l.t(
            "シリアル番号に誤りがあります。ソフトウェアトークンに表示されているシリアル番号をもう一度ご確認ください。",
            "The serial number has a typo. Check the serial number shown by the soft token again.",
        ),
        _ => l.t(
            "シリアル番号は英数字12文字で入力してください（例: 2V07 1601 6FKF）。",
            "The serial number is 12 letters and digits (e.g. 2V07 1601 6FKF).",
        ),
    })
}

/// A serial for display (`XXXX XXXX XXXX`); unparsable text as it is.
pub fn show_serial(s: &str) -> String {
    Serial::parse_strict(s)
        .map(|s| s.formatted())
        .unwrap_or_else(|_| s.to_string())
}

/// The pairing link of this bank.
pub fn pair_link(state: &WebState) -> String {
    PairLink {
        bank: state.bank.bank_id.clone(),
        url: state.bank.url.clone(),
        kid: state.bank.server_key_id.clone(),
    }
    .to_uri()
}

/// How to get the app, the pairing QR code, the link as a 「アプリで開く」
/// button (`#pair-open`, for web banking on the phone that has the app)
/// and the same link as text. The QR code, the button and the text carry
/// one and the same [`pair_link`].
pub fn pairing(l: Lang, state: &WebState) -> Markup {
    let link = pair_link(state);
    let svg = QrCode::new(link.as_bytes()).ok().map(|q| {
        q.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build()
    });
    html! {
        h2 { (l.t("1. トークンの準備", "1. Prepare the token")) }
        p #app-download {
            (l.t(
                "スマートフォンに「しんきん（個人）ワンタイムパスワード」アプリ（無料）をダウンロードしてください。App Store（iPhone 等 iOS 端末）または Google Play（Android 端末）で「しんきん（個人）ワンタイムパスワード」と検索してください。",
                "Install the free app 「しんきん（個人）ワンタイムパスワード」 on your smartphone: search for it in the App Store (iPhone and other iOS devices) or Google Play (Android devices).",
            ))
        }
        div.qr {
            @if let Some(svg) = svg {
                div #pair-qr role="img" aria-label=(l.t("ペアリング用QRコード", "Pairing QR code")) { (PreEscaped(svg)) }
            }
            div {
                p { (l.t(
                    "アプリを起動し、このQRコードを読み取ると、当金庫のトークンが発行されます。アプリに表示されたシリアル番号とワンタイムパスワードを下の欄に入力してください。",
                    "Open the app and scan this QR code: it issues a token of this bank. Then enter the serial number and the one-time password the app shows below.",
                )) }
                p.muted { (l.t(
                    "このスマートフォンにアプリが入っている場合は、「アプリで開く」を押してください。",
                    "If the app is on this smartphone, press “Open in the app”.",
                )) }
                div.buttons { a.button #pair-open href=(link) { (l.t("アプリで開く", "Open in the app")) } }
                p.muted { (l.t("QRコードを読み取れない場合のリンク:", "Link, if you cannot scan the code:")) }
                code.link #pair-link { (link) }
            }
        }
    }
}

/// Records a refused back-end call in the customer's history (and forgets
/// a token the service says is gone). Storage errors are ignored here: the
/// customer's answer matters more than the history line.
pub async fn record_refusal(
    state: &WebState,
    customer: &str,
    context: EventContext,
    err: &TokenServiceError,
    at: i64,
) {
    let kind = match err.code() {
        Some(ErrorCode::InvalidOtp | ErrorCode::OldOtpInvalid | ErrorCode::SerialOrOtpInvalid) => {
            EventKind::Failed
        }
        Some(ErrorCode::Replay) => EventKind::Replay,
        Some(ErrorCode::Locked) => EventKind::Locked,
        Some(ErrorCode::NoToken) => {
            let _ = state.db.set_token(customer, TokenChange::Clear).await;
            EventKind::NoToken
        }
        _ => return,
    };
    let mut e = Event::new(at, kind, context);
    if let TokenServiceError::Refused { fail_count, .. } = err {
        e.fail_count = *fail_count;
    }
    let _ = state.db.add_event(customer, e).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_serials() {
        assert_eq!(parse_code("123 456", Lang::Ja).unwrap().as_str(), "123456");
        assert!(parse_code("12345", Lang::Ja).is_err());
        assert!(parse_code("", Lang::En).unwrap_err().contains("Enter"));
        assert_eq!(
            parse_serial("k7m3 q9xz 2pdo", Lang::Ja).unwrap().as_str(),
            "K7M3Q9XZ2PD0"
        );
        assert!(parse_serial("K7M3Q9XZ2PD1", Lang::Ja)
            .unwrap_err()
            .contains("誤り"));
        assert!(parse_serial("K7M3", Lang::Ja)
            .unwrap_err()
            .contains("12文字"));
        assert_eq!(show_serial("K7M3Q9XZ2PD0"), "K7M3 Q9XZ 2PD0");
    }
}
