//! The transaction screen (STK1-TXN 取引認証): the bank's pending
//! transactions of one token, shown exactly as the bank signed them, with
//! 「承認」 and 「拒否」.
//!
//! Contracts:
//! * it polls once when opened and then every 5 s for 3 minutes while it
//!   is shown, restarted by the app coming to the foreground or a
//!   `softtoken://txn` link for its token ([`triggers`]); never while the
//!   app is hidden, never when it is not shown (the task ends with the
//!   screen); one request at a time in the whole app;
//! * a transaction is shown as approvable only after
//!   `WireTransaction::verify` passed (bank MAC, keys and values, lifetime,
//!   not expired by the bank's `server_time`); any failure shows a plain
//!   error and no decision buttons. The time left is counted on the bank's
//!   clock: `server_time` plus the app-clock seconds since the answer;
//! * 「拒否」 asks once more before the rejection is sent;
//! * the token secret is read from the keystore for each request, the key
//!   derived, used and dropped; nothing about a transaction is logged.
use crate::i18n::Msg;
use crate::services::bank::ClientError;
use crate::services::store::blocking;
use crate::services::{Services, StoreError};
use crate::ui::state::{
    use_language, use_navigation, use_services, use_ticker, use_token_list, Route,
};
use crate::ui::widgets::Button;
use dioxus::prelude::*;
use softtoken_core::txn::amount::{yen_en, yen_ja};
use softtoken_core::txn::wire::{DecisionRequest, TxnState};
use softtoken_core::txn::{derive_txn_keys, field_label, Decision, Transaction, TxnKey};
use softtoken_core::Serial;
use triggers::{run_watch, use_txn_triggers, SetAside, Step, TxnTriggers, Wake, Watcher};

pub mod triggers;

/// Seconds between polls while the screen is shown.
pub const POLL_EVERY_SECS: u64 = 5;
/// How long the screen keeps polling after it was opened, in seconds.
pub const POLL_FOR_SECS: u64 = 180;

/// The last poll's outcome.
#[derive(Clone)]
pub(crate) enum Polled {
    /// The first pending transaction, verified; the bank's clock and the
    /// app's clock at the answer.
    Shown {
        tx: Transaction,
        server_time: u64,
        app_time: u64,
    },
    /// The bank sent a transaction that failed verification.
    Invalid,
    /// Nothing pending.
    Nothing,
    /// The bank has no transaction confirmation.
    NotSupported,
    /// The poll failed (network, refusal, keystore).
    Failed,
}

/// Reads the token key and derives `K_TXN` (off the UI thread).
async fn txn_key(
    store: &std::sync::Arc<dyn crate::services::TokenStore>,
    serial: &Serial,
) -> Result<TxnKey, StoreError> {
    let serial = serial.clone();
    blocking(store, move |s| {
        let secret = s.secret(&serial)?;
        Ok(derive_txn_keys(&secret, &serial).0)
    })
    .await
}

/// One poll of `serial`'s pending transactions, the first one verified.
async fn poll_once(services: &Services, url: &str, serial: &Serial) -> Polled {
    let key = match txn_key(&services.store, serial).await {
        Ok(k) => k,
        Err(_) => return Polled::Failed,
    };
    let nonce = softtoken_client::fresh_nonce();
    let t = services.clock.now_unix();
    match services
        .bank
        .poll_pending(url, serial, &key, t, nonce)
        .await
    {
        Ok(r) => match r.transactions.first() {
            None => Polled::Nothing,
            Some(w) => match w.verify(&key, serial, r.server_time) {
                Ok(tx) => Polled::Shown {
                    tx,
                    server_time: r.server_time,
                    app_time: services.clock.now_unix(),
                },
                Err(_) => Polled::Invalid,
            },
        },
        Err(ClientError::TxnNotSupported) => Polled::NotSupported,
        Err(_) => Polled::Failed,
    }
}

/// Watches `serial`'s pending transactions while the calling screen (the
/// token screen) is shown: a poll when it opens, then every 5 s for 3
/// minutes, restarted by a wake ([`triggers`]: foreground), never while the
/// app is hidden, one request at a time in the whole app; a pending
/// transaction (or one that failed verification, to warn) opens the
/// transaction screen. A bank without the extension ends the window.
/// `url` is the token's bank.
pub fn use_txn_watch(serial: Serial, url: Option<String>) {
    let services = use_services();
    let nav = use_navigation();
    let triggers = use_txn_triggers();
    let _watch = use_future(move || {
        let serial = serial.clone();
        let services = services.clone();
        let triggers = triggers.clone();
        let url = url.clone();
        async move {
            let Some(url) = url else { return };
            let watcher = TokenWatch {
                nav,
                serial: serial.clone(),
                triggers: triggers.clone(),
            };
            run_watch(services, triggers, url, serial, watcher).await;
        }
    });
}

