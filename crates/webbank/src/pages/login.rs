//! The login screen 「WEBバンキングログイン」 with the three OTP procedure
//! buttons 「利用開始」「交換」「利用中止」, the login OTP step (when the
//! customer chose 「する」), and logout.

use axum::extract::State;
use maud::{html, Markup};
use softtoken_core::stk1::messages::Purpose;

use crate::credentials;
use crate::db::{Event, EventContext, EventKind};
use crate::forms::{self, AuthForm, CodeForm, NoFields};
use crate::layout;
use crate::page::PageResult;
use crate::request::{CsrfForm, PageCtx};
use crate::session::{Flow, Procedure};
use crate::web_state::WebState;

fn login_body(ctx: &PageCtx, contract_id: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (layout::error(error))
        p { (l.t(
            "契約者ID（利用者番号）、ログインパスワードを入力し、「ログイン」ボタンを押してください。",
            "Enter your contract ID (user number) and login password, then press “Log in”.",
        )) }
        form method="post" action="/login" #login-form {
            (layout::csrf_field(&ctx.data.csrf))
            (forms::credential_fields(l, contract_id))
            div.buttons { (layout::submit("login-submit", l.t("ログイン", "Log in"))) }
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

fn login_title(ctx: &PageCtx) -> &'static str {
    ctx.lang().t("WEBバンキングログイン", "Web banking login")
}

/// `GET /login`.
pub async fn show(State(state): State<WebState>, mut ctx: PageCtx) -> PageResult {
    // Leaving a procedure for the login screen ends it.
    if ctx.data.flow.take().is_some() {
        state.pending.forget(ctx.key());
    }
    let body = login_body(&ctx, "", None);
    Ok(ctx.page(login_title(&ctx), body))
}

/// `POST /login`: contract ID and password; then the account, or the
/// login OTP step when the customer chose 「する」.
pub async fn submit(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    CsrfForm(f): CsrfForm<AuthForm>,
) -> PageResult {
    let typed = f.contract_id.clone();
    match credentials::authenticate_noting(&state, &ctx, &f.contract_id, f.password).await {
        Ok((c, failures)) => {
            ctx.rotate(&state);
            ctx.data.login_failures = (failures > 0).then_some(failures);
            if c.otp_login {
                ctx.data.customer = None;
                ctx.data.flow = Some(Flow::opened(Procedure::LoginOtp, c.contract_id));
                Ok(ctx.redirect("/login/otp"))
            } else {
                ctx.data.flow = None;
                ctx.data.customer = Some(c.contract_id);
                Ok(ctx.redirect("/account"))
            }
        }
        Err(e) => {
            let body = login_body(&ctx, &typed, Some(&e.message(ctx.lang())));
            Ok(ctx.refused(login_title(&ctx), body))
        }
    }
}

fn otp_body(ctx: &PageCtx, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (layout::error(error))
        p { (l.t(
            "ソフトウェアトークンに表示されているワンタイムパスワードを入力し、「ログイン」ボタンを押してください。",
            "Enter the one-time password shown by your soft token and press “Log in”.",
        )) }
        form method="post" action="/login/otp" #login-otp-form {
            (layout::csrf_field(&ctx.data.csrf))
            (forms::otp_field(l))
            div.buttons {
                (layout::back(l))
                (layout::submit("login-otp-submit", l.t("ログイン", "Log in")))
            }
        }
    }
}

fn otp_title(ctx: &PageCtx) -> &'static str {
    ctx.lang()
        .t("ワンタイムパスワード認証", "One-time password")
}

/// `GET /login/otp`.
pub async fn show_otp(ctx: PageCtx) -> PageResult {
    if ctx.data.flow_of(Procedure::LoginOtp).is_none() {
        return Ok(ctx.redirect("/login"));
    }
    let body = otp_body(&ctx, None);
    Ok(ctx.page(otp_title(&ctx), body))
}

/// `POST /login/otp`: the code (purpose `login`) completes the login.
pub async fn submit_otp(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> PageResult {
    let Some(customer) = ctx
        .data
        .flow_of(Procedure::LoginOtp)
        .map(|f| f.customer.clone())
    else {
        return Ok(ctx.redirect("/login"));
    };
    let l = ctx.lang();
    let code = match forms::parse_code(&f.otp, l) {
        Ok(c) => c,
        Err(msg) => return Ok(ctx.refused(otp_title(&ctx), otp_body(&ctx, Some(msg)))),
    };
    match state
        .token_service
        .verify(
            &customer,
            code.as_str(),
            Purpose::Login,
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(_) => {
            let _ = state
                .db
                .add_event(
                    &customer,
                    Event::new(ctx.now, EventKind::Accepted, EventContext::Login),
                )
                .await;
            ctx.rotate(&state);
            ctx.data.flow = None;
            ctx.data.customer = Some(customer);
            Ok(ctx.redirect("/account"))
        }
        Err(e) => {
            forms::record_refusal(&state, &customer, EventContext::Login, &e, ctx.now).await;
            let msg = e.message(l);
            Ok(ctx.refused(otp_title(&ctx), otp_body(&ctx, Some(&msg))))
        }
    }
}

/// `POST /logout`: a fresh anonymous session replaces this one.
pub async fn logout(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    ctx.reset(&state);
    Ok(ctx.redirect("/login"))
}
