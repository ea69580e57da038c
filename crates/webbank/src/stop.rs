//! 「ワンタイムパスワード利用中止」: authenticate, the current code,
//! confirmation, result with 「ログイン画面」. The code typed on step 2 is
//! kept in memory and sent to `/v1/bank/deactivate` on confirmation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use softtoken_core::stk1::messages::ErrorCode;

use super::auth;
use super::clock;
use super::context::{internal, Ctx};
use super::forms::{self, AuthForm, CodeForm, CsrfForm};
use super::i18n::Lang;
use super::layout::{self, FieldKind};
use super::session::{Flow, Procedure};
use super::store::{Event, EventKind, NewReceipt, ReceiptKind, TokenChange};
use super::AppState;

fn title(l: Lang) -> &'static str {
    l.t(
        "ワンタイムパスワード利用中止",
        "Stop using one-time passwords",
    )
}

fn crumbs(l: Lang, at: usize) -> Markup {
    layout::crumbs(
        &[
            l.t("利用者認証", "User authentication"),
            l.t("ワンタイムパスワード認証", "One-time password"),
            l.t("確認", "Confirmation"),
            l.t("処理結果", "Result"),
        ],
        at,
    )
}

fn current(ctx: &Ctx) -> Option<Flow> {
    ctx.data.flow_of(Procedure::Stop).cloned()
}

fn auth_body(ctx: &Ctx, contract_id: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 0))
        (layout::error(error))
        p { (l.t("契約者ID（利用者番号）およびログインパスワードを入力し、「次へ」を押してください。",
                 "Enter your contract ID (user number) and login password, then press “Next”.")) }
        (forms::auth_form(l, &ctx.data.csrf, "/stop", contract_id))
    }
}

/// `GET /stop`.
pub async fn show_auth(State(state): State<AppState>, ctx: Ctx) -> Response {
    let body = auth_body(&ctx, "", None);
    ctx.page(&state, title(ctx.lang()), body)
}

/// `POST /stop`.
pub async fn submit_auth(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AuthForm>,
) -> Response {
    let t = title(ctx.lang());
    auth::open_procedure(&state, ctx, f, Procedure::Stop, "/stop/otp", t, auth_body).await
}

fn otp_body(ctx: &Ctx, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 1))
        (layout::error(error))
        p { (l.t(
            "ソフトウェアトークンに表示されているワンタイムパスワードを入力し、「次へ」を押してください。",
            "Enter the one-time password shown by your soft token, then press “Next”.",
        )) }
        form method="post" action="/stop/otp" #stop-otp-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("ワンタイムパスワード(半角数字)", "One-time password (digits)"), "otp", "", FieldKind::Code))
            div.buttons {
                a.button.secondary href="/login" { (l.t("戻る", "Back")) }
                button type="submit" { (l.t("次へ", "Next")) }
            }
        }
    }
}

/// `GET /stop/otp`.
pub async fn show_otp(State(state): State<AppState>, ctx: Ctx) -> Response {
    match current(&ctx) {
        Some(f) if f.receipt.is_none() => {
            let body = otp_body(&ctx, None);
            ctx.page(&state, title(ctx.lang()), body)
        }
        Some(_) => ctx.redirect(&state, "/stop/result"),
        None => ctx.redirect(&state, "/stop"),
    }
}

/// `POST /stop/otp`.
pub async fn submit_otp(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let Some(mut flow) = current(&ctx).filter(|f| f.receipt.is_none()) else {
        return ctx.redirect(&state, "/stop");
    };
    match forms::parse_code(&f.otp, ctx.lang()) {
        Ok(code) => {
            state.pending.put(ctx.key(), code.as_str());
            flow.step = 3;
            ctx.data.flow = Some(flow);
            ctx.redirect(&state, "/stop/confirm")
        }
        Err(m) => {
            let body = otp_body(&ctx, Some(m));
            ctx.page_with_status(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                title(ctx.lang()),
                body,
            )
        }
    }
}