/// The token screen's side of the polling loop.
struct TokenWatch {
    nav: crate::ui::state::Navigation,
    serial: Serial,
    triggers: TxnTriggers,
}

impl Watcher for TokenWatch {
    fn woken(&mut self, _: Wake) -> bool {
        true
    }

    fn polled(&mut self, outcome: Polled) -> Step {
        match outcome {
            Polled::Shown { ref tx, .. }
                if self
                    .triggers
                    .is_set_aside(&self.serial, SetAside::Pending(*tx.txn_id())) =>
            {
                Step::Continue
            }
            Polled::Invalid if self.triggers.is_set_aside(&self.serial, SetAside::Invalid) => {
                Step::Continue
            }
            Polled::Shown { .. } | Polled::Invalid => {
                self.nav.go(Route::Transaction(self.serial.clone()));
                Step::EndWindow
            }
            Polled::NotSupported => Step::EndWindow,
            Polled::Nothing | Polled::Failed => Step::Continue,
        }
    }
}

/// The transaction screen's side of the polling loop: no poll once the
/// customer decided; a foreground wake after a decision keeps the result
/// on the screen, a link for this token starts the screen afresh.
struct ScreenWatch {
    polled: Signal<Option<Polled>>,
    decided: Signal<Option<Result<TxnState, ()>>>,
    asking_reject: Signal<bool>,
}

impl Watcher for ScreenWatch {
    fn may_poll(&mut self) -> bool {
        self.decided.peek().is_none()
    }

    fn woken(&mut self, by: Wake) -> bool {
        match by {
            Wake::Foreground => self.decided.peek().is_none(),
            Wake::Link => {
                if self.decided.peek().is_some() {
                    self.decided.set(None);
                    self.polled.set(None);
                    self.asking_reject.set(false);
                }
                true
            }
        }
    }

    fn polled(&mut self, outcome: Polled) -> Step {
        let stop = matches!(outcome, Polled::NotSupported);
        // Keep a shown transaction while the customer decides.
        let keep = matches!(*self.polled.peek(), Some(Polled::Shown { .. }))
            && matches!(outcome, Polled::Failed);
        if !keep {
            self.polled.set(Some(outcome));
        }
        if stop {
            Step::EndWindow
        } else {
            Step::Continue
        }
    }
}

