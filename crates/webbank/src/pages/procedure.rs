//! The one shape of the guide's three OTP procedures 利用開始, 交換 and
//! 利用中止:
//!
//! 1. 利用者認証 ([`show_auth`], [`submit_auth`]): contract ID and password;
//!    success rotates the session and opens a [`Flow`] at step 2;
//! 2. the procedure's own steps (a [`CodeStep`] that keeps a code in memory
//!    for the next step, and the step that calls the token service);
//! 3. [`finish`]: the receipt, the token change and the history event in
//!    one transaction, then 処理結果 ([`show_result`]).
//!
//! Each procedure is a type implementing [`OtpProcedure`] (its paths,
//! labels and result table); the handlers here are generic over it.

use axum::extract::State;
use maud::{html, Markup};

use crate::credentials;
use crate::db::{Event, ReceiptDetail, TokenChange};
use crate::display_clock;
use crate::forms::{self, AuthForm, CodeForm};
use crate::i18n::Lang;
use crate::layout;
use crate::page::{Page, PageError, PageResult};
use crate::request::{CsrfForm, PageCtx};
use crate::session::{Flow, Procedure};
use crate::web_state::WebState;

/// A flow's step once 利用者認証 succeeded.
pub const AUTHENTICATED: u8 = 2;
/// A flow's step once its [`CodeStep`] kept a code.
pub const CODE_KEPT: u8 = 3;
/// A flow's step once finished (its receipt is set).
pub const DONE: u8 = 4;

/// What one OTP procedure is: its paths, labels and result.
pub trait OtpProcedure: Send + Sync + 'static {
    /// The flow kind in the session.
    const KIND: Procedure;
    /// The 利用者認証 screen, e.g. `/start`.
    const PATH: &'static str;
    /// The step 利用者認証 leads to.
    const AFTER_AUTH: &'static str;
    /// The 処理結果 screen.
    const RESULT: &'static str;
    /// The page title.
    fn title(l: Lang) -> &'static str;
    /// The breadcrumb labels in order; the last one is 処理結果.
    fn crumbs(l: Lang) -> Vec<&'static str>;
    /// What the 利用者認証 screen shows above its form.
    fn auth_intro(l: Lang) -> Markup;
    /// The notice on the result screen.
    fn done_message(l: Lang) -> &'static str;
    /// The result screen's own table and notes, below the receipt.
    fn result_details(l: Lang, detail: &ReceiptDetail) -> Markup;
}

/// A step's body: the breadcrumb at `at`, the error box, `content`.
pub fn step<P: OtpProcedure>(l: Lang, at: usize, error: Option<&str>, content: Markup) -> Markup {
    html! {
        (layout::crumbs(&P::crumbs(l), at))
        (layout::error(error))
        (content)
    }
}

/// The open flow of `P` that reached `min_step`, or where to go instead:
/// the 利用者認証 screen without a flow, the result once finished, the step
/// after 利用者認証 when an earlier step is missing.
pub fn open_flow<P: OtpProcedure>(ctx: &PageCtx, min_step: u8) -> Result<Flow, PageError> {
    match ctx.data.flow_of(P::KIND) {
        None => Err(PageError::OutOfStep(Box::new(ctx.redirect(P::PATH)))),
        Some(f) if f.receipt.is_some() => {
            Err(PageError::OutOfStep(Box::new(ctx.redirect(P::RESULT))))
        }
        Some(f) if f.step < min_step => {
            Err(PageError::OutOfStep(Box::new(ctx.redirect(P::AFTER_AUTH))))
        }
        Some(f) => Ok(f.clone()),
    }
}

fn auth_body<P: OtpProcedure>(ctx: &PageCtx, contract_id: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang();
    step::<P>(
        l,
        0,
        error,
        html! {
            (P::auth_intro(l))
            (forms::auth_form(l, &ctx.data.csrf, P::PATH, contract_id))
        },
    )
}

/// `GET` of the 利用者認証 screen.
pub async fn show_auth<P: OtpProcedure>(ctx: PageCtx) -> PageResult {
    Ok(ctx.page(P::title(ctx.lang()), auth_body::<P>(&ctx, "", None)))
}

/// `POST` of the 利用者認証 screen.
///
/// Contract: the CSRF token was checked ([`CsrfForm`]); then the contract
/// ID and password ([`credentials::authenticate`]). On success the session
/// id is rotated, the session gets a fresh [`Flow`] of `P` at step
/// [`AUTHENTICATED`] for that customer, and the browser is sent to
/// `P::AFTER_AUTH`. On failure the same screen is shown again with the
/// plain message and the contract ID the customer typed (never the
/// password), status 422.
pub async fn submit_auth<P: OtpProcedure>(
    State(state): State<WebState>,
    mut ctx: PageCtx,
    CsrfForm(form): CsrfForm<AuthForm>,
) -> PageResult {
    let typed = form.contract_id.clone();
    match credentials::authenticate(&state, &ctx, &form.contract_id, form.password).await {
        Ok(c) => {
            ctx.rotate(&state);
            ctx.data.flow = Some(Flow::opened(P::KIND, c.contract_id));
            Ok(ctx.redirect(P::AFTER_AUTH))
        }
        Err(e) => {
            let l = ctx.lang();
            let body = auth_body::<P>(&ctx, &typed, Some(&e.message(l)));
            Ok(ctx.refused(P::title(l), body))
        }
    }
}

