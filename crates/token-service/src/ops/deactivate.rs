//! `POST /v1/bank/deactivate`: web banking's 利用中止 — one correct code
//! of the active token revokes it (its sealed secret is deleted). The
//! refusals are those of verify.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use serde::Serialize;
use softtoken_core::stk1::messages::{DeactivateRequest, ErrorCode, OtpText, TokenState};
use softtoken_core::Serial;

use super::check::check_active;
use super::{check_customer, Done, Redacted, V};
use crate::db::rows::{event, revoke};
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Revokes the customer's active token if `otp` is correct.
pub struct Deactivate {
    /// Customer: 1 to 64 characters, no control character (checked by
    /// the handler).
    pub customer_id: String,
    /// Code as typed.
    pub otp: OtpText,
}

impl std::fmt::Debug for Deactivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deactivate")
            .field("customer_id", &self.customer_id)
            .field("otp", &Redacted)
            .finish()
    }
}

impl Operation for Deactivate {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::deactivate_op(self, client, ctx, now)
    }

    type Output = Serial;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<Serial, Fault> {
        let (customer, otp) = (self.customer_id.as_str(), &*self.otp);
        let t = check_active(
            c,
            ctx,
            customer,
            otp,
            now,
            ErrorCode::InvalidOtp,
            "deactivate",
        )?;
        revoke(c, &t.serial, now)?;
        event(c, now, Some(&t.serial), Some(customer), "revoked", None)?;
        Serial::parse_strict(&t.serial).map_err(|_| Fault::Refused(Refusal::internal()))
    }
}

/// Success body: `{"v":1,"result":"ok","serial","state":"revoked"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeactivateResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
    /// The revoked token.
    pub serial: Serial,
    /// `revoked`.
    pub state: TokenState,
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<DeactivateRequest>,
) -> Result<Json<DeactivateResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let op = Deactivate {
        customer_id: r.customer_id,
        otp: r.otp,
    };
    let serial = st.db.run(Scoped::new(Scope::Backend, op), now).await?;
    Ok(Json(DeactivateResponse {
        v: V,
        result: Done::Ok,
        serial,
        state: TokenState::Revoked,
    }))
}
