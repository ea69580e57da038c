//! The operations-scope read of a token ([`ops::inspect::Inspect`]) on
//! PostgreSQL: the same answer and refusals as on SQLite, in one
//! transaction (an issued token past its deadline is expired by the read,
//! as the public status does).

use deadpool_postgres::GenericClient;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::Serial;

use super::{effective_state, refuse, token_by_serial};
use super::{PgCtx, PgFault};
use crate::ops;
use crate::ops::inspect::{info, Times, TokenInfo};

/// [`ops::inspect::Inspect`] on PostgreSQL.
pub(crate) async fn inspect_op(
    op: ops::inspect::Inspect,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<TokenInfo, PgFault> {
    let limit = ctx.cfg.policy.lockout_limit;
    in_transaction!(client, |tx| inspect(&tx, &op.serial, limit, now).await)
}

async fn inspect<C: GenericClient>(
    c: &C,
    serial: &Serial,
    lockout_limit: u32,
    now: u64,
) -> Result<TokenInfo, PgFault> {
    const UNKNOWN: &str = "no token with this serial number";
    let Some(t) = token_by_serial(c, serial.as_str(), false).await? else {
        return refuse(ErrorCode::NotFound, UNKNOWN);
    };
    let state = effective_state(c, &t, now).await?;
    let st = c
        .prepare_cached("SELECT issued_at, bound_at, revoked_at FROM tokens WHERE serial = $1")
        .await?;
    let Some(row) = c.query_opt(&st, &[&t.serial]).await? else {
        return refuse(ErrorCode::NotFound, UNKNOWN);
    };
    let times = Times {
        issued_at: row.try_get(0)?,
        bound_at: row.try_get(1)?,
        revoked_at: row.try_get(2)?,
    };
    Ok(info(
        &t.serial,
        state,
        &t.record,
        t.bind_by,
        times,
        lockout_limit,
    ))
}
