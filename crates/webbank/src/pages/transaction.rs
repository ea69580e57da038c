//! 《振込》 and 《収納サービスへの支払》: one transaction flow, each kind
//! authorised by the current code. Transactions are demonstrations: they
//! are recorded with a 受付番号, no money moves.
//!
//! The flow, step by step ([`submit`]):
//! 1. 入力 — [`Transaction::validate`] turns the typed fields into the
//!    typed receipt detail, or the form comes back with a message;
//! 2. 認証 — [`authorise`] has the token service verify the code for the
//!    kind's [`Transaction::PURPOSE`] and records the outcome in the
//!    history;
//! 3. 完了 — [`complete`] issues the receipt; the browser goes to
//!    `/account/done` ([`done`]).
//!
//! When 取引認証 applies to the customer ([`WebState::uses_txn_auth`]),
//! step 2 is replaced: 入力 keeps the validated detail in the session and
//! goes to 確認, and [`super::txn_auth`] sends it to the token service and
//! executes the stored transaction once the app approved it. The code
//! field is then not on the form at all.

use axum::extract::State;
use maud::{html, Markup};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use softtoken_core::stk1::messages::Purpose;

use crate::db::{
    AccountType, Customer, Event, EventContext, EventKind, PaymentDetail, ReceiptDetail,
    TokenChange, TransferDetail,
};
use crate::display_clock;
use crate::forms;
use crate::i18n::Lang;
use crate::layout::{self, FieldKind};
use crate::page::PageResult;
use crate::request::{CsrfForm, LoggedIn, PageCtx};
use crate::web_state::WebState;

use super::account::nav;

/// One kind of transaction: its form, its checks and its purpose.
pub trait Transaction: DeserializeOwned + Default + Send + 'static {
    /// The form's path (`GET` shows it, `POST` submits it).
    const PATH: &'static str;
    /// The purpose the code is verified for.
    const PURPOSE: Purpose;
    /// Where its history lines say they happened.
    const CONTEXT: EventContext;
    /// The 確認 step's path (`GET` shows it, `POST` creates the
    /// transaction at the token service).
    const CONFIRM_PATH: &'static str;
    /// The form's `id`.
    const FORM_ID: &'static str;
    /// The submit button's `id`.
    const SUBMIT_ID: &'static str;
    /// The page title.
    fn title(l: Lang) -> &'static str;
    /// The submit button's label.
    fn submit_label(l: Lang) -> &'static str;
    /// The form's fields re-filled with what was typed (the code is not
    /// among them: it is never re-filled).
    fn fields(&self, l: Lang) -> Markup;
    /// 入力: the typed fields as the receipt will show them, or the message.
    fn validate(&self, l: Lang) -> Result<ReceiptDetail, &'static str>;
    /// The code typed with the form.
    fn otp(&self) -> &str;
}

/// 《振込》 form.
#[derive(Deserialize, Default)]
pub struct Transfer {
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
pub struct Payment {
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

impl Transaction for Transfer {
    const PATH: &'static str = "/account/transfer";
    const PURPOSE: Purpose = Purpose::Transfer;
    const CONTEXT: EventContext = EventContext::Transfer;
    const CONFIRM_PATH: &'static str = "/account/transfer/confirm";
    const FORM_ID: &'static str = "transfer-form";
    const SUBMIT_ID: &'static str = "transfer-submit";

    fn title(l: Lang) -> &'static str {
        l.t("振込", "Transfer")
    }

    fn submit_label(l: Lang) -> &'static str {
        l.t("振込実行", "Transfer")
    }

