//! Pairing in progress.
use crate::i18n::Msg;
use crate::ui::state::use_language;
use dioxus::prelude::*;

/// Shown while the app talks to `bank_name`'s token service.
#[component]
pub fn WorkingStep(bank_name: String) -> Element {
    let lang = use_language();
    rsx! {
        h2 { "{lang.t(Msg::PairTitle)}" }
        div { class: "progress", role: "status", aria_live: "polite", id: "pair-progress",
            div { class: "spinner", "aria-hidden": "true" }
            p { "{bank_name}" }
            p { "{lang.t(Msg::Pairing)}" }
        }
    }
}
