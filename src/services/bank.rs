//! The banks' token services as the screens see them (STK1 over HTTP).
use crate::services::directory::{BankEntry, PinnedKey};
use softtoken_core::stk1::client::Paired;
use softtoken_core::stk1::messages::{FinishRequest, FinishResponse, TokenState};
use softtoken_core::stk1::ErrorCode;
use softtoken_core::txn::wire::{DecisionRequest, DecisionResponse, PollResponse};
use softtoken_core::txn::{TxnId, TxnKey, NONCE_LEN};
use softtoken_core::Serial;
use std::future::Future;
use std::pin::Pin;
use thiserror::Error;

/// A boxed future (the services are used behind `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why a call to the token service failed, in the categories the
/// customer is told about. Texts carry no secret and no code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No connection, DNS failure or timeout.
    #[error("network: {0}")]
    Network(String),
    /// The server answered with an STK1 error code.
    #[error("server refused: {}", code.as_str())]
    Refused {
        /// STK1 error code (e.g. [`ErrorCode::SessionExpired`]).
        code: ErrorCode,
    },
    /// `server_confirm` did not verify: not the pinned bank.
    #[error("server could not prove it is the bank")]
    NotTheBank,
    /// The answer broke the protocol (bad JSON, params, version).
    #[error("protocol: {0}")]
    Protocol(String),
    /// The bank's token service has no STK1-TXN extension (404 on a
    /// transaction endpoint): no transaction confirmation for that bank.
    #[error("the bank does not offer transaction confirmation")]
    TxnNotSupported,
}

/// What the token service says about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankStatus {
    /// Life-cycle state.
    pub state: TokenState,
    /// Bank time (Unix seconds) when it answered, from the answer's HTTP
    /// `Date` header (STK1's status body has none); `None` when the header
    /// is missing or not a valid HTTP-date.
    pub server_time: Option<u64>,
}

/// The STK1 client. Contract: `init` returns only after `server_confirm`
/// verified against the pinned key; nothing is stored by the client.
pub trait BankClient: Send + Sync {
    /// `POST /v1/provision/init` and key confirmation.
    fn init<'a>(
        &'a self,
        bank: &'a BankEntry,
        key: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>>;
    /// `POST /v1/provision/finish` (idempotent at the bank for its
    /// session, so it may be resent after a crash or a lost answer).
    fn finish<'a>(
        &'a self,
        url: &'a str,
        request: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>>;
    /// `GET /v1/tokens/{serial}/status`.
    fn status<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
    ) -> BoxFuture<'a, Result<BankStatus, ClientError>>;
    /// `POST /v1/tokens/{serial}/transactions/pending` (STK1-TXN), `t`
    /// the app's clock with its offset applied, `nonce` fresh random bytes.
    /// The answer is parsed, not trusted: each transaction must pass
    /// `WireTransaction::verify` before it is shown. The default (a bank
    /// client without the extension) answers
    /// [`ClientError::TxnNotSupported`].
    fn poll_pending<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
        key: &'a TxnKey,
        t: u64,
        nonce: [u8; NONCE_LEN],
    ) -> BoxFuture<'a, Result<PollResponse, ClientError>> {
        let _ = (url, serial, key, t, nonce);
        Box::pin(async { Err(ClientError::TxnNotSupported) })
    }
    /// `POST /v1/tokens/{serial}/transactions/{txn_id}/decision`
    /// (STK1-TXN). The answer names `txn_id` and the state the decision
    /// leads to. Default: [`ClientError::TxnNotSupported`].
    fn decide<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
        txn_id: &'a TxnId,
        request: &'a DecisionRequest,
    ) -> BoxFuture<'a, Result<DecisionResponse, ClientError>> {
        let _ = (url, serial, txn_id, request);
        Box::pin(async { Err(ClientError::TxnNotSupported) })
    }
}
