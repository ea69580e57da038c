//! 「ワンタイムパスワード交換」: 旧ワンタイムパスワード認証 ›
//! 新ワンタイムパスワード認証 › 処理結果. Authenticate, type the old token's
//! code (format checked here, kept in memory only), then the new token's
//! serial and code 「登録」: one atomic `/v1/bank/change` call checks both.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use softtoken_core::stk1::messages::ErrorCode;

use super::auth;
use super::clock;
use super::context::{internal, Ctx};
use super::forms::{self, AuthForm, CodeForm, SerialForm};
use super::i18n::Lang;
use super::layout::{self, FieldKind};
use super::session::{Flow, Procedure};
use super::store::{Event, EventKind, NewReceipt, ReceiptKind, TokenChange};
use super::AppState;

fn title(l: Lang) -> &'static str {
    l.t(
        "ワンタイムパスワード交換",
        "Exchange the one-time password token",
    )
}

fn crumbs(l: Lang, at: usize) -> Markup {
    layout::crumbs(
        &[
            l.t("旧ワンタイムパスワード認証", "Old one-time password"),
            l.t("新ワンタイムパスワード認証", "New one-time password"),
            l.t("処理結果", "Result"),
        ],
        at,
    )
}

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

fn auth_body(ctx: &Ctx, contract_id: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 0))
        (layout::error(error))
        (warnings(l))
        p { (l.t("契約者ID（利用者番号）およびログインパスワードを入力し、「次へ」を押してください。",
                 "Enter your contract ID (user number) and login password, then press “Next”.")) }
        (forms::auth_form(l, &ctx.data.csrf, "/exchange", contract_id))
    }
}

fn current(ctx: &Ctx) -> Option<Flow> {
    ctx.data.flow_of(Procedure::Exchange).cloned()
}

/// `GET /exchange`.
pub async fn show_auth(State(state): State<AppState>, ctx: Ctx) -> Response {
    let body = auth_body(&ctx, "", None);
    ctx.page(&state, title(ctx.lang()), body)
}

/// `POST /exchange`.
pub async fn submit_auth(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<AuthForm>,
) -> Response {
    let t = title(ctx.lang());
    auth::open_procedure(
        &state,
        ctx,
        f,
        Procedure::Exchange,
        "/exchange/old",
        t,
        auth_body,
    )
    .await
}

fn old_body(ctx: &Ctx, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 0))
        (layout::error(error))
        p { (l.t(
            "現行のソフトウェアトークンに表示されているワンタイムパスワードを入力し、「次へ」を押してください。",
            "Enter the one-time password shown by your current (old) soft token, then press “Next”.",
        )) }
        form method="post" action="/exchange/old" #old-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("ワンタイムパスワード(半角数字)", "One-time password (digits)"), "otp", "", FieldKind::Code))
            div.buttons {
                a.button.secondary href="/login" { (l.t("戻る", "Back")) }
                button type="submit" { (l.t("次へ", "Next")) }
            }
        }
    }
}

/// `GET /exchange/old`.
pub async fn show_old(State(state): State<AppState>, ctx: Ctx) -> Response {
    match current(&ctx) {
        Some(f) if f.receipt.is_none() => {
            let body = old_body(&ctx, None);
            ctx.page(&state, title(ctx.lang()), body)
        }
        Some(_) => ctx.redirect(&state, "/exchange/result"),
        None => ctx.redirect(&state, "/exchange"),
    }
}

/// `POST /exchange/old`.
pub async fn submit_old(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let Some(mut flow) = current(&ctx).filter(|f| f.receipt.is_none()) else {
        return ctx.redirect(&state, "/exchange");
    };
    match forms::parse_code(&f.otp, ctx.lang()) {
        Ok(code) => {
            state.pending.put(ctx.key(), code.as_str());
            flow.step = 3;
            ctx.data.flow = Some(flow);
            ctx.redirect(&state, "/exchange/new")
        }
        Err(m) => {
            let body = old_body(&ctx, Some(m));
            ctx.page_with_status(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                title(ctx.lang()),
                body,
            )
        }
    }
}

fn new_body(state: &AppState, ctx: &Ctx, serial: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 1))
        (layout::error(error))
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
            (layout::text_field(l.t("ワンタイムパスワード(半角数字)", "One-time password (digits)"), "otp", "", FieldKind::Code))
            div.buttons {
                a.button.secondary href="/login" { (l.t("戻る", "Back")) }
                button type="submit" { (l.t("登録", "Register")) }
            }
        }
    }
}

