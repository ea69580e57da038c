//! The staff console's client of the token service: the operations scope
//! on the admin listener (`GET /v1/admin/tokens/{serial}`, `POST
//! /v1/admin/unlock`, `POST /v1/admin/resync`, bearer = the operations key)
//! and the public token status (`GET /v1/tokens/{serial}/status`). Request
//! bodies are the core's `stk1::messages` types; codes travel only inside
//! [`OtpText`] and are never logged.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use softtoken_core::stk1::api_key::ApiKey;
use softtoken_core::stk1::messages::{
    ErrorBody, ErrorCode, OtpText, ResyncRequest, StatusResponse, TokenState, UnlockRequest,
};

use crate::i18n::Lang;
use crate::token_service_client::TokenServiceError;

/// `resync` success body.
#[derive(Debug, Clone, Deserialize)]
pub struct ResyncOk {
    /// The drift the token service learned, in steps.
    pub drift_steps: i64,
}

/// `GET /v1/admin/tokens/{serial}` success body: what the token service
/// holds about one token (nothing secret). Times are Unix seconds of the
/// token service's clock. Every field is required: a body without one is
/// a protocol error, never a guessed value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenInfo {
    /// Canonical serial.
    pub serial: String,
    /// The token's state.
    pub state: TokenState,
    /// Consecutive wrong codes since the last accepted one.
    pub fail_count: u32,
    /// Locked after too many wrong codes (until an unlock).
    pub locked: bool,
    /// The token service's lockout limit.
    pub lockout_limit: u32,
    /// The learned clock drift in steps.
    pub drift_steps: i64,
    /// Seconds per step.
    pub step_seconds: u64,
    /// When the last accepted time step began (`None`: no code accepted yet).
    pub last_accepted_step_at: Option<u64>,
    /// When the token was paired.
    pub issued_at: u64,
    /// When it was registered to a customer.
    pub bound_at: Option<u64>,
    /// When it was stopped or replaced.
    pub revoked_at: Option<u64>,
}

/// `unlock` success body (`{"v":1,"result":"ok"}`).
#[derive(Deserialize)]
struct Done {}

/// The console's token-service client (the key is redacted in `Debug`).
#[derive(Clone)]
pub struct StaffClient {
    http: reqwest::Client,
    admin: String,
    public: String,
    ops_key: ApiKey,
}

impl std::fmt::Debug for StaffClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffClient")
            .field("admin", &self.admin)
            .field("public", &self.public)
            .field("ops_key", &self.ops_key)
            .finish()
    }
}

/// A staff-facing message for a refused or failed operation (never a
/// code; the wire name is shown for the operations log).
pub fn staff_message(e: &TokenServiceError, l: Lang) -> String {
    let text = match e.code() {
        Some(ErrorCode::NotFound) => l.t(
            "このシリアル番号のトークンはありません。",
            "There is no token with this serial number.",
        ),
        Some(ErrorCode::ResyncFailed) => l.t(
            "連続する2つのワンタイムパスワードが見つかりませんでした。トークンに続けて表示された2つのワンタイムパスワードを、表示された順に入力してください。",
            "No two consecutive one-time passwords were found. Enter two codes the token showed one after the other, in that order.",
        ),
        Some(ErrorCode::InvalidRequest) => l.t(
            "入力内容に誤りがあります。",
            "The request is not valid.",
        ),
        Some(ErrorCode::Unauthorized) => l.t(
            "運用キーが受け付けられませんでした。システム管理者に連絡してください。",
            "The operations key was refused. Contact the system administrator.",
        ),
        Some(ErrorCode::RateLimited) => l.t(
            "ただいま混み合っています。しばらくしてから再度お試しください。",
            "Too many requests. Please try again in a moment.",
        ),
        _ => l.t(
            "トークンサービスに接続できません。しばらくしてから再度お試しください。",
            "The token service cannot be reached. Please try again later.",
        ),
    };
    match e.code() {
        Some(c) => format!("{text} ({})", c.as_str()),
        None => text.to_string(),
    }
}

