//! Web banking (server-rendered pages of the guide's procedures).
//!
//! INTERFACE CONTRACT between the token service (main.rs, owner: bank-api)
//! and web banking (this module, owner: bank-web). Web banking talks to the
//! token service only through the STK1 back-end API over HTTP with the API
//! key, exactly as a real bank's web banking would (server to server).

use std::path::PathBuf;

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
}

/// Builds the web-banking router: every route except `/v1/*`.
pub async fn router(cfg: WebConfig) -> Result<axum::Router, WebError> {
    let _ = cfg;
    Ok(axum::Router::new())
}
