//! Idle-cost probe for bench/app/probe.sh: a Dioxus desktop window showing
//! a static page (`EXP_HTML`, a file), with an optional style sheet
//! (`EXP_CSS`) and an optional script (`EXP_JS`, evaluated once the page is
//! mounted), `EXP_W` × `EXP_H` logical pixels (default 390 × 844, the
//! simulator's size). It measures what WebKitGTK costs for a page that
//! changes in a given way, apart from the app's own work; the pages used in
//! BENCHMARKS.md are in bench/app/probe/.
use dioxus::prelude::*;
use std::sync::OnceLock;

static PAGE: OnceLock<(String, String, String)> = OnceLock::new();

/// The number in `var`, or `default` when it is unset or not a number.
fn size(var: &str, default: f64) -> f64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The file named by `var`, or empty when it is unset or unreadable.
fn read(var: &str) -> String {
    std::env::var(var)
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

fn main() {
    let _ = PAGE.set((read("EXP_HTML"), read("EXP_CSS"), read("EXP_JS")));
    #[cfg(feature = "desktop")]
    {
        use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
        let window = WindowBuilder::new()
            .with_title("idle probe")
            .with_inner_size(LogicalSize::new(size("EXP_W", 390.0), size("EXP_H", 844.0)));
        dioxus::LaunchBuilder::desktop()
            .with_cfg(Config::new().with_window(window).with_menu(None))
            .launch(App);
    }
    #[cfg(not(feature = "desktop"))]
    dioxus::launch(App);
}

#[component]
fn App() -> Element {
    let (html, css, _) = PAGE.get().cloned().unwrap_or_default();
    rsx! {
        style { {css} }
        div {
            dangerous_inner_html: "{html}",
            onmounted: move |_| {
                let js = PAGE.get().map(|p| p.2.clone()).unwrap_or_default();
                if !js.is_empty() {
                    let _ = document::eval(&js);
                }
            },
        }
    }
}
