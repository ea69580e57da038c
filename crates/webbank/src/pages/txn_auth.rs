//! 取引認証 of 《振込》 and 《収納サービスへの支払》: 入力 → **確認 →
//! 取引認証** → 完了.
//!
//! * 確認 ([`show_confirm`], [`submit_confirm`]) shows the validated
//!   detail kept in the session ([`Draft`]); confirming creates the
//!   transaction at the token service (`POST /v1/bank/transactions`) and
//!   stores it here with its `txn_id` ([`StoredTxn`]).
//! * 取引認証 ([`show`]) asks the customer to check the transaction in the
//!   app. The page updates itself: [`SCRIPT_PATH`] (a same-origin script
//!   file; no inline script) polls [`status`] and, once the app decided,
//!   submits the 「確認状況を更新」 form ([`check`]) — the same button a
//!   customer without JavaScript presses. 「アプリが通信できない場合」 takes the
//!   offline 取引認証番号 ([`offline`], `verify_code`).
//! * Approved → `consume` → the **stored** transaction is executed, once
//!   (`Db::execute_txn`: a conditional state change and the receipt in
//!   one SQLite transaction); rejected or expired → the result page, nothing
//!   executed. The form's fields are never read again after 確認.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use serde::Deserialize;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::{amount, field_label, Kind, ValueRule};
use softtoken_core::Code;

use crate::db::{
    AccountType, Customer, Event, EventContext, EventKind, LocalTxnState, ReceiptDetail, StoredTxn,
};
use crate::display_clock;
use crate::forms;
use crate::i18n::Lang;
use crate::layout::{self, FieldKind};
use crate::page::{PageError, PageResult};
use crate::request::{CsrfForm, LoggedIn, PageCtx};
use crate::session::Draft;
use crate::token_service_client::TokenServiceError;
use crate::web_state::WebState;

use super::account::nav;
use super::transaction::{txn_crumbs, Payment, Transaction, Transfer};

/// Path of the 取引認証 page's status poller.
pub const SCRIPT_PATH: &str = "/static/txn-auth.js";

/// The status poller: every 2 s (never two requests at once) it asks
/// `/account/txn/status`; once the state is no longer `pending` it submits
/// the page's 「確認状況を更新」 form, so the decision is always acted on
/// by the same CSRF-protected POST as without JavaScript.
const SCRIPT: &str = r#"(function () {
  "use strict";
  var box = document.getElementById("txn-status");
  var form = document.getElementById("txn-check-form");
  if (!box || !form || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var busy = false, done = false;
  function tick() {
    if (busy || done) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        busy = false;
        if (j && typeof j.state === "string" && j.state !== "pending") {
          done = true;
          form.submit();
        }
      })
      .catch(function () { busy = false; });
  }
  box.setAttribute("data-polling", "on");
  window.setInterval(tick, 2000);
})();
"#;

/// `GET /static/txn-auth.js`.
pub async fn script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}

/// The stored 科目 as the wire value.
fn account_type_value(t: AccountType) -> &'static str {
    match t {
        AccountType::Futsu => "普通",
        AccountType::Toza => "当座",
    }
}

/// The kind and the spec's fields (keys in order) of a draft: exactly
/// what is sent to the token service and shown in the app.
pub fn fields_of(d: &Draft) -> (Kind, Vec<(String, String)>) {
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    match d {
        Draft::Transfer(t) => (
            Kind::Transfer,
            vec![
                f("payee_bank", &t.bank),
                f("payee_branch", &t.branch),
                f("account_type", account_type_value(t.account_type)),
                f("account_number", &t.account_number),
                f("payee_name", &t.payee),
                f("amount", &t.amount.to_string()),
            ],
        ),
        Draft::Payment(p) => (
            Kind::Payment,
            vec![
                f("biller_number", &p.biller),
                f("customer_number", &p.customer_number),
                f("confirmation_number", &p.confirm_number),
                f("amount", &p.amount.to_string()),
            ],
        ),
    }
}

