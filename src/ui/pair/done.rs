//! Pairing done: the serial, the code and the next steps in web banking.
use crate::i18n::{date_time, Msg};
use crate::services::pairing::Paired;
use crate::ui::state::{use_language, use_navigation, Route};
use crate::ui::token::LiveCode;
use crate::ui::widgets::{Button, ClockWarning};
use dioxus::prelude::*;

/// The new token: its bank, serial and live code, a clock warning if the
/// bank's clock differed, what to do in web banking and by when. "Show
/// token" has the focus.
#[component]
pub fn DoneStep(paired: ReadSignal<Paired>) -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let p = paired.read().clone();
    let gen = p.gen.clone();
    let serial = p.serial.clone();
    rsx! {
        h2 { id: "pair-done", "{lang.t(Msg::PairDone)}" }
        p { class: "bank", "{p.bank_name}" }
        p { class: "serial-row",
            span { class: "label", "{lang.t(Msg::Serial)}" }
            " "
            span { class: "serial", id: "serial", "{p.serial.formatted()}" }
        }
        p { class: "label", "{lang.t(Msg::Otp)}" }
        LiveCode { gen }
        if let Some(d) = p.clock_diff { ClockWarning { diff: d } }
        div { class: "next",
            p { "{lang.t(Msg::PairNextFirst)}" }
            p { "{lang.t(Msg::PairNextExchange)}" }
            p { id: "bind-by", "{lang.t(Msg::PairNextDeadline)}: {date_time(lang.get(), p.bind_by)}" }
        }
        Button {
            msg: Msg::ShowToken,
            id: "show-token",
            class: "primary",
            autofocus: true,
            onclick: move |_| nav.go(Route::Token(serial.clone())),
        }
    }
}
