//! # softtoken-webbank
//!
//! The demo web banking: server-rendered pages of the customer guide's
//! procedures. It talks to the token service only through the STK1
//! back-end API over HTTP with the API key, exactly as a real bank's web
//! banking would (server to server); it links none of the token service's
//! code.
//!
//! Screens (one module each): [`login`] (login, login OTP, logout),
//! [`start`] 利用開始, [`exchange`] 交換, [`stop`] 利用中止, [`account`]
//! (home, 振込, 収納サービスへの支払, login-OTP choice, OTP history).
//! Shared: [`layout`], [`i18n`], [`csrf`], [`session`], [`context`],
//! [`auth`], [`ratelimit`], [`pending`], [`store`], [`api`], [`clock`],
//! [`demo`], [`forms`].

#![forbid(unsafe_code)]

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

use axum::response::Redirect;
use axum::routing::{get, post};

pub mod account;
pub mod api;
pub mod auth;
pub mod clock;
pub mod context;
pub mod csrf;
pub mod demo;
pub mod exchange;
pub mod forms;
pub mod i18n;
pub mod layout;
pub mod login;
pub mod pending;
pub mod ratelimit;
pub mod session;
pub mod start;
pub mod stop;
pub mod store;
#[cfg(test)]
mod tests;

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

/// Everything web banking needs from the server's start-up.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The server's data directory (web banking keeps its own SQLite file there).
    pub data_dir: PathBuf,
    /// Base URL of the token service's back-end API (this same process).
    pub token_service_url: String,
    /// Bearer key for the back-end API (never logged).
    pub api_key: String,
    /// The bank's public identity.
    pub bank: BankInfo,
    /// Create demo customers if absent and print their credential lines.
    pub demo: bool,
    /// Honour `X-Test-Time` (forwarded to the back-end API).
    pub test_clock: bool,
}

/// Errors starting web banking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// Storage could not be opened.
    #[error("web banking storage: {0}")]
    Storage(String),
    /// The back-end API client could not be built.
    #[error("web banking back-end client: {0}")]
    Backend(#[from] api::ApiError),
}

/// Shared state of all page handlers.
pub struct Inner {
    /// web.sqlite.
    pub store: store::Store,
    /// Back-end API client.
    pub backend: api::Backend,
    /// Bank identity (pairing link).
    pub bank: BankInfo,
    /// Display name.
    pub bank_name: String,
    /// Honour `X-Test-Time`.
    pub test_clock: bool,
    /// Cookies carry `Secure` (bank URL is https).
    pub secure: bool,
    /// Codes waiting between steps (memory only).
    pub pending: pending::Pending,
    /// Failed logins per contract ID.
    pub limit_account: ratelimit::RateLimiter,
    /// Failed logins per client address.
    pub limit_client: ratelimit::RateLimiter,
    /// Hash verified for unknown contract IDs (equal timing).
    pub dummy_hash: String,
}

/// Cheap-to-clone handle on [`Inner`].
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("bank", &self.bank)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens storage and builds the state (demo customers are created by
    /// [`router`]).
    pub fn new(cfg: &WebConfig) -> Result<AppState, WebError> {
        let store =
            store::Store::open(&cfg.data_dir).map_err(|e| WebError::Storage(e.to_string()))?;
        let backend = api::Backend::new(&cfg.token_service_url, &cfg.api_key)?;
        let dummy_hash = auth::hash_password("not a customer password")
            .map_err(|_| WebError::Storage("password hashing failed".into()))?;
        Ok(AppState(Arc::new(Inner {
            store,
            backend,
            bank_name: cfg.bank.name.clone(),
            secure: cfg.bank.url.starts_with("https://"),
            bank: cfg.bank.clone(),
            test_clock: cfg.test_clock,
            pending: pending::Pending::default(),
            limit_account: ratelimit::RateLimiter::new(ratelimit::PER_ACCOUNT, ratelimit::WINDOW),
            limit_client: ratelimit::RateLimiter::new(ratelimit::PER_CLIENT, ratelimit::WINDOW),
            dummy_hash,
        })))
    }
}

/// Builds the web-banking router: every route except `/v1/*`.
pub async fn router(cfg: WebConfig) -> Result<axum::Router, WebError> {
    let state = tokio::task::spawn_blocking(move || -> Result<AppState, WebError> {
        let state = AppState::new(&cfg)?;
        if cfg.demo {
            for (id, pw) in demo::ensure(&state.store, &cfg.data_dir)? {
                println!("demo customer: contract_id={id} password={pw}");
            }
        }
        Ok(state)
    })
    .await
    .map_err(|e| WebError::Storage(format!("start-up task: {e}")))??;
    Ok(routes(state))
}

/// The routes over a built state.
pub fn routes(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/login") }))
        .route("/login", get(login::show).post(login::submit))
        .route("/login/otp", get(login::show_otp).post(login::submit_otp))
        .route("/logout", post(login::logout))
        .route("/start", get(start::show_auth).post(start::submit_auth))
        .route(
            "/start/register",
            get(start::show_register).post(start::submit_register),
        )
        .route("/start/result", get(start::show_result))
        .route(
            "/exchange",
            get(exchange::show_auth).post(exchange::submit_auth),
        )
        .route(
            "/exchange/old",
            get(exchange::show_old).post(exchange::submit_old),
        )
        .route(
            "/exchange/new",
            get(exchange::show_new).post(exchange::submit_new),
        )
        .route("/exchange/result", get(exchange::show_result))
        .route("/stop", get(stop::show_auth).post(stop::submit_auth))
        .route("/stop/otp", get(stop::show_otp).post(stop::submit_otp))
        .route(
            "/stop/confirm",
            get(stop::show_confirm).post(stop::submit_confirm),
        )
        .route("/stop/result", get(stop::show_result))
        .route("/account", get(account::home))
        .route(
            "/account/transfer",
            get(account::show_transfer).post(account::submit_transfer),
        )
        .route(
            "/account/payment",
            get(account::show_payment).post(account::submit_payment),
        )
        .route(
            "/account/settings",
            get(account::show_settings).post(account::submit_settings),
        )
        .route("/account/history", get(account::history))
        .route("/account/done", get(account::done))
        .with_state(state)
}
