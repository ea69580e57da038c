//! # softtoken-client
//!
//! The app's STK1 HTTP client (`shared/spec/stk1.md`): pairing with a
//! bank's token service and asking a token's status. UI-free and async
//! (reqwest on whatever tokio runtime the caller runs).
//!
//! Pairing, in the order the app must keep:
//!
//! ```no_run
//! # async fn demo(kid: &str, server_pub: [u8; 32]) -> Result<(), softtoken_client::ClientError> {
//! use softtoken_client::BankClient;
//! use softtoken_core::stk1::messages::{Device, Platform};
//! let bank = BankClient::new("https://bank.example/")?;
//! let device = Device { platform: Platform::Android, app_version: "1.0".into() };
//! // 1. init + check of the server's confirmation (a fake server fails here)
//! let paired = bank.pair(kid, &server_pub, device).await?;
//! // 2. store paired.secret in the platform keystore — only then:
//! // 3. tell the bank the token is stored
//! let done = bank.finish(&paired.finish_request).await?;
//! # let _ = done; Ok(()) }
//! ```
//!
//! Contracts:
//! * the base URL must be `https://`, or `http://` to a loopback host
//!   (`127.0.0.0/8`, `::1`, `localhost`); [`ClientOptions::allow_plain_http`]
//!   lifts that for development set-ups (e.g. an emulator reaching the host
//!   as `10.0.2.2`). Trust in the bank never rests on TLS alone: the pinned
//!   X25519 key is checked by [`softtoken_core::stk1::client::ClientHandshake::finish`];
//! * every request has a connect timeout and a total timeout
//!   ([`ClientOptions`]); answers larger than [`MAX_RESPONSE`] bytes are
//!   refused;
//! * every 2xx body is checked with [`softtoken_core::stk1::messages::decode`]
//!   (version 1, all fields present); a non-2xx body must be an STK1 error
//!   body, which becomes [`ClientError::Refused`];
//! * no error text holds a secret, a confirmation value or a code. The
//!   server's `message` is kept (it is the bank's text, shortened and
//!   stripped of control characters) because the app may show it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::net::IpAddr;
use std::time::{Duration, UNIX_EPOCH};

use rand_core::OsRng;
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Serialize;
use softtoken_core::stk1::client::{ClientHandshake, Paired};
use softtoken_core::stk1::messages::{
    decode, Device, ErrorBody, ErrorCode, FinishRequest, FinishResponse, InitRequest, InitResponse,
    StatusResponse,
};
use softtoken_core::stk1::Stk1Error;
use softtoken_core::txn::wire::{
    decode as txn_decode, DecisionRequest, DecisionResponse, PollRequest, PollResponse, TxnState,
};
use softtoken_core::txn::{TxnId, TxnKey, NONCE_LEN};
use softtoken_core::Serial;

/// Largest response body the client reads, in bytes.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// Longest server `message` kept in [`ClientError::Refused`], in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Errors of a call to the bank. None carries key material or a code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL is not usable (not http/https, plain HTTP to a
    /// non-loopback host, or not a URL at all).
    #[error("the bank address is not usable: {0}")]
    InvalidUrl(String),
    /// No answer: connection refused, DNS failure, TLS failure or timeout.
    #[error("could not reach the bank: {detail}")]
    Network {
        /// `true` when the request timed out.
        timeout: bool,
        /// Plain-words description.
        detail: String,
    },
    /// The bank answered with an STK1 error body.
    #[error("the bank refused the request ({}): {message}", code.as_str())]
    Refused {
        /// HTTP status.
        status: u16,
        /// Machine-readable STK1 code.
        code: ErrorCode,
        /// The bank's human text (shortened, control characters removed).
        message: String,
        /// Consecutive failures, when the bank sends it (`invalid_otp`).
        fail_count: Option<u32>,
    },
    /// The pairing maths refused the answer: wrong version or parameters,
    /// bad encoding, or a failed server confirmation (fake server or
    /// tampering).
    #[error("pairing failed: {0}")]
    Protocol(#[from] Stk1Error),
    /// The answer is not an STK1 body (wrong content, too large, bad JSON).
    #[error("unexpected answer from the bank: {0}")]
    BadResponse(String),
    /// The bank's token service does not offer the STK1-TXN extension
    /// (404 on a transaction endpoint without an STK1-TXN error code):
    /// the app offers no transaction confirmation for that bank.
    #[error("this bank does not offer transaction confirmation")]
    TxnNotSupported,
}

