//! A refused token-service request: the STK1 error code, its HTTP status
//! and the human text of the error body `{"v":1,"error","message"}`.
//!
//! Messages are fixed texts written here or error texts of the core crate,
//! which by contract never contain a secret or a code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use softtoken_core::stk1::messages::{ErrorBody, ErrorCode};
use softtoken_core::stk1::Stk1Error;
use softtoken_core::txn::wire::TxnState;

/// A refusal, rendered as an STK1 error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Wire code.
    pub code: ErrorCode,
    /// Human text (never a secret or a code).
    pub message: String,
    /// Consecutive failures (`invalid_otp`, `old_otp_invalid`).
    pub fail_count: Option<u32>,
    /// The transaction's state (`txn_not_approved`), written as `"state"`.
    pub txn_state: Option<TxnState>,
}

impl Refusal {
    /// A refusal with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
            fail_count: None,
            txn_state: None,
        }
    }

    /// `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::new(ErrorCode::InvalidRequest, message)
    }

    /// `internal_error`: storage failed; nothing was changed.
    pub fn internal() -> Refusal {
        Refusal::new(
            ErrorCode::InternalError,
            "the token service could not complete the request; nothing was changed",
        )
    }

    /// `unavailable` (HTTP 503): the database cannot be reached now; the
    /// request is not known to have taken effect. Retry with a fresh code.
    pub fn unavailable() -> Refusal {
        Refusal::new(
            ErrorCode::Unavailable,
            "the token service cannot reach its database right now; nothing is known to have changed; try again with a new code",
        )
    }

    /// Adds the failure count.
    pub fn with_fail_count(mut self, n: u32) -> Refusal {
        self.fail_count = Some(n);
        self
    }

    /// Adds the transaction's state (`txn_not_approved`).
    pub fn with_txn_state(mut self, state: TxnState) -> Refusal {
        self.txn_state = Some(state);
        self
    }

    /// HTTP status of this code (documented in docs/server.md).
    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidRequest
            | ErrorCode::UnsupportedVersion
            | ErrorCode::UnknownKeyId
            | ErrorCode::ConfirmFailed => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotFound | ErrorCode::NoToken | ErrorCode::UnknownTxn => {
                StatusCode::NOT_FOUND
            }
            ErrorCode::CustomerHasToken
            | ErrorCode::Replay
            | ErrorCode::TxnDecided
            | ErrorCode::TxnNotApproved
            | ErrorCode::TxnConsumed => StatusCode::CONFLICT,
            ErrorCode::SessionExpired | ErrorCode::TxnExpired => StatusCode::GONE,
            ErrorCode::Locked => StatusCode::LOCKED,
            ErrorCode::SerialOrOtpInvalid
            | ErrorCode::InvalidOtp
            | ErrorCode::OldOtpInvalid
            | ErrorCode::ResyncFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The wire body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            v: 1,
            error: self.code,
            message: self.message.clone(),
            fail_count: self.fail_count,
        }
    }
}

impl From<Stk1Error> for Refusal {
    fn from(e: Stk1Error) -> Refusal {
        Refusal::new(e.code(), e.to_string())
    }
}

/// An error body with the transaction's `state` (`txn_not_approved`).
#[derive(serde::Serialize)]
struct BodyWithState {
    #[serde(flatten)]
    body: ErrorBody,
    state: TxnState,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self.txn_state {
            Some(state) => (
                self.status(),
                axum::Json(BodyWithState {
                    body: self.body(),
                    state,
                }),
            )
                .into_response(),
            None => (self.status(), axum::Json(self.body())).into_response(),
        }
    }
}
