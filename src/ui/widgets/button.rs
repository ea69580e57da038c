//! A button whose visible text and accessible name come from one message.
use crate::i18n::Msg;
use crate::ui::state::use_language;
use dioxus::prelude::*;

/// A `<button>` showing `msg` in the current language, with the same text
/// as its `aria-label` (so the accessible name always contains the visible
/// text, and the two cannot drift apart).
///
/// * `id`: stable element id (tests and the style sheet find it by this);
/// * `class`: `primary`, `secondary`, `danger`, `link`, …;
/// * `back`: prefixes the visible text with `‹ ` (not part of the name);
/// * `autofocus`: takes the keyboard focus when mounted (Enter confirms);
/// * `disabled`: refuses clicks.
#[component]
pub fn Button(
    msg: Msg,
    #[props(into)] id: String,
    #[props(into)] class: String,
    onclick: EventHandler<MouseEvent>,
    #[props(default)] back: bool,
    #[props(default)] autofocus: bool,
    #[props(default)] disabled: bool,
) -> Element {
    let text = use_language().t(msg);
    let shown = if back {
        format!("‹ {text}")
    } else {
        text.to_owned()
    };
    rsx! {
        button {
            class: "{class}",
            id: "{id}",
            aria_label: "{text}",
            disabled,
            onmounted: move |e: MountedEvent| async move {
                if autofocus {
                    let _ = e.set_focus(true).await;
                }
            },
            onclick: move |e| onclick.call(e),
            "{shown}"
        }
    }
}
