//! Pairing failed: why, in plain words, and the ways on.
use crate::i18n::Msg;
use crate::services::pairing::{PairingError, Target};
use crate::ui::pair::{FailureBox, PairStep};
use crate::ui::state::use_language;
use crate::ui::widgets::Button;
use dioxus::prelude::*;

/// Explains `error`; "Back" returns to the bank list and, with a `retry`
/// target, "Try again" asks again before pairing with it.
#[component]
pub fn FailedStep(step: Signal<PairStep>, error: PairingError, retry: Option<Target>) -> Element {
    let lang = use_language();
    rsx! {
        h2 { "{lang.t(Msg::PairTitle)}" }
        FailureBox { error }
        div { class: "row",
            Button {
                msg: Msg::Back,
                id: "pair-cancel",
                class: "secondary",
                onclick: move |_| step.set(PairStep::Choose(None)),
            }
            if let Some(target) = retry {
                Button {
                    msg: Msg::TryAgain,
                    id: "pair-retry",
                    class: "primary",
                    onclick: move |_| step.set(PairStep::Confirm(target.clone())),
                }
            }
        }
    }
}
