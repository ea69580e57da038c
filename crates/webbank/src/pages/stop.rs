//! 「ワンタイムパスワード利用中止」: 利用者認証 › ワンタイムパスワード認証 ›
//! 確認 › 処理結果 with 「ログイン画面」. The code typed on the second step
//! is kept in memory and sent to `/v1/bank/deactivate` on confirmation.

use axum::extract::State;
use maud::{html, Markup};
use softtoken_core::stk1::messages::ErrorCode;

use crate::db::{Event, EventContext, EventKind, ReceiptDetail, TokenChange};
use crate::forms::{self, CodeForm, NoFields};
use crate::i18n::Lang;
use crate::layout;
use crate::page::PageResult;
use crate::request::{CsrfForm, PageCtx};
use crate::session::Procedure;
use crate::web_state::WebState;

use super::procedure::{self, CodeStep, OtpProcedure, CODE_KEPT};

/// 利用中止.
#[derive(Debug)]
pub struct Stop;

impl OtpProcedure for Stop {
    const KIND: Procedure = Procedure::Stop;
    const PATH: &'static str = "/stop";
    const AFTER_AUTH: &'static str = "/stop/otp";
    const RESULT: &'static str = "/stop/result";

    fn title(l: Lang) -> &'static str {
        l.t(
            "ワンタイムパスワード利用中止",
            "Stop using one-time passwords",
        )
    }

    fn crumbs(l: Lang) -> Vec<&'static str> {
        vec![
            l.t("利用者認証", "User authentication"),
            l.t("ワンタイムパスワード認証", "One-time password"),
            l.t("確認", "Confirmation"),
            l.t("処理結果", "Result"),
        ]
    }

    fn auth_intro(l: Lang) -> Markup {
        html! {
            p { (l.t("契約者ID（利用者番号）およびログインパスワードを入力し、「次へ」を押してください。",
                     "Enter your contract ID (user number) and login password, then press “Next”.")) }
        }
    }

    fn done_message(l: Lang) -> &'static str {
        l.t(
            "ワンタイムパスワードの利用中止手続きが完了しました。",
            "One-time passwords are stopped for your account.",
        )
    }

    fn result_details(l: Lang, detail: &ReceiptDetail) -> Markup {
        html! {
            table.data {
                tr { th { (l.t("利用中止したシリアル番号", "Stopped serial number")) } td #result-serial { (detail.serial().map(forms::show_serial).unwrap_or_default()) } }
            }
            p { (l.t(
                "スマートフォンのソフトウェアトークンは、当金庫では以後ご利用いただけません。",
                "The soft token on your phone can no longer be used with this bank.",
            )) }
        }
    }
}

/// The current code.
const CODE: CodeStep = CodeStep {
    crumb: 1,
    path: "/stop/otp",
    form_id: "stop-otp-form",
    submit_id: "stop-otp-submit",
    next: "/stop/confirm",
    intro: |l| {
        l.t(
            "ソフトウェアトークンに表示されているワンタイムパスワードを入力し、「次へ」を押してください。",
            "Enter the one-time password shown by your soft token, then press “Next”.",
        )
    },
};

/// `GET /stop/otp`.
pub async fn show_otp(ctx: PageCtx) -> PageResult {
    CODE.show::<Stop>(ctx)
}

/// `POST /stop/otp`.
pub async fn submit_otp(
    State(state): State<WebState>,
    ctx: PageCtx,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> PageResult {
    CODE.submit::<Stop>(&state, ctx, f)
}

/// `GET /stop/confirm`.
pub async fn show_confirm(State(state): State<WebState>, ctx: PageCtx) -> PageResult {
    let l = ctx.lang();
    let flow = procedure::open_flow::<Stop>(&ctx, CODE_KEPT)?;
    let serial = state
        .db
        .customer(&flow.customer)
        .await?
        .and_then(|c| c.token_serial);
    let body = procedure::step::<Stop>(
        l,
        2,
        None,
        html! {
            p #confirm-message { (l.t(
                "ワンタイムパスワードの利用を中止します。よろしければ「中止する」を押してください。",
                "You are about to stop using one-time passwords. Press “Stop” to confirm.",
            )) }
            @if let Some(s) = serial {
                table.data {
                    tr { th { (l.t("シリアル番号", "Serial number")) } td #confirm-serial { (forms::show_serial(&s)) } }
                }
            }
            div.warning { (l.t(
                "利用中止後は、ログイン時のワンタイムパスワード認証は「しない」となり、《振込》《収納サービスへの支払》等のお取引には、改めて「利用開始」の手続きが必要です。",
                "After stopping, login no longer asks for a one-time password, and transfers and payments need a new “Start” first.",
            )) }
            form method="post" action="/stop/confirm" #stop-confirm-form {
                (layout::csrf_field(&ctx.data.csrf))
                div.buttons {
                    (layout::back(l))
                    (layout::submit("stop-confirm-submit", l.t("中止する", "Stop")))
                }
            }
        },
    );
    Ok(ctx.page(Stop::title(l), body))
}

/// `POST /stop/confirm`: 「中止する」 with the kept code →
/// `/v1/bank/deactivate`. A wrong or used code (or one that expired in
/// memory) goes back to the code step; other refusals end on an error
/// screen with 「ログイン画面」.
pub async fn submit_confirm(
    State(state): State<WebState>,
    ctx: PageCtx,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    let l = ctx.lang();
    let flow = procedure::open_flow::<Stop>(&ctx, CODE_KEPT)?;
    let Some(code) = state.pending.get(ctx.key()) else {
        let msg = l.t(
            "ワンタイムパスワードの有効期限が切れました。もう一度入力してください。",
            "The one-time password has expired. Please enter it again.",
        );
        return Ok(CODE.back_to::<Stop>(&state, ctx, flow, None, msg));
    };
    match state
        .token_service
        .deactivate(&flow.customer, &code, ctx.test_time.as_deref())
        .await
    {
        Ok(ok) => {
            state.pending.forget(ctx.key());
            let mut ev = Event::new(ctx.now, EventKind::Stopped, EventContext::Stop);
            ev.serial = Some(ok.serial.clone());
            let detail = ReceiptDetail::Stop { serial: ok.serial };
            procedure::finish::<Stop>(&state, ctx, flow, detail, TokenChange::Clear, ev).await
        }
        Err(e) => {
            forms::record_refusal(&state, &flow.customer, EventContext::Stop, &e, ctx.now).await;
            let msg = e.message(l);
            match e.code() {
                Some(ErrorCode::InvalidOtp | ErrorCode::Replay) => {
                    Ok(CODE.back_to::<Stop>(&state, ctx, flow, None, &msg))
                }
                _ => {
                    let body = procedure::step::<Stop>(l, 2, Some(&msg), layout::to_login(l));
                    Ok(ctx.refused(Stop::title(l), body))
                }
            }
        }
    }
}
