//! The root component: provides the shared state ([`crate::ui::state`]),
//! runs the recovery of interrupted pairings and shows the current route.
use crate::i18n::{Lang, Msg};
use crate::ui::details::DetailsScreen;
use crate::ui::notices::RecoveryNotices;
use crate::ui::offline::OfflineCodeScreen;
use crate::ui::pair::PairScreen;
use crate::ui::problem::StoreProblem;
use crate::ui::state::{use_services, Language, Navigation, Route, Ticker, TokenList};
use crate::ui::token::TokenScreen;
use crate::ui::tokens::TokensScreen;
use crate::ui::transaction::triggers::{provide_txn_triggers, TxnLinks};
use crate::ui::transaction::TransactionScreen;
use crate::ui::widgets::{Loading, COUNTDOWN_CSS};
use dioxus::prelude::*;

/// The app's stylesheet, inlined so a bare binary needs no asset folder.
pub const CSS: &str = include_str!("../../assets/app.css");

/// How the app starts (root context, from the command line or a test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOptions {
    /// Display language.
    pub lang: Lang,
    /// Open the pairing screen with this link.
    pub pair_link: Option<String>,
}

/// The root component. Needs the root contexts
/// [`Services`](crate::services::Services) and [`StartOptions`]; takes
/// [`TxnTriggers`](crate::ui::transaction::triggers::TxnTriggers) from the
/// root when given (OS links, foreground and visibility events).
#[component]
pub fn App() -> Element {
    let services = use_services();
    let start = use_context::<StartOptions>();
    let route = use_signal(|| match start.pair_link.clone() {
        Some(link) => Route::Pair { link: Some(link) },
        None => Route::Start,
    });
    let lang = Language::provide(start.lang);
    provide_txn_triggers();
    Ticker::provide(services.clock.clone());
    // At start with a single token, its generator is read with the list.
    let tokens = TokenList::provide(services.store.clone(), move || {
        *route.peek() == Route::Start
    });
    let nav = Navigation::provide(route, tokens);
    let body = match (tokens.loaded(), nav.shown()) {
        (Some(Err(e)), _) => rsx! { StoreProblem { error: e } },
        (None, _) | (_, Route::Start) => rsx! { Loading {} },
        (Some(Ok(_)), Route::List) => rsx! { TokensScreen {} },
        (Some(Ok(_)), Route::Token(serial)) => {
            rsx! { TokenScreen { key: "{serial.as_str()}", serial } }
        }
        (Some(Ok(_)), Route::Details(serial)) => {
            rsx! { DetailsScreen { key: "{serial.as_str()}", serial } }
        }
        (Some(Ok(_)), Route::Pair { link }) => rsx! { PairScreen { link } },
        (Some(Ok(_)), Route::Transaction(serial)) => {
            rsx! { TransactionScreen { key: "{serial.as_str()}", serial } }
        }
        (Some(Ok(_)), Route::OfflineCode(serial)) => {
            rsx! { OfflineCodeScreen { key: "{serial.as_str()}", serial } }
        }
    };
    let current = lang.get();
    rsx! {
        style { {CSS} {COUNTDOWN_CSS} }
        div { class: "app", lang: "{current.tag()}",
            header { class: "bar",
                h1 { {lang.t(Msg::AppTitle)} }
                button {
                    class: "lang",
                    id: "lang-switch",
                    lang: "{current.other().tag()}",
                    aria_label: "{lang.t(Msg::SwitchLanguage)}",
                    onclick: move |_| lang.switch(),
                    {lang.t(Msg::SwitchLanguage)}
                }
            }
            RecoveryNotices {}
            TxnLinks {}
            main { {body} }
        }
    }
}
