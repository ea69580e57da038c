//! Token management: details (bank, serial, paired on, state) and removal
//! behind the guide's warning about 「交換」.
use crate::i18n::{date, Msg};
use crate::services::store::blocking;
use crate::services::StoreError;
use crate::ui::app::{use_app, use_services, use_tokens, Route};
use crate::ui::bank_status::use_bank_status;
use crate::ui::problem::StoreProblem;
use crate::ui::widgets::StateLine;
use dioxus::prelude::*;
use softtoken_core::Serial;

/// Details of `serial`, with a confirmed "remove".
#[component]
pub fn DetailsScreen(serial: Serial) -> Element {
    let ctx = use_app();
    let services = use_services();
    let tokens = use_tokens();
    let meta = match tokens.read().as_ref() {
        Some(Ok(list)) => list.iter().find(|m| m.serial == serial).cloned(),
        _ => None,
    };
    let status = use_bank_status(meta.clone());
    let mut confirming = use_signal(|| false);
    let mut failure = use_signal(|| None::<StoreError>);
    let mut removing = use_signal(|| false);
    let mut route = ctx.route;
    let mut rev = ctx.tokens_rev;
    let Some(meta) = meta else {
        return rsx! {
            StoreProblem {
                error: StoreError::NotFound { serial: serial.as_str().to_owned() },
            }
        };
    };
    if let Some(e) = failure() {
        return rsx! { StoreProblem { error: e } };
    }
    let lang = (ctx.lang)();
    let back_serial = serial.clone();
    let remove_serial = serial.clone();
    rsx! {
        section { class: "details",
            button {
                class: "link back",
                id: "back",
                aria_label: "{ctx.t(Msg::Back)}",
                onclick: move |_| route.set(Route::Token(back_serial.clone())),
                "‹ {ctx.t(Msg::Back)}"
            }
            h2 { "{ctx.t(Msg::Details)}" }
            dl {
                dt { "{ctx.t(Msg::Bank)}" }
                dd { id: "detail-bank", "{meta.bank_name}" }
                dt { "{ctx.t(Msg::Serial)}" }
                dd { id: "detail-serial", class: "serial", "{serial.formatted()}" }
                dt { "{ctx.t(Msg::PairedOn)}" }
                dd { id: "detail-paired", "{date(lang, meta.paired_at)}" }
                dt { "{ctx.t(Msg::State)}" }
                dd { StateLine { view: (status.view)() } }
            }
            p { class: "warning", id: "remove-warning", "{ctx.t(Msg::RemoveWarning)}" }
            button {
                class: "danger",
                id: "remove",
                aria_label: "{ctx.t(Msg::Remove)}",
                onclick: move |_| confirming.set(true),
                "{ctx.t(Msg::Remove)}"
            }
            if confirming() {
                div {
                    class: "dialog",
                    id: "remove-dialog",
                    role: "alertdialog",
                    aria_modal: "true",
                    aria_labelledby: "remove-dialog-text",
                    p { id: "remove-dialog-text", "{ctx.t(Msg::RemoveWarning)}" }
                    div { class: "row",
                        button {
                            class: "secondary",
                            id: "remove-cancel",
                            aria_label: "{ctx.t(Msg::Cancel)}",
                            onclick: move |_| confirming.set(false),
                            "{ctx.t(Msg::Cancel)}"
                        }
                        button {
                            class: "danger",
                            id: "remove-confirm",
                            aria_label: "{ctx.t(Msg::RemoveConfirm)}",
                            disabled: removing(),
                            onclick: move |_| {
                                if *removing.peek() {
                                    return;
                                }
                                removing.set(true);
                                let store = services.store.clone();
                                let serial = remove_serial.clone();
                                spawn(async move {
                                    let result = blocking(&store, move |s| s.remove(&serial)).await;
                                    removing.set(false);
                                    match result {
                                        Ok(()) => {
                                            confirming.set(false);
                                            route.set(Route::List);
                                            rev += 1;
                                        }
                                        Err(e) => failure.set(Some(e)),
                                    }
                                });
                            },
                            if removing() { "{ctx.t(Msg::Loading)}" } else { "{ctx.t(Msg::RemoveConfirm)}" }
                        }
                    }
                }
            }
        }
    }
}
