//! `POST /v1/tokens/{serial}/transactions/{txn_id}/decision`: the
//! customer's approval or rejection, made in the app.
//!
//! Contract, in this order:
//! 1. the token must be active (else 401 `unauthorized`, as for polls: a
//!    revoked or exchanged token's key is gone);
//! 2. a serial with more than 10 bad MACs in its current 10-minute window
//!    is 429 `rate_limited` until the window ends (any decision, good or
//!    bad); bad MACs never touch the code lockout;
//! 3. the transaction must be this token's (else `unknown_txn`, also for
//!    another token's transaction);
//! 4. the MAC (approval or rejection over the **stored** transaction's
//!    `txn_digest`, constant time) → `confirm_failed`, counted in the
//!    window — checked before the state, so that a request without the
//!    key learns nothing about it;
//! 5. an approval of a locked token → `locked` (a rejection is still
//!    taken);
//! 6. one conditional `UPDATE` `pending` → `approved`/`rejected` (only
//!    while `now < expires_at`); when it changed nothing: the same
//!    decision again → 200 with that decision's state (idempotent; also
//!    once an approved transaction was consumed), the other decision →
//!    `txn_decided`, past the expiry → `txn_expired`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::txn::wire::{DecisionRequest, DecisionResponse, TxnState};
use softtoken_core::txn::{Decision, TxnId};
use softtoken_core::Serial;

use super::poll::poll_refused;
use super::{
    expire_row, token_keys, transaction, txn_decided, txn_event, txn_expired, unknown_txn,
};
use crate::db::rows::token_by_serial;
use crate::db::txn::{by_id, count_bad_mac, decide, mac_limited};
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, RequestTime, Stk1Json};
use crate::ops::check::locked_refusal;
use crate::ops::V;
use crate::refusal::Refusal;

/// Takes the customer's decision on transaction `txn_id` of `serial`.
#[derive(Debug)]
pub struct Decide {
    /// The token (already parsed).
    pub serial: Serial,
    /// The transaction.
    pub txn_id: TxnId,
    /// The request (its MAC is sent in the clear; not a secret).
    pub req: DecisionRequest,
}

impl Operation for Decide {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::txn::decide_op(self, client, ctx, now)
    }

    type Output = TxnState;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<TxnState, Fault> {
        let Some(t) = token_by_serial(c, self.serial.as_str())? else {
            return Err(Fault::Refused(poll_refused()));
        };
        if t.state != "active" || t.sealed.is_none() {
            return Err(Fault::Refused(poll_refused()));
        }
        if mac_limited(c, &t.serial, now)? {
            return Err(Fault::Refused(Refusal::new(
                ErrorCode::RateLimited,
                "too many wrong confirmations for this token; try again later",
            )));
        }
        let Some(mut row) = by_id(c, &self.txn_id)? else {
            return Err(unknown_txn());
        };
        if row.serial != t.serial {
            return Err(unknown_txn());
        }
        let (serial, k_txn, _) = token_keys(ctx, &t)?;
        let tx = transaction(&row, &serial)?;
        if self.req.verify(&k_txn, &tx).is_err() {
            count_bad_mac(c, &t.serial, now)?;
            return Err(Fault::Refused(Refusal::new(
                ErrorCode::ConfirmFailed,
                "the confirmation does not match the transaction",
            )));
        }
        drop(k_txn);
        let decision = self.req.decision;
        if decision == Decision::Approve && t.record.locked {
            return Err(locked_refusal());
        }
        let to = TxnState::after(decision);
        let customer = row.customer_id.clone();
        if decide(c, &self.txn_id, &t.serial, to, now)? {
            let kind = match decision {
                Decision::Approve => "txn_approved",
                Decision::Reject => "txn_rejected",
            };
            txn_event(c, now, &t.serial, Some(&customer), kind, &self.txn_id)?;
            return Ok(to);
        }
        expire_row(c, &mut row, now)?;
        match (row.state, decision) {
            (TxnState::Expired, _) => Err(txn_expired()),
            (s, _) if s == to => Ok(to),
            (TxnState::Consumed, Decision::Approve) => Ok(TxnState::Approved),
            (TxnState::Pending, _) => Err(Fault::Refused(Refusal::internal())),
            _ => Err(txn_decided()),
        }
    }
}

/// The handler. A serial that does not parse is `unauthorized` (as a
/// poll); a `txn_id` that does not parse is `unknown_txn`.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    RequestTime(now): RequestTime,
    Path((serial, txn_id)): Path<(String, String)>,
    Stk1Json(req): Stk1Json<DecisionRequest>,
) -> Result<Json<DecisionResponse>, Refusal> {
    let serial = Serial::parse_strict(&serial).map_err(|_| poll_refused())?;
    let txn_id = TxnId::parse(&txn_id).map_err(|_| Refusal::from(unknown_txn()))?;
    let state = st
        .db
        .run(
            Decide {
                serial,
                txn_id,
                req,
            },
            now,
        )
        .await?;
    Ok(Json(DecisionResponse {
        v: V,
        txn_id,
        state,
    }))
}
