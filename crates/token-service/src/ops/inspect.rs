//! `GET /v1/admin/tokens/{serial}` (admin listener, operations key): what
//! the service holds about one token, for the bank's operations staff —
//! its state, the verifier record (consecutive failures, lock, learned
//! drift, the time of the last accepted step) and its life-cycle times.
//! Nothing secret: no key material, no code, not even the last accepted
//! step's number (only the time that step began).
//!
//! A malformed serial is `invalid_request`; an unknown one `not_found`
//! (as for unlock). Like the public status, reading an issued token past
//! its registration deadline expires it (that `expired` event carries
//! the operations scope); the read itself writes no audit event.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use rusqlite::{OptionalExtension, Savepoint};
use serde::Serialize;
use softtoken_core::stk1::messages::{ErrorCode, TokenState};
use softtoken_core::{Params, Serial};

use super::V;
use crate::db::rows::{effective_state, token_by_serial};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, OpsAuth, RequestTime};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Reads token `serial` for the operations scope.
#[derive(Debug)]
pub struct Inspect {
    /// Serial (parsed).
    pub serial: Serial,
}

/// Success body of `GET /v1/admin/tokens/{serial}`. Times are Unix
/// seconds of the server's clock; `null` where nothing happened yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Protocol version.
    pub v: u32,
    /// Canonical serial (letters and digits, no separators).
    pub serial: String,
    /// The token's state (an issued token past its deadline is `expired`).
    pub state: TokenState,
    /// Consecutive wrong codes since the last accepted one (a resync or
    /// an unlock resets it).
    pub fail_count: u32,
    /// Locked after too many wrong codes; it stays locked (there is no
    /// expiry) until an operations unlock.
    pub locked: bool,
    /// This server's lockout limit: `fail_count` reaching it locks.
    pub lockout_limit: u32,
    /// The learned clock drift of the token, in steps (positive: the
    /// token's clock is ahead).
    pub drift_steps: i64,
    /// The length of one step in seconds.
    pub step_seconds: u64,
    /// When the last accepted time step began (`null` before the first
    /// accepted code).
    pub last_accepted_step_at: Option<u64>,
    /// When the pairing created the token.
    pub issued_at: u64,
    /// Deadline for registering an issued token.
    pub bind_by: u64,
    /// When web banking registered it to a customer.
    pub bound_at: Option<u64>,
    /// When it was stopped or replaced.
    pub revoked_at: Option<u64>,
}

/// The life-cycle times of a token row, as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) issued_at: i64,
    pub(crate) bound_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
}

/// Assembles the answer from a row's fields (both backends).
pub(crate) fn info(
    serial: &str,
    state: TokenState,
    record: &softtoken_core::TokenRecord,
    bind_by: u64,
    times: Times,
    lockout_limit: u32,
) -> TokenInfo {
    let at = |t: i64| u64::try_from(t).unwrap_or(0);
    let step = Params::STK1.period();
    TokenInfo {
        v: V,
        serial: serial.to_string(),
        state,
        fail_count: record.fail_count,
        locked: record.locked,
        lockout_limit,
        drift_steps: record.drift,
        step_seconds: step,
        last_accepted_step_at: record
            .last_step
            .map(|s| s.saturating_mul(step).saturating_add(Params::STK1.t0())),
        issued_at: at(times.issued_at),
        bind_by,
        bound_at: times.bound_at.map(at),
        revoked_at: times.revoked_at.map(at),
    }
}

fn unknown<T>() -> Result<T, Fault> {
    refuse(ErrorCode::NotFound, "no token with this serial number")
}

impl Operation for Inspect {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::admin::inspect_op(self, client, ctx, now)
    }

    type Output = TokenInfo;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<TokenInfo, Fault> {
        let Some(t) = token_by_serial(c, self.serial.as_str())? else {
            return unknown();
        };
        let state = effective_state(c, &t, now)?;
        let times = c
            .prepare_cached("SELECT issued_at, bound_at, revoked_at FROM tokens WHERE serial = ?1")?
            .query_row([&t.serial], |r| {
                Ok(Times {
                    issued_at: r.get(0)?,
                    bound_at: r.get(1)?,
                    revoked_at: r.get(2)?,
                })
            })
            .optional()?;
        let Some(times) = times else {
            return unknown();
        };
        Ok(info(
            &t.serial,
            state,
            &t.record,
            t.bind_by,
            times,
            ctx.cfg.policy.lockout_limit,
        ))
    }
}

/// The handler. The serial is normalised like typed input; the key is
/// checked first.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: OpsAuth,
    RequestTime(now): RequestTime,
    Path(serial): Path<String>,
) -> Result<Json<TokenInfo>, Refusal> {
    let serial =
        Serial::parse_typed(&serial).map_err(|_| Refusal::invalid("not a valid serial number"))?;
    let info = st
        .db
        .run(Scoped::new(Scope::Operations, Inspect { serial }), now)
        .await?;
    Ok(Json(info))
}
