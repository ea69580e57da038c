//! A refused token-service request: the STK1 error code, its HTTP status
//! and the human text of the error body `{"v":1,"error","message"}`.
//!
//! Messages are fixed texts written here or error texts of the core crate,
//! which by contract never contain a secret or a code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use softtoken_core::stk1::messages::{ErrorBody, ErrorCode};
use softtoken_core::stk1::Stk1Error;

/// A refusal, rendered as an STK1 error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Wire code.
    pub code: ErrorCode,
    /// Human text (never a secret or a code).
    pub message: String,
    /// Consecutive failures (`invalid_otp`, `old_otp_invalid`).
    pub fail_count: Option<u32>,
}

impl Refusal {
    /// A refusal with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
            fail_count: None,
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

    /// Adds the failure count.
    pub fn with_fail_count(mut self, n: u32) -> Refusal {
        self.fail_count = Some(n);
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
            ErrorCode::SessionExpired => StatusCode::GONE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotFound | ErrorCode::NoToken => StatusCode::NOT_FOUND,
            ErrorCode::CustomerHasToken | ErrorCode::Replay => StatusCode::CONFLICT,
            ErrorCode::Locked => StatusCode::LOCKED,
            ErrorCode::SerialOrOtpInvalid
            | ErrorCode::InvalidOtp
            | ErrorCode::OldOtpInvalid
            | ErrorCode::ResyncFailed => StatusCode::UNPROCESSABLE_ENTITY,
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

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.body())).into_response()
    }
}
