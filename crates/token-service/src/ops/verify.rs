//! `POST /v1/bank/verify`: checks a code of the customer's active token
//! (login, transfer, …; the purpose goes to the audit log). A replay is
//! logged, never counted; the failure that reaches the lockout limit
//! answers `locked`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use serde::Serialize;
use softtoken_core::stk1::messages::{ErrorCode, OtpText, Purpose, VerifyRequest};

use super::check::check_active;
use super::{check_customer, Done, Redacted, V};
use crate::db::rows::event;
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Verifies `otp` for the customer's active token.
pub struct Verify {
    /// Customer: 1 to 64 characters, no control character (checked by
    /// the handler).
    pub customer_id: String,
    /// Code as typed.
    pub otp: OtpText,
    /// Purpose (audit log).
    pub purpose: Purpose,
}

impl std::fmt::Debug for Verify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verify")
            .field("customer_id", &self.customer_id)
            .field("otp", &Redacted)
            .field("purpose", &self.purpose)
            .finish()
    }
}

impl Operation for Verify {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::verify_op(self, client, ctx, now)
    }

    type Output = ();

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<(), Fault> {
        let (customer, otp, purpose) = (self.customer_id.as_str(), &*self.otp, self.purpose);
        let t = check_active(
            c,
            ctx,
            customer,
            otp,
            now,
            ErrorCode::InvalidOtp,
            purpose.as_str(),
        )?;
        event(
            c,
            now,
            Some(&t.serial),
            Some(customer),
            "verified",
            Some(purpose.as_str()),
        )?;
        Ok(())
    }
}

/// Success body: `{"v":1,"result":"ok"}` (also the answer of unlock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OkResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
}

impl OkResponse {
    /// `{"v":1,"result":"ok"}`.
    pub fn new() -> OkResponse {
        OkResponse {
            v: V,
            result: Done::Ok,
        }
    }
}

impl Default for OkResponse {
    fn default() -> OkResponse {
        OkResponse::new()
    }
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<VerifyRequest>,
) -> Result<Json<OkResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let purpose = r.purpose.as_str();
    let op = Verify {
        customer_id: r.customer_id,
        otp: r.otp,
        purpose: r.purpose,
    };
    let result = st
        .db
        .run(Scoped::new(Scope::Backend, op), now)
        .await
        .map_err(Refusal::from);
    crate::metrics::global().verification(purpose, result.as_ref().map(|_| ()));
    result?;
    Ok(Json(OkResponse::new()))
}
