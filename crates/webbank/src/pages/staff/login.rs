//! 「職員ログイン」: the staff name and the staff password, and logout.

use axum::extract::State;
use maud::{html, Markup};
use serde::Deserialize;

use crate::db::{StaffAction, StaffEvent};
use crate::forms::NoFields;
use crate::layout::{self, FieldKind};
use crate::page::PageError;
use crate::staff::{normalise_name, StaffApp, StaffCtx, StaffForm, StaffLoginError, StaffPage};

/// The login form.
#[derive(Deserialize)]
pub struct StaffLoginForm {
    /// Staff name as typed (re-filled).
    #[serde(default)]
    pub staff_name: String,
    /// Password (never re-filled, never logged).
    #[serde(default)]
    pub password: String,
}

fn title(ctx: &StaffCtx) -> &'static str {
    ctx.lang.t("職員ログイン", "Staff login")
}

fn body(ctx: &StaffCtx, name: &str, error: Option<&str>) -> Markup {
    let l = ctx.lang;
    html! {
        (layout::error(error))
        p { (l.t(
            "職員名と職員用パスワードを入力し、「ログイン」ボタンを押してください。このコンソールの操作はすべて職員名とともに記録されます。",
            "Enter your staff name and the staff password, then press “Log in”. Every action in this console is recorded with your staff name.",
        )) }
        form method="post" action="/staff/login" #staff-login-form {
            (layout::csrf_field(&ctx.csrf))
            (layout::text_field(l.t("職員名", "Staff name"), "staff_name", name, FieldKind::Text))
            (layout::text_field(l.t("職員用パスワード", "Staff password"), "password", "", FieldKind::Password))
            div.buttons { (layout::submit("staff-login-submit", l.t("ログイン", "Log in"))) }
        }
    }
}

/// `GET /staff/login` (a logged-in staff member goes to the console).
pub async fn show(ctx: StaffCtx) -> Result<StaffPage, PageError> {
    if ctx.staff.is_some() {
        return Ok(ctx.redirect("/staff"));
    }
    let b = body(&ctx, "", None);
    Ok(ctx.page(title(&ctx), b))
}

/// `POST /staff/login`: on success a new staff session and the console;
/// every attempt is recorded in `staff_events` (the name as typed).
pub async fn submit(
    State(app): State<StaffApp>,
    StaffForm(mut ctx, f): StaffForm<StaffLoginForm>,
) -> Result<StaffPage, PageError> {
    let typed = f.staff_name.clone();
    match ctx.log_in(&app, &f.staff_name, f.password).await {
        Ok(()) => {
            let name = ctx.staff.clone().unwrap_or_default();
            tracing::info!(staff = %name, "staff console: login");
            app.web
                .db
                .add_staff_event(StaffEvent::new(ctx.now, &name, StaffAction::Login, "ok"))
                .await?;
            Ok(ctx.redirect("/staff"))
        }
        Err(e) => {
            if let Ok(name) = normalise_name(&typed) {
                if e == StaffLoginError::Wrong {
                    tracing::warn!(staff = %name, "staff console: login refused");
                    app.web
                        .db
                        .add_staff_event(StaffEvent::new(
                            ctx.now,
                            &name,
                            StaffAction::LoginRefused,
                            "wrong_password",
                        ))
                        .await?;
                }
            }
            let shown: String = typed.chars().take(crate::staff::MAX_NAME).collect();
            let b = body(&ctx, &shown, Some(&e.message(ctx.lang)));
            Ok(ctx.refused(title(&ctx), b))
        }
    }
}

/// `POST /staff/logout`.
pub async fn logout(
    State(app): State<StaffApp>,
    StaffForm(mut ctx, NoFields {}): StaffForm<NoFields>,
) -> Result<StaffPage, PageError> {
    if let Some(name) = ctx.staff.clone() {
        tracing::info!(staff = %name, "staff console: logout");
        app.web
            .db
            .add_staff_event(StaffEvent::new(ctx.now, &name, StaffAction::Logout, "ok"))
            .await?;
    }
    ctx.log_out();
    Ok(ctx.redirect("/staff/login"))
}
