//! 「職員コンソール」: look a customer (契約者ID) or a serial up; the
//! token's state, failure count, lock, drift and times as the token
//! service holds them (`GET /v1/admin/tokens/{serial}`, operations key,
//! read afresh for every page), the customer's OTP history from web
//! banking's records and the console's actions on it; 「ロック解除」
//! (unlock) and 「再同期」 (resynchronise with two consecutive codes)
//! through the operations scope.

use axum::extract::{Query, State};
use maud::{html, Markup};
use serde::Deserialize;
use softtoken_core::stk1::messages::{OtpText, TokenState};
use softtoken_core::Serial;

use crate::credentials::normalise_contract_id;
use crate::db::{Customer, Event, StaffAction, StaffEvent};
use crate::display_clock;
use crate::forms;
use crate::i18n::Lang;
use crate::layout::{self, FieldKind};
use crate::page::PageError;
use crate::pages::account::{context_label, event_label};
use crate::staff::{StaffApp, StaffCtx, StaffForm, StaffPage};
use crate::staff_client::{staff_message, TokenInfo};
use crate::token_service_client::TokenServiceError;

/// History rows shown.
const HISTORY: u32 = 100;
/// Console actions shown.
const ACTIONS: u32 = 50;

/// `GET /staff?q=…`.
#[derive(Deserialize)]
pub struct LookupQuery {
    /// A contract ID or a serial as typed.
    #[serde(default)]
    pub q: String,
}

/// `POST /staff/unlock`.
#[derive(Deserialize)]
pub struct UnlockForm {
    /// The serial (as shown on the console).
    #[serde(default)]
    pub serial: String,
    /// The lookup to show again afterwards.
    #[serde(default)]
    pub q: String,
}

/// `POST /staff/resync`.
#[derive(Deserialize)]
pub struct ResyncForm {
    /// The serial (as shown on the console).
    #[serde(default)]
    pub serial: String,
    /// The lookup to show again afterwards.
    #[serde(default)]
    pub q: String,
    /// First code (never re-filled, never logged).
    #[serde(default)]
    pub otp1: String,
    /// The next code (never re-filled, never logged).
    #[serde(default)]
    pub otp2: String,
}

fn title(l: Lang) -> &'static str {
    l.t("職員コンソール", "Staff console")
}

/// What a lookup found.
enum Found {
    /// A customer (with or without a token).
    Customer(Customer),
    /// A serial no customer holds.
    Serial(Serial),
    /// Nothing.
    Nothing,
}

async fn resolve(app: &StaffApp, q: &str) -> Result<Found, PageError> {
    if let Some(id) = normalise_contract_id(q) {
        if let Some(c) = app.web.db.customer(&id).await? {
            return Ok(Found::Customer(c));
        }
    }
    if let Ok(s) = Serial::parse_typed(q) {
        if let Some(id) = app.web.db.customer_with_token(s.as_str()).await? {
            if let Some(c) = app.web.db.customer(&id).await? {
                return Ok(Found::Customer(c));
            }
        }
        return Ok(Found::Serial(s));
    }
    Ok(Found::Nothing)
}

fn state_label(l: Lang, s: TokenState) -> &'static str {
    match s {
        TokenState::Issued => l.t("発行済み（未登録）", "Issued (not registered)"),
        TokenState::Active => l.t("利用中", "Active"),
        TokenState::Revoked => l.t("利用中止・交換済み", "Stopped or replaced"),
        TokenState::Expired => l.t("期限切れ・不明", "Expired or unknown"),
    }
}

fn lookup_form(l: Lang, q: &str) -> Markup {
    html! {
        form method="get" action="/staff" #lookup-form {
            (layout::text_field(l.t("契約者ID（利用者番号）またはシリアル番号", "Contract ID (user number) or serial number"), "q", q, FieldKind::Text))
            div.buttons { (layout::submit("lookup-submit", l.t("照会", "Look up"))) }
        }
    }
}

