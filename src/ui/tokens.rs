//! The list of tokens (several banks); each opens its token screen.
use crate::i18n::Msg;
use crate::ui::app::{use_app, use_tokens, Route};
use dioxus::prelude::*;

/// All tokens, and the way to add one.
#[component]
pub fn TokensScreen() -> Element {
    let ctx = use_app();
    let tokens = use_tokens();
    let mut route = ctx.route;
    let list = match tokens.read().as_ref() {
        Some(Ok(l)) => l.clone(),
        _ => Vec::new(),
    };
    rsx! {
        section { class: "tokens",
            h2 { "{ctx.t(Msg::TokensTitle)}" }
            if list.is_empty() {
                p { class: "empty", "{ctx.t(Msg::NoTokens)}" }
            }
            ul { class: "token-list",
                for m in list {
                    li { key: "{m.serial.as_str()}",
                        button {
                            class: "token-item",
                            aria_label: "{ctx.t(Msg::OpenToken)}: {m.bank_name} {m.serial.formatted()}",
                            onclick: {
                                let s = m.serial.clone();
                                move |_| route.set(Route::Token(s.clone()))
                            },
                            span { class: "bank", "{m.bank_name}" }
                            span { class: "serial", "{m.serial.formatted()}" }
                        }
                    }
                }
            }
            button {
                class: "primary",
                id: "add-token",
                aria_label: "{ctx.t(Msg::AddToken)}",
                onclick: move |_| route.set(Route::Pair { link: None }),
                "{ctx.t(Msg::AddToken)}"
            }
        }
    }
}