/// `GET /stop/confirm`.
pub async fn show_confirm(State(state): State<AppState>, ctx: Ctx) -> Response {
    let l = ctx.lang();
    let Some(flow) = current(&ctx).filter(|f| f.receipt.is_none() && f.step >= 3) else {
        return ctx.redirect(&state, "/stop");
    };
    let serial = state
        .store
        .customer(&flow.customer)
        .ok()
        .flatten()
        .and_then(|c| c.token_serial);
    let body = html! {
        (crumbs(l, 2))
        p #confirm-message { (l.t(
            "ワンタイムパスワードの利用を中止します。よろしければ「中止する」を押してください。",
            "You are about to stop using one-time passwords. Press “Stop” to confirm.",
        )) }
        @if let Some(s) = serial {
            table.data {
                tr { th { (l.t("シリアル番号", "Serial number")) } td { (forms::show_serial(&s)) } }
            }
        }
        div.warning { (l.t(
            "利用中止後は、ログイン時のワンタイムパスワード認証は「しない」となり、《振込》《収納サービスへの支払》等のお取引には、改めて「利用開始」の手続きが必要です。",
            "After stopping, login no longer asks for a one-time password, and transfers and payments need a new “Start” first.",
        )) }
        form method="post" action="/stop/confirm" #stop-confirm-form {
            (layout::csrf_field(&ctx.data.csrf))
            div.buttons {
                a.button.secondary href="/login" { (l.t("戻る", "Back")) }
                button type="submit" { (l.t("中止する", "Stop")) }
            }
        }
    };
    ctx.page(&state, title(l), body)
}

/// `POST /stop/confirm`.
pub async fn submit_confirm(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let l = ctx.lang();
    let Some(mut flow) = current(&ctx).filter(|f| f.receipt.is_none() && f.step >= 3) else {
        return ctx.redirect(&state, "/stop");
    };
    let back_to_code = |mut ctx: Ctx, mut flow: Flow, msg: &str| {
        state.pending.forget(ctx.key());
        flow.step = 2;
        ctx.data.flow = Some(flow);
        let body = otp_body(&ctx, Some(msg));
        ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title(l), body)
    };
    let Some(code) = state.pending.get(ctx.key()) else {
        let msg = l.t(
            "ワンタイムパスワードの有効期限が切れました。もう一度入力してください。",
            "The one-time password has expired. Please enter it again.",
        );
        return back_to_code(ctx, flow, msg);
    };
    match state
        .backend
        .deactivate(&flow.customer, &code, ctx.test_time.as_deref())
        .await
    {
        Ok(ok) => {
            state.pending.forget(ctx.key());
            let mut ev = Event::new(ctx.now, EventKind::Stopped, "stop");
            ev.serial = Some(ok.serial.clone());
            let id = match state.store.complete(
                &flow.customer,
                &NewReceipt {
                    serial: Some(&ok.serial),
                    ..NewReceipt::new(ReceiptKind::Stop, ctx.now)
                },
                TokenChange::Clear,
                Some(&ev),
            ) {
                Ok(id) => id,
                Err(_) => return internal(l),
            };
            flow.receipt = Some(id);
            flow.step = 4;
            ctx.data.flow = Some(flow);
            ctx.redirect(&state, "/stop/result")
        }
        Err(e) => {
            forms::record_refusal(&state, &flow.customer, "stop", &e, ctx.now);
            let msg = e.message(l);
            match e.code() {
                Some(ErrorCode::InvalidOtp | ErrorCode::Replay) => back_to_code(ctx, flow, &msg),
                _ => {
                    let body = html! {
                        (crumbs(l, 2))
                        (layout::error(Some(&msg)))
                        div.buttons { a.button href="/login" { (l.t("ログイン画面", "Login screen")) } }
                    };
                    ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title(l), body)
                }
            }
        }
    }
}

/// `GET /stop/result`.
pub async fn show_result(State(state): State<AppState>, ctx: Ctx) -> Response {
    let l = ctx.lang();
    let Some((flow, id)) = current(&ctx).and_then(|f| f.receipt.map(|id| (f, id))) else {
        return ctx.redirect(&state, "/stop");
    };
    let Ok(Some(r)) = state.store.receipt(id, &flow.customer) else {
        return ctx.redirect(&state, "/stop");
    };
    let body = html! {
        (crumbs(l, 3))
        div.notice #result-message { (l.t("ワンタイムパスワードの利用中止手続きが完了しました。", "One-time passwords are stopped for your account.")) }
        (layout::receipt_table(l, &r.number(), &clock::format(r.at, l)))
        table.data {
            tr { th { (l.t("利用中止したシリアル番号", "Stopped serial number")) } td #result-serial { (r.serial.as_deref().map(forms::show_serial).unwrap_or_default()) } }
        }
        p { (l.t(
            "スマートフォンのソフトウェアトークンは、当金庫では以後ご利用いただけません。",
            "The soft token on your phone can no longer be used with this bank.",
        )) }
        div.buttons { a.button href="/login" #to-login { (l.t("ログイン画面", "Login screen")) } }
    };
    ctx.page(&state, title(l), body)
}