/// Finishes a procedure the token service accepted: issues the receipt
/// for `detail`, applies `change` and records `event` (one transaction),
/// marks the flow done and sends the browser to the result. A storage
/// failure is a 500 (the session is then not stored).
pub async fn finish<P: OtpProcedure>(
    state: &WebState,
    mut ctx: PageCtx,
    mut flow: Flow,
    detail: ReceiptDetail,
    change: TokenChange,
    event: Event,
) -> PageResult {
    let id = state
        .db
        .complete(&flow.customer, ctx.now, detail, change, Some(event))
        .await?;
    flow.receipt = Some(id);
    flow.step = DONE;
    flow.typed_serial = None;
    ctx.data.flow = Some(flow);
    Ok(ctx.redirect(P::RESULT))
}

/// `GET` of the 処理結果 screen: the receipt of the finished flow.
pub async fn show_result<P: OtpProcedure>(
    State(state): State<WebState>,
    ctx: PageCtx,
) -> PageResult {
    let l = ctx.lang();
    let Some((customer, id)) = ctx
        .data
        .flow_of(P::KIND)
        .and_then(|f| f.receipt.map(|id| (f.customer.clone(), id)))
    else {
        return Ok(ctx.redirect(P::PATH));
    };
    let Some(r) = state.db.receipt(id, &customer).await? else {
        return Ok(ctx.redirect(P::PATH));
    };
    let crumbs = P::crumbs(l);
    let body = html! {
        (layout::crumbs(&crumbs, crumbs.len().saturating_sub(1)))
        div.notice #result-message { (P::done_message(l)) }
        (layout::receipt_table(l, &r.number(), &display_clock::format(r.at, l)))
        (P::result_details(l, &r.detail))
        (layout::to_login(l))
    };
    Ok(ctx.page(P::title(l), body))
}

/// A step that asks for the current code, checks its shape and keeps it in
/// memory ([`crate::pending`]) for the step that sends it (交換's old
/// code, 利用中止's code).
#[derive(Debug)]
pub struct CodeStep {
    /// Breadcrumb index.
    pub crumb: usize,
    /// The step's path (form action).
    pub path: &'static str,
    /// The form's `id`.
    pub form_id: &'static str,
    /// The submit button's `id`.
    pub submit_id: &'static str,
    /// Where a kept code leads.
    pub next: &'static str,
    /// The instruction above the field.
    pub intro: fn(Lang) -> &'static str,
}

impl CodeStep {
    /// The step's body with an optional error.
    pub fn body<P: OtpProcedure>(&self, ctx: &PageCtx, error: Option<&str>) -> Markup {
        let l = ctx.lang();
        step::<P>(
            l,
            self.crumb,
            error,
            html! {
                p { ((self.intro)(l)) }
                form method="post" action=(self.path) #(self.form_id) {
                    (layout::csrf_field(&ctx.data.csrf))
                    (forms::otp_field(l))
                    div.buttons {
                        (layout::back(l))
                        (layout::submit(self.submit_id, l.t("次へ", "Next")))
                    }
                }
            },
        )
    }

    /// `GET` of the step.
    pub fn show<P: OtpProcedure>(&self, ctx: PageCtx) -> PageResult {
        open_flow::<P>(&ctx, AUTHENTICATED)?;
        Ok(ctx.page(P::title(ctx.lang()), self.body::<P>(&ctx, None)))
    }

    /// `POST` of the step: a well-formed code is kept for this session and
    /// the flow moves to [`CODE_KEPT`]; otherwise the step again (422).
    pub fn submit<P: OtpProcedure>(
        &self,
        state: &WebState,
        mut ctx: PageCtx,
        form: CodeForm,
    ) -> PageResult {
        let mut flow = open_flow::<P>(&ctx, AUTHENTICATED)?;
        match forms::parse_code(&form.otp, ctx.lang()) {
            Ok(code) => {
                state.pending.put(ctx.key(), code.as_str());
                flow.step = CODE_KEPT;
                ctx.data.flow = Some(flow);
                Ok(ctx.redirect(self.next))
            }
            Err(m) => Ok(ctx.refused(P::title(ctx.lang()), self.body::<P>(&ctx, Some(m)))),
        }
    }

    /// Back to this step after the code kept here expired or was refused:
    /// the kept code is dropped, the flow returns to [`AUTHENTICATED`]
    /// (keeping `typed_serial` for the later step), and the step is shown
    /// with `msg` (422).
    pub fn back_to<P: OtpProcedure>(
        &self,
        state: &WebState,
        mut ctx: PageCtx,
        mut flow: Flow,
        typed_serial: Option<String>,
        msg: &str,
    ) -> Page {
        state.pending.forget(ctx.key());
        flow.step = AUTHENTICATED;
        if typed_serial.is_some() {
            flow.typed_serial = typed_serial;
        }
        ctx.data.flow = Some(flow);
        let body = self.body::<P>(&ctx, Some(msg));
        ctx.refused(P::title(ctx.lang()), body)
    }
}
