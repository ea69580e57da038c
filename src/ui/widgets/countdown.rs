//! The countdown to the next code: seconds and a ring.
use crate::i18n::seconds_left;
use crate::ui::state::use_language;
use dioxus::prelude::*;

/// Circumference-normalised length of the ring's path.
const RING: f64 = 100.0;

/// Seconds left in the current step, as text and as a ring. Pure function
/// of `left` and `period`; the caller derives `left` from the clock.
///
/// Idle cost (bench/app/): each tick changes exactly two things in the web
/// view, the seconds text and the ring's dash offset (plus the colour class
/// in the last five seconds). The element has no per-second `aria-label`
/// (its text is what screen readers read), the ring is a path that starts
/// at the top (no transform), and the box is contained so that a tick
/// relayouts and repaints only itself.
#[component]
pub fn Countdown(left: u64, period: u64) -> Element {
    let lang = use_language().get();
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
        div { class: "{urgent}", role: "timer",
            svg {
                class: "ring",
                view_box: "0 0 36 36",
                width: "44",
                height: "44",
                "aria-hidden": "true",
                circle { class: "ring-bg", cx: "18", cy: "18", r: "15.9155", fill: "none" }
                // Starts at 12 o'clock and runs clockwise without a transform.
                path {
                    class: "ring-fg",
                    d: "M18 2.0845 a 15.9155 15.9155 0 0 1 0 31.831 a 15.9155 15.9155 0 0 1 0 -31.831",
                    fill: "none",
                    stroke_dasharray: "{RING}",
                    stroke_dashoffset: "{offset:.1}",
                }
            }
            span { class: "seconds", id: "seconds-left", "{text}" }
        }
    }
}

/// Style rules of the countdown that keep its ticks cheap (appended to the
/// app's stylesheet): containment of the box, a fixed width for the
/// seconds, and no CSS rotation of the ring (the path starts at the top).
pub const COUNTDOWN_CSS: &str = ".countdown { contain: layout paint style; height: 3rem; }\n\
.countdown .seconds { display: inline-block; min-width: 7em; }\n\
.ring-fg { transform: none; }\n";
