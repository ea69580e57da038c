//! `POST /v1/bank/transactions/status`: the state of a transaction of the
//! customer (`unknown_txn` for another customer's or an unknown one). A
//! pending transaction past its expiry answers, and is stored as,
//! `expired`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::TxnId;

use super::{customer_txn, TxnRequest, TxnStateResponse};
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::ops::check_customer;
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Reads the state of transaction `txn_id` of `customer_id`.
#[derive(Debug)]
pub struct TxnStatus {
    /// Customer (checked by [`check_customer`]).
    pub customer_id: String,
    /// The transaction.
    pub txn_id: TxnId,
}

impl Operation for TxnStatus {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::txn::status_op(self, client, ctx, now)
    }

    type Output = TxnState;

    fn apply(self, c: &mut Savepoint<'_>, _: &Ctx<'_>, now: u64) -> Result<TxnState, Fault> {
        Ok(customer_txn(c, &self.customer_id, &self.txn_id, now)?.state)
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
    let op = TxnStatus {
        customer_id: r.customer_id,
        txn_id: r.txn_id,
    };
    let state = st.db.run(Scoped::new(Scope::Backend, op), now).await?;
    Ok(Json(TxnStateResponse::new(state)))
}
