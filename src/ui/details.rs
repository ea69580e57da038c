//! Token management: details (bank, serial, paired on, state) and removal
//! behind the guide's warning about 「交換」.
use crate::i18n::{date, Msg};
use crate::services::store::blocking;
use crate::services::StoreError;
use crate::ui::bank_status::use_bank_status;
use crate::ui::problem::StoreProblem;
use crate::ui::state::{use_language, use_navigation, use_services, use_token_list, Route};
use crate::ui::widgets::{Button, StateLine};
use dioxus::prelude::*;
use softtoken_core::Serial;

/// Details of `serial`, with a confirmed "remove".
#[component]
pub fn DetailsScreen(serial: Serial) -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let services = use_services();
    let tokens = use_token_list();
    let meta = tokens.find(&serial);
    let status = use_bank_status(meta.clone());
    let mut confirming = use_signal(|| false);
    let mut failure = use_signal(|| None::<StoreError>);
    let mut removing = use_signal(|| false);
    let Some(meta) = meta else {
        return rsx! {
            StoreProblem { error: StoreError::NotFound { serial } }
        };
    };
    if let Some(e) = failure() {
        return rsx! { StoreProblem { error: e } };
    }
    let back_serial = serial.clone();
    let remove_serial = serial.clone();
    rsx! {
        section { class: "details",
            Button {
                msg: Msg::Back,
                id: "back",
                class: "link back",
                back: true,
                onclick: move |_| nav.go(Route::Token(back_serial.clone())),
            }
            h2 { "{lang.t(Msg::Details)}" }
            dl {
                dt { "{lang.t(Msg::Bank)}" }
                dd { id: "detail-bank", "{meta.bank_name}" }
                dt { "{lang.t(Msg::Serial)}" }
                dd { id: "detail-serial", class: "serial", "{serial.formatted()}" }
                dt { "{lang.t(Msg::PairedOn)}" }
                dd { id: "detail-paired", "{date(lang.get(), meta.paired_at)}" }
                dt { "{lang.t(Msg::State)}" }
                dd { StateLine { view: (status.view)() } }
            }
            p { class: "warning", id: "remove-warning", "{lang.t(Msg::RemoveWarning)}" }
            Button {
                msg: Msg::Remove,
                id: "remove",
                class: "danger",
                onclick: move |_| confirming.set(true),
            }
            if confirming() {
                div {
                    class: "dialog",
                    id: "remove-dialog",
                    role: "alertdialog",
                    aria_modal: "true",
                    aria_labelledby: "remove-dialog-text",
                    p { id: "remove-dialog-text", "{lang.t(Msg::RemoveWarning)}" }
                    div { class: "row",
                        Button {
                            msg: Msg::Cancel,
                            id: "remove-cancel",
                            class: "secondary",
                            onclick: move |_| confirming.set(false),
                        }
                        Button {
                            // While removing, the text (and so the name)
                            // says so.
                            msg: if removing() { Msg::Loading } else { Msg::RemoveConfirm },
                            id: "remove-confirm",
                            class: "danger",
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
                                            nav.go(Route::List);
                                            tokens.reload();
                                        }
                                        Err(e) => failure.set(Some(e)),
                                    }
                                });
                            },
                        }
                    }
                }
            }
        }
    }
}