fn time_cell(l: Lang, t: Option<u64>, none: (&'static str, &'static str)) -> String {
    match t.and_then(|t| i64::try_from(t).ok()) {
        Some(t) => display_clock::format(t, l),
        None => l.t(none.0, none.1).to_string(),
    }
}

fn failures_note(l: Lang, limit: u32) -> String {
    match l {
        Lang::Ja => format!("（{limit}回でロック）"),
        Lang::En => format!(" (locks at {limit})"),
    }
}

/// The token as the token service answered (`info`), or why it did not.
fn token_table(l: Lang, serial: &Serial, info: Result<&TokenInfo, &TokenServiceError>) -> Markup {
    html! {
        h2 { (l.t("トークン", "Token")) }
        table.data #token {
            tr { th { (l.t("シリアル番号", "Serial number")) } td #token-serial { (serial.formatted()) } }
            @match info {
                Err(e) => {
                    tr { th { (l.t("状態", "State")) } td #token-state { (staff_message(e, l)) } }
                }
                Ok(t) => {
                    tr { th { (l.t("状態", "State")) }
                        td #token-state data-state=(t.state.as_str()) { (state_label(l, t.state)) }
                    }
                    tr { th { (l.t("ロック", "Lock")) }
                        td #token-lock data-locked=(t.locked) {
                            @if t.locked {
                                span.locked { (l.t("ロック中（解除の操作まで）", "Locked (until unlocked)")) }
                            } @else {
                                span.unlocked { (l.t("ロックなし", "Not locked")) }
                            }
                        }
                    }
                    tr { th { (l.t("連続失敗回数", "Consecutive wrong codes")) }
                        td { span #token-failures { (t.fail_count) } (failures_note(l, t.lockout_limit)) }
                    }
                    tr { th { (l.t("時刻ずれ", "Clock drift")) }
                        td #token-drift {
                            (format!("{:+}", t.drift_steps)) " " (l.t("ステップ", "steps"))
                            " (" (format!("{:+}", t.drift_steps.saturating_mul(i64::try_from(t.step_seconds).unwrap_or(30)))) " " (l.t("秒", "s")) ")"
                        }
                    }
                    tr { th { (l.t("最後に受け付けたワンタイムパスワードの時間帯（開始時刻）", "Last accepted code's time step (start)")) }
                        td #token-last-accepted { (time_cell(l, t.last_accepted_step_at, ("まだありません", "none yet"))) }
                    }
                    tr { th { (l.t("発行日時", "Paired")) } td #token-issued { (time_cell(l, Some(t.issued_at), ("", ""))) } }
                    tr { th { (l.t("登録日時", "Registered")) } td #token-bound { (time_cell(l, t.bound_at, ("未登録", "not registered"))) } }
                    @if t.revoked_at.is_some() {
                        tr { th { (l.t("利用中止・交換日時", "Stopped or replaced")) } td #token-revoked { (time_cell(l, t.revoked_at, ("", ""))) } }
                    }
                }
            }
        }
        p.staff-note { (l.t(
            "表示はトークンサービスがこの照会の時点で保持している値です（時刻は日本時間）。",
            "These are the token service's own values at the time of this lookup (times in JST).",
        )) }
    }
}

fn action_forms(l: Lang, csrf: &str, serial: &Serial, q: &str) -> Markup {
    html! {
        h2 { (l.t("操作", "Actions")) }
        div.actions {
            form method="post" action="/staff/unlock" #unlock-form {
                (layout::csrf_field(csrf))
                input type="hidden" name="serial" value=(serial.as_str());
                input type="hidden" name="q" value=(q);
                p { (l.t(
                    "ワンタイムパスワードを続けて誤ったためロックされたトークンのロックを解除し、連続失敗回数を0に戻します。ご本人確認のうえ操作してください。",
                    "Unlocks a token locked after too many wrong codes and resets the failure count. Confirm the customer's identity first.",
                )) }
                div.buttons { (layout::submit("unlock-submit", l.t("ロック解除", "Unlock"))) }
            }
            form method="post" action="/staff/resync" #resync-form {
                (layout::csrf_field(csrf))
                input type="hidden" name="serial" value=(serial.as_str());
                input type="hidden" name="q" value=(q);
                p { (l.t(
                    "トークンの時計がずれている場合に、続けて表示された2つのワンタイムパスワードから時刻ずれを合わせます（ロックは解除されません）。",
                    "If the token's clock is off, re-learns its drift from two one-time passwords it showed one after the other (a lock stays).",
                )) }
                (layout::text_field(l.t("1つ目のワンタイムパスワード(半角数字)", "First one-time password (digits)"), "otp1", "", FieldKind::Code))
                (layout::text_field(l.t("次のワンタイムパスワード(半角数字)", "Next one-time password (digits)"), "otp2", "", FieldKind::Code))
                div.buttons { (layout::submit("resync-submit", l.t("再同期", "Resynchronise"))) }
            }
        }
    }
}

fn history_table(l: Lang, events: &[(i64, Event)]) -> Markup {
    html! {
        h2 { (l.t("ワンタイムパスワード利用履歴", "One-time password history")) }
        @if events.is_empty() {
            p #history-empty { (l.t("履歴はありません。", "No history yet.")) }
        } @else {
            table.data #history {
                tr { th { (l.t("日時", "Time")) } th { (l.t("お取引", "Where")) } th { (l.t("内容", "What")) } th { (l.t("シリアル番号", "Serial number")) } }
                @for (_, e) in events {
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
    }
}

fn action_label(l: Lang, a: StaffAction) -> &'static str {
    match a {
        StaffAction::Login => l.t("ログイン", "Login"),
        StaffAction::LoginRefused => l.t("ログイン失敗", "Login refused"),
        StaffAction::Logout => l.t("ログアウト", "Logout"),
        StaffAction::Lookup => l.t("照会", "Lookup"),
        StaffAction::Unlock => l.t("ロック解除", "Unlock"),
        StaffAction::Resync => l.t("再同期", "Resync"),
    }
}

fn staff_table(l: Lang, rows: &[StaffEvent]) -> Markup {
    html! {
        h2 { (l.t("職員の操作記録", "Staff actions")) }
        @if rows.is_empty() {
            p #staff-events-empty { (l.t("記録はありません。", "None recorded.")) }
        } @else {
            table.data #staff-events {
                tr { th { (l.t("日時", "Time")) } th { (l.t("職員名", "Staff")) } th { (l.t("操作", "Action")) } th { (l.t("結果", "Outcome")) } th { (l.t("シリアル番号", "Serial number")) } }
                @for r in rows {
                    tr {
                        td.nowrap { (display_clock::format(r.at, l)) }
                        td { (r.staff) }
                        td { (action_label(l, r.action)) @if let Some(d) = &r.detail { " (" (d) ")" } }
                        td { (r.outcome) }
                        td.nowrap { @if let Some(s) = &r.serial { (forms::show_serial(s)) } }
                    }
                }
            }
        }
    }
}

/// The console page for `q` with an optional notice or error; `status`
/// 422 after a refused action.
async fn console_page(
    app: &StaffApp,
    ctx: &StaffCtx,
    q: &str,
    notice: Option<&str>,
    error: Option<&str>,
    refused: bool,
) -> Result<StaffPage, PageError> {
    let l = ctx.lang;
    let q = q.trim();
    let found = if q.is_empty() {
        None
    } else {
        Some(resolve(app, q).await?)
    };
    let (customer, serial) = match &found {
        Some(Found::Customer(c)) => (
            Some(c.clone()),
            c.token_serial
                .as_deref()
                .and_then(|s| Serial::parse_strict(s).ok()),
        ),
        Some(Found::Serial(s)) => (None, Some(s.clone())),
        _ => (None, None),
    };
    let history = match &customer {
        Some(c) => app.web.db.events_with_ids(&c.contract_id, HISTORY).await?,
        None => Vec::new(),
    };
    let actions = if customer.is_some() || serial.is_some() {
        app.web
            .db
            .staff_events(
                customer.as_ref().map(|c| c.contract_id.clone()),
                serial.as_ref().map(|s| s.as_str().to_string()),
                ACTIONS,
            )
            .await?
    } else {
        Vec::new()
    };
    let info = match &serial {
        Some(s) => Some(
            app.console
                .client
                .inspect(s.as_str(), ctx.test_time.as_deref())
                .await,
        ),
        None => None,
    };
    let body = html! {
        (layout::error(error))
        (super::notice(notice))
        (lookup_form(l, q))
        @match &found {
            None => {}
            Some(Found::Nothing) => {
                p #lookup-none { (l.t(
                    "該当する契約者ID・シリアル番号はありません。",
                    "No customer or token matches.",
                )) }
            }
            Some(_) => {
                @if let Some(c) = &customer {
                    h2 { (l.t("お客さま", "Customer")) }
                    table.data #customer {
                        tr { th { (l.t("契約者ID（利用者番号）", "Contract ID (user number)")) } td #customer-id { (c.contract_id) } }
                        tr { th { (l.t("お名前", "Name")) } td #customer-name { (c.name) } }
                        tr { th { (l.t("ログイン時のワンタイムパスワード", "One-time password at login")) } td { (if c.otp_login { l.t("する", "Use") } else { l.t("しない", "Don't use") }) } }
                    }
                }
                @match (&serial, &info) {
                    (Some(s), Some(t)) => {
                        (token_table(l, s, t.as_ref()))
                        (action_forms(l, &ctx.csrf, s, q))
                    }
                    _ => {
                        p #token-none { (l.t(
                            "ワンタイムパスワードのトークンは登録されていません。",
                            "No one-time password token is registered.",
                        )) }
                    }
                }
                @if customer.is_some() { (history_table(l, &history)) }
                (staff_table(l, &actions))
            }
        }
    };
    Ok(if refused {
        ctx.refused(title(l), body)
    } else {
        ctx.page(title(l), body)
    })
}

