//! The pairing screen: choose a bank (or open a `softtoken://pair` link or
//! a QR image), confirm, pair, and see the serial, the code and what to do
//! next in web banking.
use crate::i18n::{date_time, Msg};
use crate::services::store::blocking;
use crate::services::{BankEntry, ClientError, DirectoryError, PinnedKey, Services, TokenMeta};
use crate::ui::app::{use_app, use_services, Route};
use crate::ui::bank_status::{clock_difference, CLOCK_LIMIT_SECS};
use crate::ui::token::LiveCode;
use crate::ui::widgets::ClockWarning;
use dioxus::prelude::*;
use softtoken_core::stk1::link::PairLink;
use softtoken_core::{Generator, Params, Serial};

/// A pairing that worked.
#[derive(Clone)]
pub struct Paired {
    /// The new token's serial.
    pub serial: Serial,
    /// Bank name.
    pub bank_name: String,
    /// Register in web banking before this time (Unix seconds).
    pub bind_by: u64,
    /// Device − bank clock difference beyond the limit, if any.
    pub clock_diff: Option<i64>,
    /// Generator of the new token (for showing its code).
    pub gen: Generator,
}

/// A failure in the customer's words plus a technical detail (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What to tell the customer.
    pub msg: Msg,
    /// Technical detail for support.
    pub detail: String,
}

impl Failure {
    fn new(msg: Msg, detail: impl ToString) -> Failure {
        Failure {
            msg,
            detail: detail.to_string(),
        }
    }
}

/// The customer's words for a client error.
pub fn client_failure(e: &ClientError) -> Failure {
    let msg = match e {
        ClientError::Network(_) => Msg::FailNetwork,
        ClientError::Refused { code } if code == "session_expired" => Msg::FailSessionExpired,
        ClientError::Refused { code } if code == "unknown_key_id" || code == "confirm_failed" => {
            Msg::FailNotTheBank
        }
        ClientError::Refused { .. } => Msg::FailRefused,
        ClientError::NotTheBank => Msg::FailNotTheBank,
        _ => Msg::FailProtocol,
    };
    Failure::new(msg, e)
}

/// The customer's words for a refused link.
pub fn directory_failure(e: &DirectoryError) -> Failure {
    let msg = match e {
        DirectoryError::UnknownBank { .. } => Msg::FailUnknownBank,
        DirectoryError::KeyNotPinned { .. } => Msg::FailKeyNotPinned,
        DirectoryError::UrlMismatch { .. } => Msg::FailUrlMismatch,
        _ => Msg::FailLink,
    };
    Failure::new(msg, e)
}

/// Parses a pairing link and checks it against the directory.
pub fn resolve_link(services: &Services, text: &str) -> Result<(BankEntry, PinnedKey), Failure> {
    let link = PairLink::parse(text).map_err(|e| Failure::new(Msg::FailLink, e))?;
    services
        .directory
        .check_link(&link)
        .map_err(|e| directory_failure(&e))
}

/// Pairs with `bank` using `key`, in the only safe order: the client
/// verifies `server_confirm` → the secret goes into the keystore
/// (`begin_add`) → `finish` at the bank → `commit_add`. If `finish` fails
/// the pending token is dropped again.
pub async fn run_pairing(
    services: &Services,
    bank: &BankEntry,
    key: &PinnedKey,
) -> Result<Paired, Failure> {
    let paired = services
        .bank
        .init(bank, key)
        .await
        .map_err(|e| client_failure(&e))?;
    let now = services.clock.now_unix();
    let meta = TokenMeta {
        serial: paired.serial.clone(),
        bank_id: bank.id.clone(),
        bank_name: bank.name.clone(),
        url: bank.url.clone(),
        paired_at: now,
        bind_by: None,
        clock_offset: None,
    };
    let gen = Generator::new(&paired.secret, Params::STK1)
        .map_err(|e| Failure::new(Msg::FailProtocol, e))?;
    let store = &services.store;
    let (m, secret, req) = (
        meta.clone(),
        paired.secret.clone(),
        paired.finish_request.clone(),
    );
    blocking(store, move |s| s.begin_add(&m, &secret, Some(&req)))
        .await
        .map_err(|e| Failure::new(Msg::FailStore, e))?;
    let finished = match services
        .bank
        .finish(&bank.url, &paired.finish_request)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            // Best effort: a failed abort leaves only a pending record,
            // which the store never lists and the recovery resolves.
            let serial = meta.serial.clone();
            let _ = blocking(store, move |s| s.abort_add(&serial)).await;
            return Err(client_failure(&e));
        }
    };
    let offset = paired.server_time as i64 - now as i64;
    let (serial, bind_by) = (meta.serial.clone(), finished.bind_by);
    blocking(store, move |s| {
        s.commit_add(&serial)?;
        // Informational metadata: a failure here loses nothing that matters.
        let _ = s.record_pairing(&serial, bind_by, Some(offset), now);
        Ok(())
    })
    .await
    .map_err(|e| Failure::new(Msg::FailStore, e))?;
    Ok(Paired {
        serial: meta.serial,
        bank_name: meta.bank_name,
        bind_by: finished.bind_by,
        clock_diff: clock_difference(now, Some(paired.server_time), CLOCK_LIMIT_SECS),
        gen,
    })
}

