//! The loading state shown while the store is being read.
use crate::i18n::Msg;
use crate::ui::state::use_language;
use dioxus::prelude::*;

/// Shown while the store is being read.
#[component]
pub fn Loading() -> Element {
    let lang = use_language();
    rsx! {
        section { class: "loading", role: "status", aria_live: "polite", id: "loading",
            p { "{lang.t(Msg::Loading)}" }
        }
    }
}
