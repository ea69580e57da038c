//! # softtoken-webbank
//!
//! The demo web banking of the bank reference server: server-rendered
//! pages (maud) of the guide's procedures 利用開始, 交換 and 利用中止, the
//! login with its optional one-time password, and a small account area
//! (振込, 収納サービスへの支払, the login-OTP choice, the OTP history).
//!
//! Web banking talks to the token service only through the STK1 back-end
//! API over HTTP with the API key ([`token_service_client`]), exactly as a
//! real bank's web banking would (server to server), and keeps its own
//! data in its own SQLite file ([`db`]); it links none of the token
//! service's code. The binary mounts [`router`] next to the token
//! service's `/v1` routes. Design notes: `docs/web-banking.md`.
//!
//! * Screens: [`pages`] — one module per screen family; the procedures
//!   share one shape ([`pages::procedure`]), 振込 and 収納サービスへの支払
//!   share one transaction flow ([`pages::transaction`]).
//! * Request plumbing: [`session`] (cookie and the session layer),
//!   [`request`] (`PageCtx`, `LoggedIn`, `CsrfForm`), [`page`] (`Page`,
//!   `PageError`), [`security`] (the security-headers layer), [`csrf`].
//! * Building blocks: [`web_state`] (the handlers' shared state),
//!   [`layout`], [`forms`], [`i18n`], [`display_clock`], [`credentials`]
//!   and [`login_limit`], [`pending`], [`demo`].
//! * The staff console (`/staff`, only with `serve --staff-password-file`):
//!   [`staff`] (its own login, cookie and CSRF), [`staff_client`] (the
//!   token service's operations scope), screens in [`pages::staff`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// The workspace lints deny unwrap/expect everywhere; unit tests may use them.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::PathBuf;

use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};
pub use softtoken_core::stk1::api_key::ApiKey;

pub mod credentials;
pub mod csrf;
pub mod db;
pub mod demo;
pub mod display_clock;
pub mod forms;
pub mod i18n;
pub mod layout;
pub mod login_limit;
pub mod page;
pub mod pages;
pub mod pending;
pub mod request;
pub mod security;
pub mod session;
pub mod staff;
pub mod staff_client;
#[cfg(test)]
mod staff_tests;
#[cfg(test)]
mod tests;
pub mod token_service_client;
pub mod web_state;

pub use web_state::WebState;

use pages::{account, exchange, login, procedure, start, stop, transaction, txn_auth};

/// The bank's public identity (from `softtoken-bank profile`).
#[derive(Debug, Clone)]
pub struct BankInfo {
    /// Bank id used in the pairing link.
    pub bank_id: String,
    /// Display name.
    pub name: String,
    /// Token-service base URL, e.g. `http://127.0.0.1:8700`.
    pub url: String,
    /// Current server key id.
    pub server_key_id: String,
}

/// Bank-wide 取引認証 mode of 《振込》 and 《収納サービスへの支払》
/// (`serve --txn-auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TxnAuth {
    /// Every transaction is approved in the app (or with the offline
    /// 取引認証番号) after 確認; no plain code.
    #[default]
    Required,
    /// Each customer chooses in 設定 (never chosen: code only).
    Optional,
    /// The code-only flow: the current one-time password with the form.
    Off,
}

/// Everything web banking needs from the server's start-up. Its `Debug`
/// shows no key ([`ApiKey`] is redacted).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The server's data directory (web banking keeps its own SQLite file there).
    pub data_dir: PathBuf,
    /// Base URL of the token service's back-end API (this same process).
    pub token_service_url: String,
    /// Bearer key for the back-end API (redacted in `Debug`, never logged).
    pub api_key: ApiKey,
    /// The bank's public identity.
    pub bank: BankInfo,
    /// Create demo customers if absent and print their credential lines.
    pub demo: bool,
    /// Honour `X-Test-Time` (forwarded to the back-end API).
    pub test_clock: bool,
    /// 取引認証 mode of transactions.
    pub txn_auth: TxnAuth,
    /// Proxies whose `X-Forwarded-For` names the client (the login
    /// limit's client key); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The staff console; `None`: off (`/staff` answers 404).
    pub staff: Option<staff::StaffConfig>,
}