/// 入力 → 確認: a validated detail as a draft, if every value also meets
/// the spec's value rules (NFC, no control or invisible characters, …).
pub fn draft_of(d: ReceiptDetail, l: Lang) -> Result<Draft, &'static str> {
    let draft = match d {
        ReceiptDetail::Transfer(t) => Draft::Transfer(t),
        ReceiptDetail::Payment(p) => Draft::Payment(p),
        _ => return Err(l.t("入力内容をご確認ください。", "Please check the entry.")),
    };
    let (_, fields) = fields_of(&draft);
    if fields
        .iter()
        .any(|(k, v)| ValueRule::for_key(k).check(v).is_err())
    {
        return Err(l.t(
            "ご利用いただけない文字が含まれています。入力内容をご確認ください。",
            "An entry contains characters that cannot be used. Please check it.",
        ));
    }
    Ok(draft)
}

fn draft_of_detail(d: &ReceiptDetail) -> Option<Draft> {
    match d {
        ReceiptDetail::Transfer(t) => Some(Draft::Transfer(t.clone())),
        ReceiptDetail::Payment(p) => Some(Draft::Payment(p.clone())),
        _ => None,
    }
}

/// Where the history lines of a stored transaction say they happened.
fn context_of(d: &ReceiptDetail) -> EventContext {
    match d {
        ReceiptDetail::Payment(_) => EventContext::Payment,
        _ => EventContext::Transfer,
    }
}

fn title_of(kind: Kind, l: Lang) -> &'static str {
    match kind {
        Kind::Transfer => Transfer::title(l),
        Kind::Payment => Payment::title(l),
    }
}

/// The transaction's fields as the app shows them: the spec's labels
/// (`field_label`), the amount grouped. Each value cell is `#txn-<key>`.
fn detail_table(l: Lang, d: &Draft) -> Markup {
    let (kind, fields) = fields_of(d);
    html! {
        table.data #txn-fields {
            tr { th { (l.t("お取引", "Transaction")) } td #txn-kind { (match l { Lang::Ja => kind.label_ja(), Lang::En => kind.label_en() }) } }
            @for (k, v) in &fields {
                tr {
                    th { (field_label(k).map(|(ja, en)| l.t(ja, en)).unwrap_or(k)) }
                    td id={ "txn-" (k) } {
                        @if k == "amount" {
                            strong { (match l { Lang::Ja => amount::format_ja(v), Lang::En => amount::format_en(v) }.unwrap_or_else(|| v.clone())) }
                        } @else { (v) }
                    }
                }
            }
        }
    }
}

fn confirm_body(ctx: &PageCtx, back: &str, action: &str, d: &Draft, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (nav(l, &ctx.data.csrf))
        (txn_crumbs(l, 1))
        (layout::error(error))
        p #confirm-message { (l.t(
            "以下の内容でよろしければ「確認」を押してください。続いて、スマートフォンのアプリでお取引内容をご確認いただきます（取引認証）。",
            "If the details below are right, press “Confirm”. You will then check the transaction in the app on your smartphone (transaction authentication).",
        )) }
        (detail_table(l, d))
        form method="post" action=(action) #confirm-form {
            (layout::csrf_field(&ctx.data.csrf))
            div.buttons {
                a.button.secondary #confirm-back href=(back) { (l.t("修正する", "Change")) }
                (layout::submit("confirm-submit", l.t("確認", "Confirm")))
            }
        }
    }
}

fn draft_for<T: Transaction>(ctx: &PageCtx) -> Option<Draft> {
    let d = ctx.data.draft.clone()?;
    let ok = matches!(
        (&d, T::CONFIRM_PATH),
        (Draft::Transfer(_), "/account/transfer/confirm")
            | (Draft::Payment(_), "/account/payment/confirm")
    );
    ok.then_some(d)
}

