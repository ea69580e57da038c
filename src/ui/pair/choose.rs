//! Pairing, first step: scan the QR code (phones), pick a bank, paste a
//! link, or read a QR image (desktop simulator: choose a file, drop it on
//! the screen, paste a copied image, or type its path).
//!
//! Every picture goes through [`crate::services::scanner`] and ends in the
//! confirmation step, or back here with the reason it was refused.
use crate::i18n::Msg;
use crate::qr::QrError;
use crate::services::pairing::{resolve_link, PairingError, Target};
use crate::services::scanner::{
    resolve_clipboard, resolve_dropped, resolve_image_file, PairInputs,
};
use crate::ui::pair::scan::CameraScanner;
use crate::ui::pair::{FailureBox, PairStep};
use crate::ui::state::{use_language, use_navigation, use_services, use_token_list, Route};
use crate::ui::widgets::Button;
use dioxus::html::HasFileData;
use dioxus::prelude::*;
use std::future::Future;
use std::path::PathBuf;

/// The picture inputs of this screen: a [`PairInputs`] from the context
/// when one is provided (tests), else those of this build.
pub(crate) fn use_pair_inputs() -> PairInputs {
    use_hook(|| try_consume_context::<PairInputs>().unwrap_or_else(PairInputs::platform))
}

/// Reads a picture in the background (`reading` is set meanwhile) and
/// moves `step` on with its link. With `quiet_without_image`, a paste
/// that carried no image (text pasted into the link field) changes nothing.
fn read_picture(
    mut step: Signal<PairStep>,
    mut reading: Signal<bool>,
    quiet_without_image: bool,
    read: impl Future<Output = Result<Target, PairingError>> + 'static,
) {
    if *reading.peek() {
        return;
    }
    reading.set(true);
    spawn(async move {
        let resolved = read.await;
        reading.set(false);
        if quiet_without_image && matches!(resolved, Err(PairingError::Qr(QrError::NoImage))) {
            return;
        }
        step.set(PairStep::from_link(resolved));
    });
}

/// The scanner (phones), the bank list (each bank with its first pinned
/// key), the link field, the picture inputs of the desktop simulator and,
/// when there are tokens, the way back. `error` says why the last link or
/// picture was refused.
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
    let inputs = use_pair_inputs();
    let reading = use_signal(|| false);
    // The file chooser is open (one at a time).
    let mut picking = use_signal(|| false);
    let has_tokens = use_token_list().count() > 0;
    let banks = services.directory.banks().to_vec();
    let s_link = services.clone();
    let s_path = services.clone();
    let s_file = services.clone();
    let s_drop = services.clone();
    let (s_paste, s_button) = (services.clone(), services.clone());
    let files = inputs.files.clone();
    let (paste_source, cb_paste) = (inputs.clipboard.clone(), inputs.clipboard.clone());
    let (cb_key, s_keys) = (inputs.clipboard.clone(), services.clone());
    let focus_on_mount = cb_key.is_some();
    let accepts_drop = inputs.drop;
    rsx! {
        div {
            id: "pair-choose",
            class: "pair-choose",
            ondragover: move |e: DragEvent| {
                if accepts_drop {
                    e.prevent_default();
                }
            },
            ondrop: move |e: DragEvent| {
                if accepts_drop {
                    e.prevent_default();
                    let files = e.files();
                    let services = s_drop.clone();
                    read_picture(step, reading, false, async move {
                        resolve_dropped(&services, files).await
                    });
                }
            },
            // The web view fires `paste` only into an editable element, so
            // Ctrl+V / ⌘V is also taken on the step itself, which has the
            // focus when it appears; in the link field both come, and the
            // second is ignored while the first is read.
            tabindex: if cb_key.is_some() { "-1" },
            onmounted: move |e: MountedEvent| async move {
                if focus_on_mount {
                    let _ = e.set_focus(true).await;
                }
            },
            onkeydown: move |e: KeyboardEvent| {
                let m = e.modifiers();
                let v = matches!(e.key(), Key::Character(c) if c.eq_ignore_ascii_case("v"));
                if v && (m.ctrl() || m.meta()) {
                    if let Some(cb) = cb_key.clone() {
                        let services = s_keys.clone();
                        read_picture(step, reading, true, async move {
                            resolve_clipboard(&services, cb).await
                        });
                    }
                }
            },
            onpaste: move |_| {
                if let Some(cb) = cb_paste.clone() {
                    let services = s_paste.clone();
                    read_picture(step, reading, true, async move {
                        resolve_clipboard(&services, cb).await
                    });
                }
            },
            h2 { "{lang.t(Msg::PairTitle)}" }
            if let Some(error) = error {
                FailureBox { error }
            }
            CameraScanner { step }
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
                        step.set(PairStep::from_link(resolve_link(&s_link, &text)));
                    },
                }
            }
            if files.is_some() || paste_source.is_some() {
                div { class: "row qr-inputs",
                    if let Some(picker) = files {
                        Button {
                            msg: Msg::QrChooseFile,
                            id: "qr-choose",
                            class: "secondary",
                            disabled: reading() || picking(),
                            onclick: move |_| {
                                let (picker, services) = (picker.clone(), s_file.clone());
                                if *reading.peek() || *picking.peek() {
                                    return;
                                }
                                picking.set(true);
                                spawn(async move {
                                    let picked = picker.pick().await;
                                    picking.set(false);
                                    if let Some(path) = picked {
                                        read_picture(step, reading, false, async move {
                                            resolve_image_file(&services, path).await
                                        });
                                    }
                                });
                            },
                        }
                    }
                    if let Some(cb) = paste_source {
                        Button {
                            msg: Msg::QrPasteImage,
                            id: "qr-paste",
                            class: "secondary",
                            disabled: reading(),
                            onclick: move |_| {
                                let (cb, services) = (cb.clone(), s_button.clone());
                                read_picture(step, reading, false, async move {
                                    resolve_clipboard(&services, cb).await
                                });
                            },
                        }
                    }
                }
            }
            if accepts_drop {
                p { class: "hint", id: "qr-drop-hint", "{lang.t(Msg::QrDropHint)}" }
            }
            if reading() {
                p { id: "qr-reading", role: "status", "{lang.t(Msg::QrReading)}" }
            }
            if inputs.typed_path {
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
                            let services = s_path.clone();
                            read_picture(step, reading, false, async move {
                                resolve_image_file(&services, path).await
                            });
                        },
                    }
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
}
