//! The state shared by every page handler.

use std::ops::Deref;
use std::sync::Arc;

use crate::credentials;
use crate::db::{Customer, Db, DbError};
use crate::login_limit::{LoginGuard, RateLimiter, PER_CLIENT, WINDOW};
use crate::pending::Pending;
use crate::token_service_client::TokenServiceClient;
use crate::{BankInfo, TxnAuth, WebConfig, WebError};

/// Shared state of all page handlers.
pub struct Inner {
    /// web.sqlite.
    pub db: Db,
    /// Client of the token service's back-end API.
    pub token_service: TokenServiceClient,
    /// Bank identity (pairing link).
    pub bank: BankInfo,
    /// Display name (page header).
    pub bank_name: Arc<str>,
    /// Honour `X-Test-Time`.
    pub test_clock: bool,
    /// Bank-wide 取引認証 mode.
    pub txn_auth: TxnAuth,
    /// Cookies carry `Secure` (bank URL is https).
    pub secure: bool,
    /// Codes waiting between steps (memory only).
    pub pending: Pending,
    /// Signs anonymous session cookies.
    pub cookie_key: crate::session::CookieKey,
    /// Login attempts per contract ID (reservation, delay, lock).
    pub login_guard: LoginGuard,
    /// Bounds concurrent Argon2 checks to the number of cores.
    pub argon2_permits: tokio::sync::Semaphore,
    /// Trusted proxies: `X-Forwarded-For` is believed only from these.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Password checks in flight (tests only).
    #[cfg(test)]
    pub checks: credentials::CheckCounter,
    /// Failed logins per client address.
    pub limit_client: RateLimiter,
    /// Hash verified for unknown contract IDs (equal timing).
    pub dummy_hash: String,
}

/// Cheap-to-clone handle on [`Inner`].
#[derive(Clone)]
pub struct WebState(Arc<Inner>);

impl Deref for WebState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("bank", &self.bank)
            .finish_non_exhaustive()
    }
}

impl WebState {
    /// Whether `c`'s transactions go through 取引認証: always under
    /// `required`, never under `off`, the customer's choice under
    /// `optional` (never chosen: no).
    pub async fn uses_txn_auth(&self, c: &Customer) -> Result<bool, DbError> {
        Ok(match self.txn_auth {
            TxnAuth::Required => true,
            TxnAuth::Off => false,
            TxnAuth::Optional => self
                .db
                .txn_auth_choice(&c.contract_id)
                .await?
                .unwrap_or(false),
        })
    }

    /// Opens storage and builds the state (blocking: call it outside the
    /// async workers; demo customers are created by [`crate::router`]).
    pub fn new(cfg: &WebConfig) -> Result<WebState, WebError> {
        let db = Db::open(&cfg.data_dir)?;
        let token_service = TokenServiceClient::new(&cfg.token_service_url, &cfg.api_key)?;
        let dummy_hash =
            credentials::hash_password("not a customer password").map_err(|_| WebError::Hashing)?;
        Ok(WebState(Arc::new(Inner {
            db,
            token_service,
            bank_name: Arc::from(cfg.bank.name.as_str()),
            secure: cfg.bank.url.starts_with("https://"),
            bank: cfg.bank.clone(),
            test_clock: cfg.test_clock,
            txn_auth: cfg.txn_auth,
            pending: Pending::default(),
            login_guard: LoginGuard::default(),
            cookie_key: crate::session::CookieKey::random(),
            argon2_permits: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            trusted_proxies: cfg.trusted_proxies.clone(),
            #[cfg(test)]
            checks: credentials::CheckCounter::default(),
            limit_client: RateLimiter::new(PER_CLIENT, WINDOW),
            dummy_hash,
        })))
    }
}