/// `GET` of 確認: the draft of this kind, or back to 入力.
pub async fn show_confirm<T: Transaction>(ctx: PageCtx, LoggedIn(_): LoggedIn) -> PageResult {
    let Some(d) = draft_for::<T>(&ctx) else {
        return Ok(ctx.redirect(T::PATH));
    };
    let body = confirm_body(&ctx, T::PATH, T::CONFIRM_PATH, &d, None);
    Ok(ctx.page(T::title(ctx.lang()), body))
}

/// A form with nothing but the CSRF token.
#[derive(Deserialize, Default)]
pub struct NoFields {}

/// `POST` of 確認: creates the transaction at the token service and keeps
/// it (its `txn_id`, the detail as sent, its times); then 取引認証.
pub async fn submit_confirm<T: Transaction>(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    LoggedIn(c): LoggedIn,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let l = ctx.lang();
    let Some(d) = draft_for::<T>(&ctx) else {
        return Ok(ctx.redirect(T::PATH));
    };
    let (kind, fields) = fields_of(&d);
    match state
        .token_service
        .create_txn(&c.contract_id, kind, &fields, ctx.test_time.as_deref())
        .await
    {
        Ok(created) => {
            let detail = match &d {
                Draft::Transfer(t) => ReceiptDetail::Transfer(t.clone()),
                Draft::Payment(p) => ReceiptDetail::Payment(p.clone()),
            };
            state
                .db
                .insert_txn(
                    &c.contract_id,
                    StoredTxn {
                        txn_id: created.txn_id.clone(),
                        detail,
                        created_at: created.created_at,
                        expires_at: created.expires_at,
                        state: LocalTxnState::Pending,
                        receipt: None,
                    },
                )
                .await?;
            ctx.data.draft = None;
            ctx.data.txn = Some(created.txn_id);
            Ok(ctx.redirect("/account/txn"))
        }
        Err(e) => {
            forms::record_refusal(&state, &c.contract_id, T::CONTEXT, &e, ctx.now).await;
            let m = match e.code() {
                Some(ErrorCode::InvalidRequest) => l
                    .t(
                        "入力内容をお取扱いできませんでした。内容をご確認のうえ、もう一度入力してください。",
                        "The entry could not be accepted. Please check it and enter it again.",
                    )
                    .to_string(),
                _ => e.message(l),
            };
            let body = confirm_body(&ctx, T::PATH, T::CONFIRM_PATH, &d, Some(&m));
            Ok(ctx.refused(T::title(l), body))
        }
    }
}

/// The session's transaction awaiting 取引認証, if it is this customer's.
async fn current(
    state: &WebState,
    ctx: &PageCtx,
    c: &Customer,
) -> Result<Option<StoredTxn>, PageError> {
    let Some(id) = ctx.data.txn.as_deref() else {
        return Ok(None);
    };
    Ok(state.db.txn(id, &c.contract_id).await?)
}

/// The link that opens the app on its pending transactions
/// (`softtoken://txn?bank=…&serial=…`), for a customer browsing on the phone.
fn app_link(bank_id: &str, serial: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "softtoken://txn?bank={}&serial={}",
        enc(bank_id),
        enc(serial)
    )
}

