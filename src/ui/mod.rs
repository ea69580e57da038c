//! The screens of the app and the root component that routes between them.
pub mod app;
pub mod bank_status;
pub mod details;
pub mod pair;
pub mod problem;
pub mod token;
pub mod tokens;
pub mod widgets;

pub use app::{App, AppCtx, Route, StartOptions};
