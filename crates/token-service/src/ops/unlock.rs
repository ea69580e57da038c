//! `POST /v1/admin/unlock`: the bank unlocks a token locked by wrong
//! codes. Unknown serial → `not_found`. It resets `fail_count` and
//! `locked` and keeps `last_step` and the drift.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::{ErrorCode, UnlockRequest};
use softtoken_core::Serial;

use super::verify::OkResponse;
use crate::db::rows::{cas_record, event, token_by_serial};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, OpsAuth, RequestTime, Stk1Json};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Unlocks token `serial`.
#[derive(Debug)]
pub struct Unlock {
    /// Serial as typed.
    pub serial: String,
}

impl Operation for Unlock {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::unlock_op(self, client, ctx, now)
    }

    type Output = ();

    fn apply(self, c: &mut Savepoint<'_>, _: &Ctx<'_>, now: u64) -> Result<(), Fault> {
        let typed = self.serial.as_str();
        let Ok(serial) = Serial::parse_typed(typed) else {
            return refuse(ErrorCode::InvalidRequest, "not a valid serial number");
        };
        let Some(t) = token_by_serial(c, serial.as_str())? else {
            return refuse(ErrorCode::NotFound, "no token with this serial number");
        };
        let new = t.record.unlocked();
        if !cas_record(c, &t.serial, &t.record, &new)? {
            return Err(Fault::Refused(Refusal::internal()));
        }
        event(c, now, Some(&t.serial), None, "unlocked", None)?;
        Ok(())
    }
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: OpsAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<UnlockRequest>,
) -> Result<Json<OkResponse>, Refusal> {
    st.db
        .run(
            Scoped::new(Scope::Operations, Unlock { serial: r.serial }),
            now,
        )
        .await?;
    Ok(Json(OkResponse::new()))
}
