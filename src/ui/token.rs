//! The token screen: bank, serial, the current code, its countdown, the
//! bank's state of the token and the clock warning.
use crate::i18n::Msg;
use crate::services::store::blocking;
use crate::services::{StoreError, TokenMeta};
use crate::ui::bank_status::use_bank_status;
use crate::ui::problem::StoreProblem;
use crate::ui::state::{
    use_language, use_navigation, use_services, use_ticker, use_token_list, Route,
};
use crate::ui::transaction::use_txn_watch;
use crate::ui::widgets::{
    shows_next, Button, ClockWarning, CodeDisplay, Countdown, NextCodeDisplay, StateLine,
};
use dioxus::prelude::*;
use softtoken_core::{Generator, Serial};

/// A live code for `gen`: the code and the next step's code, recomputed
/// only when the time step changes, and the countdown.
///
/// Renders once per step (and on clock shifts), never because a second
/// passed: the step is a memo over the per-second clock, and the seconds,
/// the urgent cue and the next code's appearance in the last five seconds
/// are the countdown's timer in the web view ([`Countdown`]). The next
/// code is rendered with the current one, hidden until then.
#[component]
pub fn LiveCode(gen: ReadSignal<Generator>) -> Element {
    let ticker = use_ticker();
    let services = use_services();
    let params = *gen.peek().params();
    // `step_at`/`seconds_left` only fail for an invalid period, which
    // `Generator::new` already refused.
    let step = use_memo(move || params.step_at(ticker.now()).unwrap_or(0));
    let code = use_memo(move || gen.read().at_step(step()));
    let next = use_memo(move || gen.read().at_step(step().saturating_add(1)));
    // Whether the next code shows at this render; a shift of the clock
    // renders again.
    let _ = ticker.shifts();
    let left = params
        .seconds_left(services.clock.now_unix())
        .unwrap_or(params.period());
    let c = code.read();
    let n = next.read();
    rsx! {
        div { class: "live-code",
            CodeDisplay {
                plain: c.as_str().to_owned(),
                grouped: c.grouped(),
                step: step(),
            }
            Countdown { step: step(), period: params.period(), t0: params.t0() }
            NextCodeDisplay {
                plain: n.as_str().to_owned(),
                grouped: n.grouped(),
                step: step(),
                shown: shows_next(left),
            }
        }
    }
}

/// The token screen for `serial`.
#[component]
pub fn TokenScreen(serial: Serial) -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let services = use_services();
    let tokens = use_token_list();
    let meta: Option<TokenMeta> = tokens.find(&serial);
    // Read with the list at start (single token), else once per screen,
    // off the UI thread.
    let pre: Option<Generator> = use_hook({
        let serial = serial.clone();
        move || tokens.first_generator(&serial)
    });
    let gen = use_resource({
        let serial = serial.clone();
        let store = services.store.clone();
        let pre = pre.clone();
        move || {
            // Read again after "Reload" on the problem screen.
            let _ = tokens.revision();
            let serial = serial.clone();
            let store = store.clone();
            let pre = pre.clone();
            async move {
                if let Some(g) = pre {
                    return Ok(g);
                }
                let secret = blocking(&store, move |s| s.secret(&serial)).await?;
                Generator::new(&secret, softtoken_core::Params::STK1)
                    .map_err(|e| StoreError::Io(e.to_string()))
            }
        }
    });
    let status = use_bank_status(meta.clone());
    use_txn_watch(serial.clone(), meta.as_ref().map(|m| m.url.clone()));
    let Some(meta) = meta else {
        return rsx! {
            StoreProblem { error: StoreError::NotFound { serial } }
        };
    };
    let gen = match gen.read().as_ref() {
        None => pre,
        Some(Ok(g)) => Some(g.clone()),
        Some(Err(e)) => return rsx! { StoreProblem { error: e.clone() } },
    };
    // The bank's time at the last status answer; otherwise the offset
    // measured at pairing. Not a function of the ticking clock, so this
    // screen does not re-render every second.
    let diff = status.clock_warning(meta.clock_offset);
    let several = tokens.count() > 1;
    let details_serial = serial.clone();
    let offline_serial = serial.clone();
    let txn_serial = serial.clone();
    rsx! {
        section { class: "token", aria_labelledby: "bank-name",
            if several {
                Button {
                    msg: Msg::Back,
                    id: "token-back",
                    class: "link back",
                    back: true,
                    onclick: move |_| nav.go(Route::List),
                }
            }
            h2 { class: "bank", id: "bank-name", "{meta.bank_name}" }
            p { class: "serial-row",
                span { class: "label", "{lang.t(Msg::Serial)}" }
                " "
                span { class: "serial", id: "serial", "{serial.formatted()}" }
            }
            p { class: "label", "{lang.t(Msg::Otp)}" }
            if let Some(gen) = gen {
                LiveCode { gen }
            } else {
                p { class: "code loading", role: "status", "{lang.t(Msg::Loading)}" }
            }
            StateLine { view: (status.view)() }
            if let Some(d) = diff { ClockWarning { diff: d } }
            Button {
                msg: Msg::Details,
                id: "details",
                class: "secondary",
                onclick: move |_| nav.go(Route::Details(details_serial.clone())),
            }
            Button {
                msg: Msg::TxnCheck,
                id: "txn-open",
                class: "secondary",
                onclick: move |_| nav.go(Route::Transaction(txn_serial.clone())),
            }
            Button {
                msg: Msg::OfflineOpen,
                id: "offline-open",
                class: "secondary",
                onclick: move |_| nav.go(Route::OfflineCode(offline_serial.clone())),
            }
        }
    }
}
