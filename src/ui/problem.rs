//! The screen shown when the token store fails: what happened, that
//! nothing was deleted, and a way to try again.
use crate::i18n::Msg;
use crate::services::StoreError;
use crate::ui::app::use_app;
use dioxus::prelude::*;

/// The customer's words for a store error.
pub fn store_problem_msg(e: &StoreError) -> Msg {
    match e {
        StoreError::Keystore(_) => Msg::StoreProblemKeystore,
        StoreError::Corrupted { .. } => Msg::StoreProblemCorrupted,
        StoreError::NewerVersion => Msg::StoreProblemNewer,
        StoreError::SecretMissing { .. } | StoreError::NotFound { .. } => Msg::StoreProblemMissing,
        _ => Msg::StoreProblemKeystore,
    }
}

/// Explains `error`; deletes nothing. "Reload" re-reads the store.
#[component]
pub fn StoreProblem(error: StoreError) -> Element {
    let ctx = use_app();
    let mut rev = ctx.tokens_rev;
    rsx! {
        section { class: "problem", role: "alert", id: "store-problem",
            h2 { "{ctx.t(Msg::StoreProblemTitle)}" }
            p { "{ctx.t(store_problem_msg(&error))}" }
            p { "{ctx.t(Msg::StoreProblemNothingDeleted)}" }
            p { class: "detail", "{error}" }
            button {
                class: "primary",
                id: "retry",
                aria_label: "{ctx.t(Msg::Retry)}",
                onclick: move |_| rev += 1,
                "{ctx.t(Msg::Retry)}"
            }
        }
    }
}
