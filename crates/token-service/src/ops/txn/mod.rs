//! STK1-TXN 「取引認証」 (`shared/spec/stk1-txn.md`): the two app endpoints
//! and the four back-end calls, one module each.
//!
//! | module | endpoint | auth |
//! |---|---|---|
//! | [`create`] | `POST /v1/bank/transactions` | API key |
//! | [`status`] | `POST /v1/bank/transactions/status` | API key |
//! | [`consume`] | `POST /v1/bank/transactions/consume` | API key |
//! | [`verify_code`] | `POST /v1/bank/transactions/verify_code` | API key |
//! | [`poll`] | `POST /v1/tokens/{serial}/transactions/pending` | poll MAC (`K_TXN`) |
//! | [`decision`] | `POST /v1/tokens/{serial}/transactions/{txn_id}/decision` | decision MAC (`K_TXN`) |
//!
//! Contracts shared by all of them:
//! * `K_TXN` and `K_OCRA` are derived from the sealed `K_TOKEN` inside the
//!   operation that needs them and dropped (zeroised) at its end; they are
//!   never stored;
//! * every transition is one conditional `UPDATE` (`db/txn.rs`):
//!   a transaction is decided at most once and consumed at most once,
//!   whatever the races;
//! * expiry is by the request's time ([`crate::http::RequestTime`], so
//!   `--test-clock` applies): a pending transaction is expired once
//!   `now >= expires_at`, and the first request that sees it so stores
//!   `expired` and writes the `txn_expired` audit event;
//! * a transaction whose token is no longer active (revoked, exchanged,
//!   expired) or is locked is never approved nor consumed;
//! * audit events (`txn_created`, `txn_approved`, `txn_rejected`,
//!   `txn_expired`, `txn_consumed`, `txn_offline_ok`,
//!   `txn_offline_failed`) carry the transaction id (and for
//!   `txn_created` the kind) and never a field value; request types and
//!   operations print no field value or code in `Debug`.

use serde::{Deserialize, Serialize};
use softtoken_core::stk1::messages::{ErrorCode, OtpText};
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::{derive_txn_keys, Kind, OcraKey, Transaction, TxnError, TxnId, TxnKey};
use softtoken_core::Serial;

use super::Done;
use crate::db::rows::{event, TokenRow};
use crate::db::txn::TxnRow;
use crate::db::{Ctx, Fault};
use crate::refusal::Refusal;

pub mod consume;
pub mod create;
pub mod decision;
pub mod poll;
pub mod status;
pub mod verify_code;

#[cfg(test)]
mod tests;

impl From<TxnError> for Refusal {
    /// The wire code of the core's error ([`TxnError::code`]) with its
    /// text, which never quotes a value, a MAC or a code.
    fn from(e: TxnError) -> Refusal {
        Refusal::new(e.code(), e.to_string())
    }
}

/// `POST /v1/bank/transactions`. `Debug` leaves out the field values.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTxnRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// `transfer` or `payment`.
    pub kind: Kind,
    /// `[key, value]` pairs: the kind's keys, in order.
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Debug for CreateTxnRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTxnRequest")
            .field("customer_id", &self.customer_id)
            .field("kind", &self.kind)
            .field("fields", &"[not shown]")
            .finish_non_exhaustive()
    }
}

/// `POST /v1/bank/transactions/status` and `…/consume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID (the transaction's owner).
    pub customer_id: String,
    /// The transaction.
    pub txn_id: TxnId,
}

/// `POST /v1/bank/transactions/verify_code`. `Debug` hides the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCodeRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID (the transaction's owner).
    pub customer_id: String,
    /// The transaction.
    pub txn_id: TxnId,
    /// The offline 取引認証番号 as typed.
    pub code: OtpText,
}

/// Success body of `POST /v1/bank/transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateTxnResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
    /// The new transaction.
    pub txn_id: TxnId,
    /// The token that must confirm it.
    pub serial: Serial,
    /// Unix seconds, server clock.
    pub created_at: u64,
    /// Unix seconds, server clock.
    pub expires_at: u64,
}

