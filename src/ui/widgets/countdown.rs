//! The countdown to the next code: seconds and a ring.
use crate::i18n::seconds_left;
use crate::ui::app::use_app;
use dioxus::prelude::*;

/// Circumference-normalised length of the ring's path.
const RING: f64 = 100.0;

/// Seconds left in the current step, as text and as a ring. Pure function
/// of `left` and `period`; the caller derives `left` from the clock.
#[component]
pub fn Countdown(left: u64, period: u64) -> Element {
    let ctx = use_app();
    let lang = (ctx.lang)();
    let frac = if period == 0 {
        0.0
    } else {
        left as f64 / period as f64
    };
    let offset = RING - RING * frac;
    let urgent = if left <= 5 {
        "countdown urgent"
    } else {
        "countdown"
    };
    let text = seconds_left(lang, left);
    rsx! {
        div { class: "{urgent}", role: "timer", aria_label: "{text}",
            svg {
                class: "ring",
                view_box: "0 0 36 36",
                width: "44",
                height: "44",
                "aria-hidden": "true",
                circle { class: "ring-bg", cx: "18", cy: "18", r: "15.9155", fill: "none" }
                circle {
                    class: "ring-fg",
                    cx: "18",
                    cy: "18",
                    r: "15.9155",
                    fill: "none",
                    style: "stroke-dasharray:{RING};stroke-dashoffset:{offset:.1}",
                }
            }
            span { class: "seconds", id: "seconds-left", "{text}" }
        }
    }
}
