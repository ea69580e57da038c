//! `POST /v1/bank/transactions/consume`: web banking takes an approved
//! transaction to execute it — exactly once.
//!
//! One conditional `UPDATE` (`approved` → `consumed`, owner, token active
//! and not locked) decides; only when it changed nothing is the row read
//! to tell why: `unknown_txn` (unknown or another customer's),
//! `txn_consumed`, `no_token` (the token was revoked or exchanged),
//! `locked`, or `txn_not_approved` with the `state` (`pending`,
//! `rejected`, `expired`). An approved transaction stays consumable after
//! its `expires_at`: the expiry bounds the customer's decision, not web
//! banking's step after it.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::TxnId;

use super::{customer_txn, token_gone, txn_event, TxnRequest, TxnStateResponse};
use crate::db::rows::token_by_serial;
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::ops::check::locked_refusal;
use crate::ops::check_customer;
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Consumes the approved transaction `txn_id` of `customer_id`.
#[derive(Debug)]
pub struct Consume {
    /// Customer (checked by [`check_customer`]).
    pub customer_id: String,
    /// The transaction.
    pub txn_id: TxnId,
}

impl Operation for Consume {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::txn::consume_op(self, client, ctx, now)
    }

    type Output = ();

    fn apply(self, c: &mut Savepoint<'_>, _: &Ctx<'_>, now: u64) -> Result<(), Fault> {
        let customer = self.customer_id.as_str();
        if let Some(serial) = crate::db::txn::consume_approved(c, &self.txn_id, customer, now)? {
            txn_event(
                c,
                now,
                &serial,
                Some(customer),
                "txn_consumed",
                &self.txn_id,
            )?;
            return Ok(());
        }
        let row = customer_txn(c, customer, &self.txn_id, now)?;
        match row.state {
            TxnState::Consumed => {
                return Err(Fault::Refused(Refusal::new(
                    ErrorCode::TxnConsumed,
                    "the transaction was already consumed",
                )))
            }
            TxnState::Approved => {
                // The UPDATE refused an approved row: the token is the cause.
                return match token_by_serial(c, &row.serial)? {
                    Some(t) if t.state == "active" && t.record.locked => Err(locked_refusal()),
                    Some(t) if t.state == "active" => Err(Fault::Refused(Refusal::internal())),
                    _ => Err(token_gone()),
                };
            }
            _ => {}
        }
        Err(Fault::Refused(
            Refusal::new(
                ErrorCode::TxnNotApproved,
                "the transaction has not been approved in the app",
            )
            .with_txn_state(row.state),
        ))
    }
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<TxnRequest>,
) -> Result<Json<TxnStateResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let op = Consume {
        customer_id: r.customer_id,
        txn_id: r.txn_id,
    };
    st.db.run(Scoped::new(Scope::Backend, op), now).await?;
    Ok(Json(TxnStateResponse::new(TxnState::Consumed)))
}
