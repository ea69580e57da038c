//! `POST /v1/admin/resync`: the bank's clerk re-learns a token's clock
//! drift from two consecutive codes (up to the policy's resync window).
//! Unknown, revoked or expired serial, or no consecutive pair →
//! `resync_failed`; a malformed serial → `invalid_request`. A lock is
//! kept (unlocking is separate).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use serde::Serialize;
use softtoken_core::stk1::messages::{ErrorCode, OtpText, ResyncRequest, TokenState};
use softtoken_core::Serial;

use super::check::generator;
use super::{Done, Redacted, V};
use crate::db::rows::{cas_record, effective_state, event, token_by_serial};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, OpsAuth, RequestTime, Stk1Json};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Resynchronises token `serial` from two consecutive codes.
pub struct Resync {
    /// Serial as typed.
    pub serial: String,
    /// First code.
    pub otp1: OtpText,
    /// Next code.
    pub otp2: OtpText,
}

impl std::fmt::Debug for Resync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resync")
            .field("serial", &self.serial)
            .field("otp1", &Redacted)
            .field("otp2", &Redacted)
            .finish()
    }
}

impl Operation for Resync {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::resync_op(self, client, ctx, now)
    }

    /// The learned drift in steps.
    type Output = i64;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<i64, Fault> {
        let (typed, otp1, otp2) = (self.serial.as_str(), &*self.otp1, &*self.otp2);
        const FAILED: &str = "no two consecutive codes found for this token near the server's time";
        let Ok(serial) = Serial::parse_typed(typed) else {
            return refuse(ErrorCode::InvalidRequest, "not a valid serial number");
        };
        let Some(t) = token_by_serial(c, serial.as_str())? else {
            return refuse(ErrorCode::ResyncFailed, FAILED);
        };
        if !matches!(
            effective_state(c, &t, now)?,
            TokenState::Issued | TokenState::Active
        ) {
            return refuse(ErrorCode::ResyncFailed, FAILED);
        }
        let gen = generator(ctx, &t)?;
        let Some(new) = ctx.cfg.policy.resync(&gen, &t.record, otp1, otp2, now) else {
            event(c, now, Some(&t.serial), None, "resync_failed", None)?;
            return refuse(ErrorCode::ResyncFailed, FAILED);
        };
        if !cas_record(c, &t.serial, &t.record, &new)? {
            return Err(Fault::Refused(Refusal::internal()));
        }
        event(
            c,
            now,
            Some(&t.serial),
            None,
            "resynced",
            Some(&new.drift.to_string()),
        )?;
        Ok(new.drift)
    }
}

/// Success body: `{"v":1,"result":"ok","drift_steps"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResyncResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
    /// The learned drift in steps.
    pub drift_steps: i64,
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: OpsAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<ResyncRequest>,
) -> Result<Json<ResyncResponse>, Refusal> {
    let op = Resync {
        serial: r.serial,
        otp1: r.otp1,
        otp2: r.otp2,
    };
    let drift_steps = st.db.run(Scoped::new(Scope::Operations, op), now).await?;
    Ok(Json(ResyncResponse {
        v: V,
        result: Done::Ok,
        drift_steps,
    }))
}
