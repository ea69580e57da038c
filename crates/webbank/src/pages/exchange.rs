//! 「ワンタイムパスワード交換」: 旧ワンタイムパスワード認証 ›
//! 新ワンタイムパスワード認証 › 処理結果. Authenticate, type the old token's
//! code (format checked here, kept in memory only), then the new token's
//! serial and code 「登録」: one atomic `/v1/bank/change` call checks both.

use axum::extract::State;
use maud::{html, Markup};
use softtoken_core::stk1::messages::ErrorCode;

use crate::db::{Event, EventContext, EventKind, ReceiptDetail, TokenChange};
use crate::forms::{self, CodeForm, SerialForm};
use crate::i18n::Lang;
use crate::layout::{self, FieldKind};
use crate::page::PageResult;
use crate::request::{CsrfForm, PageCtx};
use crate::session::Procedure;
use crate::web_state::WebState;

use super::procedure::{self, CodeStep, OtpProcedure, CODE_KEPT};

/// 交換.
#[derive(Debug)]
pub struct Exchange;

fn warnings(l: Lang) -> Markup {
    html! {
        div.warning #exchange-warning {
            strong { (l.t("注意事項", "Please note")) }
            ul {
                li { (l.t(
                    "新しいトークンの利用登録が完了するまでは、旧端末のソフトウェアトークンをアンインストールしないで下さい。",
                    "Do not uninstall the soft token app from the old phone until the new token's registration is complete.",
                )) }
                li { (l.t(
                    "変更前の端末によっては、トークンを起動出来ない場合（SIMカードを抜いた状態など）があります。その場合は当金庫までご連絡ください。",
                    "Some old phones cannot start the token app (for example with the SIM card removed). In that case, please contact the bank.",
                )) }
            }
        }
    }
}

impl OtpProcedure for Exchange {
    const KIND: Procedure = Procedure::Exchange;
    const PATH: &'static str = "/exchange";
    const AFTER_AUTH: &'static str = "/exchange/old";
    const RESULT: &'static str = "/exchange/result";

    fn title(l: Lang) -> &'static str {
        l.t(
            "ワンタイムパスワード交換",
            "Exchange the one-time password token",
        )
    }

    fn crumbs(l: Lang) -> Vec<&'static str> {
        vec![
            l.t("旧ワンタイムパスワード認証", "Old one-time password"),
            l.t("新ワンタイムパスワード認証", "New one-time password"),
            l.t("処理結果", "Result"),
        ]
    }

    fn auth_intro(l: Lang) -> Markup {
        html! {
            (warnings(l))
            p { (l.t("契約者ID（利用者番号）およびログインパスワードを入力し、「次へ」を押してください。",
                     "Enter your contract ID (user number) and login password, then press “Next”.")) }
        }
    }

    fn done_message(l: Lang) -> &'static str {
        l.t(
            "ワンタイムパスワードの登録が完了しました。",
            "The new one-time password token is registered.",
        )
    }

    fn result_details(l: Lang, detail: &ReceiptDetail) -> Markup {
        let (after, before) = match detail {
            ReceiptDetail::Exchange {
                serial,
                previous_serial,
            } => (
                forms::show_serial(serial),
                forms::show_serial(previous_serial),
            ),
            _ => Default::default(),
        };
        html! {
            h2 { (l.t("変更結果", "Change")) }
            table.data #change-table {
                tr { th {} th { (l.t("変更後", "After")) } th { (l.t("変更前", "Before")) } }
                tr { th { (l.t("シリアル番号", "Serial number")) } td #serial-after { (after) } td #serial-before { (before) } }
            }
            p { (l.t(
                "旧端末のソフトウェアトークンは、以後ご利用いただけません。",
                "The soft token on the old phone can no longer be used.",
            )) }
        }
    }
}

/// The old token's code.
const OLD: CodeStep = CodeStep {
    crumb: 0,
    path: "/exchange/old",
    form_id: "old-form",
    submit_id: "old-submit",
    next: "/exchange/new",
    intro: |l| {
        l.t(
            "現行のソフトウェアトークンに表示されているワンタイムパスワードを入力し、「次へ」を押してください。",
            "Enter the one-time password shown by your current (old) soft token, then press “Next”.",
        )
    },
};

