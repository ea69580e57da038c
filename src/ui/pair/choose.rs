//! Pairing, first step: pick a bank, paste a link or read a QR image.
use crate::i18n::Msg;
use crate::services::pairing::{resolve_link, resolve_qr_file, PairingError};
use crate::ui::pair::{FailureBox, PairStep};
use crate::ui::state::{use_language, use_navigation, use_services, use_token_list, Route};
use crate::ui::widgets::Button;
use dioxus::prelude::*;
use std::path::PathBuf;

/// The bank list (each bank with its first pinned key), the link field,
/// the QR image field and, when there are tokens, the way back. `error`
/// says why the last link was refused.
#[component]
pub fn ChooseStep(
    step: Signal<PairStep>,
    error: Option<PairingError>,
    link_text: Signal<String>,
    qr_path: Signal<String>,
) -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let services = use_services();
    let has_tokens = use_token_list().count() > 0;
    let banks = services.directory.banks().to_vec();
    let (s1, s2) = (services.clone(), services.clone());
    rsx! {
        h2 { "{lang.t(Msg::PairTitle)}" }
        if let Some(error) = error {
            FailureBox { error }
        }
        p { "{lang.t(Msg::PickBank)}" }
        if banks.is_empty() { p { "{lang.t(Msg::NoBanks)}" } }
        ul { class: "bank-list",
            for b in banks {
                li { key: "{b.id}",
                    button {
                        class: "bank-item",
                        id: "bank-{b.id}",
                        aria_label: "{b.name}",
                        "data-bank": "{b.id}",
                        onclick: {
                            let b = b.clone();
                            move |_| {
                                if let Some(k) = b.keys.first() {
                                    step.set(PairStep::Confirm((b.clone(), k.clone())));
                                }
                            }
                        },
                        "{b.name}"
                    }
                }
            }
        }
        label { r#for: "pair-link", "{lang.t(Msg::OrLink)}" }
        div { class: "row",
            input {
                id: "pair-link",
                r#type: "text",
                placeholder: "{lang.t(Msg::LinkPlaceholder)}",
                aria_label: "{lang.t(Msg::OrLink)}",
                value: "{link_text}",
                oninput: move |e| link_text.set(e.value()),
            }
            Button {
                msg: Msg::UseLink,
                id: "use-link",
                class: "secondary",
                onclick: move |_| {
                    let text = link_text.peek().clone();
                    step.set(PairStep::from_link(resolve_link(&s1, &text)));
                },
            }
        }
        label { r#for: "qr-path", "{lang.t(Msg::QrImage)}" }
        div { class: "row",
            input {
                id: "qr-path",
                r#type: "text",
                placeholder: "{lang.t(Msg::QrImagePlaceholder)}",
                aria_label: "{lang.t(Msg::QrImage)}",
                value: "{qr_path}",
                oninput: move |e| qr_path.set(e.value()),
            }
            Button {
                msg: Msg::ReadQr,
                id: "read-qr",
                class: "secondary",
                onclick: move |_| {
                    let path = PathBuf::from(qr_path.peek().trim());
                    let services = s2.clone();
                    spawn(async move {
                        let resolved = resolve_qr_file(&services, path).await;
                        step.set(PairStep::from_link(resolved));
                    });
                },
            }
        }
        if has_tokens {
            Button {
                msg: Msg::Back,
                id: "pair-back",
                class: "link",
                back: true,
                onclick: move |_| nav.go(Route::List),
            }
        }
    }
}
