//! An empty Dioxus desktop window of the same size as the simulator: the
//! baseline the app's benchmarks (bench/app/) are measured against.
use dioxus::prelude::*;

fn main() {
    #[cfg(feature = "desktop")]
    {
        use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
        let window = WindowBuilder::new()
            .with_title("empty")
            .with_inner_size(LogicalSize::new(390.0, 844.0));
        dioxus::LaunchBuilder::desktop()
            .with_cfg(Config::new().with_window(window).with_menu(None))
            .launch(App);
    }
    #[cfg(not(feature = "desktop"))]
    dioxus::launch(App);
}

#[component]
fn App() -> Element {
    rsx! {
        main {
            onmounted: move |_| {
                // Same marker as the app's first code (bench/app/).
                if std::env::var_os("SOFTTOKEN_BENCH_MARK").is_some() {
                    let ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis())
                        .unwrap_or(0);
                    eprintln!("first-code-visible {ms}");
                }
            },
            "empty"
        }
    }
}
