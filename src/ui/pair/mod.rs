//! The pairing screen: scan the QR code, choose a bank (or open a
//! `softtoken://pair` link or a QR image), confirm, pair, and see the
//! serial, the code and what to do next in web banking. One component per
//! step; the pairing itself is [`crate::services::pairing`], the picture
//! inputs [`crate::services::scanner`].
pub mod choose;
pub mod confirm;
pub mod done;
pub mod failed;
pub mod scan;
pub mod working;

use crate::i18n::Msg;
use crate::qr::QrError;
use crate::services::pairing::{pair, resolve_link, Paired, PairingError, Target};
use crate::services::{ClientError, DirectoryError};
use crate::ui::state::{use_language, use_navigation, use_services, use_token_list};
use choose::ChooseStep;
use confirm::ConfirmStep;
use dioxus::prelude::*;
use done::DoneStep;
use failed::FailedStep;
use softtoken_core::stk1::ErrorCode;
use working::WorkingStep;

/// Steps of the pairing screen.
#[derive(Clone)]
pub enum PairStep {
    /// Choose a bank, paste a link or read a QR image; after a refused
    /// link, why it was refused.
    Choose(Option<PairingError>),
    /// Asks the person before anything is sent to the bank.
    Confirm(Target),
    /// Talking to the bank (the bank's name).
    Working(String),
    /// Paired.
    Done(Paired),
    /// The pairing failed; the target to try again with, if any.
    Failed(PairingError, Option<Target>),
}

impl PairStep {
    /// The step after a link was resolved: confirm it, or say why not.
    pub fn from_link(resolved: Result<Target, PairingError>) -> PairStep {
        match resolved {
            Ok(target) => PairStep::Confirm(target),
            Err(e) => PairStep::Choose(Some(e)),
        }
    }
}

/// The customer's words for a pairing failure.
pub fn failure_msg(e: &PairingError) -> Msg {
    match e {
        PairingError::Link(_) => Msg::FailLink,
        PairingError::Directory(DirectoryError::UnknownBank { .. }) => Msg::FailUnknownBank,
        PairingError::Directory(DirectoryError::KeyNotPinned { .. }) => Msg::FailKeyNotPinned,
        PairingError::Directory(DirectoryError::UrlMismatch { .. }) => Msg::FailUrlMismatch,
        PairingError::Directory(_) => Msg::FailLink,
        PairingError::Qr(e) => qr_msg(e),
        PairingError::Bank(c) => client_msg(c),
        PairingError::Token(_) => Msg::FailProtocol,
        PairingError::Store(_) => Msg::FailStore,
    }
}

/// The customer's words for a picture that gave no pairing link.
pub fn qr_msg(e: &QrError) -> Msg {
    match e {
        QrError::NotAnImage => Msg::FailQrNotImage,
        QrError::TooLarge => Msg::FailQrTooLarge,
        QrError::NotALink => Msg::FailQrNotLink,
        QrError::NoImage => Msg::FailQrNoImage,
        _ => Msg::FailQr,
    }
}

/// The customer's words for an error of the bank's token service.
pub fn client_msg(e: &ClientError) -> Msg {
    match e {
        ClientError::Network(_) => Msg::FailNetwork,
        ClientError::Refused {
            code: ErrorCode::SessionExpired,
        } => Msg::FailSessionExpired,
        ClientError::Refused {
            code: ErrorCode::UnknownKeyId | ErrorCode::ConfirmFailed,
        } => Msg::FailNotTheBank,
        ClientError::Refused { .. } => Msg::FailRefused,
        ClientError::NotTheBank => Msg::FailNotTheBank,
        _ => Msg::FailProtocol,
    }
}

/// A failure in the customer's words, with the technical detail for
/// support (no secret in it).
#[component]
pub fn FailureBox(error: PairingError) -> Element {
    let lang = use_language();
    rsx! {
        div { class: "error", id: "pair-error", role: "alert",
            p { "{lang.t(failure_msg(&error))}" }
            p { class: "detail", "{error}" }
        }
    }
}

/// The pairing screen; `link` starts from a `softtoken://pair` link.
#[component]
pub fn PairScreen(link: Option<String>) -> Element {
    let services = use_services();
    let nav = use_navigation();
    let tokens = use_token_list();
    let mut step = use_signal({
        let services = services.clone();
        move || match link {
            None => PairStep::Choose(None),
            Some(l) => PairStep::from_link(resolve_link(&services, &l)),
        }
    });
    // Runs in this screen's scope, so the pairing goes on when the
    // confirmation step it came from is replaced by the progress step.
    let on_confirm = move |(bank, key): Target| {
        let services = services.clone();
        step.set(PairStep::Working(bank.name.clone()));
        tokens.set_pairing(true);
        nav.stay_on_pairing();
        spawn(async move {
            let result = pair(&services, &bank, &key).await;
            tokens.set_pairing(false);
            let next = match result {
                Ok(p) => {
                    tokens.reload();
                    PairStep::Done(p)
                }
                Err(e) => PairStep::Failed(e, Some((bank, key))),
            };
            step.set(next);
        });
    };
    // Kept across steps, so "Cancel" comes back to what was typed.
    let link_text = use_signal(String::new);
    let qr_path = use_signal(String::new);
    let body = match step() {
        PairStep::Choose(error) => rsx! {
            ChooseStep { step, error, link_text, qr_path }
        },
        PairStep::Confirm((bank, pinned)) => rsx! {
            ConfirmStep { step, bank, pinned, on_confirm }
        },
        PairStep::Working(bank_name) => rsx! {
            WorkingStep { bank_name }
        },
        PairStep::Done(paired) => rsx! {
            DoneStep { paired }
        },
        PairStep::Failed(error, retry) => rsx! {
            FailedStep { step, error, retry }
        },
    };
    rsx! {
        section { class: "pair", {body} }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_by_their_code() {
        let refused = |code| PairingError::Bank(ClientError::Refused { code });
        assert_eq!(
            failure_msg(&refused(ErrorCode::SessionExpired)),
            Msg::FailSessionExpired
        );
        for code in [ErrorCode::UnknownKeyId, ErrorCode::ConfirmFailed] {
            assert_eq!(failure_msg(&refused(code)), Msg::FailNotTheBank);
        }
        assert_eq!(
            failure_msg(&refused(ErrorCode::RateLimited)),
            Msg::FailRefused
        );
        assert_eq!(
            failure_msg(&PairingError::Bank(ClientError::Network("down".into()))),
            Msg::FailNetwork
        );
    }
}