    fn fields(&self, l: Lang) -> Markup {
        let toza = AccountType::from_form(&self.account_type) == AccountType::Toza;
        html! {
            (layout::text_field(l.t("振込先金融機関", "Payee's bank"), "bank", &self.bank, FieldKind::Text))
            (layout::text_field(l.t("支店名", "Branch"), "branch", &self.branch, FieldKind::Text))
            div.field {
                label for="f-account_type" { (l.t("科目", "Account type")) }
                select #f-account_type name="account_type" {
                    option value="futsu" selected[!toza] { (l.t("普通", "Ordinary")) }
                    option value="toza" selected[toza] { (l.t("当座", "Current")) }
                }
            }
            (layout::text_field(l.t("口座番号", "Account number"), "account_number", &self.account_number, FieldKind::Digits(7)))
            (layout::text_field(l.t("受取人名", "Payee name"), "payee", &self.payee, FieldKind::Text))
            (layout::text_field(l.t("振込金額（円）", "Amount (yen)"), "amount", &self.amount, FieldKind::Digits(12)))
        }
    }

    fn validate(&self, l: Lang) -> Result<ReceiptDetail, &'static str> {
        let (bank, branch, payee) = (self.bank.trim(), self.branch.trim(), self.payee.trim());
        if bank.is_empty() || branch.is_empty() || payee.is_empty() {
            return Err(l.t(
                "振込先金融機関、支店名、受取人名を入力してください。",
                "Enter the payee's bank, branch and name.",
            ));
        }
        if self.bank.chars().count() > 40
            || self.branch.chars().count() > 40
            || self.payee.chars().count() > 60
        {
            return Err(l.t("入力が長すぎます。", "An entry is too long."));
        }
        if !digits(&self.account_number, 7, 7) {
            return Err(l.t(
                "口座番号は半角数字7桁で入力してください。",
                "The account number is 7 digits.",
            ));
        }
        let Some(yen) = amount(&self.amount) else {
            return Err(l.t(
                "振込金額は1円以上10,000,000円以下の半角数字で入力してください。",
                "The amount is a number from 1 to 10,000,000 yen.",
            ));
        };
        Ok(ReceiptDetail::Transfer(TransferDetail {
            bank: bank.to_string(),
            branch: branch.to_string(),
            account_type: AccountType::from_form(&self.account_type),
            account_number: self.account_number.trim().to_string(),
            payee: payee.to_string(),
            amount: yen,
        }))
    }

    fn otp(&self) -> &str {
        &self.otp
    }
}

impl Transaction for Payment {
    const PATH: &'static str = "/account/payment";
    const PURPOSE: Purpose = Purpose::Payment;
    const CONTEXT: EventContext = EventContext::Payment;
    const CONFIRM_PATH: &'static str = "/account/payment/confirm";
    const FORM_ID: &'static str = "payment-form";
    const SUBMIT_ID: &'static str = "payment-submit";

    fn title(l: Lang) -> &'static str {
        l.t("収納サービスへの支払", "Payment")
    }

    fn submit_label(l: Lang) -> &'static str {
        l.t("支払実行", "Pay")
    }

    fn fields(&self, l: Lang) -> Markup {
        html! {
            (layout::text_field(l.t("収納機関番号", "Biller number"), "biller", &self.biller, FieldKind::Digits(5)))
            (layout::text_field(l.t("お客様番号", "Customer number"), "customer_number", &self.customer_number, FieldKind::Text))
            (layout::text_field(l.t("確認番号", "Confirmation number"), "confirm_number", &self.confirm_number, FieldKind::Digits(16)))
            (layout::text_field(l.t("支払金額（円）", "Amount (yen)"), "amount", &self.amount, FieldKind::Digits(12)))
        }
    }

    fn validate(&self, l: Lang) -> Result<ReceiptDetail, &'static str> {
        if !digits(&self.biller, 5, 5) {
            return Err(l.t(
                "収納機関番号は半角数字5桁で入力してください。",
                "The biller number is 5 digits.",
            ));
        }
        let cn = self.customer_number.trim();
        if cn.is_empty() || cn.len() > 20 || !cn.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(l.t(
                "お客様番号は半角英数字20桁以内で入力してください。",
                "The customer number is up to 20 letters and digits.",
            ));
        }
        if !digits(&self.confirm_number, 1, 16) {
            return Err(l.t(
                "確認番号は半角数字で入力してください。",
                "The confirmation number is digits.",
            ));
        }
        let Some(yen) = amount(&self.amount) else {
            return Err(l.t(
                "支払金額は1円以上10,000,000円以下の半角数字で入力してください。",
                "The amount is a number from 1 to 10,000,000 yen.",
            ));
        };
        Ok(ReceiptDetail::Payment(PaymentDetail {
            biller: self.biller.trim().to_string(),
            customer_number: cn.to_string(),
            confirm_number: self.confirm_number.trim().to_string(),
            amount: yen,
        }))
    }

    fn otp(&self) -> &str {
        &self.otp
    }
}

