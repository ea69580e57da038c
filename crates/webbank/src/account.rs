//! After login: the account home, 《振込》 and 《収納サービスへの支払》 (each
//! authorised by the current code), the login-OTP choice 「する」/「しない」
//! (changing it needs the code) and the customer's own OTP history.
//! Transactions are demonstrations: they are recorded with a 受付番号, no
//! money moves.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use softtoken_core::stk1::messages::Purpose;

use super::clock;
use super::context::{internal, Ctx};
use super::forms;
use super::i18n::Lang;
use super::layout::{self, FieldKind};
use super::store::{Customer, Event, EventKind, NewReceipt, ReceiptKind, TokenChange};
use super::AppState;

/// The logged-in customer, or a redirect to the login screen.
#[allow(clippy::result_large_err)]
fn customer(state: &AppState, ctx: &Ctx) -> Result<Customer, Response> {
    let Some(id) = ctx.data.customer.as_deref() else {
        return Err(ctx.redirect(state, "/login"));
    };
    match state.store.customer(id) {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(ctx.redirect(state, "/login")),
        Err(_) => Err(internal(ctx.lang())),
    }
}

fn nav(l: Lang, csrf: &str) -> Markup {
    html! {
        nav.account {
            a href="/account" { (l.t("トップ", "Home")) }
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

/// `GET /account`.
pub async fn home(State(state): State<AppState>, ctx: Ctx) -> Response {
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = ctx.lang();
    let body = html! {
        (nav(l, &ctx.data.csrf))
        p #welcome { (c.name) " " (l.t("様", "")) " (" (l.t("契約者ID", "contract ID")) " " (c.contract_id) ")" }
        table.data {
            tr { th { (l.t("ワンタイムパスワード", "One-time password")) }
                 td #token-status { @match &c.token_serial {
                     Some(s) => { (l.t("利用中", "In use")) " — " (l.t("シリアル番号", "serial")) " " (forms::show_serial(s)) },
                     None => { (l.t("未登録（ログイン画面の「利用開始」から登録できます）", "Not registered (use “Start” on the login screen)")) },
                 } } }
            tr { th { (l.t("ログイン時のワンタイムパスワード認証", "One-time password at login")) }
                 td #login-otp-status { (if c.otp_login { l.t("する", "Use") } else { l.t("しない", "Don't use") }) } }
        }
        p.muted { (l.t(
            "《振込》、《収納サービスへの支払》等の各種お取引の際は、ソフトウェアトークンに表示された「ワンタイムパスワード」で認証します。",
            "Transfers, payments and other transactions are confirmed with the one-time password shown by your soft token.",
        )) }
    };
    ctx.page(&state, l.t("トップページ", "Account"), body)
}

/// 《振込》 form.
#[derive(Deserialize, Default)]
pub struct TransferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bank: String,
    #[serde(default)]
    branch: String,
    #[serde(default)]
    account_type: String,
    #[serde(default)]
    account_number: String,
    #[serde(default)]
    payee: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    otp: String,
}

/// 《収納サービスへの支払》 form.
#[derive(Deserialize, Default)]
pub struct PaymentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    biller: String,
    #[serde(default)]
    customer_number: String,
    #[serde(default)]
    confirm_number: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    otp: String,
}

fn otp_field(l: Lang) -> Markup {
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

fn transfer_body(ctx: &Ctx, f: &TransferForm, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (nav(l, &ctx.data.csrf))
        (layout::error(error))
        form method="post" action="/account/transfer" #transfer-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("振込先金融機関", "Payee's bank"), "bank", &f.bank, FieldKind::Text))
            (layout::text_field(l.t("支店名", "Branch"), "branch", &f.branch, FieldKind::Text))
            div.field {
                label for="f-account_type" { (l.t("科目", "Account type")) }
                select #f-account_type name="account_type" {
                    option value="futsu" selected[f.account_type != "toza"] { (l.t("普通", "Ordinary")) }
                    option value="toza" selected[f.account_type == "toza"] { (l.t("当座", "Current")) }
                }
            }
            (layout::text_field(l.t("口座番号", "Account number"), "account_number", &f.account_number, FieldKind::Digits(7)))
            (layout::text_field(l.t("受取人名", "Payee name"), "payee", &f.payee, FieldKind::Text))
            (layout::text_field(l.t("振込金額（円）", "Amount (yen)"), "amount", &f.amount, FieldKind::Digits(12)))
            (otp_field(l))
            div.buttons { button type="submit" { (l.t("振込実行", "Transfer")) } }
        }
    }
}