fn auth_body(
    ctx: &PageCtx,
    app: Option<&str>,
    t: &StoredTxn,
    d: &Draft,
    error: Option<&str>,
    notice: Option<&str>,
) -> Markup {
    let l = ctx.lang();
    let question = match d {
        Draft::Transfer(_) => l.t("振込先の口座番号", "the payee's account number"),
        Draft::Payment(_) => l.t("収納機関番号", "the biller number"),
    };
    html! {
        (nav(l, &ctx.data.csrf))
        (txn_crumbs(l, 2))
        (layout::error(error))
        @if let Some(n) = notice { div.notice #txn-notice { (n) } }
        div.notice #txn-instruction {
            p { (l.t(
                "スマートフォンでソフトウェアトークン（ワンタイムパスワードアプリ）を起動し、「取引を確認」を押してください。",
                "Open the soft token (one-time password app) on your smartphone and press “Check transaction”.",
            )) }
            p { (l.t(
                "アプリに表示されたお取引内容が、以下の内容と同じであることをご確認のうえ「承認」を押してください。内容が異なる場合は「拒否」を押し、当金庫までご連絡ください。",
                "Check that the transaction the app shows is the same as below, then press “Approve”. If anything differs, press “Reject” and call the bank.",
            )) }
        }
        @if let Some(href) = app {
            p { a #txn-app-link href=(href) { (l.t("アプリを開く（このスマートフォンでご覧の場合）", "Open the app (if you are on this smartphone)")) } }
        }
        (detail_table(l, d))
        p #txn-expires { (l.t("有効期限: ", "Valid until: ")) (display_clock::format(t.expires_at, l)) }
        p #txn-status data-status-url="/account/txn/status" role="status" {
            (l.t("アプリでの承認をお待ちしています。承認されると自動的に画面が切り替わります。",
                 "Waiting for your approval in the app. This page moves on by itself once you approve."))
        }
        form method="post" action="/account/txn/check" #txn-check-form {
            (layout::csrf_field(&ctx.data.csrf))
            div.buttons { (layout::submit("txn-check-submit", l.t("確認状況を更新", "Update status"))) }
        }
        details #txn-offline {
            summary #txn-offline-open { (l.t("アプリが通信できない場合", "If the app cannot connect")) }
            p { (l.t("アプリの「取引認証番号」画面で、お手元の資料に記載された", "On the app's “transaction authentication number” screen, type ")) (question) (l.t(
                "を入力し、表示された6桁の取引認証番号を入力してください。画面に表示された番号ではなく、お客さまご自身の資料で確認した番号を入力してください。",
                " as written in your own papers (not copied from this page), and enter the 6-digit number the app shows.",
            )) }
            form method="post" action="/account/txn/offline" #txn-offline-form {
                (layout::csrf_field(&ctx.data.csrf))
                (layout::text_field(l.t("取引認証番号(半角数字)", "Transaction authentication number (digits)"), "txn_code", "", FieldKind::Code))
                div.buttons { (layout::submit("txn-offline-submit", l.t("認証", "Authenticate"))) }
            }
        }
        script src=(SCRIPT_PATH) {}
    }
}