/// The transaction screen for `serial`.
#[component]
pub fn TransactionScreen(serial: Serial) -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let services = use_services();
    let ticker = use_ticker();
    let tokens = use_token_list();
    let url = tokens.find(&serial).map(|m| m.url);
    let polled = use_signal(|| None::<Polled>);
    let mut asking_reject = use_signal(|| false);
    let mut decided = use_signal(|| None::<Result<TxnState, ()>>);
    let mut sending = use_signal(|| false);
    let triggers = use_txn_triggers();
    let back_triggers = triggers.clone();
    let _poller = use_future({
        let serial = serial.clone();
        let services = services.clone();
        let url = url.clone();
        move || {
            let serial = serial.clone();
            let services = services.clone();
            let triggers = triggers.clone();
            let url = url.clone();
            async move {
                let Some(url) = url else { return };
                let watcher = ScreenWatch {
                    polled,
                    decided,
                    asking_reject,
                };
                run_watch(services, triggers, url, serial, watcher).await;
            }
        }
    });
    let decide = {
        let serial = serial.clone();
        let services = services.clone();
        let url = url.clone();
        move |decision: Decision| {
            let Some(Polled::Shown { tx, .. }) = polled.peek().clone() else {
                return;
            };
            let Some(url) = url.clone() else { return };
            if *sending.peek() {
                return;
            }
            sending.set(true);
            let serial = serial.clone();
            let services = services.clone();
            spawn(async move {
                let result = match txn_key(&services.store, &serial).await {
                    Err(_) => Err(()),
                    Ok(key) => {
                        let req = DecisionRequest::new(&key, &tx, decision);
                        drop(key);
                        services
                            .bank
                            .decide(&url, &serial, tx.txn_id(), &req)
                            .await
                            .map(|r| r.state)
                            .map_err(|_| ())
                    }
                };
                sending.set(false);
                decided.set(Some(result));
            });
        }
    };
    let mut approve = decide.clone();
    let mut reject = decide;
    let back_serial = serial.clone();
    let l = lang.get();
    let body = match (decided(), polled()) {
        (Some(Ok(state)), _) => {
            let msg = if state == TxnState::Approved {
                Msg::TxnApproved
            } else {
                Msg::TxnRejected
            };
            rsx! {
                p { class: "result", id: "txn-result", role: "status", {lang.t(msg)} }
                p { class: "hint", id: "txn-return", {lang.t(Msg::TxnReturnToWeb)} }
            }
        }
        (Some(Err(())), _) => rsx! {
            p { class: "error", id: "txn-send-failed", role: "alert", {lang.t(Msg::TxnSendFailed)} }
        },
        (None, None) => rsx! {
            p { class: "loading", role: "status", {lang.t(Msg::Loading)} }
        },
        (None, Some(Polled::Nothing)) => rsx! {
            p { id: "txn-none", role: "status", {lang.t(Msg::TxnNone)} }
        },
        (None, Some(Polled::NotSupported)) => rsx! {
            p { id: "txn-unsupported", role: "status", {lang.t(Msg::TxnNotSupported)} }
        },
        (None, Some(Polled::Failed)) => rsx! {
            p { class: "error", id: "txn-failed", role: "alert", {lang.t(Msg::TxnPollFailed)} }
        },
        (None, Some(Polled::Invalid)) => rsx! {
            p { class: "error", id: "txn-invalid", role: "alert", {lang.t(Msg::TxnInvalid)} }
        },
        (
            None,
            Some(Polled::Shown {
                tx,
                server_time,
                app_time,
            }),
        ) => {
            let bank_now = server_time + ticker.now().saturating_sub(app_time);
            let left = tx.seconds_left(bank_now);
            let expired = tx.is_expired(bank_now);
            let kind = match l {
                crate::i18n::Lang::Ja => tx.kind().label_ja(),
                crate::i18n::Lang::En => tx.kind().label_en(),
            };
            let amount = match l {
                crate::i18n::Lang::Ja => yen_ja(tx.amount()),
                crate::i18n::Lang::En => yen_en(tx.amount()),
            };
            let rows: Vec<(String, String, String)> = tx
                .fields()
                .iter()
                .filter(|(k, _)| k != "amount")
                .map(|(k, v)| {
                    let (ja, en) = field_label(k).unwrap_or(("", ""));
                    let label = match l {
                        crate::i18n::Lang::Ja => ja,
                        crate::i18n::Lang::En => en,
                    };
                    (format!("txn-{k}"), label.to_owned(), v.clone())
                })
                .collect();
            let left_text = crate::i18n::seconds_left(l, left);
            rsx! {
                h3 { id: "txn-kind", "{kind}" }
                dl { class: "txn-fields",
                    for (id, label, value) in rows {
                        dt { "{label}" }
                        dd { id: "{id}", "{value}" }
                    }
                }
                p { class: "label", {lang.t(Msg::TxnAmount)} }
                p { class: "amount", id: "txn-amount", aria_label: "{amount}", "{amount}" }
                if expired {
                    p { class: "error", id: "txn-expired", role: "alert", {lang.t(Msg::TxnExpired)} }
                } else {
                    p { class: "seconds", id: "txn-left", role: "timer", "{left_text}" }
                    if asking_reject() {
                        p { id: "txn-reject-ask", role: "alert", {lang.t(Msg::TxnRejectAsk)} }
                        Button {
                            msg: Msg::TxnRejectConfirm,
                            id: "txn-reject-confirm",
                            class: "danger",
                            disabled: sending(),
                            onclick: move |_| reject(Decision::Reject),
                        }
                        Button {
                            msg: Msg::Cancel,
                            id: "txn-reject-cancel",
                            class: "secondary",
                            onclick: move |_| asking_reject.set(false),
                        }
                    } else {
                        Button {
                            msg: Msg::TxnApprove,
                            id: "txn-approve",
                            class: "primary",
                            disabled: sending(),
                            onclick: move |_| approve(Decision::Approve),
                        }
                        Button {
                            msg: Msg::TxnReject,
                            id: "txn-reject",
                            class: "secondary",
                            disabled: sending(),
                            onclick: move |_| asking_reject.set(true),
                        }
                    }
                }
            }
        }
    };
    rsx! {
        section { class: "transaction", aria_labelledby: "txn-title",
            Button {
                msg: Msg::Back,
                id: "txn-back",
                class: "link back",
                back: true,
                onclick: move |_| {
                    // Leaving undecided sets the transaction aside: the
                    // token screen does not open it again by itself.
                    if decided.peek().is_none() {
                        let what = match &*polled.peek() {
                            Some(Polled::Shown { tx, .. }) => Some(SetAside::Pending(*tx.txn_id())),
                            Some(Polled::Invalid) => Some(SetAside::Invalid),
                            _ => None,
                        };
                        if let Some(what) = what {
                            back_triggers.set_aside(&back_serial, what);
                        }
                    }
                    nav.go(Route::Token(back_serial.clone()))
                },
            }
            h2 { id: "txn-title", {lang.t(Msg::TxnTitle)} }
            {body}
        }
    }
}