/// Success body of `status`, `consume` and `verify_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxnStateResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
    /// The transaction's state.
    pub state: TxnState,
}

impl TxnStateResponse {
    /// `{"v":1,"result":"ok","state":…}`.
    pub fn new(state: TxnState) -> TxnStateResponse {
        TxnStateResponse {
            v: super::V,
            result: Done::Ok,
            state,
        }
    }
}

/// `K_TXN` and `K_OCRA` of token `t`, derived from its sealed `K_TOKEN`
/// (the opened secret is zeroised when this returns). A token without a
/// sealed secret or one that does not open is `internal_error` (logged
/// with the serial only).
pub(crate) fn token_keys(ctx: &Ctx<'_>, t: &TokenRow) -> Result<(Serial, TxnKey, OcraKey), Fault> {
    let serial =
        Serial::parse_strict(&t.serial).map_err(|_| Fault::Refused(Refusal::internal()))?;
    let secret = super::check::open_secret(ctx.sealer, &t.serial, t.sealed.as_deref())?;
    let (k_txn, k_ocra) = derive_txn_keys(&secret, &serial);
    Ok((serial, k_txn, k_ocra))
}

/// The stored row as a validated [`Transaction`] of `serial`. A row that
/// no longer validates is `internal_error`.
pub(crate) fn transaction(row: &TxnRow, serial: &Serial) -> Result<Transaction, Fault> {
    Transaction::new(
        row.txn_id,
        serial.clone(),
        row.kind,
        row.created_at,
        row.expires_at,
        row.fields.clone(),
    )
    .map_err(|e| {
        tracing::error!("stored transaction {}: {e}", row.txn_id);
        Fault::Refused(Refusal::internal())
    })
}

/// Writes the audit event `kind` for transaction `txn_id` (its id is the
/// only detail; never a field value).
pub(crate) fn txn_event(
    c: &rusqlite::Connection,
    now: u64,
    serial: &str,
    customer: Option<&str>,
    kind: &str,
    txn_id: &TxnId,
) -> rusqlite::Result<()> {
    event(
        c,
        now,
        Some(serial),
        customer,
        kind,
        Some(&txn_id.to_base32()),
    )
}

/// `unknown_txn`: no such transaction for this customer or token.
pub(crate) fn unknown_txn() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::UnknownTxn,
        "no such transaction for this customer or token",
    ))
}

/// `txn_expired`.
pub(crate) fn txn_expired() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::TxnExpired,
        "the transaction has expired; it will not run",
    ))
}

/// `txn_decided`.
pub(crate) fn txn_decided() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::TxnDecided,
        "the transaction was already decided",
    ))
}

/// `no_token`: the transaction's token is no longer active (revoked,
/// exchanged, expired).
pub(crate) fn token_gone() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::NoToken,
        "the token of this transaction is no longer active",
    ))
}

/// Loads the transaction `txn_id` of `customer`; another customer's or an
/// unknown one is `unknown_txn`. A pending one past its expiry is stored
/// as expired (with its audit event) and returned so.
pub(crate) fn customer_txn(
    c: &rusqlite::Connection,
    customer: &str,
    txn_id: &TxnId,
    now: u64,
) -> Result<TxnRow, Fault> {
    let Some(mut row) = crate::db::txn::by_id(c, txn_id)? else {
        return Err(unknown_txn());
    };
    if row.customer_id != customer {
        return Err(unknown_txn());
    }
    expire_row(c, &mut row, now)?;
    Ok(row)
}

/// Stores `expired` for a pending row past its expiry (audit event once)
/// and updates `row.state`.
pub(crate) fn expire_row(
    c: &rusqlite::Connection,
    row: &mut TxnRow,
    now: u64,
) -> Result<(), Fault> {
    if row.state_at(now) == TxnState::Expired && row.state == TxnState::Pending {
        if crate::db::txn::expire_if_due(c, &row.txn_id, now)? {
            txn_event(
                c,
                now,
                &row.serial,
                Some(&row.customer_id),
                "txn_expired",
                &row.txn_id,
            )?;
        }
        row.state = TxnState::Expired;
    }
    Ok(())
}
