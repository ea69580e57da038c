//! The token service's operations, one module per endpoint.
//!
//! Each module holds the operation (a type implementing
//! [`crate::db::Operation`], applied by the database writer), its success
//! body and its axum handler. A handler takes the extractors of
//! [`crate::http`] and returns `Result<Json<_>, Refusal>`; the operation
//! returns exactly the type the handler answers with.
//!
//! | module | endpoint | auth |
//! |---|---|---|
//! | [`init`] | `POST /v1/provision/init` | none |
//! | [`finish`] | `POST /v1/provision/finish` | none |
//! | [`status`] | `GET /v1/tokens/{serial}/status` | none |
//! | [`bind`] | `POST /v1/bank/bind` | back-end key |
//! | [`verify`] | `POST /v1/bank/verify` | back-end key |
//! | [`change`] | `POST /v1/bank/change` | back-end key |
//! | [`deactivate`] | `POST /v1/bank/deactivate` | back-end key |
//! | [`resync`] | `POST /v1/admin/resync` (admin listener) | operations key |
//! | [`unlock`] | `POST /v1/admin/unlock` (admin listener) | operations key |
//! | [`inspect`] | `GET /v1/admin/tokens/{serial}` (admin listener) | operations key |
//! | [`txn`] | STK1-TXN: `POST /v1/bank/transactions{,/status,/consume,/verify_code}`, `POST /v1/tokens/{serial}/transactions/…` | back-end key / token MACs |
//!
//! Adding an operation: a new module here, a route in
//! [`crate::http::router`], and, if it needs new tables, a migration in
//! [`crate::db::schema`].
//!
//! Every operation type that holds a code or a key has a hand-written
//! `Debug` that prints `[redacted]` in its place.

use serde::Serialize;

use crate::refusal::Refusal;

pub mod bind;
pub mod change;
pub(crate) mod check;
pub mod deactivate;
pub mod finish;
pub mod init;
pub mod inspect;
pub mod resync;
pub mod status;
pub mod txn;
pub mod unlock;
pub mod verify;

#[cfg(test)]
mod tests;

/// Longest accepted `customer_id`.
const MAX_CUSTOMER_ID: usize = 64;

/// `"result":"ok"` of every successful back-end answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Done {
    /// The operation happened.
    Ok,
}

/// The protocol version written as `"v"` in every body.
pub const V: u32 = 1;

/// A `customer_id` is 1 to 64 characters, none of them a control
/// character; anything else is `invalid_request`.
pub(crate) fn check_customer(id: &str) -> Result<(), Refusal> {
    if id.is_empty() || id.chars().count() > MAX_CUSTOMER_ID || id.chars().any(char::is_control) {
        return Err(Refusal::invalid(
            "customer_id must be 1 to 64 printable characters",
        ));
    }
    Ok(())
}

/// Writes `[redacted]` in place of a field's value in a hand-written
/// `Debug`.
pub(crate) struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