/// The steps of a transaction under 取引認証 (the breadcrumb).
pub fn txn_crumbs(l: Lang, current: usize) -> Markup {
    layout::crumbs(
        &[
            l.t("入力", "Entry"),
            l.t("確認", "Confirm"),
            l.t("取引認証", "Transaction authentication"),
            l.t("完了", "Done"),
        ],
        current,
    )
}

fn form_body<T: Transaction>(ctx: &PageCtx, f: &T, txn_auth: bool, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    html! {
        (nav(l, &ctx.data.csrf))
        @if txn_auth { (txn_crumbs(l, 0)) }
        (layout::error(error))
        form method="post" action=(T::PATH) #(T::FORM_ID) {
            (layout::csrf_field(&ctx.data.csrf))
            (f.fields(l))
            @if txn_auth {
                div.buttons { (layout::submit(T::SUBMIT_ID, l.t("確認画面へ", "Next: confirm"))) }
            } @else {
                (forms::otp_field(l))
                div.buttons { (layout::submit(T::SUBMIT_ID, T::submit_label(l))) }
            }
        }
    }
}

/// `GET` of a transaction form (logged-in customers only).
pub async fn show<T: Transaction>(
    State(state): State<WebState>,
    ctx: PageCtx,
    LoggedIn(c): LoggedIn,
) -> PageResult {
    let txn_auth = state.uses_txn_auth(&c).await?;
    let body = form_body(&ctx, &T::default(), txn_auth, None);
    Ok(ctx.page(T::title(ctx.lang()), body))
}

/// 認証: the token service verifies `otp` for `purpose`; a refusal goes
/// into the history under `context`. `Err` carries the message for the
/// same screen.
pub async fn authorise(
    state: &WebState,
    ctx: &PageCtx,
    c: &Customer,
    otp: &str,
    purpose: Purpose,
    context: EventContext,
) -> Result<(), String> {
    let l = ctx.lang();
    let code = forms::parse_code(otp, l).map_err(str::to_string)?;
    match state
        .token_service
        .verify(
            &c.contract_id,
            code.as_str(),
            purpose,
            ctx.test_time.as_deref(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            forms::record_refusal(state, &c.contract_id, context, &e, ctx.now).await;
            Err(e.message(l))
        }
    }
}

/// 完了: issues the receipt for an authorised transaction, with its
/// 認証成功 history line (one transaction). `Err` carries the message.
pub async fn complete(
    state: &WebState,
    ctx: &PageCtx,
    c: &Customer,
    context: EventContext,
    detail: ReceiptDetail,
) -> Result<i64, String> {
    let ev = Event::new(ctx.now, EventKind::Accepted, context);
    state
        .db
        .complete(&c.contract_id, ctx.now, detail, TokenChange::None, Some(ev))
        .await
        .map_err(|e| {
            tracing::error!("{e}");
            ctx.lang()
                .t(
                    "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                    "The service is not available right now. Please try again later.",
                )
                .to_string()
        })
}

