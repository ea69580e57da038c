//! The list of tokens (several banks); each opens its token screen.
use crate::i18n::Msg;
use crate::ui::state::{use_language, use_navigation, use_token_list, Route};
use crate::ui::widgets::Button;
use dioxus::prelude::*;

/// All tokens, and the way to add one.
#[component]
pub fn TokensScreen() -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let list = use_token_list().tokens();
    rsx! {
        section { class: "tokens",
            h2 { "{lang.t(Msg::TokensTitle)}" }
            if list.is_empty() {
                p { class: "empty", "{lang.t(Msg::NoTokens)}" }
            }
            ul { class: "token-list",
                for m in list {
                    li { key: "{m.serial.as_str()}",
                        button {
                            class: "token-item",
                            id: "token-{m.serial.as_str()}",
                            aria_label: "{lang.t(Msg::OpenToken)}: {m.bank_name} {m.serial.formatted()}",
                            onclick: {
                                let s = m.serial.clone();
                                move |_| nav.go(Route::Token(s.clone()))
                            },
                            span { class: "bank", "{m.bank_name}" }
                            span { class: "serial", "{m.serial.formatted()}" }
                        }
                    }
                }
            }
            Button {
                msg: Msg::AddToken,
                id: "add-token",
                class: "primary",
                onclick: move |_| nav.go(Route::Pair { link: None }),
            }
        }
    }
}
