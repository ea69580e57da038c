//! softtoken app (placeholder window; the app itself is issue 4).
use dioxus::prelude::*;

fn main() {
    dioxus::launch(App);
}

#[component]
fn App() -> Element {
    rsx! { main { h1 { "softtoken" } } }
}
