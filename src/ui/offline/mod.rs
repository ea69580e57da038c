//! The offline 取引認証番号 screen (STK1-TXN "Offline code"): when the
//! phone cannot reach the bank, the customer types the payee's account
//! number (or the 収納機関 number) the web banking page asks for, and the
//! app shows the 6-digit code bound to it (`OCRA-1:HOTP-SHA256-6:QN08-T30S`
//! with `K_OCRA`) and its countdown to the next 30 s step.
//!
//! Contracts: the token secret is read from the keystore for each code, the
//! key is derived, used and dropped inside that read (off the UI thread);
//! the typed number and the code are never logged; a number that is not
//! 1–8 digits (full-width digits, spaces and `-` are accepted and removed)
//! shows an error and no code.
use crate::i18n::Msg;
use crate::services::store::blocking;
use crate::services::StoreError;
use crate::ui::state::{use_language, use_navigation, use_services, use_ticker, Route};
use crate::ui::widgets::{Button, CodeDisplay, Countdown};
use dioxus::prelude::*;
use softtoken_core::txn::{derive_txn_keys, offline_question, offline_step, OFFLINE_STEP};
use softtoken_core::Serial;

/// "414 993" for "414993" (two groups of three for six digits).
fn grouped(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a} {b}")
}

/// The offline code screen for `serial`.
#[component]
pub fn OfflineCodeScreen(serial: Serial) -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let services = use_services();
    let ticker = use_ticker();
    let mut typed = use_signal(String::new);
    let mut question = use_signal(|| None::<String>);
    let mut invalid = use_signal(|| false);
    let step = use_memo(move || offline_step(ticker.now()));
    let code = use_resource({
        let serial = serial.clone();
        let store = services.store.clone();
        move || {
            let serial = serial.clone();
            let store = store.clone();
            let q = question();
            let step = step();
            async move {
                let Some(q) = q else {
                    return Ok(None);
                };
                blocking(&store, move |s| {
                    let secret = s.secret(&serial)?;
                    let (_txn, ocra) = derive_txn_keys(&secret, &serial);
                    ocra.offline_code_at_step(&q, step)
                        .map(Some)
                        .map_err(|e| StoreError::Io(e.to_string()))
                })
                .await
            }
        }
    });
    let back_serial = serial.clone();
    let shown = code.read();
    rsx! {
        section { class: "offline", aria_labelledby: "offline-title",
            Button {
                msg: Msg::Back,
                id: "offline-back",
                class: "link back",
                back: true,
                onclick: move |_| nav.go(Route::Token(back_serial.clone())),
            }
            h2 { id: "offline-title", {lang.t(Msg::OfflineTitle)} }
            p { class: "hint", id: "offline-help", {lang.t(Msg::OfflineHelp)} }
            label { r#for: "offline-question", {lang.t(Msg::OfflineQuestion)} }
            input {
                id: "offline-question",
                r#type: "text",
                inputmode: "numeric",
                autocomplete: "off",
                aria_label: "{lang.t(Msg::OfflineQuestion)}",
                aria_describedby: "offline-help",
                value: "{typed}",
                oninput: move |e| typed.set(e.value()),
            }
            Button {
                msg: Msg::OfflineShow,
                id: "offline-show",
                class: "primary",
                onclick: move |_| match offline_question(&typed.peek()) {
                    Some(q) => {
                        invalid.set(false);
                        question.set(Some(q));
                    }
                    None => {
                        invalid.set(true);
                        question.set(None);
                    }
                },
            }
            if invalid() {
                p { class: "error", id: "offline-invalid", role: "alert",
                    {lang.t(Msg::OfflineInvalid)}
                }
            }
            match shown.as_ref() {
                Some(Ok(Some(c))) => rsx! {
                    p { class: "label", id: "offline-code-label", {lang.t(Msg::OfflineCode)} }
                    CodeDisplay {
                        plain: c.as_str().to_owned(),
                        grouped: grouped(c.as_str()),
                        step: step(),
                    }
                    Countdown { step: step(), period: OFFLINE_STEP }
                },
                Some(Err(_)) => rsx! {
                    p { class: "error", id: "offline-error", role: "alert",
                        {lang.t(Msg::OfflineFailed)}
                    }
                },
                _ => rsx! {},
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn six_digits_in_two_groups() {
        assert_eq!(grouped("414993"), "414 993");
    }
}
