//! 「ワンタイムパスワード利用開始」: 利用者認証 › ワンタイムパスワード登録 ›
//! 処理結果. The customer authenticates, pairs the app with the bank (QR
//! code of the pairing link), and registers the new token's serial with its
//! current code (`/v1/bank/bind`).

use axum::extract::State;
use maud::{html, Markup};

use crate::db::{Event, EventContext, EventKind, ReceiptDetail, TokenChange};
use crate::forms::{self, SerialForm};
use crate::i18n::Lang;
use crate::layout::{self, FieldKind};
use crate::page::PageResult;
use crate::request::{CsrfForm, PageCtx};
use crate::session::Procedure;
use crate::web_state::WebState;

use super::procedure::{self, OtpProcedure, AUTHENTICATED};

/// 利用開始.
#[derive(Debug)]
pub struct Start;

impl OtpProcedure for Start {
    const KIND: Procedure = Procedure::Start;
    const PATH: &'static str = "/start";
    const AFTER_AUTH: &'static str = "/start/register";
    const RESULT: &'static str = "/start/result";

    fn title(l: Lang) -> &'static str {
        l.t(
            "ワンタイムパスワード利用開始",
            "Start using one-time passwords",
        )
    }

    fn crumbs(l: Lang) -> Vec<&'static str> {
        vec![
            l.t("利用者認証", "User authentication"),
            l.t("ワンタイムパスワード登録", "One-time password registration"),
            l.t("処理結果", "Result"),
        ]
    }

    fn auth_intro(l: Lang) -> Markup {
        html! {
            h2 { (l.t("ワンタイムパスワード利用開始の流れ", "How to start")) }
            ol {
                li { (l.t("トークンの準備（アプリのダウンロード）", "Prepare the token (install the app)")) }
                li { (l.t("利用者認証（契約者ID・ログインパスワード）", "User authentication (contract ID and login password)")) }
                li { (l.t("ワンタイムパスワード登録（シリアル番号・ワンタイムパスワード）", "Register the token (serial number and one-time password)")) }
            }
            p { (l.t(
                "「しんきん（個人）ワンタイムパスワード」アプリは App Store（iOS8 以上）または Google Play（Android 4.X 以上）から無料でダウンロードできます。",
                "The app 「しんきん（個人）ワンタイムパスワード」 is free in the App Store (iOS 8 or later) and on Google Play (Android 4.x or later).",
            )) }
        }
    }

    fn done_message(l: Lang) -> &'static str {
        l.t(
            "ワンタイムパスワードの登録が完了しました。",
            "The one-time password token is registered.",
        )
    }

    fn result_details(l: Lang, detail: &ReceiptDetail) -> Markup {
        html! {
            h2 { (l.t("登録内容", "Registered token")) }
            table.data {
                tr { th { (l.t("シリアル番号", "Serial number")) } td #result-serial { (detail.serial().map(forms::show_serial).unwrap_or_default()) } }
            }
            p { (l.t(
                "次回のお取引から、ソフトウェアトークンに表示されるワンタイムパスワードをご利用ください。",
                "From now on, use the one-time password the soft token shows for your transactions.",
            )) }
        }
    }
}

fn register_body(state: &WebState, ctx: &PageCtx, serial: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    procedure::step::<Start>(
        l,
        1,
        error,
        html! {
            (forms::pairing(l, state))
            h2 { (l.t("2. ワンタイムパスワード登録", "2. Register the token")) }
            form method="post" action="/start/register" #register-form {
                (layout::csrf_field(&ctx.data.csrf))
                (layout::text_field(l.t("ソフトウェアトークンに表示されているシリアル番号", "Serial number shown by the soft token"), "serial", serial, FieldKind::Text))
                (forms::otp_field(l))
                div.buttons {
                    (layout::back(l))
                    (layout::submit("register-submit", l.t("登録", "Register")))
                }
            }
        },
    )
}

/// `GET /start/register`.
pub async fn show_register(State(state): State<WebState>, ctx: PageCtx) -> PageResult {
    procedure::open_flow::<Start>(&ctx, AUTHENTICATED)?;
    let body = register_body(&state, &ctx, "", None);
    Ok(ctx.page(Start::title(ctx.lang()), body))
}

/// `POST /start/register`: serial and code 「登録」 → `/v1/bank/bind`.
pub async fn submit_register(
    State(state): State<WebState>,
    ctx: PageCtx,
    CsrfForm(f): CsrfForm<SerialForm>,
) -> PageResult {
    let flow = procedure::open_flow::<Start>(&ctx, AUTHENTICATED)?;
    let l = ctx.lang();
    let refuse = |ctx: &PageCtx, msg: &str| {
        ctx.refused(
            Start::title(l),
            register_body(&state, ctx, &f.serial, Some(msg)),
        )
    };
    let serial = match forms::parse_serial(&f.serial, l) {
        Ok(s) => s,
        Err(m) => return Ok(refuse(&ctx, m)),
    };
    let code = match forms::parse_code(&f.otp, l) {
        Ok(c) => c,
        Err(m) => return Ok(refuse(&ctx, m)),
    };
    match state
        .token_service
        .bind(
            &flow.customer,
            serial.as_str(),
            code.as_str(),
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(ok) => {
            let mut ev = Event::new(ctx.now, EventKind::Registered, EventContext::Start);
            ev.serial = Some(ok.serial.clone());
            let change = TokenChange::Set(ok.serial.clone());
            let detail = ReceiptDetail::Start { serial: ok.serial };
            procedure::finish::<Start>(&state, ctx, flow, detail, change, ev).await
        }
        Err(e) => {
            forms::record_refusal(&state, &flow.customer, EventContext::Start, &e, ctx.now).await;
            Ok(refuse(&ctx, &e.message(l)))
        }
    }
}