/// `POST` of a transaction form: 入力 → 認証 → 完了, or the same form again
/// (everything re-filled but the code) with the message, status 422.
pub async fn submit<T: Transaction>(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    LoggedIn(c): LoggedIn,
    CsrfForm(f): CsrfForm<T>,
) -> PageResult {
    let l = ctx.lang();
    if state.uses_txn_auth(&c).await? {
        // 入力 only: the validated detail goes to 確認; nothing is sent yet.
        return match f.validate(l).and_then(|d| super::txn_auth::draft_of(d, l)) {
            Ok(draft) => {
                ctx.data.draft = Some(draft);
                ctx.data.txn = None;
                Ok(ctx.redirect(T::CONFIRM_PATH))
            }
            Err(m) => Ok(ctx.refused(T::title(l), form_body(&ctx, &f, true, Some(m)))),
        };
    }
    let outcome = async {
        let detail = f.validate(l).map_err(str::to_string)?;
        authorise(&state, &ctx, &c, f.otp(), T::PURPOSE, T::CONTEXT).await?;
        complete(&state, &ctx, &c, T::CONTEXT, detail).await
    }
    .await;
    match outcome {
        Ok(id) => {
            ctx.data.last_receipt = Some(id);
            Ok(ctx.redirect("/account/done"))
        }
        Err(m) => Ok(ctx.refused(T::title(l), form_body(&ctx, &f, false, Some(&m)))),
    }
}

use softtoken_core::txn::amount::group_thousands;

/// `GET /account/done`: the receipt of the last transaction.
pub async fn done(
    State(state): State<WebState>,
    ctx: PageCtx,
    LoggedIn(c): LoggedIn,
) -> PageResult {
    let l = ctx.lang();
    let Some(id) = ctx.data.last_receipt else {
        return Ok(ctx.redirect("/account"));
    };
    let Some(r) = state.db.receipt(id, &c.contract_id).await? else {
        return Ok(ctx.redirect("/account"));
    };
    let (title, message, rows, yen) = match &r.detail {
        ReceiptDetail::Transfer(t) => (
            Transfer::title(l),
            l.t("お振込みを受け付けました。", "The transfer is accepted."),
            html! {
                tr { th { (l.t("振込先", "Payee")) } td { (t.bank) " " (t.branch) " " (match t.account_type { AccountType::Toza => l.t("当座", "Current"), AccountType::Futsu => l.t("普通", "Ordinary") }) " " (t.account_number) } }
                tr { th { (l.t("受取人名", "Payee name")) } td { (t.payee) } }
            },
            t.amount,
        ),
        ReceiptDetail::Payment(p) => (
            Payment::title(l),
            l.t("お支払いを受け付けました。", "The payment is accepted."),
            html! {
                tr { th { (l.t("収納機関番号", "Biller number")) } td { (p.biller) } }
                tr { th { (l.t("お客様番号", "Customer number")) } td { (p.customer_number) } }
                tr { th { (l.t("確認番号", "Confirmation number")) } td { (p.confirm_number) } }
            },
            p.amount,
        ),
        _ => return Ok(ctx.redirect("/account")),
    };
    let body = html! {
        (nav(l, &ctx.data.csrf))
        div.notice #result-message { (message) }
        (layout::receipt_table(l, &r.number(), &display_clock::format(r.at, l)))
        table.data #transaction {
            (rows)
            tr { th { (l.t("金額", "Amount")) } td #amount { (group_thousands(yen)) (l.t("円", " yen")) } }
        }
        p.muted { (l.t("（デモ環境のため、実際の資金移動は行われません。）", "(Demonstration: no money is moved.)")) }
    };
    Ok(ctx.page(title, body))
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

    #[test]
    fn validation_gives_the_typed_detail() {
        let t = Transfer {
            bank: " かけしん ".into(),
            branch: "本店".into(),
            account_type: "toza".into(),
            account_number: "1234567".into(),
            payee: "ヤマダ".into(),
            amount: "12,000".into(),
            otp: String::new(),
        };
        let ReceiptDetail::Transfer(d) = t.validate(Lang::Ja).unwrap() else {
            panic!("a transfer detail");
        };
        assert_eq!(d.bank, "かけしん");
        assert_eq!(d.account_type, AccountType::Toza);
        assert_eq!(d.amount, 12_000);
        let bad = Payment {
            biller: "1234".into(),
            ..Default::default()
        };
        assert!(bad.validate(Lang::Ja).unwrap_err().contains("5桁"));
    }
}
