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
/// it. A function of the step's boundaries only, so a memo over it changes
/// twice per step (at 25 s and at 0 s of a 30 s step), not per tick.
pub fn shows_next(left: u64) -> bool {
    left <= NEXT_CODE_SECONDS
}

/// How many seconds before the step ends the next code appears.
pub const NEXT_CODE_SECONDS: u64 = 5;

/// The next step's code, smaller, under its own label
/// 「次のワンタイムパスワード」; a click copies `plain` and announces it.
/// Its props change only when it appears, so ticks do not re-render it.
#[component]
pub fn NextCodeDisplay(plain: String, grouped: String) -> Element {
    let lang = use_language();
    let services = use_services();
    let mut copied = use_signal(|| None::<bool>);
    let label = digits_label(&plain);
    let note = match copied() {
        Some(true) => Some(lang.t(Msg::Copied)),
        Some(false) => Some(lang.t(Msg::CopyFailed)),
        None => None,
    };
    rsx! {
        div { class: "next-code-box",
            p { class: "label next-label", id: "next-code-label", {lang.t(Msg::NextOtp)} }
            button {
                class: "code next-code",
                id: "next-code",
                aria_label: "{label}",
                aria_describedby: "next-code-label",
                onclick: move |_| {
                    let ok = services.clipboard.copy(&plain);
                    copied.set(Some(ok));
                },
                "{grouped}"
            }
            p { class: "copied", id: "next-copy-note", role: "status", aria_live: "polite",
                if let Some(n) = note { "{n}" }
            }
        }
    }
}
