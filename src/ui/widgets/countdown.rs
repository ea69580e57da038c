//! The countdown to the next code: seconds and a ring, counted down inside
//! the web view.
use crate::i18n::{seconds_left, Lang};
use crate::ui::state::{use_language, use_services, use_ticker};
use dioxus::prelude::*;

/// Circumference-normalised length of the ring's path.
const RING: f64 = 100.0;

/// From how many seconds left the countdown is marked urgent (its colour
/// cue) and the next code is shown.
pub const ENDING_SECONDS: u64 = 5;

/// The web view's countdown timer (`countdown.js`), called with the app
/// clock in milliseconds.
const SCRIPT: &str = include_str!("countdown.js");

/// Seconds left in a step of `period` seconds starting at `t0`, at Unix
/// second `unix`: always in `1..=period` (as `Params::seconds_left`); 0
/// for a zero period.
pub fn seconds_left_at(unix: u64, period: u64, t0: u64) -> u64 {
    if period == 0 {
        return 0;
    }
    period - unix.saturating_sub(t0) % period
}

/// The ring's dash offset for `left` of `period` seconds, as the web view's
/// timer writes it (one decimal).
pub fn ring_offset(left: u64, period: u64) -> String {
    let frac = if period == 0 {
        0.0
    } else {
        left as f64 / period as f64
    };
    format!("{:.1}", RING - RING * frac)
}

/// The seconds text split around the number (`("あと ", " 秒")`), so that
/// the web view's timer writes exactly what [`seconds_left`] says.
pub fn text_parts(lang: Lang) -> (String, String) {
    let mark = u64::MAX.to_string();
    let whole = seconds_left(lang, u64::MAX);
    match whole.split_once(&mark) {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (String::new(), String::new()),
    }
}

/// The script that starts (or re-anchors) the web view's timer, given the
/// app clock in milliseconds. Only numbers are put into it.
pub fn start_script(clock_millis: u64) -> String {
    format!("{}({clock_millis});", SCRIPT.trim_end())
}

/// Seconds left in step `step` of `period` seconds from `t0`, as text and
/// as a ring, with the last [`ENDING_SECONDS`] marked urgent.
///
/// Idle cost: the app renders the countdown when it is mounted, when the
/// step changes, when the app clock is shifted ([`Ticker::shifts`]) and
/// when the language changes — never because a second passed. Each render
/// writes the state at that moment (so the first paint, and a page without
/// script, show the right seconds) and the anchor as data attributes: the
/// app clock in milliseconds, the period, `t0`, [`ENDING_SECONDS`] and the
/// text around the number. Between renders the one timer in the web view
/// (`countdown.js`, started when the countdown is mounted) counts down
/// from that anchor, aligned to the app clock's seconds: it sets the text
/// node's value, the ring's dash offset, the `urgent` class and the next
/// code box's `hidden` flag (`#next-code-box`, see
/// [`NextCodeDisplay`](super::NextCodeDisplay)), and re-reads the anchor
/// whenever the app writes it again. Writes nothing when nothing changed.
///
/// Screen readers: the box is `role=timer` (implicitly `aria-live=off`),
/// its text is what is read, with no per-second `aria-label`, as before
/// the timer moved into the web view. The ring is a path that starts at
/// the top (no transform), and the box is contained so that a second
/// relayouts and repaints only itself.
///
/// [`Ticker::shifts`]: crate::ui::state::Ticker::shifts
#[component]
pub fn Countdown(step: u64, period: u64, #[props(default)] t0: u64) -> Element {
    let lang = use_language().get();
    let services = use_services();
    let ticker = use_ticker();
    // Re-render (and so re-anchor the web view's timer) on every shift of
    // the app clock.
    let _ = ticker.shifts();
    let clock = services.clock.clone();
    let now_ms = clock.now_millis();
    let left = seconds_left_at(now_ms / 1000, period, t0);
    let offset = ring_offset(left, period);
    let class = if left <= ENDING_SECONDS {
        "countdown urgent"
    } else {
        "countdown"
    };
    let text = seconds_left(lang, left);
    let (before, after) = text_parts(lang);
    rsx! {
        div {
            class: "{class}",
            id: "countdown",
            role: "timer",
            "data-step": "{step}",
            "data-clock-ms": "{now_ms}",
            "data-period": "{period}",
            "data-t0": "{t0}",
            "data-ending": "{ENDING_SECONDS}",
            "data-text-before": "{before}",
            "data-text-after": "{after}",
            onmounted: move |_| {
                let _ = document::eval(&start_script(clock.now_millis()));
            },
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
                    stroke_dashoffset: "{offset}",
                }
            }
            span { class: "seconds", id: "seconds-left", "{text}" }
        }
    }
}

/// Style rules of the countdown that keep its seconds cheap (appended to
/// the app's stylesheet): containment of the box, a fixed width for the
/// seconds, and no CSS rotation of the ring (the path starts at the top).
pub const COUNTDOWN_CSS: &str = ".countdown { contain: layout paint style; height: 3rem; }\n\
.countdown .seconds { display: inline-block; min-width: 7em; }\n\
.ring-fg { transform: none; }\n\
.next-code-box[hidden] { display: none; }\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parts_rebuild_the_seconds_text() {
        for lang in [Lang::Ja, Lang::En] {
            let (before, after) = text_parts(lang);
            assert!(!before.is_empty() || !after.is_empty());
            for left in 1..=30 {
                assert_eq!(format!("{before}{left}{after}"), seconds_left(lang, left));
            }
        }
    }

    #[test]
    fn seconds_left_is_in_one_to_period() {
        assert_eq!(seconds_left_at(1_111_111_080, 30, 0), 30);
        assert_eq!(seconds_left_at(1_111_111_109, 30, 0), 1);
        assert_eq!(seconds_left_at(1_111_111_107, 30, 0), 3);
        assert_eq!(seconds_left_at(100, 30, 10), 30);
        assert_eq!(seconds_left_at(5, 30, 10), 30);
        assert_eq!(seconds_left_at(5, 0, 0), 0);
        let p = softtoken_core::Params::STK1;
        for t in 1_700_000_000..1_700_000_061 {
            assert_eq!(
                seconds_left_at(t, p.period(), p.t0()),
                p.seconds_left(t).unwrap()
            );
        }
    }

    #[test]
    fn ring_offsets() {
        assert_eq!(ring_offset(30, 30), "0.0");
        assert_eq!(ring_offset(7, 30), "76.7");
        assert_eq!(ring_offset(1, 30), "96.7");
        assert_eq!(ring_offset(3, 0), "100.0");
    }

    #[test]
    fn the_start_script_carries_only_the_clock() {
        let s = start_script(1_700_000_000_123);
        assert!(s.starts_with(SCRIPT.trim_end()));
        assert!(s.ends_with("})(1700000000123);"), "{}", &s[s.len() - 40..]);
    }
}