fn result_body(ctx: &PageCtx, t: &StoredTxn, d: &Draft) -> Markup {
    let l = ctx.lang();
    let (class, message) = match t.state {
        LocalTxnState::Rejected => ("rejected", l.t(
            "アプリで「拒否」されたため、お取引は実行されませんでした。お心当たりのない場合は、当金庫までご連絡ください。",
            "The transaction was rejected in the app and was not carried out. If you did not reject it, please call the bank.",
        )),
        _ => ("expired", l.t(
            "有効期限が切れたため、お取引は実行されませんでした。お手数ですが、最初から操作してください。",
            "The transaction expired and was not carried out. Please start again.",
        )),
    };
    html! {
        (nav(l, &ctx.data.csrf))
        (txn_crumbs(l, 3))
        div.error #txn-result data-result=(class) role="alert" { (message) }
        (detail_table(l, d))
        div.buttons { a.button #txn-restart href=(match d { Draft::Transfer(_) => Transfer::PATH, Draft::Payment(_) => Payment::PATH }) { (l.t("最初から操作する", "Start again")) } }
    }
}

/// `GET /account/txn`: the 取引認証 page while pending; the result when
/// rejected or expired; the receipt once executed.
pub async fn show(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    LoggedIn(c): LoggedIn,
) -> PageResult {
    render(&state, &mut ctx, &c, None, None).await
}

async fn render(
    state: &WebState,
    ctx: &mut PageCtx,
    c: &Customer,
    error: Option<&str>,
    notice: Option<&str>,
) -> PageResult {
    let l = ctx.lang();
    let Some(t) = current(state, ctx, c).await? else {
        return Ok(ctx.redirect("/account"));
    };
    let Some(d) = draft_of_detail(&t.detail) else {
        return Ok(ctx.redirect("/account"));
    };
    let kind = fields_of(&d).0;
    match t.state {
        LocalTxnState::Executed => {
            ctx.data.last_receipt = t.receipt;
            Ok(ctx.redirect("/account/done"))
        }
        LocalTxnState::Pending => {
            let link = c
                .token_serial
                .as_deref()
                .map(|serial| app_link(&state.bank.bank_id, serial));
            let body = auth_body(ctx, link.as_deref(), &t, &d, error, notice);
            Ok(if error.is_some() {
                ctx.refused(title_of(kind, l), body)
            } else {
                ctx.page(title_of(kind, l), body)
            })
        }
        _ => Ok(ctx.page(title_of(kind, l), result_body(ctx, &t, &d))),
    }
}

/// Executes the stored transaction (after `consume` or `verify_code`
/// answered ok) and goes to the receipt.
async fn execute(
    state: &WebState,
    ctx: &mut PageCtx,
    c: &Customer,
    t: &StoredTxn,
    kind: EventKind,
) -> PageResult {
    let context = context_of(&t.detail);
    let ev = Event::new(ctx.now, kind, context);
    match state
        .db
        .execute_txn(&c.contract_id, &t.txn_id, ctx.now, ev)
        .await?
    {
        Some(id) => {
            ctx.data.last_receipt = Some(id);
            Ok(ctx.redirect("/account/done"))
        }
        None => Ok(ctx.redirect("/account/txn")),
    }
}

async fn close(
    state: &WebState,
    ctx: &mut PageCtx,
    c: &Customer,
    t: &StoredTxn,
    to: LocalTxnState,
) -> PageResult {
    let kind = if to == LocalTxnState::Rejected {
        EventKind::TxnRejected
    } else {
        EventKind::TxnExpired
    };
    let context = context_of(&t.detail);
    state
        .db
        .close_txn(
            &c.contract_id,
            &t.txn_id,
            to,
            Event::new(ctx.now, kind, context),
        )
        .await?;
    Ok(ctx.redirect("/account/txn"))
}

/// Acts on the token service's state of the pending transaction `t`.
async fn resolve(state: &WebState, ctx: &mut PageCtx, c: &Customer, t: &StoredTxn) -> PageResult {
    let l = ctx.lang();
    let tt = ctx.test_time.clone();
    match state
        .token_service
        .txn_status(&c.contract_id, &t.txn_id, tt.as_deref())
        .await
    {
        Ok(s) => match s.state {
            TxnState::Approved => match state
                .token_service
                .consume_txn(&c.contract_id, &t.txn_id, tt.as_deref())
                .await
            {
                Ok(_) => execute(state, ctx, c, t, EventKind::TxnApproved).await,
                // Consumed by a racing request of this web banking (or
                // before a crash between `consume` and the receipt): the
                // authorisation happened; the local compare-and-set
                // executes it once.
                Err(e) if e.code() == Some(ErrorCode::TxnConsumed) => {
                    execute(state, ctx, c, t, EventKind::TxnApproved).await
                }
                Err(e) => closed_or_error(state, ctx, c, t, &e).await,
            },
            TxnState::Pending => {
                render(
                    state,
                    ctx,
                    c,
                    None,
                    Some(l.t(
                        "まだアプリで承認されていません。アプリでお取引内容をご確認ください。",
                        "Not approved in the app yet. Please check the transaction in the app.",
                    )),
                )
                .await
            }
            TxnState::Rejected => close(state, ctx, c, t, LocalTxnState::Rejected).await,
            TxnState::Expired => close(state, ctx, c, t, LocalTxnState::Expired).await,
            // Consumed (only this web banking consumes, after an approval
            // or a right offline code) but not executed here yet: a racing
            // request, or a crash after `consume`. Executed once here.
            TxnState::Consumed => execute(state, ctx, c, t, EventKind::TxnApproved).await,
        },
        Err(e) => closed_or_error(state, ctx, c, t, &e).await,
    }
}

fn processing(l: Lang) -> &'static str {
    l.t(
        "お取引を処理しています。しばらくしてから「確認状況を更新」を押してください。",
        "The transaction is being processed. Press “Update status” in a moment.",
    )
}