/// `GET /staff[?q=…]`: the lookup form and, with `q`, what it found (the
/// lookup is recorded). Without a staff login: 303 to `/staff/login`.
pub async fn show(
    State(app): State<StaffApp>,
    ctx: StaffCtx,
    Query(query): Query<LookupQuery>,
) -> Result<StaffPage, PageError> {
    let Some(staff) = ctx.staff.clone() else {
        return Ok(ctx.redirect("/staff/login"));
    };
    let q = query.q.trim();
    if !q.is_empty() {
        let mut e = StaffEvent::new(ctx.now, &staff, StaffAction::Lookup, "ok");
        e.detail = Some(q.chars().take(40).collect());
        if let Some(id) = normalise_contract_id(q) {
            e.contract_id = Some(id);
        } else if let Ok(s) = Serial::parse_typed(q) {
            e.serial = Some(s.as_str().to_string());
        }
        app.web.db.add_staff_event(e).await?;
    }
    console_page(&app, &ctx, q, None, None, false).await
}

fn outcome(r: &Result<(), &TokenServiceError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => match e.code() {
            Some(c) => c.as_str().into(),
            None => "unreachable".into(),
        },
    }
}

async fn record(
    app: &StaffApp,
    ctx: &StaffCtx,
    staff: &str,
    action: StaffAction,
    serial: &Serial,
    result: Result<(), &TokenServiceError>,
    detail: Option<String>,
) -> Result<(), PageError> {
    let out = outcome(&result);
    tracing::info!(
        staff = %staff,
        action = action.as_str(),
        serial = serial.as_str(),
        outcome = %out,
        "staff console action"
    );
    let mut e = StaffEvent::new(ctx.now, staff, action, &out);
    e.serial = Some(serial.as_str().to_string());
    e.contract_id = app.web.db.customer_with_token(serial.as_str()).await?;
    e.detail = detail;
    app.web.db.add_staff_event(e).await?;
    Ok(())
}

