//! After login: the account home, the login-OTP choice 「する」/「しない」
//! (changing it needs the code) and the customer's own OTP history. The
//! transactions are in [`super::transaction`].

use axum::extract::State;
use maud::{html, Markup};
use serde::Deserialize;
use softtoken_core::stk1::messages::Purpose;

use crate::db::{Customer, Event, EventContext, EventKind};
use crate::display_clock;
use crate::forms;
use crate::i18n::Lang;
use crate::layout;
use crate::page::PageResult;
use crate::request::{CsrfForm, LoggedIn, PageCtx};
use crate::web_state::WebState;

/// The account pages' navigation, with the logout button `#logout`.
pub fn nav(l: Lang, csrf: &str) -> Markup {
    html! {
        nav.account {
            a href="/account" #nav-home { (l.t("トップ", "Home")) }
            a href="/account/transfer" #nav-transfer { (l.t("振込", "Transfer")) }
            a href="/account/payment" #nav-payment { (l.t("収納サービスへの支払", "Payment")) }
            a href="/account/settings" #nav-settings { (l.t("ログイン時のワンタイムパスワード", "One-time password at login")) }
            a href="/account/history" #nav-history { (l.t("ワンタイムパスワード利用履歴", "One-time password history")) }
            form method="post" action="/logout" style="display:inline" {
                (layout::csrf_field(csrf))
                button.secondary type="submit" #logout { (l.t("ログアウト", "Log out")) }
            }
        }
    }
}

fn use_label(l: Lang, on: bool) -> &'static str {
    if on {
        l.t("する", "Use")
    } else {
        l.t("しない", "Don't use")
    }
}

/// `GET /account`.
pub async fn home(mut ctx: PageCtx, LoggedIn(c): LoggedIn) -> PageResult {
    let l = ctx.lang();
    let failures = ctx.data.login_failures.take();
    let body = html! {
        (nav(l, &ctx.data.csrf))
        @if let Some(n) = failures {
            div.notice #login-failures { (match l {
                Lang::Ja => format!("前回のログイン以降、パスワードの誤りが {n} 回ありました。お心当たりがない場合はお取引店にご連絡ください。"),
                Lang::En => format!("There were {n} wrong password attempts since your last login. If this was not you, please contact your branch."),
            }) }
        }
        p #welcome { (c.name) " " (l.t("様", "")) " (" (l.t("契約者ID", "contract ID")) " " (c.contract_id) ")" }
        table.data {
            tr { th { (l.t("ワンタイムパスワード", "One-time password")) }
                 td #token-status { @match &c.token_serial {
                     Some(s) => { (l.t("利用中", "In use")) " — " (l.t("シリアル番号", "serial")) " " (forms::show_serial(s)) },
                     None => { (l.t("未登録（ログイン画面の「利用開始」から登録できます）", "Not registered (use “Start” on the login screen)")) },
                 } } }
            tr { th { (l.t("ログイン時のワンタイムパスワード認証", "One-time password at login")) }
                 td #login-otp-status { (use_label(l, c.otp_login)) } }
        }
        p.muted { (l.t(
            "《振込》、《収納サービスへの支払》等の各種お取引の際は、ソフトウェアトークンに表示された「ワンタイムパスワード」で認証します。",
            "Transfers, payments and other transactions are confirmed with the one-time password shown by your soft token.",
        )) }
    };
    Ok(ctx.page(l.t("トップページ", "Account"), body))
}

/// Login-OTP choice form.
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    otp_login: String,
    /// 取引認証 「する」/「しない」 (only offered under `--txn-auth optional`).
    #[serde(default)]
    txn_auth: String,
    #[serde(default)]
    otp: String,
}

fn settings_title(l: Lang) -> &'static str {
    l.t(
        "ログイン時のワンタイムパスワード",
        "One-time password at login",
    )
}

/// The customer's 取引認証 choice when the bank lets customers choose
/// (`--txn-auth optional`), else `None` (nothing to choose).
async fn txn_choice(state: &WebState, c: &Customer) -> Result<Option<bool>, crate::db::DbError> {
    Ok(match state.txn_auth {
        crate::TxnAuth::Optional => Some(state.uses_txn_auth(c).await?),
        _ => None,
    })
}