impl ClientError {
    /// The STK1 error code when the bank refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A status answer and the bank's clock when it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedStatus {
    /// The STK1 status body.
    pub status: StatusResponse,
    /// The answer's `Date` header as Unix seconds, if present and valid.
    pub server_time: Option<u64>,
}

/// Parses an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete
/// RFC 850 and asctime forms a recipient must accept) to Unix seconds.
/// `None` for anything else, or a date before 1970.
pub fn http_date_unix(value: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// 16 fresh random bytes from the operating system, for the `nonce` of
/// [`BankClient::poll_pending`] (never reuse one: the bank refuses a nonce
/// it saw in the last 300 s).
pub fn fresh_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut nonce);
    nonce
}

/// Options of a [`BankClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time for a whole request, answer included (default 30 s).
    pub timeout: Duration,
    /// Allow `http://` to hosts that are not loopback (default `false`).
    pub allow_plain_http: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            allow_plain_http: false,
        }
    }
}

/// A client of one bank's token service (its base URL, e.g. the `url` of
/// the pairing link). Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct BankClient {
    base: Url,
    http: reqwest::Client,
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

fn clean_message(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect()
}

fn network_error(e: reqwest::Error) -> ClientError {
    let timeout = e.is_timeout();
    let detail = if timeout {
        "the request timed out".to_string()
    } else if e.is_connect() {
        "no connection to the bank (refused, unreachable or TLS failure)".to_string()
    } else {
        // reqwest's text names the URL and the failing layer; our URLs hold
        // nothing secret (base URL, serial at most).
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    };
    ClientError::Network { timeout, detail }
}

impl BankClient {
    /// A client for `base_url` with [`ClientOptions::default`].
    pub fn new(base_url: &str) -> Result<BankClient, ClientError> {
        BankClient::with_options(base_url, ClientOptions::default())
    }