fn payment_body(ctx: &Ctx, f: &PaymentForm, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (nav(l, &ctx.data.csrf))
        (layout::error(error))
        form method="post" action="/account/payment" #payment-form {
            (layout::csrf_field(&ctx.data.csrf))
            (layout::text_field(l.t("収納機関番号", "Biller number"), "biller", &f.biller, FieldKind::Digits(5)))
            (layout::text_field(l.t("お客様番号", "Customer number"), "customer_number", &f.customer_number, FieldKind::Text))
            (layout::text_field(l.t("確認番号", "Confirmation number"), "confirm_number", &f.confirm_number, FieldKind::Digits(16)))
            (layout::text_field(l.t("支払金額（円）", "Amount (yen)"), "amount", &f.amount, FieldKind::Digits(12)))
            (otp_field(l))
            div.buttons { button type="submit" { (l.t("支払実行", "Pay")) } }
        }
    }
}

fn amount(text: &str) -> Option<u64> {
    let digits: String = text.trim().chars().filter(|c| *c != ',').collect();
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|a| (1..=10_000_000).contains(a))
}

fn digits(text: &str, min: usize, max: usize) -> bool {
    let t = text.trim();
    (min..=max).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit())
}

fn validate_transfer(f: &TransferForm, l: Lang) -> Result<(), &'static str> {
    if f.bank.trim().is_empty() || f.branch.trim().is_empty() || f.payee.trim().is_empty() {
        return Err(l.t(
            "振込先金融機関、支店名、受取人名を入力してください。",
            "Enter the payee's bank, branch and name.",
        ));
    }
    if f.bank.chars().count() > 40 || f.branch.chars().count() > 40 || f.payee.chars().count() > 60
    {
        return Err(l.t("入力が長すぎます。", "An entry is too long."));
    }
    if !digits(&f.account_number, 7, 7) {
        return Err(l.t(
            "口座番号は半角数字7桁で入力してください。",
            "The account number is 7 digits.",
        ));
    }
    if amount(&f.amount).is_none() {
        return Err(l.t(
            "振込金額は1円以上10,000,000円以下の半角数字で入力してください。",
            "The amount is a number from 1 to 10,000,000 yen.",
        ));
    }
    Ok(())
}

fn validate_payment(f: &PaymentForm, l: Lang) -> Result<(), &'static str> {
    if !digits(&f.biller, 5, 5) {
        return Err(l.t(
            "収納機関番号は半角数字5桁で入力してください。",
            "The biller number is 5 digits.",
        ));
    }
    let cn = f.customer_number.trim();
    if cn.is_empty() || cn.len() > 20 || !cn.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(l.t(
            "お客様番号は半角英数字20桁以内で入力してください。",
            "The customer number is up to 20 letters and digits.",
        ));
    }
    if !digits(&f.confirm_number, 1, 16) {
        return Err(l.t(
            "確認番号は半角数字で入力してください。",
            "The confirmation number is digits.",
        ));
    }
    if amount(&f.amount).is_none() {
        return Err(l.t(
            "支払金額は1円以上10,000,000円以下の半角数字で入力してください。",
            "The amount is a number from 1 to 10,000,000 yen.",
        ));
    }
    Ok(())
}

/// Verifies the code for `purpose`, records the outcome, and issues the
/// receipt. `Err` carries the message for the same screen.
async fn authorise(
    state: &AppState,
    ctx: &Ctx,
    c: &Customer,
    otp: &str,
    purpose: Purpose,
    kind: ReceiptKind,
    detail: serde_json::Value,
) -> Result<i64, String> {
    let l = ctx.lang();
    let code = forms::parse_code(otp, l).map_err(str::to_string)?;
    match state
        .backend
        .verify(
            &c.contract_id,
            code.as_str(),
            purpose,
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(_) => {
            let ev = Event::new(ctx.now, EventKind::Accepted, purpose.as_str());
            state
                .store
                .complete(
                    &c.contract_id,
                    &NewReceipt {
                        detail,
                        ..NewReceipt::new(kind, ctx.now)
                    },
                    TokenChange::None,
                    Some(&ev),
                )
                .map_err(|_| {
                    l.t(
                        "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                        "The service is not available right now. Please try again later.",
                    )
                    .to_string()
                })
        }
        Err(e) => {
            forms::record_refusal(state, &c.contract_id, purpose.as_str(), &e, ctx.now);
            Err(e.message(l))
        }
    }
}

/// `GET /account/transfer`.
pub async fn show_transfer(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = customer(&state, &ctx) {
        return r;
    }
    let body = transfer_body(&ctx, &TransferForm::default(), None);
    ctx.page(&state, ctx.lang().t("振込", "Transfer"), body)
}

