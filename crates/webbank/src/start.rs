//! 「ワンタイムパスワード利用開始」: 利用者認証 › ワンタイムパスワード登録 ›
//! 処理結果. The customer authenticates, pairs the app with the bank (QR
//! code of the pairing link), and registers the new token's serial with its
//! current code (`/v1/bank/bind`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};

use super::auth;
use super::clock;
use super::context::{internal, Ctx};
use super::forms::{self, AuthForm, SerialForm};
use super::i18n::Lang;
use super::layout::{self, FieldKind};
use super::session::{Flow, Procedure};
use super::store::{Event, EventKind, NewReceipt, ReceiptKind, TokenChange};
use super::AppState;

fn title(l: Lang) -> &'static str {
    l.t(
        "ワンタイムパスワード利用開始",
        "Start using one-time passwords",
    )
}

fn crumbs(l: Lang, at: usize) -> Markup {
    layout::crumbs(
        &[
            l.t("利用者認証", "User authentication"),
            l.t("ワンタイムパスワード登録", "One-time password registration"),
            l.t("処理結果", "Result"),
        ],
        at,
    )
}

fn auth_body(ctx: &Ctx, contract_id: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 0))
        (layout::error(error))
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
        (forms::auth_form(l, &ctx.data.csrf, "/start", contract_id))
    }
}

/// `GET /start`.
pub async fn show_auth(State(state): State<AppState>, ctx: Ctx) -> Response {
    let body = auth_body(&ctx, "", None);
    ctx.page(&state, title(ctx.lang()), body)
}

/// `POST /start`.
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
        Procedure::Start,
        "/start/register",
        t,
        auth_body,
    )
    .await
}

fn register_body(state: &AppState, ctx: &Ctx, serial: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (crumbs(l, 1))
        (layout::error(error))
        (forms::pairing(l, state))
        h2 { (l.t("2. ワンタイムパスワード登録", "2. Register the token")) }
        form method="post" action="/start/register" #register-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("ソフトウェアトークンに表示されているシリアル番号", "Serial number shown by the soft token"), "serial", serial, FieldKind::Text))
            (layout::text_field(l.t("ワンタイムパスワード(半角数字)", "One-time password (digits)"), "otp", "", FieldKind::Code))
            div.buttons {
                a.button.secondary href="/login" { (l.t("戻る", "Back")) }
                button type="submit" { (l.t("登録", "Register")) }
            }
        }
    }
}

fn current(ctx: &Ctx) -> Option<Flow> {
    ctx.data.flow_of(Procedure::Start).cloned()
}

/// `GET /start/register`.
pub async fn show_register(State(state): State<AppState>, ctx: Ctx) -> Response {
    match current(&ctx) {
        Some(f) if f.receipt.is_none() => {
            let body = register_body(&state, &ctx, "", None);
            ctx.page(&state, title(ctx.lang()), body)
        }
        Some(_) => ctx.redirect(&state, "/start/result"),
        None => ctx.redirect(&state, "/start"),
    }
}

/// `POST /start/register`.
pub async fn submit_register(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<SerialForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let Some(mut flow) = current(&ctx).filter(|f| f.receipt.is_none()) else {
        return ctx.redirect(&state, "/start");
    };
    let l = ctx.lang();
    let refuse = |ctx: &Ctx, msg: &str| {
        let body = register_body(&state, ctx, &f.serial, Some(msg));
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
    match state
        .backend
        .bind(
            &flow.customer,
            serial.as_str(),
            code.as_str(),
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(ok) => {
            let mut ev = Event::new(ctx.now, EventKind::Registered, "start");
            ev.serial = Some(ok.serial.clone());
            let id = match state.store.complete(
                &flow.customer,
                &NewReceipt {
                    serial: Some(&ok.serial),
                    ..NewReceipt::new(ReceiptKind::Start, ctx.now)
                },
                TokenChange::Set(ok.serial.clone()),
                Some(&ev),
            ) {
                Ok(id) => id,
                Err(_) => return internal(l),
            };
            flow.receipt = Some(id);
            flow.step = 3;
            ctx.data.flow = Some(flow);
            ctx.redirect(&state, "/start/result")
        }
        Err(e) => {
            forms::record_refusal(&state, &flow.customer, "start", &e, ctx.now);
            refuse(&ctx, &e.message(l))
        }
    }
}

/// `GET /start/result`.
pub async fn show_result(State(state): State<AppState>, ctx: Ctx) -> Response {
    let l = ctx.lang();
    let Some((flow, id)) = current(&ctx).and_then(|f| f.receipt.map(|id| (f, id))) else {
        return ctx.redirect(&state, "/start");
    };
    let Ok(Some(r)) = state.store.receipt(id, &flow.customer) else {
        return ctx.redirect(&state, "/start");
    };
    let body = html! {
        (crumbs(l, 2))
        div.notice #result-message { (l.t("ワンタイムパスワードの登録が完了しました。", "The one-time password token is registered.")) }
        (layout::receipt_table(l, &r.number(), &clock::format(r.at, l)))
        h2 { (l.t("登録内容", "Registered token")) }
        table.data {
            tr { th { (l.t("シリアル番号", "Serial number")) } td #result-serial { (r.serial.as_deref().map(forms::show_serial).unwrap_or_default()) } }
        }
        p { (l.t(
            "次回のお取引から、ソフトウェアトークンに表示されるワンタイムパスワードをご利用ください。",
            "From now on, use the one-time password the soft token shows for your transactions.",
        )) }
        div.buttons { a.button href="/login" { (l.t("ログイン画面", "Login screen")) } }
    };
    ctx.page(&state, title(l), body)
}