/// Errors starting web banking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// `web.sqlite` could not be opened or written.
    #[error(transparent)]
    Storage(#[from] db::DbError),
    /// The back-end API client could not be built.
    #[error("web banking back-end client: {0}")]
    Backend(#[from] token_service_client::TokenServiceError),
    /// A password could not be hashed.
    #[error("web banking: password hashing failed")]
    Hashing,
    /// The demo credentials file could not be written.
    #[error("web banking: {}: {source}", demo::FILE)]
    DemoFile {
        /// Cause.
        source: std::io::Error,
    },
    /// The start-up task did not finish.
    #[error("web banking: the start-up task did not finish")]
    StartUp,
    /// The staff password could not be set up.
    #[error(transparent)]
    Staff(#[from] staff::StaffError),
}

/// Builds the web-banking router: every route except `/v1/*`. Opens
/// `web.sqlite` and, with `demo`, creates the demo customers and prints
/// their `demo customer: contract_id=… password=…` lines (on the blocking
/// pool). With `staff`, the staff console is mounted under `/staff`.
pub async fn router(cfg: WebConfig) -> Result<axum::Router, WebError> {
    let console = match &cfg.staff {
        Some(s) => Some(std::sync::Arc::new(staff::StaffConsole::new(
            s,
            &cfg.token_service_url,
        )?)),
        None => None,
    };
    let state = tokio::task::spawn_blocking(move || -> Result<WebState, WebError> {
        let state = WebState::new(&cfg)?;
        if cfg.demo {
            for (id, pw) in demo::ensure(&state.db.blocking(), &cfg.data_dir)? {
                println!("demo customer: contract_id={id} password={pw}");
            }
        }
        Ok(state)
    })
    .await
    .map_err(|_| WebError::StartUp)??;
    Ok(routes_with_staff(state, console))
}

/// The routes over a built state, with the session layer and the
/// security-headers layer around every one (no staff console).
pub fn routes(state: WebState) -> axum::Router {
    routes_with_staff(state, None)
}

/// [`routes`] and, with `console`, the staff console under `/staff`
/// (its own session handling instead of the customers' layer; the same
/// security headers).
pub fn routes_with_staff(
    state: WebState,
    console: Option<std::sync::Arc<staff::StaffConsole>>,
) -> axum::Router {
    let staff = match console {
        Some(console) => pages::staff::routes(staff::StaffApp {
            web: state.clone(),
            console,
        }),
        None => axum::Router::new(),
    };
    customer_routes(state)
        .merge(staff)
        .layer(middleware::from_fn(security::headers))
}

fn customer_routes(state: WebState) -> axum::Router {
    use exchange::Exchange;
    use start::Start;
    use stop::Stop;
    use transaction::{Payment, Transfer};
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/login") }))
        .route("/login", get(login::show).post(login::submit))
        .route("/login/otp", get(login::show_otp).post(login::submit_otp))
        .route("/logout", post(login::logout))
        .route(
            "/start",
            get(procedure::show_auth::<Start>).post(procedure::submit_auth::<Start>),
        )
        .route(
            "/start/register",
            get(start::show_register).post(start::submit_register),
        )
        .route("/start/result", get(procedure::show_result::<Start>))
        .route(
            "/exchange",
            get(procedure::show_auth::<Exchange>).post(procedure::submit_auth::<Exchange>),
        )
        .route(
            "/exchange/old",
            get(exchange::show_old).post(exchange::submit_old),
        )
        .route(
            "/exchange/new",
            get(exchange::show_new).post(exchange::submit_new),
        )
        .route("/exchange/result", get(procedure::show_result::<Exchange>))
        .route(
            "/stop",
            get(procedure::show_auth::<Stop>).post(procedure::submit_auth::<Stop>),
        )
        .route("/stop/otp", get(stop::show_otp).post(stop::submit_otp))
        .route(
            "/stop/confirm",
            get(stop::show_confirm).post(stop::submit_confirm),
        )
        .route("/stop/result", get(procedure::show_result::<Stop>))
        .route("/account", get(account::home))
        .route(
            "/account/transfer",
            get(transaction::show::<Transfer>).post(transaction::submit::<Transfer>),
        )
        .route(
            "/account/payment",
            get(transaction::show::<Payment>).post(transaction::submit::<Payment>),
        )
        .route(
            "/account/settings",
            get(account::show_settings).post(account::submit_settings),
        )
        .route("/account/history", get(account::history))
        .route(
            "/account/transfer/confirm",
            get(txn_auth::show_confirm::<Transfer>).post(txn_auth::submit_confirm::<Transfer>),
        )
        .route(
            "/account/payment/confirm",
            get(txn_auth::show_confirm::<Payment>).post(txn_auth::submit_confirm::<Payment>),
        )
        .route("/account/txn", get(txn_auth::show))
        .route("/account/txn/check", post(txn_auth::check))
        .route("/account/txn/offline", post(txn_auth::offline))
        .route("/account/txn/status", get(txn_auth::status))
        .route(txn_auth::SCRIPT_PATH, get(txn_auth::script))
        .route("/account/done", get(transaction::done))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ))
        .with_state(state)
}
