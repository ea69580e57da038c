//! The screen shown when the token store fails: what happened, that
//! nothing was deleted, and a way to try again.
use crate::i18n::Msg;
use crate::services::StoreError;
use crate::ui::state::{use_language, use_token_list};
use crate::ui::widgets::Button;
use dioxus::prelude::*;

/// The customer's words for a store error.
pub fn store_problem_msg(e: &StoreError) -> Msg {
    match e {
        StoreError::Keystore { .. } | StoreError::SecretUnreadable { .. } => {
            Msg::StoreProblemKeystore
        }
        StoreError::Corrupted { .. } => Msg::StoreProblemCorrupted,
        StoreError::NewerVersion => Msg::StoreProblemNewer,
        StoreError::SecretMissing { .. } | StoreError::NotFound { .. } => Msg::StoreProblemMissing,
        _ => Msg::StoreProblemKeystore,
    }
}

/// Explains `error`; deletes nothing. "Reload" re-reads the store.
#[component]
pub fn StoreProblem(error: StoreError) -> Element {
    let lang = use_language();
    let tokens = use_token_list();
    rsx! {
        section { class: "problem", role: "alert", id: "store-problem",
            h2 { "{lang.t(Msg::StoreProblemTitle)}" }
            p { "{lang.t(store_problem_msg(&error))}" }
            p { "{lang.t(Msg::StoreProblemNothingDeleted)}" }
            p { class: "detail", "{error}" }
            Button {
                msg: Msg::Retry,
                id: "retry",
                class: "primary",
                onclick: move |_| tokens.reload(),
            }
        }
    }
}