/// `POST /account/transfer`.
pub async fn submit_transfer(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<TransferForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = ctx.lang();
    let title = l.t("振込", "Transfer");
    let result = match validate_transfer(&f, l) {
        Err(m) => Err(m.to_string()),
        Ok(()) => {
            let detail = serde_json::json!({
                "bank": f.bank.trim(), "branch": f.branch.trim(),
                "account_type": if f.account_type == "toza" { "toza" } else { "futsu" },
                "account_number": f.account_number.trim(), "payee": f.payee.trim(),
                "amount": amount(&f.amount),
            });
            authorise(
                &state,
                &ctx,
                &c,
                &f.otp,
                Purpose::Transfer,
                ReceiptKind::Transfer,
                detail,
            )
            .await
        }
    };
    match result {
        Ok(id) => {
            ctx.data.last_receipt = Some(id);
            ctx.redirect(&state, "/account/done")
        }
        Err(m) => {
            let body = transfer_body(&ctx, &f, Some(&m));
            ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title, body)
        }
    }
}

/// `GET /account/payment`.
pub async fn show_payment(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = customer(&state, &ctx) {
        return r;
    }
    let body = payment_body(&ctx, &PaymentForm::default(), None);
    ctx.page(
        &state,
        ctx.lang().t("収納サービスへの支払", "Payment"),
        body,
    )
}

/// `POST /account/payment`.
pub async fn submit_payment(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Form(f): Form<PaymentForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = ctx.lang();
    let title = l.t("収納サービスへの支払", "Payment");
    let result = match validate_payment(&f, l) {
        Err(m) => Err(m.to_string()),
        Ok(()) => {
            let detail = serde_json::json!({
                "biller": f.biller.trim(), "customer_number": f.customer_number.trim(),
                "confirm_number": f.confirm_number.trim(), "amount": amount(&f.amount),
            });
            authorise(
                &state,
                &ctx,
                &c,
                &f.otp,
                Purpose::Payment,
                ReceiptKind::Payment,
                detail,
            )
            .await
        }
    };
    match result {
        Ok(id) => {
            ctx.data.last_receipt = Some(id);
            ctx.redirect(&state, "/account/done")
        }
        Err(m) => {
            let body = payment_body(&ctx, &f, Some(&m));
            ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title, body)
        }
    }
}

/// `GET /account/done`: the receipt of the last transaction.
pub async fn done(State(state): State<AppState>, ctx: Ctx) -> Response {
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = ctx.lang();
    let Some(Ok(Some(r))) = ctx
        .data
        .last_receipt
        .map(|id| state.store.receipt(id, &c.contract_id))
    else {
        return ctx.redirect(&state, "/account");
    };
    let d = &r.detail;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let yen = d
        .get("amount")
        .and_then(|v| v.as_u64())
        .map(group_thousands)
        .unwrap_or_default();
    let (title, message) = match r.kind {
        ReceiptKind::Payment => (
            l.t("収納サービスへの支払", "Payment"),
            l.t("お支払いを受け付けました。", "The payment is accepted."),
        ),
        _ => (
            l.t("振込", "Transfer"),
            l.t("お振込みを受け付けました。", "The transfer is accepted."),
        ),
    };
    let body = html! {
        (nav(l, &ctx.data.csrf))
        div.notice #result-message { (message) }
        (layout::receipt_table(l, &r.number(), &clock::format(r.at, l)))
        table.data #transaction {
            @if r.kind == ReceiptKind::Payment {
                tr { th { (l.t("収納機関番号", "Biller number")) } td { (s("biller")) } }
                tr { th { (l.t("お客様番号", "Customer number")) } td { (s("customer_number")) } }
            } @else {
                tr { th { (l.t("振込先", "Payee")) } td { (s("bank")) " " (s("branch")) " " (if s("account_type") == "toza" { l.t("当座", "Current") } else { l.t("普通", "Ordinary") }) " " (s("account_number")) } }
                tr { th { (l.t("受取人名", "Payee name")) } td { (s("payee")) } }
            }
            tr { th { (l.t("金額", "Amount")) } td #amount { (yen) (l.t("円", " yen")) } }
        }
        p.muted { (l.t("（デモ環境のため、実際の資金移動は行われません。）", "(Demonstration: no money is moved.)")) }
    };
    ctx.page(&state, title, body)
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Login-OTP choice form.
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    otp_login: String,
    #[serde(default)]
    otp: String,
}