/// A refusal of `status`/`consume`/`verify_code`: a transaction the token
/// service no longer executes is closed here (nothing executed); anything
/// else keeps it pending with the message.
async fn closed_or_error(
    state: &WebState,
    ctx: &mut PageCtx,
    c: &Customer,
    t: &StoredTxn,
    e: &TokenServiceError,
) -> PageResult {
    match e.code() {
        Some(ErrorCode::TxnExpired | ErrorCode::UnknownTxn) => {
            close(state, ctx, c, t, LocalTxnState::Expired).await
        }
        Some(ErrorCode::TxnNotApproved) => {
            let m = processing(ctx.lang());
            render(state, ctx, c, None, Some(m)).await
        }
        _ => {
            let m = e.message(ctx.lang());
            render(state, ctx, c, Some(&m), None).await
        }
    }
}

/// `POST /account/txn/check`: 「確認状況を更新」 (also what the poller submits).
pub async fn check(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    LoggedIn(c): LoggedIn,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let Some(t) = current(&state, &ctx, &c).await? else {
        return Ok(ctx.redirect("/account"));
    };
    if t.state != LocalTxnState::Pending {
        return Ok(ctx.redirect("/account/txn"));
    }
    resolve(&state, &mut ctx, &c, &t).await
}

/// The offline form.
#[derive(Deserialize, Default)]
pub struct OfflineForm {
    #[serde(default)]
    txn_code: String,
}

/// `POST /account/txn/offline`: the 取引認証番号 → `verify_code`; ok →
/// the stored transaction is executed.
pub async fn offline(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    LoggedIn(c): LoggedIn,
    CsrfForm(f): CsrfForm<OfflineForm>,
) -> PageResult {
    let l = ctx.lang();
    let Some(t) = current(&state, &ctx, &c).await? else {
        return Ok(ctx.redirect("/account"));
    };
    if t.state != LocalTxnState::Pending {
        return Ok(ctx.redirect("/account/txn"));
    }
    let Some(code) = Code::parse(&f.txn_code, 6) else {
        let m = l.t(
            "取引認証番号は半角数字6桁で入力してください。",
            "The transaction authentication number is 6 digits.",
        );
        return render(&state, &mut ctx, &c, Some(m), None).await;
    };
    let context = context_of(&t.detail);
    let tt = ctx.test_time.clone();
    match state
        .token_service
        .verify_txn_code(&c.contract_id, &t.txn_id, code.as_str(), tt.as_deref())
        .await
    {
        Ok(_) => execute(&state, &mut ctx, &c, &t, EventKind::TxnOffline).await,
        Err(e) => {
            forms::record_refusal(&state, &c.contract_id, context, &e, ctx.now).await;
            match e.code() {
                Some(ErrorCode::InvalidOtp) => {
                    let fails = match &e {
                        TokenServiceError::Refused { fail_count, .. } => *fail_count,
                        _ => None,
                    };
                    let m = match (l, fails) {
                        (Lang::Ja, Some(n)) => format!("取引認証番号が正しくありません。アプリに入力した番号をご確認ください。（連続{n}回目の誤りです。一定回数続けて誤るとご利用いただけなくなります。）"),
                        (Lang::En, Some(n)) => format!("The transaction authentication number is not correct. Check the number you typed into the app. (wrong {n} time(s) in a row; after too many the one-time password is locked.)"),
                        _ => l.t("取引認証番号が正しくありません。アプリに入力した番号をご確認ください。", "The transaction authentication number is not correct. Check the number you typed into the app.").to_string(),
                    };
                    render(&state, &mut ctx, &c, Some(&m), None).await
                }
                Some(ErrorCode::TxnDecided) => resolve(&state, &mut ctx, &c, &t).await,
                _ => closed_or_error(&state, &mut ctx, &c, &t, &e).await,
            }
        }
    }
}

