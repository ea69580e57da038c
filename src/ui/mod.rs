//! The screens of the app, the state they share and the root component
//! that routes between them.
//!
//! * [`state`]: one context per concern (services, navigation, ticker,
//!   token list, language) with its `use_*` hook;
//! * [`app`]: the root, which provides them;
//! * one module per screen ([`token`], [`tokens`], [`details`], [`pair`],
//!   [`problem`]) and the recovery [`notices`];
//! * [`widgets`]: building blocks shared by the screens.
pub mod app;
pub mod bank_status;
pub mod details;
pub mod notices;
pub mod offline;
pub mod pair;
pub mod problem;
#[cfg(any(feature = "desktop", feature = "testing", test))]
pub mod qa;
pub mod state;
pub mod token;
pub mod tokens;
pub mod transaction;
pub mod widgets;

pub use app::{App, StartOptions};
pub use state::Route;
