//! `POST /v1/bank/change`: web banking's 交換 — one transaction that
//! checks the old token's code, then binds the new token.
//!
//! The old token's code is checked first (a wrong one → `old_otp_invalid`
//! with `fail_count`, counted on the old token). Its acceptance and the new
//! token's activation happen in a nested savepoint: if the new serial or
//! code fails, that savepoint is rolled back — the old token stays active
//! and its code is not used up — and the new token's failure is counted.
//! On success the old token is revoked and the new one is active.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::params;
use rusqlite::Savepoint;
use serde::Serialize;
use softtoken_core::stk1::messages::{ChangeRequest, ErrorCode, OtpText};
use softtoken_core::{Serial, Verdict};

use super::check::{
    check_active, check_and_store, generator, issued_token, locked_refusal, replay_refusal,
    Checked, BIND_INVALID,
};
use super::{check_customer, Done, Redacted, V};
use crate::db::rows::{active_token, cas_record, event, revoke, to_i64};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Replaces the customer's active token by the issued token `new_serial`.
pub struct Change {
    /// Customer: 1 to 64 characters, no control character (checked by
    /// the handler).
    pub customer_id: String,
    /// Old token's code.
    pub old_otp: OtpText,
    /// New serial as typed.
    pub new_serial: String,
    /// New token's code.
    pub new_otp: OtpText,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("customer_id", &self.customer_id)
            .field("old_otp", &Redacted)
            .field("new_serial", &self.new_serial)
            .field("new_otp", &Redacted)
            .finish()
    }
}

impl Operation for Change {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::change_op(self, client, ctx, now)
    }

    /// (previous serial, new serial).
    type Output = (Serial, Serial);

    fn apply(
        self,
        c: &mut Savepoint<'_>,
        ctx: &Ctx<'_>,
        now: u64,
    ) -> Result<(Serial, Serial), Fault> {
        let (customer, old_otp, new_serial, new_otp) = (
            self.customer_id.as_str(),
            &*self.old_otp,
            self.new_serial.as_str(),
            &*self.new_otp,
        );
        // The old token's failures are kept whatever happens next.
        if active_token(c, customer)?.is_none() {
            return refuse(ErrorCode::NoToken, "the customer has no active token");
        }
        let new = match issued_token(c, new_serial, now) {
            Ok(t) => Some(t),
            Err(Fault::Refused(_)) => None,
            Err(e) => return Err(e),
        };
        // Accepting the old code happens in a nested savepoint: if the new
        // token then fails, the old token is left exactly as it was (its code
        // not consumed), so the customer can retry with the same code.
        let inner = c.savepoint()?;
        let old = match check_active(
            &inner,
            ctx,
            customer,
            old_otp,
            now,
            ErrorCode::OldOtpInvalid,
            "change",
        ) {
            Ok(t) => t,
            Err(Fault::Refused(r)) => {
                inner.commit()?; // keep the old token's failure count
                return Err(Fault::Refused(r));
            }
            Err(e) => return Err(e),
        };
        let Some(new) = new else {
            drop(inner);
            return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
        };
        let new_record_before = new.record;
        let (checked, new) = check_and_store(&inner, ctx, new, new_otp, now)?;
        match checked {
            Checked::Accepted => {
                revoke(&inner, &old.serial, now)?;
                inner
                .prepare_cached(
                    "UPDATE tokens SET state = 'active', customer_id = ?2, bound_at = ?3 WHERE serial = ?1 AND state = 'issued'",
                )?
                .execute(params![&new.serial, customer, to_i64(now)])?;
                event(
                    &inner,
                    now,
                    Some(&old.serial),
                    Some(customer),
                    "changed_from",
                    Some(&new.serial),
                )?;
                event(
                    &inner,
                    now,
                    Some(&new.serial),
                    Some(customer),
                    "changed_to",
                    Some(&old.serial),
                )?;
                inner.commit()?;
                let p = Serial::parse_strict(&old.serial)
                    .map_err(|_| Fault::Refused(Refusal::internal()))?;
                let s = Serial::parse_strict(&new.serial)
                    .map_err(|_| Fault::Refused(Refusal::internal()))?;
                Ok((p, s))
            }
            // In every other case dropping `inner` rolls back the old
            // token's acceptance.
            Checked::Replay => {
                drop(inner);
                Err(replay_refusal())
            }
            Checked::Locked => {
                drop(inner);
                Err(locked_refusal())
            }
            Checked::Invalid { .. } => {
                drop(inner);
                // Keep the new token's failure count (outside the rollback).
                let gen = generator(ctx, &new)?;
                if let Verdict::Invalid { record } =
                    ctx.cfg
                        .policy
                        .verify(&gen, &new_record_before, new_otp, now)
                {
                    cas_record(c, &new.serial, &new_record_before, &record)?;
                    event(
                        c,
                        now,
                        Some(&new.serial),
                        Some(customer),
                        "bind_failed",
                        None,
                    )?;
                    if record.locked {
                        return Err(locked_refusal());
                    }
                }
                refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID)
            }
        }
    }
}

/// Success body: `{"v":1,"result":"ok","previous_serial","serial"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeResponse {
    /// Protocol version.
    pub v: u32,
    /// `ok`.
    pub result: Done,
    /// The revoked token.
    pub previous_serial: Serial,
    /// The now active token.
    pub serial: Serial,
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<ChangeRequest>,
) -> Result<Json<ChangeResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let op = Change {
        customer_id: r.customer_id,
        old_otp: r.old_otp,
        new_serial: r.new_serial,
        new_otp: r.new_otp,
    };
    let (previous_serial, serial) = st.db.run(Scoped::new(Scope::Backend, op), now).await?;
    Ok(Json(ChangeResponse {
        v: V,
        result: Done::Ok,
        previous_serial,
        serial,
    }))
}