/// `POST /staff/unlock`: `/v1/admin/unlock` for the serial; recorded with
/// the staff name whatever the outcome.
pub async fn unlock(
    State(app): State<StaffApp>,
    StaffForm(ctx, f): StaffForm<UnlockForm>,
) -> Result<StaffPage, PageError> {
    let Some(staff) = ctx.staff.clone() else {
        return Ok(ctx.redirect("/staff/login"));
    };
    let l = ctx.lang;
    let serial = match forms::parse_serial(&f.serial, l) {
        Ok(s) => s,
        Err(m) => return console_page(&app, &ctx, &f.q, None, Some(m), true).await,
    };
    let r = app
        .console
        .client
        .unlock(serial.as_str(), ctx.test_time.as_deref())
        .await;
    record(
        &app,
        &ctx,
        &staff,
        StaffAction::Unlock,
        &serial,
        r.as_ref().map(|_| ()),
        None,
    )
    .await?;
    match r {
        Ok(()) => {
            let msg = l.t(
                "ロックを解除しました。連続失敗回数は0に戻りました。",
                "The token is unlocked; the failure count is back to 0.",
            );
            console_page(&app, &ctx, &f.q, Some(msg), None, false).await
        }
        Err(e) => console_page(&app, &ctx, &f.q, None, Some(&staff_message(&e, l)), true).await,
    }
}

