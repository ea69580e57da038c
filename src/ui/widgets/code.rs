//! The one-time password in large type; a click copies it.
use crate::i18n::Msg;
use crate::ui::state::{use_language, use_services};
use dioxus::prelude::*;

/// `"123456"` → `"1 2 3 4 5 6"`, so screen readers read digit by digit.
pub fn digits_label(code: &str) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    for (i, c) in code.chars().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Shows `grouped` ("123 456"); a click copies `plain` ("123456") and
/// announces it. `step` resets the "copied" note when the code changes.
#[component]
pub fn CodeDisplay(plain: String, grouped: String, step: u64) -> Element {
    let lang = use_language();
    let services = use_services();
    let mut copied = use_signal(|| None::<(u64, bool)>);
    let label = digits_label(&plain);
    let note = match copied() {
        Some((s, true)) if s == step => Some(lang.t(Msg::Copied)),
        Some((s, false)) if s == step => Some(lang.t(Msg::CopyFailed)),
        _ => None,
    };
    rsx! {
        button {
            class: "code",
            id: "otp-code",
            aria_label: "{label}",
            aria_describedby: "copy-hint",
            onmounted: move |_| crate::bench::mark("first-code-visible"),
            onclick: move |_| {
                let ok = services.clipboard.copy(&plain);
                copied.set(Some((step, ok)));
            },
            "{grouped}"
        }
        p { class: "hint", id: "copy-hint", {lang.t(Msg::TapToCopy)} }
        p { class: "copied", id: "copy-note", role: "status", aria_live: "polite",
            if let Some(n) = note { "{n}" }
        }
    }
}

/// Whether the next code is shown: in the last five seconds of a step
/// (`left` is the seconds left, 1..=period), when the bank already accepts
/// it. The app renders this at the step's boundaries (and on clock shifts);
/// between them the countdown's timer in the web view flips it at 5 s left
/// ([`Countdown`](super::Countdown)).
pub fn shows_next(left: u64) -> bool {
    left <= NEXT_CODE_SECONDS
}

/// How many seconds before the step ends the next code appears (the same
/// moment the countdown turns urgent).
pub const NEXT_CODE_SECONDS: u64 = super::countdown::ENDING_SECONDS;

/// The next step's code, smaller, under its own label
/// 「次のワンタイムパスワード」; a click copies `plain` and announces it.
///
/// It is in the page for the whole step, `hidden` (so neither painted nor
/// in the accessibility tree) unless `shown`: the app renders it when the
/// step changes, and the countdown's timer in the web view un-hides it
/// (`#next-code-box`) for the step's last [`NEXT_CODE_SECONDS`] and hides
/// it again at the boundary, so no edit is sent in between. `step` resets
/// the "copied" note when the code changes.
#[component]
pub fn NextCodeDisplay(plain: String, grouped: String, step: u64, shown: bool) -> Element {
    let lang = use_language();
    let services = use_services();
    let mut copied = use_signal(|| None::<(u64, bool)>);
    let label = digits_label(&plain);
    let note = match copied() {
        Some((s, true)) if s == step => Some(lang.t(Msg::Copied)),
        Some((s, false)) if s == step => Some(lang.t(Msg::CopyFailed)),
        _ => None,
    };
    rsx! {
        div { class: "next-code-box", id: "next-code-box", hidden: !shown,
            p { class: "label next-label", id: "next-code-label", {lang.t(Msg::NextOtp)} }
            button {
                class: "code next-code",
                id: "next-code",
                aria_label: "{label}",
                aria_describedby: "next-code-label",
                onclick: move |_| {
                    let ok = services.clipboard.copy(&plain);
                    copied.set(Some((step, ok)));
                },
                "{grouped}"
            }
            p { class: "copied", id: "next-copy-note", role: "status", aria_live: "polite",
                if let Some(n) = note { "{n}" }
            }
        }
    }
}