fn settings_body(
    ctx: &PageCtx,
    c: &Customer,
    choice: Option<bool>,
    txn: Option<bool>,
    txn_typed: Option<bool>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let l = ctx.lang();
    let on = choice.unwrap_or(c.otp_login);
    let txn_on = txn_typed.or(txn);
    html! {
        (nav(l, &ctx.data.csrf))
        (layout::error(error))
        @if let Some(n) = notice { div.notice #settings-notice { (n) } }
        p { (l.t(
            "ログイン時のワンタイムパスワードによる認証の「する」「しない」を選択できます。変更には、ソフトウェアトークンに表示されているワンタイムパスワードが必要です。",
            "Choose whether login asks for the one-time password. Changing it needs the one-time password your soft token shows.",
        )) }
        p { (l.t("現在の設定: ", "Current setting: ")) strong #login-otp-status { (use_label(l, c.otp_login)) } }
        form method="post" action="/account/settings" #settings-form {
            (layout::csrf_field(&ctx.data.csrf))
            div.field {
                label { (l.t("ログイン時のワンタイムパスワード認証", "One-time password at login")) }
                label { input type="radio" name="otp_login" value="on" #otp-login-on checked[on]; " " (l.t("する", "Use")) }
                label { input type="radio" name="otp_login" value="off" #otp-login-off checked[!on]; " " (l.t("しない", "Don't use")) }
            }
            @if let (Some(current), Some(t)) = (txn, txn_on) {
                p #txn-auth-status { (l.t("取引認証（振込・収納サービスへの支払をアプリで承認）の現在の設定: ", "Transaction authentication (approve transfers and payments in the app), current setting: ")) strong { (use_label(l, current)) } }
                div.field {
                    label { (l.t("取引認証", "Transaction authentication")) }
                    label { input type="radio" name="txn_auth" value="on" #txn-auth-on checked[t]; " " (l.t("する", "Use")) }
                    label { input type="radio" name="txn_auth" value="off" #txn-auth-off checked[!t]; " " (l.t("しない", "Don't use")) }
                }
            }
            (forms::otp_field(l))
            div.buttons { (layout::submit("settings-submit", l.t("変更", "Change"))) }
        }
    }
}

/// `GET /account/settings`.
pub async fn show_settings(
    State(state): State<WebState>,
    ctx: PageCtx,
    LoggedIn(c): LoggedIn,
) -> PageResult {
    let txn = txn_choice(&state, &c).await?;
    let body = settings_body(&ctx, &c, None, txn, None, None, None);
    Ok(ctx.page(settings_title(ctx.lang()), body))
}

/// `POST /account/settings`: the choice with the code (purpose `settings`).
pub async fn submit_settings(
    State(state): State<WebState>,
    ctx: PageCtx,
    LoggedIn(c): LoggedIn,
    CsrfForm(f): CsrfForm<SettingsForm>,
) -> PageResult {
    let l = ctx.lang();
    let title = settings_title(l);
    let txn = txn_choice(&state, &c).await?;
    let txn_typed = match (txn, f.txn_auth.as_str()) {
        (Some(_), "on") => Some(true),
        (Some(_), "off") => Some(false),
        _ => None,
    };
    let refuse = |ctx: &PageCtx, c: &Customer, choice: Option<bool>, m: &str| {
        ctx.refused(
            title,
            settings_body(ctx, c, choice, txn, txn_typed, Some(m), None),
        )
    };
    let on = match f.otp_login.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Ok(refuse(
                &ctx,
                &c,
                None,
                l.t(
                    "「する」または「しない」を選択してください。",
                    "Choose “Use” or “Don't use”.",
                ),
            ))
        }
    };
    if c.token_serial.is_none() && on {
        return Ok(refuse(&ctx, &c, Some(on), l.t(
            "ワンタイムパスワードが登録されていません。ログイン画面の「利用開始」から登録してください。",
            "No one-time password token is registered. Register one with “Start” on the login screen.",
        )));
    }
    let code = match forms::parse_code(&f.otp, l) {
        Ok(c) => c,
        Err(m) => return Ok(refuse(&ctx, &c, Some(on), m)),
    };
    match state
        .token_service
        .verify(
            &c.contract_id,
            code.as_str(),
            Purpose::Settings,
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(_) => {
            let kind = if on {
                EventKind::LoginOtpOn
            } else {
                EventKind::LoginOtpOff
            };
            state
                .db
                .set_otp_login(
                    &c.contract_id,
                    on,
                    Event::new(ctx.now, kind, EventContext::Settings),
                )
                .await?;
            if let (Some(before), Some(after)) = (txn, txn_typed) {
                if before != after {
                    let kind = if after {
                        EventKind::TxnAuthOn
                    } else {
                        EventKind::TxnAuthOff
                    };
                    state
                        .db
                        .set_txn_auth_choice(
                            &c.contract_id,
                            after,
                            Event::new(ctx.now, kind, EventContext::Settings),
                        )
                        .await?;
                }
            }
            let c = Customer { otp_login: on, ..c };
            let txn = txn_choice(&state, &c).await?;
            let notice = l.t("設定を変更しました。", "The setting is changed.");
            let body = settings_body(&ctx, &c, None, txn, None, None, Some(notice));
            Ok(ctx.page(title, body))
        }
        Err(e) => {
            forms::record_refusal(&state, &c.contract_id, EventContext::Settings, &e, ctx.now)
                .await;
            // The refusal may have changed what is known (e.g. no token).
            let c = state
                .db
                .customer(&c.contract_id)
                .await
                .ok()
                .flatten()
                .unwrap_or(c);
            Ok(refuse(&ctx, &c, Some(on), &e.message(l)))
        }
    }
}

pub(crate) fn context_label(l: Lang, context: EventContext) -> &'static str {
    match context {
        EventContext::Login => l.t("ログイン", "Login"),
        EventContext::Transfer => l.t("振込", "Transfer"),
        EventContext::Payment => l.t("収納サービスへの支払", "Payment"),
        EventContext::Settings => l.t("設定変更", "Settings"),
        EventContext::Start => l.t("利用開始", "Start"),
        EventContext::Exchange => l.t("交換", "Exchange"),
        EventContext::Stop => l.t("利用中止", "Stop"),
    }
}

pub(crate) fn event_label(l: Lang, e: &Event) -> String {
    match e.kind {
        EventKind::Registered => l
            .t("トークン登録（利用開始）", "Token registered (start)")
            .into(),
        EventKind::Exchanged => l.t("トークン交換", "Token exchanged").into(),
        EventKind::Stopped => l.t("利用中止", "Stopped").into(),
        EventKind::Accepted => l.t("認証成功", "Accepted").into(),
        EventKind::Failed => match (l, e.fail_count) {
            (Lang::Ja, Some(n)) => format!("認証失敗（連続{n}回目）"),
            (Lang::En, Some(n)) => format!("Wrong code ({n} in a row)"),
            _ => l.t("認証失敗", "Wrong code").into(),
        },
        EventKind::Replay => l
            .t("使用済みのワンタイムパスワード", "Code already used")
            .into(),
        EventKind::Locked => l
            .t(
                "ロック中（当金庫へご連絡ください）",
                "Locked (call the bank)",
            )
            .into(),
        EventKind::NoToken => l.t("トークン未登録", "No token registered").into(),
        EventKind::LoginOtpOn => l
            .t("ログイン時の認証を「する」に変更", "Login OTP set to use")
            .into(),
        EventKind::LoginOtpOff => l
            .t(
                "ログイン時の認証を「しない」に変更",
                "Login OTP set to don't use",
            )
            .into(),
        EventKind::TxnApproved => l
            .t(
                "取引認証（アプリで承認・実行）",
                "Transaction authentication (approved in the app, carried out)",
            )
            .into(),
        EventKind::TxnRejected => l
            .t(
                "取引認証（アプリで拒否・未実行）",
                "Transaction authentication (rejected in the app, not carried out)",
            )
            .into(),
        EventKind::TxnExpired => l
            .t(
                "取引認証（有効期限切れ・未実行）",
                "Transaction authentication (expired, not carried out)",
            )
            .into(),
        EventKind::TxnOffline => l
            .t(
                "取引認証（取引認証番号で認証・実行）",
                "Transaction authentication (offline number, carried out)",
            )
            .into(),
        EventKind::TxnAuthOn => l
            .t(
                "取引認証を「する」に変更",
                "Transaction authentication set to use",
            )
            .into(),
        EventKind::TxnAuthOff => l
            .t(
                "取引認証を「しない」に変更",
                "Transaction authentication set to don't use",
            )
            .into(),
    }
}

/// `GET /account/history`: the newest 100 events.
pub async fn history(
    State(state): State<WebState>,
    ctx: PageCtx,
    LoggedIn(c): LoggedIn,
) -> PageResult {
    let l = ctx.lang();
    let events = state.db.events(&c.contract_id, 100).await?;
    let body = html! {
        (nav(l, &ctx.data.csrf))
        @if events.is_empty() {
            p #history-empty { (l.t("履歴はありません。", "No history yet.")) }
        } @else {
            table.data #history {
                tr { th { (l.t("日時", "Time")) } th { (l.t("お取引", "Where")) } th { (l.t("内容", "What")) } th { (l.t("シリアル番号", "Serial number")) } }
                @for e in &events {
                    tr {
                        td.nowrap { (display_clock::format(e.at, l)) }
                        td { (context_label(l, e.context)) }
                        td { (event_label(l, e)) }
                        td.nowrap {
                            @if let Some(p) = &e.previous_serial { (forms::show_serial(p)) " → " }
                            @if let Some(s) = &e.serial { (forms::show_serial(s)) }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page(
        l.t("ワンタイムパスワード利用履歴", "One-time password history"),
        body,
    ))
}
