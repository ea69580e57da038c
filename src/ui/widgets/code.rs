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
