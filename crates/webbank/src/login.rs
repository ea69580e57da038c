//! The login screen 「WEBバンキングログイン」 with the three OTP procedure
//! buttons 「利用開始」「交換」「利用中止」, the login OTP step (when the
//! customer chose 「する」), and logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use softtoken_core::stk1::messages::Purpose;

use super::auth;
use super::context::Ctx;
use super::forms::{self, AuthForm, CodeForm, CsrfForm};
use super::layout::{self, FieldKind};
use super::session::{Flow, Procedure};
use super::store::{Event, EventKind};
use super::AppState;

fn login_body(ctx: &Ctx, contract_id: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (layout::error(error))
        p { (l.t(
            "契約者ID（利用者番号）、ログインパスワードを入力し、「ログイン」ボタンを押してください。",
            "Enter your contract ID (user number) and login password, then press “Log in”.",
        )) }
        form method="post" action="/login" #login-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("契約者ID（利用者番号）", "Contract ID (user number)"), "contract_id", contract_id, FieldKind::Digits(16)))
            (layout::text_field(l.t("ログインパスワード", "Login password"), "password", "", FieldKind::Password))
            div.buttons { button type="submit" #login-button { (l.t("ログイン", "Log in")) } }
        }
        div.login-proc {
            h2 { (l.t("ワンタイムパスワード", "One-time password")) }
            p.muted { (l.t(
                "ワンタイムパスワードの利用開始する場合は、「利用開始」ボタンを押してください。スマートフォンの機種変更等でトークンを変更する場合は「交換」、利用をやめる場合は「利用中止」を押してください。",
                "To start using one-time passwords press “Start”. To move the token to a new phone press “Exchange”; to stop using it press “Stop”.",
            )) }
            div.buttons {
                a.button.secondary #btn-start href="/start" { (l.t("利用開始", "Start")) }
                a.button.secondary #btn-exchange href="/exchange" { (l.t("交換", "Exchange")) }
                a.button.secondary #btn-stop href="/stop" { (l.t("利用中止", "Stop")) }
            }
        }
    }
}

fn login_title(ctx: &Ctx) -> &'static str {
    ctx.lang().t("WEBバンキングログイン", "Web banking login")
}

/// `GET /login`.
pub async fn show(State(state): State<AppState>, mut ctx: Ctx) -> Response {
    // Leaving a procedure for the login screen ends it.
    if ctx.data.flow.take().is_some() {
        state.pending.forget(ctx.key());
    }
    let body = login_body(&ctx, "", None);
    ctx.page(&state, login_title(&ctx), body)
}

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<AuthForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let typed = f.contract_id.clone();
    match auth::authenticate(&state, &ctx, &f.contract_id, f.password).await {
        Ok(c) => {
            ctx.rotate(&state);
            if c.otp_login {
                ctx.data.customer = None;
                ctx.data.flow = Some(Flow {
                    procedure: Procedure::LoginOtp,
                    customer: c.contract_id,
                    step: 2,
                    receipt: None,
                    typed_serial: None,
                });
                ctx.redirect(&state, "/login/otp")
            } else {
                ctx.data.flow = None;
                ctx.data.customer = Some(c.contract_id);
                ctx.redirect(&state, "/account")
            }
        }
        Err(e) => {
            let body = login_body(&ctx, &typed, Some(e.message(ctx.lang())));
            ctx.page_with_status(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                login_title(&ctx),
                body,
            )
        }
    }
}

fn otp_body(ctx: &Ctx, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (layout::error(error))
        p { (l.t(
            "ソフトウェアトークンに表示されているワンタイムパスワードを入力し、「ログイン」ボタンを押してください。",
            "Enter the one-time password shown by your soft token and press “Log in”.",
        )) }
        form method="post" action="/login/otp" #login-otp-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("ワンタイムパスワード(半角数字)", "One-time password (digits)"), "otp", "", FieldKind::Code))
            div.buttons {
                a.button.secondary href="/login" { (l.t("戻る", "Back")) }
                button type="submit" { (l.t("ログイン", "Log in")) }
            }
        }
    }
}

fn otp_title(ctx: &Ctx) -> &'static str {
    ctx.lang()
        .t("ワンタイムパスワード認証", "One-time password")
}

/// `GET /login/otp`.
pub async fn show_otp(State(state): State<AppState>, ctx: Ctx) -> Response {
    if ctx.data.flow_of(Procedure::LoginOtp).is_none() {
        return ctx.redirect(&state, "/login");
    }
    let body = otp_body(&ctx, None);
    ctx.page(&state, otp_title(&ctx), body)
}

/// `POST /login/otp`.
pub async fn submit_otp(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<CodeForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let Some(customer) = ctx
        .data
        .flow_of(Procedure::LoginOtp)
        .map(|f| f.customer.clone())
    else {
        return ctx.redirect(&state, "/login");
    };
    let l = ctx.lang();
    let code = match forms::parse_code(&f.otp, l) {
        Ok(c) => c,
        Err(msg) => {
            let body = otp_body(&ctx, Some(msg));
            return ctx.page_with_status(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                otp_title(&ctx),
                body,
            );
        }
    };
    match state
        .backend
        .verify(
            &customer,
            code.as_str(),
            Purpose::Login,
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(_) => {
            let _ = state.store.add_event(
                &customer,
                &Event::new(ctx.now, EventKind::Accepted, "login"),
            );
            ctx.rotate(&state);
            ctx.data.flow = None;
            ctx.data.customer = Some(customer);
            ctx.redirect(&state, "/account")
        }
        Err(e) => {
            forms::record_refusal(&state, &customer, "login", &e, ctx.now);
            let msg = e.message(l);
            let body = otp_body(&ctx, Some(&msg));
            ctx.page_with_status(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                otp_title(&ctx),
                body,
            )
        }
    }
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    ctx.reset(&state);
    ctx.redirect(&state, "/login")
}