    /// A client for `base_url` with explicit options.
    pub fn with_options(base_url: &str, opts: ClientOptions) -> Result<BankClient, ClientError> {
        let mut base = Url::parse(base_url.trim())
            .map_err(|e| ClientError::InvalidUrl(format!("not a URL ({e})")))?;
        match base.scheme() {
            "https" => {}
            "http" if opts.allow_plain_http || is_loopback(&base) => {}
            "http" => {
                return Err(ClientError::InvalidUrl(
                    "plain http is allowed only to this device (loopback)".into(),
                ))
            }
            other => {
                return Err(ClientError::InvalidUrl(format!(
                    "scheme `{other}` is not http or https"
                )))
            }
        }
        if base.host_str().is_none() || base.cannot_be_a_base() {
            return Err(ClientError::InvalidUrl("no host".into()));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ClientError::InvalidUrl(
                "credentials in the address are not allowed".into(),
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("softtoken-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(network_error)?;
        Ok(BankClient { base, http })
    }

    /// The normalised base URL (always ends with `/`).
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path)
            .map_err(|e| ClientError::InvalidUrl(format!("cannot build the address ({e})")))
    }

    /// `POST /v1/provision/init`. The answer is *not yet trusted*: pass it
    /// to `ClientHandshake::finish` (or use [`BankClient::pair`]).
    pub async fn init(&self, req: &InitRequest) -> Result<InitResponse, ClientError> {
        self.post("v1/provision/init", req).await
    }

    /// `POST /v1/provision/finish`, after the secret is in the keystore.
    /// Idempotent at the server: repeating it after a network error is safe.
    pub async fn finish(&self, req: &FinishRequest) -> Result<FinishResponse, ClientError> {
        let resp: FinishResponse = self.post("v1/provision/finish", req).await?;
        if resp.serial != req.serial {
            return Err(ClientError::BadResponse(
                "the answer names another serial".into(),
            ));
        }
        Ok(resp)
    }

    /// `GET /v1/tokens/{serial}/status`.
    pub async fn status(&self, serial: &Serial) -> Result<StatusResponse, ClientError> {
        Ok(self.status_with_time(serial).await?.status)
    }

    /// `GET /v1/tokens/{serial}/status`, with the bank's clock read from
    /// the answer's HTTP `Date` header (RFC 9110 §6.6.1). STK1's status body
    /// has no time; the header is what the server's HTTP stack stamps on
    /// every answer. A missing or unparsable header gives `server_time:
    /// None`, never an error.
    pub async fn status_with_time(&self, serial: &Serial) -> Result<TimedStatus, ClientError> {
        let url = self.url(&format!("v1/tokens/{}/status", serial.as_str()))?;
        let resp = self.http.get(url).send().await.map_err(network_error)?;
        let server_time = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(http_date_unix);
        let status: StatusResponse = read_answer(resp).await?;
        if status.serial != serial.as_str() {
            return Err(ClientError::BadResponse(
                "the answer names another serial".into(),
            ));
        }
        Ok(TimedStatus {
            status,
            server_time,
        })
    }

    /// Starts a pairing with the pinned key (`server_key_id`, `server_pub`),
    /// posts init and checks the answer (parameters and the server's
    /// confirmation). Returns the [`Paired`] token: the caller stores
    /// `secret` in the keystore and then calls [`BankClient::finish`] with
    /// `finish_request`. Nothing is stored at the bank as a token until
    /// finish succeeds; an unfinished pairing expires there by itself.
    pub async fn pair(
        &self,
        server_key_id: &str,
        server_pub: &[u8; 32],
        device: Device,
    ) -> Result<Paired, ClientError> {
        let (hs, req) = ClientHandshake::start(&mut OsRng, server_key_id, server_pub, device);
        let resp = self.init(&req).await?;
        Ok(hs.finish(&resp)?)
    }

    /// `POST /v1/tokens/{serial}/transactions/pending` (STK1-TXN): the
    /// pending, unexpired transactions of the token, oldest first.
    ///
    /// `t` is the app's clock (Unix seconds, the app's clock offset
    /// applied) and `nonce` 16 fresh random bytes; the request's MAC is
    /// made here with `key`. The answer is only *parsed*
    /// ([`PollResponse::decode`]: version, strict encoding, at most 10
    /// transactions); every transaction must still pass
    /// [`WireTransaction::verify`](softtoken_core::txn::wire::WireTransaction::verify)
    /// before anything of it is shown.
    ///
    /// Errors: [`ClientError::TxnNotSupported`] for a 404 that carries no
    /// STK1-TXN code (a server without the extension); 401 `unauthorized`
    /// (bad MAC, clock outside ±120 s, reused nonce, token not active) and
    /// 429 `rate_limited` as [`ClientError::Refused`].
    pub async fn poll_pending(
        &self,
        serial: &Serial,
        key: &TxnKey,
        t: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<PollResponse, ClientError> {
        let req = PollRequest::new(key, serial, t, nonce);
        let url = self.url(&format!(
            "v1/tokens/{}/transactions/pending",
            serial.as_str()
        ))?;
        let body = self.post_txn(url, &req).await?;
        PollResponse::decode(&body).map_err(|e| ClientError::BadResponse(e.to_string()))
    }

    /// `POST /v1/tokens/{serial}/transactions/{txn_id}/decision`
    /// (STK1-TXN): sends the customer's decision, made with
    /// [`DecisionRequest::new`] over the transaction as shown. Idempotent at
    /// the server for the same decision. The answer must name `txn_id` and
    /// the state the decision leads to, else [`ClientError::BadResponse`].
    ///
    /// Errors as [`ClientError::Refused`]: `unknown_txn` (404),
    /// `txn_expired`, `txn_decided` (the other decision was taken),
    /// `confirm_failed` (bad MAC), `rate_limited` (429);
    /// [`ClientError::TxnNotSupported`] for a 404 without an STK1-TXN code.
    pub async fn decide(
        &self,
        serial: &Serial,
        txn_id: &TxnId,
        req: &DecisionRequest,
    ) -> Result<DecisionResponse, ClientError> {
        let url = self.url(&format!(
            "v1/tokens/{}/transactions/{}/decision",
            serial.as_str(),
            txn_id.to_base32()
        ))?;
        let body = self.post_txn(url, req).await?;
        let resp: DecisionResponse =
            txn_decode(&body).map_err(|e| ClientError::BadResponse(e.to_string()))?;
        if resp.txn_id != *txn_id {
            return Err(ClientError::BadResponse(
                "the answer names another transaction".into(),
            ));
        }
        if resp.state != TxnState::after(req.decision) {
            return Err(ClientError::BadResponse(format!(
                "the answer's state `{}` does not follow the decision",
                resp.state.as_str()
            )));
        }
        Ok(resp)
    }

    /// Posts to an STK1-TXN endpoint; the 2xx body, or the error mapped
    /// (404 without an STK1-TXN code → [`ClientError::TxnNotSupported`]).
    async fn post_txn<B: Serialize>(&self, url: Url, body: &B) -> Result<Vec<u8>, ClientError> {
        let resp = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(network_error)?;
        let status = resp.status();
        let bytes = read_body(resp).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        let err = error_from(status.as_u16(), &bytes);
        if status == reqwest::StatusCode::NOT_FOUND && !is_txn_code(err.code()) {
            return Err(ClientError::TxnNotSupported);
        }
        Err(err)
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = self.url(path)?;
        let resp = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(network_error)?;
        read_answer(resp).await
    }
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, ClientError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE as u64)
    {
        return Err(ClientError::BadResponse(format!(
            "answer larger than {MAX_RESPONSE} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(network_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(ClientError::BadResponse(format!(
                "answer larger than {MAX_RESPONSE} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_answer<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, ClientError> {
    let status = resp.status();
    let body = read_body(resp).await?;
    if status.is_success() {
        return decode::<T>(&body).map_err(|e| ClientError::BadResponse(e.to_string()));
    }
    Err(error_from(status.as_u16(), &body))
}

/// A non-2xx answer as an error: [`ClientError::Refused`] for an STK1
/// error body, else [`ClientError::BadResponse`].
fn error_from(status: u16, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(err) => ClientError::Refused {
            status,
            code: err.error,
            message: clean_message(&err.message),
            fail_count: err.fail_count,
        },
        Err(_) => ClientError::BadResponse(format!("HTTP {status} without an STK1 error body")),
    }
}

/// Codes only a server with the STK1-TXN extension sends.
fn is_txn_code(code: Option<ErrorCode>) -> bool {
    matches!(
        code,
        Some(
            ErrorCode::UnknownTxn
                | ErrorCode::TxnExpired
                | ErrorCode::TxnDecided
                | ErrorCode::TxnNotApproved
                | ErrorCode::TxnConsumed
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(BankClient::new("https://bank.example").is_ok());
        assert_eq!(
            BankClient::new("https://bank.example/stk")
                .unwrap()
                .base_url(),
            "https://bank.example/stk/"
        );
        assert!(BankClient::new("http://127.0.0.1:8700").is_ok());
        assert!(BankClient::new("http://[::1]:8700/").is_ok());
        assert!(BankClient::new("http://localhost:8700/").is_ok());
        assert!(matches!(
            BankClient::new("http://bank.example/"),
            Err(ClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            BankClient::new("http://10.0.2.2:8700/"),
            Err(ClientError::InvalidUrl(_))
        ));
        let opts = ClientOptions {
            allow_plain_http: true,
            ..ClientOptions::default()
        };
        assert!(BankClient::with_options("http://10.0.2.2:8700/", opts).is_ok());
        assert!(matches!(
            BankClient::new("ftp://bank.example/"),
            Err(ClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            BankClient::new("https://user:pw@bank.example/"),
            Err(ClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            BankClient::new("not a url"),
            Err(ClientError::InvalidUrl(_))
        ));
    }

    #[test]
    fn http_dates() {
        // RFC 9110 §5.6.7 examples: the same instant in the three forms.
        for d in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(http_date_unix(d), Some(784_111_777), "{d}");
        }
        assert_eq!(
            http_date_unix("Wed, 25 Nov 2026 15:00:00 GMT"),
            Some(1_795_618_800)
        );
        for bad in [
            "",
            "yesterday",
            "1700000000",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(http_date_unix(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(fresh_nonce(), fresh_nonce());
    }

    #[test]
    fn messages_are_cleaned() {
        let long = "x".repeat(1000);
        assert_eq!(clean_message(&long).len(), MAX_MESSAGE_CHARS);
        assert_eq!(clean_message("a\nb\u{1b}[31mc"), "ab[31mc");
    }
}
