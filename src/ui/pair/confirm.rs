//! Pairing, second step: the person confirms the bank before anything is
//! sent to it.
use crate::i18n::Msg;
use crate::services::pairing::Target;
use crate::services::{BankEntry, PinnedKey};
use crate::ui::pair::PairStep;
use crate::ui::state::use_language;
use crate::ui::widgets::Button;
use dioxus::prelude::*;

/// Asks to pair with `bank` (using its key `pinned`). "Pair" has the
/// focus, so keyboard users confirm with Enter; it calls `on_confirm`,
/// which runs the pairing (outside this step, which it replaces).
#[component]
pub fn ConfirmStep(
    step: Signal<PairStep>,
    bank: BankEntry,
    pinned: PinnedKey,
    on_confirm: EventHandler<Target>,
) -> Element {
    let lang = use_language();
    let (name, url) = (bank.name.clone(), bank.url.clone());
    rsx! {
        h2 { "{lang.t(Msg::PairTitle)}" }
        div { class: "confirm", role: "dialog", aria_labelledby: "ask-pair",
            p { id: "ask-pair", "{lang.t(Msg::AskPair)}" }
            p { class: "bank", id: "confirm-bank", "{name}" }
            p { class: "detail", "{url}" }
            div { class: "row",
                Button {
                    msg: Msg::Cancel,
                    id: "pair-cancel",
                    class: "secondary",
                    onclick: move |_| step.set(PairStep::Choose(None)),
                }
                Button {
                    msg: Msg::PairNow,
                    id: "pair-go",
                    class: "primary",
                    autofocus: true,
                    onclick: move |_| on_confirm.call((bank.clone(), pinned.clone())),
                }
            }
        }
    }
}
