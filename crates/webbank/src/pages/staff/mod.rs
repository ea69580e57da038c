//! The staff console 「職員コンソール」 (`/staff`, only with `serve
//! --staff-password-file`): its own login ([`login`]), then one screen
//! ([`console`]) to look a customer (契約者ID) or a serial up, see the
//! token's state, failure count, lock, drift and OTP history, and unlock
//! or resynchronise the token through the token service's operations
//! scope. Every action is written to `staff_events` with the staff name.
//! The request plumbing (session, CSRF, login limits) is [`crate::staff`].

use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::layout;
use crate::staff::{StaffApp, StaffCtx, StaffPage};

pub mod console;
pub mod login;

/// The console's routes (state applied). Paths outside these under
/// `/staff` answer 404 like any unknown path.
pub fn routes(app: StaffApp) -> axum::Router {
    axum::Router::new()
        .route("/staff", get(console::show))
        .route("/staff/login", get(login::show).post(login::submit))
        .route("/staff/logout", post(login::logout))
        .route("/staff/unlock", post(console::unlock))
        .route("/staff/resync", post(console::resync))
        .with_state(app)
}

const STAFF_STYLE: &str = "
header.staff{background:#263238}
header.staff .who{display:flex;gap:14px;align-items:center}
header.staff form{margin:0}
header.staff button{padding:3px 12px;font-size:13px;background:#fff;color:#263238;border-color:#fff}
main.staff{max-width:960px}
main.staff h1{border-left-color:#263238}
.staff-note{font-size:13px;color:#555;margin:4px 0 12px}
.locked{color:#b71c1c;font-weight:bold}
.unlocked{color:#1b5e20;font-weight:bold}
.actions{display:flex;gap:28px;flex-wrap:wrap}
.actions form{border:1px solid #cfd8cf;padding:10px 16px;border-radius:4px;flex:1;min-width:320px}
";

/// The console's page shell: the bank's page style with a dark header
/// that names the console, the logged-in staff member and 「ログアウト」.
pub fn shell(ctx: &StaffCtx, bank_name: &str, title: &str, body: Markup) -> Markup {
    let l = ctx.lang;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " | " (bank_name) " " (l.t("職員コンソール", "Staff console")) }
                style { (PreEscaped(layout::STYLE)) (PreEscaped(STAFF_STYLE)) }
            }
            body {
                header.staff {
                    span.bank { (bank_name) " " (l.t("職員コンソール", "Staff console")) }
                    span.who {
                        @if let Some(name) = &ctx.staff {
                            span #staff-who { (l.t("担当: ", "Staff: ")) (name) }
                            form method="post" action="/staff/logout" #logout-form {
                                (layout::csrf_field(&ctx.csrf))
                                button #staff-logout type="submit" { (l.t("ログアウト", "Log out")) }
                            }
                        }
                        a #lang-toggle href={ (ctx.path) "?lang=" (l.other().code()) } {
                            (l.t("English", "日本語"))
                        }
                    }
                }
                main.staff {
                    h1 #page-title { (title) }
                    (body)
                }
            }
        }
    }
}

/// The notice box (if any).
pub fn notice(msg: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = msg {
            div.notice #page-notice role="status" { (m) }
        }
    }
}

/// The 403 page for a form whose CSRF token does not match.
pub fn forgery(ctx: &StaffCtx) -> StaffPage {
    let l = ctx.lang;
    let body = html! {
        (layout::error(Some(l.t(
            "画面の有効期限が切れたか、不正な操作が行われました。最初から操作してください。",
            "This page has expired or the request was not sent from this console. Please start again.",
        ))))
        div.buttons { a.button #to-console href="/staff" { (l.t("職員コンソールへ", "To the console")) } }
    };
    ctx.page_with_status(StatusCode::FORBIDDEN, l.t("エラー", "Error"), body)
}
