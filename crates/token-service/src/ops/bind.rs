//! `POST /v1/bank/bind`: web banking's 利用開始 — an issued token becomes
//! the customer's active token after one correct code.
//!
//! A malformed serial, an unknown one, one that is not `issued` or past
//! `bind_by`, and a wrong code all answer the same `serial_or_otp_invalid`;
//! wrong codes count on the issued token (it can lock).
//! `customer_has_token` is checked first.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::params;
use rusqlite::Savepoint;
use serde::Serialize;
use softtoken_core::stk1::messages::{BindRequest, ErrorCode, OtpText, TokenState};
use softtoken_core::Serial;

use super::check::{
    check_and_store, issued_token, locked_refusal, replay_refusal, Checked, BIND_INVALID,
};
use super::{check_customer, Done, Redacted, V};
use crate::db::rows::{active_token, event, to_i64};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Binds the issued token `serial` to `customer_id` if `otp` is correct.
pub struct Bind {
    /// Customer: 1 to 64 characters, no control character (checked by
    /// the handler).
    pub customer_id: String,
    /// Serial as typed.
    pub serial: String,
    /// Code as typed.
    pub otp: OtpText,
}

impl std::fmt::Debug for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bind")
            .field("customer_id", &self.customer_id)
            .field("serial", &self.serial)
            .field("otp", &Redacted)
            .finish()
    }
}

impl Operation for Bind {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::bind_op(self, client, ctx, now)
    }

    type Output = Serial;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<Serial, Fault> {
        let (customer, typed, otp) = (self.customer_id.as_str(), self.serial.as_str(), &*self.otp);
        if active_token(c, customer)?.is_some() {
            return refuse(
                ErrorCode::CustomerHasToken,
                "the customer already has an active token; use change (交換)",
            );
        }
        let t = issued_token(c, typed, now)?;
        let (checked, t) = check_and_store(c, ctx, t, otp, now)?;
        match checked {
            Checked::Accepted => {
                c.prepare_cached(
                    "UPDATE tokens SET state = 'active', customer_id = ?2, bound_at = ?3 WHERE serial = ?1 AND state = 'issued'",
                )?
                .execute(params![&t.serial, customer, to_i64(now)])?;
                event(c, now, Some(&t.serial), Some(customer), "bound", None)?;
                let serial = Serial::parse_strict(&t.serial)
                    .map_err(|_| Fault::Refused(Refusal::internal()))?;
                Ok(serial)
            }
            Checked::Replay => Err(replay_refusal()),
            Checked::Locked => Err(locked_refusal()),
            Checked::Invalid { now_locked, .. } => {
                event(c, now, Some(&t.serial), Some(customer), "bind_failed", None)?;
                if now_locked {
                    event(c, now, Some(&t.serial), Some(customer), "locked", None)?;
                    return Err(locked_refusal());
                }
                refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID)
            }
        }
    }
}

/// Success body: `{"v":1,"result":"ok","serial","state":"active"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
    /// The bound token.
    pub serial: Serial,
    /// `active`.
    pub state: TokenState,
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<BindRequest>,
) -> Result<Json<BindResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let op = Bind {
        customer_id: r.customer_id,
        serial: r.serial,
        otp: r.otp,
    };
    let serial = st.db.run(Scoped::new(Scope::Backend, op), now).await?;
    Ok(Json(BindResponse {
        v: V,
        result: Done::Ok,
        serial,
        state: TokenState::Active,
    }))
}