/// `GET /account/txn/status`: `{"state": …}` of the session's
/// transaction, for the poller. It changes nothing: a decision is acted on
/// only by the 「確認状況を更新」 POST.
pub async fn status(
    State(state): State<WebState>,
    ctx: PageCtx,
    LoggedIn(c): LoggedIn,
) -> Result<Response, PageError> {
    let Some(t) = current(&state, &ctx, &c).await? else {
        return Ok(Json(serde_json::json!({"state": "none"})).into_response());
    };
    let s = if t.state != LocalTxnState::Pending {
        t.state.as_str()
    } else {
        match state
            .token_service
            .txn_status(&c.contract_id, &t.txn_id, ctx.test_time.as_deref())
            .await
        {
            Ok(s) => s.state.as_str(),
            // A refusal is acted on (and explained) by the POST.
            Err(TokenServiceError::Refused { .. }) => "changed",
            // Unreachable: keep waiting.
            Err(_) => "pending",
        }
    };
    Ok(Json(serde_json::json!({ "state": s })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{PaymentDetail, TransferDetail};

    #[test]
    fn the_fields_are_the_spec_keys_in_order() {
        let d = Draft::Transfer(TransferDetail {
            bank: "かけしん信用金庫".into(),
            branch: "本店営業部".into(),
            account_type: AccountType::Futsu,
            account_number: "1234567".into(),
            payee: "ヤマダ タロウ".into(),
            amount: 12_000,
        });
        let (kind, f) = fields_of(&d);
        assert_eq!(kind, Kind::Transfer);
        let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, Kind::Transfer.keys());
        assert_eq!(f[2].1, "普通");
        assert_eq!(f[5].1, "12000");
        // The core accepts them as a transaction.
        let tx = softtoken_core::txn::Transaction::new(
            softtoken_core::txn::TxnId::from_bytes([0; 16]),
            "K7M3Q9XZ2PD0".parse().unwrap(),
            kind,
            1_700_000_000,
            1_700_000_300,
            f,
        );
        assert!(tx.is_ok());
        let p = Draft::Payment(PaymentDetail {
            biller: "12345".into(),
            customer_number: "ABC1".into(),
            confirm_number: "99".into(),
            amount: 5400,
        });
        let (kind, f) = fields_of(&p);
        let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, kind.keys());
    }

    #[test]
    fn values_the_spec_refuses_stay_on_the_form() {
        let d = ReceiptDetail::Transfer(TransferDetail {
            bank: "かけしん\u{202e}".into(),
            branch: "本店".into(),
            account_type: AccountType::Toza,
            account_number: "1234567".into(),
            payee: "ヤマダ".into(),
            amount: 1,
        });
        assert!(draft_of(d, Lang::Ja).is_err());
    }

    #[test]
    fn the_app_link_names_bank_and_serial() {
        assert_eq!(
            app_link("demo-shinkin", "K7M3Q9XZ2PD0"),
            "softtoken://txn?bank=demo-shinkin&serial=K7M3Q9XZ2PD0"
        );
        assert_eq!(app_link("a&b", "X"), "softtoken://txn?bank=a%26b&serial=X");
    }

    #[test]
    fn the_poller_has_no_inline_parts_and_submits_the_form() {
        assert!(SCRIPT.contains("txn-check-form"));
        assert!(SCRIPT.contains("form.submit()"));
        assert!(!SCRIPT.contains("eval"));
    }
}