impl StaffClient {
    /// A client of the admin listener `admin` and the public API `public`.
    pub fn new(
        admin: &str,
        public: &str,
        ops_key: &ApiKey,
    ) -> Result<StaffClient, TokenServiceError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .no_proxy()
            .build()
            .map_err(|_| TokenServiceError::Unreachable)?;
        Ok(StaffClient {
            http,
            admin: admin.trim_end_matches('/').to_string(),
            public: public.trim_end_matches('/').to_string(),
            ops_key: ops_key.clone(),
        })
    }

    async fn answer<T: DeserializeOwned>(
        path: &str,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, TokenServiceError> {
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path, timeout = e.is_timeout(), "token service unreachable");
                return Err(TokenServiceError::Unreachable);
            }
        };
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|_| TokenServiceError::Unreachable)?;
        if status.is_success() {
            return serde_json::from_slice::<T>(&bytes)
                .map_err(|_| TokenServiceError::Protocol(status.as_u16()));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(e) => Err(TokenServiceError::Refused {
                code: e.error,
                fail_count: e.fail_count,
            }),
            Err(_) => {
                // Only the path and status: bodies may echo request fields.
                tracing::warn!(
                    path,
                    status = status.as_u16(),
                    "token service answered without an STK1 body"
                );
                Err(TokenServiceError::Protocol(status.as_u16()))
            }
        }
    }

    async fn admin<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        test_time: Option<&str>,
    ) -> Result<T, TokenServiceError> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.admin))
            .bearer_auth(self.ops_key.expose())
            .json(body);
        if let Some(t) = test_time {
            req = req.header("X-Test-Time", t);
        }
        Self::answer(path, req.send().await).await
    }

    /// `POST /v1/admin/unlock`: clears the lock and the failure count.
    pub async fn unlock(
        &self,
        serial: &str,
        test_time: Option<&str>,
    ) -> Result<(), TokenServiceError> {
        let body = UnlockRequest {
            v: 1,
            serial: serial.into(),
        };
        self.admin::<_, Done>("/v1/admin/unlock", &body, test_time)
            .await
            .map(|_| ())
    }

    /// `POST /v1/admin/resync` with two consecutive codes.
    pub async fn resync(
        &self,
        serial: &str,
        otp1: OtpText,
        otp2: OtpText,
        test_time: Option<&str>,
    ) -> Result<ResyncOk, TokenServiceError> {
        let body = ResyncRequest {
            v: 1,
            serial: serial.into(),
            otp1,
            otp2,
        };
        self.admin("/v1/admin/resync", &body, test_time).await
    }

    /// `GET /v1/admin/tokens/{serial}` (operations key): the token's
    /// state, failure count, lock, drift and times; an unknown serial is
    /// refused `not_found`. `serial` must be a parsed serial (letters and
    /// digits).
    pub async fn inspect(
        &self,
        serial: &str,
        test_time: Option<&str>,
    ) -> Result<TokenInfo, TokenServiceError> {
        let path = "/v1/admin/tokens/{serial}";
        let mut req = self
            .http
            .get(format!("{}/v1/admin/tokens/{serial}", self.admin))
            .bearer_auth(self.ops_key.expose());
        if let Some(t) = test_time {
            req = req.header("X-Test-Time", t);
        }
        Self::answer(path, req.send().await).await
    }

    /// `GET /v1/tokens/{serial}/status` (public; unknown serials answer
    /// `expired`). `serial` must be a parsed serial (letters and digits).
    pub async fn status(
        &self,
        serial: &str,
        test_time: Option<&str>,
    ) -> Result<TokenState, TokenServiceError> {
        let path = "/v1/tokens/{serial}/status";
        let mut req = self
            .http
            .get(format!("{}/v1/tokens/{serial}/status", self.public));
        if let Some(t) = test_time {
            req = req.header("X-Test-Time", t);
        }
        Self::answer::<StatusResponse>(path, req.send().await)
            .await
            .map(|s| s.state)
    }
}