fn settings_body(
    ctx: &Ctx,
    c: &Customer,
    choice: Option<bool>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let l = ctx.lang();
    let on = choice.unwrap_or(c.otp_login);
    html! {
        (nav(l, &ctx.data.csrf))
        (layout::error(error))
        @if let Some(n) = notice { div.notice #settings-notice { (n) } }
        p { (l.t(
            "ログイン時のワンタイムパスワードによる認証の「する」「しない」を選択できます。変更には、ソフトウェアトークンに表示されているワンタイムパスワードが必要です。",
            "Choose whether login asks for the one-time password. Changing it needs the one-time password your soft token shows.",
        )) }
        p { (l.t("現在の設定: ", "Current setting: ")) strong #login-otp-status { (if c.otp_login { l.t("する", "Use") } else { l.t("しない", "Don't use") }) } }
        form method="post" action="/account/settings" #settings-form {
            (layout::csrf_field(&ctx.data.csrf))
            div.field {
                label { (l.t("ログイン時のワンタイムパスワード認証", "One-time password at login")) }
                label { input type="radio" name="otp_login" value="on" #otp-login-on checked[on]; " " (l.t("する", "Use")) }
                label { input type="radio" name="otp_login" value="off" #otp-login-off checked[!on]; " " (l.t("しない", "Don't use")) }
            }
            (otp_field(l))
            div.buttons { button type="submit" { (l.t("変更", "Change")) } }
        }
    }
}

/// `GET /account/settings`.
pub async fn show_settings(State(state): State<AppState>, ctx: Ctx) -> Response {
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = settings_body(&ctx, &c, None, None, None);
    ctx.page(
        &state,
        ctx.lang().t(
            "ログイン時のワンタイムパスワード",
            "One-time password at login",
        ),
        body,
    )
}

/// `POST /account/settings`.
pub async fn submit_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<SettingsForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_failed(&state);
    }
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = ctx.lang();
    let title = l.t(
        "ログイン時のワンタイムパスワード",
        "One-time password at login",
    );
    let refuse = |ctx: &Ctx, c: &Customer, choice: Option<bool>, m: &str| {
        let body = settings_body(ctx, c, choice, Some(m), None);
        ctx.page_with_status(&state, StatusCode::UNPROCESSABLE_ENTITY, title, body)
    };
    let on = match f.otp_login.as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return refuse(
                &ctx,
                &c,
                None,
                l.t(
                    "「する」または「しない」を選択してください。",
                    "Choose “Use” or “Don't use”.",
                ),
            )
        }
    };
    if c.token_serial.is_none() && on {
        return refuse(&ctx, &c, Some(on), l.t(
            "ワンタイムパスワードが登録されていません。ログイン画面の「利用開始」から登録してください。",
            "No one-time password token is registered. Register one with “Start” on the login screen.",
        ));
    }
    let code = match forms::parse_code(&f.otp, l) {
        Ok(c) => c,
        Err(m) => return refuse(&ctx, &c, Some(on), m),
    };
    match state
        .backend
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
            if state
                .store
                .set_otp_login(&c.contract_id, on, &Event::new(ctx.now, kind, "settings"))
                .is_err()
            {
                return internal(l);
            }
            let c = Customer { otp_login: on, ..c };
            let body = settings_body(
                &ctx,
                &c,
                None,
                None,
                Some(l.t("設定を変更しました。", "The setting is changed.")),
            );
            ctx.page(&state, title, body)
        }
        Err(e) => {
            forms::record_refusal(&state, &c.contract_id, "settings", &e, ctx.now);
            let c = state
                .store
                .customer(&c.contract_id)
                .ok()
                .flatten()
                .unwrap_or(c);
            refuse(&ctx, &c, Some(on), &e.message(l))
        }
    }
}

fn context_label(l: Lang, context: &str) -> &'static str {
    match context {
        "login" => l.t("ログイン", "Login"),
        "transfer" => l.t("振込", "Transfer"),
        "payment" => l.t("収納サービスへの支払", "Payment"),
        "settings" => l.t("設定変更", "Settings"),
        "start" => l.t("利用開始", "Start"),
        "exchange" => l.t("交換", "Exchange"),
        "stop" => l.t("利用中止", "Stop"),
        _ => "",
    }
}

fn event_label(l: Lang, e: &Event) -> String {
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
    }
}

/// `GET /account/history`.
pub async fn history(State(state): State<AppState>, ctx: Ctx) -> Response {
    let c = match customer(&state, &ctx) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = ctx.lang();
    let events = match state.store.events(&c.contract_id, 100) {
        Ok(e) => e,
        Err(_) => return internal(l),
    };
    let body = html! {
        (nav(l, &ctx.data.csrf))
        @if events.is_empty() {
            p { (l.t("履歴はありません。", "No history yet.")) }
        } @else {
            table.data #history {
                tr { th { (l.t("日時", "Time")) } th { (l.t("お取引", "Where")) } th { (l.t("内容", "What")) } th { (l.t("シリアル番号", "Serial number")) } }
                @for e in &events {
                    tr {
                        td.nowrap { (clock::format(e.at, l)) }
                        td { (context_label(l, &e.context)) }
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
    ctx.page(
        &state,
        l.t("ワンタイムパスワード利用履歴", "One-time password history"),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_grouping() {
        assert_eq!(amount("1,000"), Some(1000));
        assert_eq!(amount("0"), None);
        assert_eq!(amount("10000001"), None);
        assert_eq!(amount("12a"), None);
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(group_thousands(999), "999");
    }
}
