//! `POST /v1/bank/transactions`: web banking registers a transfer or a
//! payment for the customer's active token to confirm.
//!
//! The customer needs an active token (`no_token`) that is not locked
//! (`locked`); the kind's keys in order and every value's rule are the
//! core's ([`Transaction::new`]) → `invalid_request` naming the key, never
//! the value. The lifetime is the server's (`--txn-lifetime`, 300 s by
//! default); `created_at` is the request's time.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rand_core::OsRng;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::txn::{Kind, Transaction, TxnId};
use softtoken_core::Serial;

use super::{txn_event, CreateTxnRequest, CreateTxnResponse};
use crate::db::rows::active_token;
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::ops::check::locked_refusal;
use crate::ops::{check_customer, Done, V};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Creates a pending transaction for the customer's active token.
/// `Debug` leaves out the field values.
pub struct CreateTxn {
    /// Customer (checked by [`check_customer`]).
    pub customer_id: String,
    /// Transfer or payment.
    pub kind: Kind,
    /// `[key, value]` pairs as received.
    pub fields: Vec<(String, String)>,
}

impl std::fmt::Debug for CreateTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTxn")
            .field("customer_id", &self.customer_id)
            .field("kind", &self.kind)
            .field("fields", &"[not shown]")
            .finish()
    }
}

impl Operation for CreateTxn {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::txn::create_op(self, client, ctx, now)
    }

    type Output = CreateTxnResponse;

    fn apply(
        self,
        c: &mut Savepoint<'_>,
        ctx: &Ctx<'_>,
        now: u64,
    ) -> Result<CreateTxnResponse, Fault> {
        let customer = self.customer_id.as_str();
        let Some(t) = active_token(c, customer)? else {
            return refuse(ErrorCode::NoToken, "the customer has no active token");
        };
        if t.record.locked {
            return Err(locked_refusal());
        }
        let serial =
            Serial::parse_strict(&t.serial).map_err(|_| Fault::Refused(Refusal::internal()))?;
        let expires_at = now.saturating_add(ctx.cfg.txn_lifetime);
        let tx = Transaction::new(
            TxnId::generate(&mut OsRng),
            serial.clone(),
            self.kind,
            now,
            expires_at,
            self.fields,
        )
        .map_err(|e| Fault::Refused(e.into()))?;
        crate::db::txn::insert(c, &tx, customer)?;
        txn_event(
            c,
            now,
            &t.serial,
            Some(customer),
            "txn_created",
            tx.txn_id(),
        )?;
        Ok(CreateTxnResponse {
            v: V,
            result: Done::Ok,
            txn_id: *tx.txn_id(),
            serial,
            created_at: tx.created_at(),
            expires_at: tx.expires_at(),
        })
    }
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<CreateTxnRequest>,
) -> Result<Json<CreateTxnResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let op = CreateTxn {
        customer_id: r.customer_id,
        kind: r.kind,
        fields: r.fields,
    };
    Ok(Json(st.db.run(Scoped::new(Scope::Backend, op), now).await?))
}