/// `POST /staff/resync`: two consecutive codes → `/v1/admin/resync`; the
/// learned drift is recorded with the staff name (the codes never are).
pub async fn resync(
    State(app): State<StaffApp>,
    StaffForm(ctx, f): StaffForm<ResyncForm>,
) -> Result<StaffPage, PageError> {
    let Some(staff) = ctx.staff.clone() else {
        return Ok(ctx.redirect("/staff/login"));
    };
    let l = ctx.lang;
    let serial = match forms::parse_serial(&f.serial, l) {
        Ok(s) => s,
        Err(m) => return console_page(&app, &ctx, &f.q, None, Some(m), true).await,
    };
    let codes = forms::parse_code(&f.otp1, l).and_then(|a| Ok((a, forms::parse_code(&f.otp2, l)?)));
    let (c1, c2) = match codes {
        Ok(c) => c,
        Err(m) => return console_page(&app, &ctx, &f.q, None, Some(m), true).await,
    };
    let r = app
        .console
        .client
        .resync(
            serial.as_str(),
            OtpText::from(c1.as_str()),
            OtpText::from(c2.as_str()),
            ctx.test_time.as_deref(),
        )
        .await;
    let detail = r.as_ref().ok().map(|ok| ok.drift_steps.to_string());
    record(
        &app,
        &ctx,
        &staff,
        StaffAction::Resync,
        &serial,
        r.as_ref().map(|_| ()),
        detail,
    )
    .await?;
    match r {
        Ok(ok) => {
            let msg = match l {
                Lang::Ja => format!(
                    "再同期しました。時刻ずれは {:+} ステップ（{:+} 秒）です。",
                    ok.drift_steps,
                    ok.drift_steps * 30
                ),
                Lang::En => format!(
                    "Resynchronised: the drift is {:+} steps ({:+} s).",
                    ok.drift_steps,
                    ok.drift_steps * 30
                ),
            };
            console_page(&app, &ctx, &f.q, Some(&msg), None, false).await
        }
        Err(e) => console_page(&app, &ctx, &f.q, None, Some(&staff_message(&e, l)), true).await,
    }
}
