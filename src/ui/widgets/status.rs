//! The bank's state of a token and the clock warning, in words.
use crate::i18n::{clock_off, tr, Msg};
use crate::ui::bank_status::StatusView;
use crate::ui::state::use_language;
use dioxus::prelude::*;
use softtoken_core::stk1::messages::TokenState;

/// One line (plus help) describing the token's state at the bank.
#[component]
pub fn StateLine(view: StatusView) -> Element {
    let lang = use_language().get();
    let (class, text, help) = match &view {
        StatusView::Checking => ("state checking", tr(lang, Msg::StateChecking), None),
        StatusView::Unreachable(_) => ("state unknown", tr(lang, Msg::StateUnknown), None),
        StatusView::Known(s) => match s.state {
            TokenState::Issued => (
                "state issued",
                tr(lang, Msg::StateIssued),
                Some(tr(lang, Msg::StateIssuedHelp)),
            ),
            TokenState::Active => ("state active", tr(lang, Msg::StateActive), None),
            TokenState::Revoked => ("state revoked", tr(lang, Msg::StateRevoked), None),
            TokenState::Expired => ("state expired", tr(lang, Msg::StateExpired), None),
        },
    };
    rsx! {
        div { class: "{class}", id: "token-state", role: "status",
            p { class: "state-text", "{text}" }
            if let Some(h) = help { p { class: "state-help", "{h}" } }
        }
    }
}

/// Warns that the device clock is `diff` seconds off the bank's and says
/// how to fix it. Codes are never shifted to compensate.
#[component]
pub fn ClockWarning(diff: i64) -> Element {
    let lang = use_language().get();
    rsx! {
        div { class: "warning", id: "clock-warning", role: "alert",
            p { "{clock_off(lang, diff)}" }
            p { {tr(lang, Msg::ClockFix)} }
        }
    }
}
