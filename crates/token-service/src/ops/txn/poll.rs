//! `POST /v1/tokens/{serial}/transactions/pending`: the app asks for the
//! transactions waiting for its customer's decision.
//!
//! Contract: the request is accepted only if the token is active (a
//! locked token still polls, so that its customer can still *reject*),
//! `|t − now| ≤ 120`, the MAC checks with `K_TXN` (constant time), and the
//! nonce was not seen for this serial in the last 300 s — checked in that
//! order, and the nonce is remembered only once the MAC checked (so
//! unauthenticated requests store nothing). Every failure, including a
//! malformed or unknown serial, is the same 401 `unauthorized` body. The
//! answer lists the pending, unexpired transactions of the token, oldest
//! first, at most 10, each with its `bank_mac`; pending ones found past
//! their expiry are stored as expired (audit event) on the way.
//!
//! The nonce memory is the `txn_nonces` table of the database, so it
//! survives a restart and is shared by every process on the same
//! database.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::txn::wire::{PollRequest, PollResponse, WireTransaction, MAX_PENDING};
use softtoken_core::Serial;

use super::{token_keys, transaction, txn_event};
use crate::db::rows::token_by_serial;
use crate::db::txn::{expire_due_of_serial, pending_of, remember_nonce};
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, RequestTime, Stk1Json};
use crate::ops::V;
use crate::refusal::Refusal;

/// Largest accepted `|t − now|`, in seconds.
pub const POLL_WINDOW: u64 = 120;

/// The one refusal of a poll, whatever failed.
pub(crate) fn poll_refused() -> Refusal {
    Refusal::new(ErrorCode::Unauthorized, "the request is not authorised")
}

/// Lists the pending transactions of `serial` for an authenticated poll.
#[derive(Debug)]
pub struct Poll {
    /// The token (already parsed).
    pub serial: Serial,
    /// The request (its MAC is not a secret: it is sent in the clear).
    pub req: PollRequest,
}

impl Operation for Poll {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::txn::poll_op(self, client, ctx, now)
    }

    type Output = PollResponse;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<PollResponse, Fault> {
        let refused = || Fault::Refused(poll_refused());
        let Some(t) = token_by_serial(c, self.serial.as_str())? else {
            return Err(refused());
        };
        if t.state != "active" || t.sealed.is_none() {
            return Err(refused());
        }
        if self.req.t.abs_diff(now) > POLL_WINDOW {
            return Err(refused());
        }
        let (serial, k_txn, _) = token_keys(ctx, &t)?;
        if self.req.verify(&k_txn, &serial).is_err() {
            return Err(refused());
        }
        if !remember_nonce(c, &t.serial, &self.req.nonce, now)? {
            return Err(refused());
        }
        for id in expire_due_of_serial(c, &t.serial, now)? {
            txn_event(c, now, &t.serial, None, "txn_expired", &id)?;
        }
        let mut transactions = Vec::new();
        for row in pending_of(c, &t.serial, now, MAX_PENDING)? {
            let tx = transaction(&row, &serial)?;
            transactions.push(WireTransaction::sign(&tx, &k_txn));
        }
        Ok(PollResponse {
            v: V,
            server_time: now,
            transactions,
        })
    }
}

/// The handler. A serial that does not parse is refused like any other
/// failure.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    RequestTime(now): RequestTime,
    Path(serial): Path<String>,
    Stk1Json(req): Stk1Json<PollRequest>,
) -> Result<Json<PollResponse>, Refusal> {
    let serial = Serial::parse_strict(&serial).map_err(|_| poll_refused())?;
    Ok(Json(st.db.run(Poll { serial, req }, now).await?))
}