/// `GET /exchange/old`.
pub async fn show_old(ctx: PageCtx) -> PageResult {
    OLD.show::<Exchange>(ctx)
}

/// `POST /exchange/old`.
pub async fn submit_old(
    State(state): State<WebState>,
    ctx: PageCtx,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> PageResult {
    OLD.submit::<Exchange>(&state, ctx, f)
}

fn new_body(state: &WebState, ctx: &PageCtx, serial: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    procedure::step::<Exchange>(
        l,
        1,
        error,
        html! {
            (warnings(l))
            details {
                summary { (l.t("新しいスマートフォンでトークンを準備する", "Prepare the token on the new phone")) }
                (forms::pairing(l, state))
            }
            p { (l.t(
                "新ソフトウェアトークンに表示されているシリアル番号とワンタイムパスワードを入力し、「登録」を押してください。",
                "Enter the serial number and the one-time password shown by the new soft token, then press “Register”.",
            )) }
            form method="post" action="/exchange/new" #new-form {
                (layout::csrf_field(&ctx.data.csrf))
                (layout::text_field(l.t("新ソフトウェアトークンに表示されているシリアル番号", "Serial number shown by the new soft token"), "serial", serial, FieldKind::Text))
                (forms::otp_field(l))
                div.buttons {
                    (layout::back(l))
                    (layout::submit("new-submit", l.t("登録", "Register")))
                }
            }
        },
    )
}

/// `GET /exchange/new`.
pub async fn show_new(State(state): State<WebState>, ctx: PageCtx) -> PageResult {
    let flow = procedure::open_flow::<Exchange>(&ctx, CODE_KEPT)?;
    let typed = flow.typed_serial.unwrap_or_default();
    let body = new_body(&state, &ctx, &typed, None);
    Ok(ctx.page(Exchange::title(ctx.lang()), body))
}

/// `POST /exchange/new`: the new serial and code 「登録」 with the kept old
/// code → `/v1/bank/change`. A refused old code (or one that expired in
/// memory) goes back to the old-code step, keeping the typed serial.
pub async fn submit_new(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    CsrfForm(f): CsrfForm<SerialForm>,
) -> PageResult {
    let mut flow = procedure::open_flow::<Exchange>(&ctx, CODE_KEPT)?;
    let l = ctx.lang();
    let refuse = |ctx: &PageCtx, msg: &str| {
        ctx.refused(
            Exchange::title(l),
            new_body(&state, ctx, &f.serial, Some(msg)),
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
    let Some(old) = state.pending.get(ctx.key()) else {
        let msg = l.t(
            "現行のソフトウェアトークンのワンタイムパスワードの有効期限が切れました。もう一度入力してください。",
            "The old token's one-time password has expired. Please enter it again.",
        );
        return Ok(OLD.back_to::<Exchange>(&state, ctx, flow, Some(f.serial.clone()), msg));
    };
    match state
        .token_service
        .change(
            &flow.customer,
            &old,
            serial.as_str(),
            code.as_str(),
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(ok) => {
            state.pending.forget(ctx.key());
            let mut ev = Event::new(ctx.now, EventKind::Exchanged, EventContext::Exchange);
            ev.serial = Some(ok.serial.clone());
            ev.previous_serial = Some(ok.previous_serial.clone());
            let change = TokenChange::Set(ok.serial.clone());
            let detail = ReceiptDetail::Exchange {
                serial: ok.serial,
                previous_serial: ok.previous_serial,
            };
            procedure::finish::<Exchange>(&state, ctx, flow, detail, change, ev).await
        }
        Err(e) => {
            forms::record_refusal(&state, &flow.customer, EventContext::Exchange, &e, ctx.now)
                .await;
            let msg = e.message(l);
            if e.code() == Some(ErrorCode::OldOtpInvalid) {
                return Ok(OLD.back_to::<Exchange>(
                    &state,
                    ctx,
                    flow,
                    Some(f.serial.clone()),
                    &msg,
                ));
            }
            flow.typed_serial = Some(f.serial.clone());
            ctx.data.flow = Some(flow);
            Ok(refuse(&ctx, &msg))
        }
    }
}