/// Steps of the pairing screen.
#[derive(Clone)]
enum PairStep {
    Choose(Option<Failure>),
    Confirm(BankEntry, PinnedKey),
    Working(String),
    Done(Paired),
    Failed(Failure, Option<(BankEntry, PinnedKey)>),
}

/// The pairing screen; `link` starts from a `softtoken://pair` link.
#[component]
pub fn PairScreen(link: Option<String>) -> Element {
    let ctx = use_app();
    let services = use_services();
    let mut step = use_signal({
        let services = services.clone();
        move || match link {
            None => PairStep::Choose(None),
            Some(l) => match resolve_link(&services, &l) {
                Ok((b, k)) => PairStep::Confirm(b, k),
                Err(f) => PairStep::Choose(Some(f)),
            },
        }
    });
    let mut link_text = use_signal(String::new);
    let mut qr_path = use_signal(String::new);
    let mut route = ctx.route;
    let mut rev = ctx.tokens_rev;
    let mut pairing = ctx.pairing;
    let lang = (ctx.lang)();
    let t = move |m: Msg| crate::i18n::tr(lang, m);
    let has_tokens = matches!(ctx.tokens.read().as_ref(), Some(Ok(l)) if !l.is_empty());

    let current = step();
    let body = match current {
        PairStep::Choose(err) => {
            let banks = services.directory.banks().to_vec();
            let s1 = services.clone();
            let s2 = services.clone();
            rsx! {
                h2 { "{t(Msg::PairTitle)}" }
                if let Some(f) = err {
                    div { class: "error", id: "pair-error", role: "alert",
                        p { "{t(f.msg)}" }
                        p { class: "detail", "{f.detail}" }
                    }
                }
                p { "{t(Msg::PickBank)}" }
                if banks.is_empty() { p { "{t(Msg::NoBanks)}" } }
                ul { class: "bank-list",
                    for b in banks {
                        li { key: "{b.id}",
                            button {
                                class: "bank-item",
                                aria_label: "{b.name}",
                                "data-bank": "{b.id}",
                                onclick: {
                                    let b = b.clone();
                                    move |_| {
                                        if let Some(k) = b.keys.first() {
                                            step.set(PairStep::Confirm(b.clone(), k.clone()));
                                        }
                                    }
                                },
                                "{b.name}"
                            }
                        }
                    }
                }
                label { r#for: "pair-link", "{t(Msg::OrLink)}" }
                div { class: "row",
                    input {
                        id: "pair-link",
                        r#type: "text",
                        placeholder: "{t(Msg::LinkPlaceholder)}",
                        aria_label: "{t(Msg::OrLink)}",
                        value: "{link_text}",
                        oninput: move |e| link_text.set(e.value()),
                    }
                    button {
                        class: "secondary",
                        id: "use-link",
                        aria_label: "{t(Msg::UseLink)}",
                        onclick: move |_| {
                            let text = link_text.peek().clone();
                            step.set(match resolve_link(&s1, &text) {
                                Ok((b, k)) => PairStep::Confirm(b, k),
                                Err(f) => PairStep::Choose(Some(f)),
                            });
                        },
                        "{t(Msg::UseLink)}"
                    }
                }
                label { r#for: "qr-path", "{t(Msg::QrImage)}" }
                div { class: "row",
                    input {
                        id: "qr-path",
                        r#type: "text",
                        placeholder: "{t(Msg::QrImagePlaceholder)}",
                        aria_label: "{t(Msg::QrImage)}",
                        value: "{qr_path}",
                        oninput: move |e| qr_path.set(e.value()),
                    }
                    button {
                        class: "secondary",
                        id: "read-qr",
                        aria_label: "{t(Msg::ReadQr)}",
                        onclick: move |_| {
                            let path = qr_path.peek().trim().to_owned();
                            let services = s2.clone();
                            // File read and image decoding off the UI thread.
                            spawn(async move {
                                let read = tokio::task::spawn_blocking(move || {
                                    crate::qr::decode_file(std::path::Path::new(&path))
                                })
                                .await;
                                let next = match read {
                                    Ok(Ok(text)) => match resolve_link(&services, &text) {
                                        Ok((b, k)) => PairStep::Confirm(b, k),
                                        Err(f) => PairStep::Choose(Some(f)),
                                    },
                                    Ok(Err(e)) => {
                                        PairStep::Choose(Some(Failure::new(Msg::FailQr, e)))
                                    }
                                    Err(e) => PairStep::Choose(Some(Failure::new(Msg::FailQr, e))),
                                };
                                step.set(next);
                            });
                        },
                        "{t(Msg::ReadQr)}"
                    }
                }
                if has_tokens {
                    button {
                        class: "link",
                        id: "pair-back",
                        aria_label: "{t(Msg::Back)}",
                        onclick: move |_| route.set(Route::List),
                        "‹ {t(Msg::Back)}"
                    }
                }
            }
        }
        PairStep::Confirm(bank, key) => {
            let services = services.clone();
            rsx! {
                h2 { "{t(Msg::PairTitle)}" }
                div { class: "confirm", role: "dialog", aria_labelledby: "ask-pair",
                    p { id: "ask-pair", "{t(Msg::AskPair)}" }
                    p { class: "bank", id: "confirm-bank", "{bank.name}" }
                    p { class: "detail", "{bank.url}" }
                    div { class: "row",
                        button {
                            class: "secondary",
                            id: "pair-cancel",
                            aria_label: "{t(Msg::Cancel)}",
                            onclick: move |_| step.set(PairStep::Choose(None)),
                            "{t(Msg::Cancel)}"
                        }
                        button {
                            class: "primary",
                            id: "pair-go",
                            aria_label: "{t(Msg::PairNow)}",
                            // Keyboard users (and the e2e test) confirm with Enter.
                            onmounted: move |e: MountedEvent| async move {
                                let _ = e.set_focus(true).await;
                            },
                            onclick: move |_| {
                                let services = services.clone();
                                let (bank, key) = (bank.clone(), key.clone());
                                step.set(PairStep::Working(bank.name.clone()));
                                pairing.set(true);
                                // Stay here through the result even when the
                                // new token changes what the start screen is.
                                if *route.peek() == Route::Start {
                                    route.set(Route::Pair { link: None });
                                }
                                spawn(async move {
                                    let result = run_pairing(&services, &bank, &key).await;
                                    pairing.set(false);
                                    let next = match result {
                                        Ok(p) => {
                                            rev += 1;
                                            PairStep::Done(p)
                                        }
                                        Err(f) => PairStep::Failed(f, Some((bank, key))),
                                    };
                                    step.set(next);
                                });
                            },
                            "{t(Msg::PairNow)}"
                        }
                    }
                }
            }
        }
        PairStep::Working(name) => rsx! {
            h2 { "{t(Msg::PairTitle)}" }
            div { class: "progress", role: "status", aria_live: "polite", id: "pair-progress",
                div { class: "spinner", "aria-hidden": "true" }
                p { "{name}" }
                p { "{t(Msg::Pairing)}" }
            }
        },
        PairStep::Failed(f, retry) => rsx! {
            h2 { "{t(Msg::PairTitle)}" }
            div { class: "error", role: "alert", id: "pair-error",
                p { "{t(f.msg)}" }
                p { class: "detail", "{f.detail}" }
            }
            div { class: "row",
                button {
                    class: "secondary",
                    id: "pair-cancel",
                    aria_label: "{t(Msg::Back)}",
                    onclick: move |_| step.set(PairStep::Choose(None)),
                    "{t(Msg::Back)}"
                }
                if let Some((b, k)) = retry {
                    button {
                        class: "primary",
                        id: "pair-retry",
                        aria_label: "{t(Msg::TryAgain)}",
                        onclick: move |_| step.set(PairStep::Confirm(b.clone(), k.clone())),
                        "{t(Msg::TryAgain)}"
                    }
                }
            }
        },
        PairStep::Done(p) => {
            let gen = p.gen.clone();
            let serial = p.serial.clone();
            rsx! {
                h2 { id: "pair-done", "{t(Msg::PairDone)}" }
                p { class: "bank", "{p.bank_name}" }
                p { class: "serial-row",
                    span { class: "label", "{t(Msg::Serial)}" }
                    " "
                    span { class: "serial", id: "serial", "{p.serial.formatted()}" }
                }
                p { class: "label", "{t(Msg::Otp)}" }
                LiveCode { gen }
                if let Some(d) = p.clock_diff { ClockWarning { diff: d } }
                div { class: "next",
                    p { "{t(Msg::PairNextFirst)}" }
                    p { "{t(Msg::PairNextExchange)}" }
                    p { id: "bind-by", "{t(Msg::PairNextDeadline)}: {date_time(lang, p.bind_by)}" }
                }
                button {
                    class: "primary",
                    id: "show-token",
                    aria_label: "{t(Msg::ShowToken)}",
                    onmounted: move |e: MountedEvent| async move {
                        let _ = e.set_focus(true).await;
                    },
                    onclick: move |_| route.set(Route::Token(serial.clone())),
                    "{t(Msg::ShowToken)}"
                }
            }
        }
    };
    rsx! {
        section { class: "pair", {body} }
    }
}