/// `GET /exchange/new`.
pub async fn show_new(State(state): State<AppState>, ctx: Ctx) -> Response {
    match current(&ctx) {
        Some(f) if f.receipt.is_none() && f.step >= 3 => {
            let typed = f.typed_serial.clone().unwrap_or_default();
            let body = new_body(&state, &ctx, &typed, None);
            ctx.page(&state, title(ctx.lang()), body)
        }
        Some(f) if f.receipt.is_some() => ctx.redirect(&state, "/exchange/result"),
        Some(_) => ctx.redirect(&state, "/exchange/old"),
        None => ctx.redirect(&state, "/exchange"),
    }
}

/// `POST /exchange/new`.
pub async fn submit_new(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<SerialForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let Some(mut flow) = current(&ctx).filter(|f| f.receipt.is_none() && f.step >= 3) else {
        return ctx.redirect(&state, "/exchange");
    };
    let l = ctx.lang();
    let refuse = |ctx: &Ctx, msg: &str| {
        let body = new_body(&state, ctx, &f.serial, Some(msg));
        ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title(l), body)
    };
    let serial = match forms::parse_serial(&f.serial, l) {
        Ok(s) => s,
        Err(m) => return refuse(&ctx, m),
    };
    let code = match forms::parse_code(&f.otp, l) {
        Ok(c) => c,
        Err(m) => return refuse(&ctx, m),
    };
    let back_to_old = |mut ctx: Ctx, mut flow: Flow, msg: &str| {
        state.pending.forget(ctx.key());
        flow.step = 2;
        flow.typed_serial = Some(f.serial.clone());
        ctx.data.flow = Some(flow);
        let body = old_body(&ctx, Some(msg));
        ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title(l), body)
    };
    let Some(old) = state.pending.get(ctx.key()) else {
        let msg = l.t(
            "現行のソフトウェアトークンのワンタイムパスワードの有効期限が切れました。もう一度入力してください。",
            "The old token's one-time password has expired. Please enter it again.",
        );
        return back_to_old(ctx, flow, msg);
    };
    match state
        .backend
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
            let mut ev = Event::new(ctx.now, EventKind::Exchanged, "exchange");
            ev.serial = Some(ok.serial.clone());
            ev.previous_serial = Some(ok.previous_serial.clone());
            let id = match state.store.complete(
                &flow.customer,
                &NewReceipt {
                    serial: Some(&ok.serial),
                    previous_serial: Some(&ok.previous_serial),
                    ..NewReceipt::new(ReceiptKind::Exchange, ctx.now)
                },
                TokenChange::Set(ok.serial.clone()),
                Some(&ev),
            ) {
                Ok(id) => id,
                Err(_) => return internal(l),
            };
            flow.receipt = Some(id);
            flow.step = 4;
            flow.typed_serial = None;
            ctx.data.flow = Some(flow);
            ctx.redirect(&state, "/exchange/result")
        }
        Err(e) => {
            forms::record_refusal(&state, &flow.customer, "exchange", &e, ctx.now);
            let msg = e.message(l);
            match e.code() {
                Some(ErrorCode::OldOtpInvalid) => back_to_old(ctx, flow, &msg),
                _ => {
                    flow.typed_serial = Some(f.serial.clone());
                    ctx.data.flow = Some(flow);
                    refuse(&ctx, &msg)
                }
            }
        }
    }
}

/// `GET /exchange/result`.
pub async fn show_result(State(state): State<AppState>, ctx: Ctx) -> Response {
    let l = ctx.lang();
    let Some((flow, id)) = current(&ctx).and_then(|f| f.receipt.map(|id| (f, id))) else {
        return ctx.redirect(&state, "/exchange");
    };
    let Ok(Some(r)) = state.store.receipt(id, &flow.customer) else {
        return ctx.redirect(&state, "/exchange");
    };
    let after = r
        .serial
        .as_deref()
        .map(forms::show_serial)
        .unwrap_or_default();
    let before = r
        .previous_serial
        .as_deref()
        .map(forms::show_serial)
        .unwrap_or_default();
    let body = html! {
        (crumbs(l, 2))
        div.notice #result-message { (l.t("ワンタイムパスワードの登録が完了しました。", "The new one-time password token is registered.")) }
        (layout::receipt_table(l, &r.number(), &clock::format(r.at, l)))
        h2 { (l.t("変更結果", "Change")) }
        table.data #change-table {
            tr { th {} th { (l.t("変更後", "After")) } th { (l.t("変更前", "Before")) } }
            tr { th { (l.t("シリアル番号", "Serial number")) } td #serial-after { (after) } td #serial-before { (before) } }
        }
        p { (l.t(
            "旧端末のソフトウェアトークンは、以後ご利用いただけません。",
            "The soft token on the old phone can no longer be used.",
        )) }
        div.buttons { a.button href="/login" { (l.t("ログイン画面", "Login screen")) } }
    };
    ctx.page(&state, title(l), body)
}
