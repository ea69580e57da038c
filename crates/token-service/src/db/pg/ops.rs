//! The statements of every operation on PostgreSQL (see the module
//! contract in [`super`]): the same checks, refusals and audit events as the
//! SQLite operations of [`crate::ops`], with the verifier record written
//! only by conditional updates.

use deadpool_postgres::{GenericClient, Transaction};
use softtoken_core::encoding::encode;
use softtoken_core::stk1::messages::{
    ErrorCode, FinishRequest, FinishResponse, Purpose, TokenState,
};
use softtoken_core::{Generator, Secret, Serial, TokenRecord, Verdict};
use tokio_postgres::Row;

use super::{PgCtx, PgFault, SWEEP_LOCK};
use crate::ops;
use crate::ops::check::{self, Checked, BIND_INVALID};
use crate::refusal::Refusal;
use softtoken_core::stk1::server::PendingSession;

/// Runs `body` in one transaction on `client`: committed when it succeeds
/// or is refused (refusals keep their failure counts), rolled back on a
/// database error or a concurrent change.
macro_rules! in_transaction {
    ($client:expr, |$tx:ident| $body:expr) => {{
        #[allow(unused_mut)] // only 交換 needs a savepoint
        let mut $tx = $client.transaction().await?;
        let result = $body;
        match result {
            Err(PgFault::Db(e)) => Err(PgFault::Db(e)),
            Err(PgFault::Retry) => Err(PgFault::Retry),
            other => {
                $tx.commit().await?;
                other
            }
        }
    }};
}

/// [`ops::init::CreateSession`] on PostgreSQL.
pub(crate) async fn init_op(
    op: ops::init::CreateSession,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<(), PgFault> {
    in_transaction!(client, |tx| create_session(
        &tx,
        ctx,
        op.pending,
        op.expires_at,
        now
    )
    .await)
}

/// [`ops::finish::Finish`] on PostgreSQL.
pub(crate) async fn finish_op(
    op: ops::finish::Finish,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<FinishResponse, PgFault> {
    in_transaction!(client, |tx| finish(&tx, ctx, op.session_id, &op.req, now)
        .await)
}

/// [`ops::status::Status`] on PostgreSQL.
pub(crate) async fn status_op(
    op: ops::status::Status,
    client: &mut deadpool_postgres::Client,
    _: &PgCtx<'_>,
    now: u64,
) -> Result<TokenState, PgFault> {
    in_transaction!(client, |tx| status(&tx, &op.serial, now).await)
}

/// [`ops::bind::Bind`] on PostgreSQL.
pub(crate) async fn bind_op(
    op: ops::bind::Bind,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<Serial, PgFault> {
    in_transaction!(client, |tx| bind(
        &tx,
        ctx,
        &op.customer_id,
        &op.serial,
        &op.otp,
        now
    )
    .await)
}

/// [`ops::verify::Verify`] on PostgreSQL.
pub(crate) async fn verify_op(
    op: ops::verify::Verify,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<(), PgFault> {
    // The hot path: a read, then one auto-committed conditional statement.
    verify_fast(&*client, ctx, &op.customer_id, &op.otp, op.purpose, now).await
}

/// [`ops::change::Change`] on PostgreSQL.
pub(crate) async fn change_op(
    op: ops::change::Change,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<(Serial, Serial), PgFault> {
    in_transaction!(client, |tx| change(
        &mut tx,
        ctx,
        &op.customer_id,
        &op.old_otp,
        &op.new_serial,
        &op.new_otp,
        now
    )
    .await)
}

/// [`ops::deactivate::Deactivate`] on PostgreSQL.
pub(crate) async fn deactivate_op(
    op: ops::deactivate::Deactivate,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<Serial, PgFault> {
    in_transaction!(client, |tx| deactivate(
        &tx,
        ctx,
        &op.customer_id,
        &op.otp,
        now
    )
    .await)
}

/// [`ops::resync::Resync`] on PostgreSQL.
pub(crate) async fn resync_op(
    op: ops::resync::Resync,
    client: &mut deadpool_postgres::Client,
    ctx: &PgCtx<'_>,
    now: u64,
) -> Result<i64, PgFault> {
    in_transaction!(client, |tx| resync(
        &tx, ctx, &op.serial, &op.otp1, &op.otp2, now
    )
    .await)
}

/// [`ops::unlock::Unlock`] on PostgreSQL.
pub(crate) async fn unlock_op(
    op: ops::unlock::Unlock,
    client: &mut deadpool_postgres::Client,
    _: &PgCtx<'_>,
    now: u64,
) -> Result<(), PgFault> {
    in_transaction!(client, |tx| unlock(&tx, &op.serial, now).await)
}

fn refuse<T>(code: ErrorCode, message: &str) -> Result<T, PgFault> {
    Err(PgFault::Refused(Refusal::new(code, message)))
}

fn internal<T>() -> Result<T, PgFault> {
    Err(PgFault::Refused(Refusal::internal()))
}

pub(super) fn customer_has_token() -> Refusal {
    Refusal::new(
        ErrorCode::CustomerHasToken,
        "the customer already has an active token; use change (交換)",
    )
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn session_aad(id: &[u8; 16]) -> Vec<u8> {
    format!("session:{}", encode(id)).into_bytes()
}

fn token_aad(serial: &str) -> Vec<u8> {
    format!("token:{serial}").into_bytes()
}

struct TokenRow {
    serial: String,
    state: String,
    sealed: Option<Vec<u8>>,
    record: TokenRecord,
    bind_by: u64,
}

const TOKEN_COLS: &str =
    "serial, state, sealed_secret, last_step, drift, fail_count, locked, bind_by";

fn token_from_row(r: &Row) -> Result<TokenRow, tokio_postgres::Error> {
    let last: Option<i64> = r.try_get(3)?;
    let fails: i32 = r.try_get(5)?;
    let bind_by: i64 = r.try_get(7)?;
    Ok(TokenRow {
        serial: r.try_get(0)?,
        state: r.try_get(1)?,
        sealed: r.try_get(2)?,
        record: TokenRecord {
            last_step: last.map(|s| s.max(0) as u64),
            drift: r.try_get(4)?,
            fail_count: fails.max(0) as u32,
            locked: r.try_get(6)?,
        },
        bind_by: bind_by.max(0) as u64,
    })
}

async fn token_by_serial<C: GenericClient>(
    c: &C,
    serial: &str,
    for_update: bool,
) -> Result<Option<TokenRow>, tokio_postgres::Error> {
    let sql = if for_update {
        format!("SELECT {TOKEN_COLS} FROM tokens WHERE serial = $1 FOR UPDATE")
    } else {
        format!("SELECT {TOKEN_COLS} FROM tokens WHERE serial = $1")
    };
    let st = c.prepare_cached(&sql).await?;
    c.query_opt(&st, &[&serial])
        .await?
        .map(|r| token_from_row(&r))
        .transpose()
}

async fn active_token<C: GenericClient>(
    c: &C,
    customer: &str,
    for_update: bool,
) -> Result<Option<TokenRow>, tokio_postgres::Error> {
    let sql = if for_update {
        format!("SELECT {TOKEN_COLS} FROM tokens WHERE customer_id = $1 AND state = 'active' FOR UPDATE")
    } else {
        format!("SELECT {TOKEN_COLS} FROM tokens WHERE customer_id = $1 AND state = 'active'")
    };
    let st = c.prepare_cached(&sql).await?;
    c.query_opt(&st, &[&customer])
        .await?
        .map(|r| token_from_row(&r))
        .transpose()
}

fn generator(ctx: &PgCtx<'_>, t: &TokenRow) -> Result<Generator, PgFault> {
    check::open_generator(ctx.sealer, &t.serial, t.sealed.as_deref()).map_err(PgFault::Refused)
}

async fn event<C: GenericClient>(
    c: &C,
    now: u64,
    serial: Option<&str>,
    customer: Option<&str>,
    kind: &str,
    detail: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "INSERT INTO events(at, serial, customer_id, kind, detail, scope) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .await?;
    let scope = super::current_scope();
    c.execute(
        &st,
        &[&to_i64(now), &serial, &customer, &kind, &detail, &scope],
    )
    .await?;
    Ok(())
}

/// The compare-and-set that accepts step `$2`.
const ACCEPT: &str = "UPDATE tokens SET last_step = $2, drift = $3, fail_count = 0
  WHERE serial = $1 AND state = $4 AND NOT locked AND (last_step IS NULL OR last_step < $2)";

/// The same with its `verified` audit event, in one statement.
const ACCEPT_LOGGED: &str = "WITH u AS (
    UPDATE tokens SET last_step = $2, drift = $3, fail_count = 0
     WHERE serial = $1 AND state = $4 AND NOT locked AND (last_step IS NULL OR last_step < $2)
    RETURNING serial, customer_id)
  INSERT INTO events(at, serial, customer_id, kind, detail, scope)
  SELECT $5::bigint, serial, customer_id, 'verified', $6::text, $7::text FROM u
  RETURNING id";

/// One more failure, locking at the limit `$2`.
const FAIL: &str = "UPDATE tokens SET fail_count = fail_count + 1, locked = (fail_count + 1 >= $2)
  WHERE serial = $1 AND state = $3 AND NOT locked
  RETURNING fail_count, locked";

/// The same with its `failed` (and `locked`) audit events, in one statement.
const FAIL_LOGGED: &str = "WITH u AS (
    UPDATE tokens SET fail_count = fail_count + 1, locked = (fail_count + 1 >= $2)
     WHERE serial = $1 AND state = $3 AND NOT locked
    RETURNING serial, customer_id, fail_count, locked),
  e AS (
    INSERT INTO events(at, serial, customer_id, kind, detail, scope)
    SELECT $4::bigint, serial, customer_id, 'failed', $5::text, $6::text FROM u
    UNION ALL
    SELECT $4::bigint, serial, customer_id, 'locked', NULL, $6::text FROM u WHERE locked)
  SELECT fail_count, locked FROM u";

/// Audit events written in the same statement as the verdict (the hot path).
struct Logged<'a> {
    now: u64,
    purpose: &'a str,
}

/// Verifies `otp` against `t` (the core's [`Policy::verify`]) and stores
/// the verdict with one conditional statement; `None` when the row no
/// longer matched (the caller re-reads).
///
/// A failure is counted in place (`fail_count = fail_count + 1`, locking
/// at the limit — [`Policy::after_failure`] in SQL), so that concurrent
/// failures on several instances all count without a retry.
///
/// [`Policy::verify`]: softtoken_core::Policy::verify
/// [`Policy::after_failure`]: softtoken_core::Policy::after_failure
async fn check_once<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    gen: &Generator,
    t: &mut TokenRow,
    otp: &str,
    now: u64,
    logged: Option<&Logged<'_>>,
) -> Result<Option<Checked>, PgFault> {
    let state = t.state.clone();
    match ctx.cfg.policy.verify(gen, &t.record, otp, now) {
        Verdict::Accepted { record, step } => {
            let step = to_i64(step);
            let n = match logged {
                Some(l) => {
                    let st = c.prepare_cached(ACCEPT_LOGGED).await?;
                    c.query(
                        &st,
                        &[
                            &t.serial,
                            &step,
                            &record.drift,
                            &state,
                            &to_i64(l.now),
                            &l.purpose,
                            &super::current_scope(),
                        ],
                    )
                    .await?
                    .len() as u64
                }
                None => {
                    let st = c.prepare_cached(ACCEPT).await?;
                    c.execute(&st, &[&t.serial, &step, &record.drift, &state])
                        .await?
                }
            };
            if n == 1 {
                t.record = record;
                Ok(Some(Checked::Accepted))
            } else {
                Ok(None)
            }
        }
        Verdict::Invalid { .. } => {
            let limit = i32::try_from(ctx.cfg.policy.lockout_limit).unwrap_or(i32::MAX);
            let row = match logged {
                Some(l) => {
                    let st = c.prepare_cached(FAIL_LOGGED).await?;
                    c.query_opt(
                        &st,
                        &[
                            &t.serial,
                            &limit,
                            &state,
                            &to_i64(l.now),
                            &l.purpose,
                            &super::current_scope(),
                        ],
                    )
                    .await?
                }
                None => {
                    let st = c.prepare_cached(FAIL).await?;
                    c.query_opt(&st, &[&t.serial, &limit, &state]).await?
                }
            };
            let Some(row) = row else {
                return Ok(None);
            };
            let fails: i32 = row.try_get(0)?;
            let locked: bool = row.try_get(1)?;
            t.record.fail_count = fails.max(0) as u32;
            t.record.locked = locked;
            Ok(Some(Checked::Invalid {
                fail_count: t.record.fail_count,
                now_locked: locked,
            }))
        }
        Verdict::Replay => Ok(Some(Checked::Replay)),
        _ => Ok(Some(Checked::Locked)),
    }
}

/// `check_once` on a row locked by this transaction (it cannot change
/// under us; a changed row would be a broken invariant: rolled back, 503).
async fn check_locked<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    mut t: TokenRow,
    otp: &str,
    now: u64,
) -> Result<(Checked, TokenRow), PgFault> {
    let gen = generator(ctx, &t)?;
    match check_once(c, ctx, &gen, &mut t, otp, now, None).await? {
        None => Err(PgFault::Retry),
        Some(checked) => Ok((checked, t)),
    }
}

fn locked_refusal() -> PgFault {
    check::locked().into()
}

fn replay_refusal() -> PgFault {
    check::replay().into()
}

fn no_token() -> PgFault {
    check::no_token().into()
}

async fn verify_fast<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    customer: &str,
    otp: &str,
    purpose: Purpose,
    now: u64,
) -> Result<(), PgFault> {
    let logged = Logged {
        now,
        purpose: purpose.as_str(),
    };
    for _ in 0..3 {
        let Some(mut t) = active_token(c, customer, false).await? else {
            return Err(no_token());
        };
        let gen = generator(ctx, &t)?;
        let Some(checked) = check_once(c, ctx, &gen, &mut t, otp, now, Some(&logged)).await? else {
            continue;
        };
        // `failed` and `locked` were written by the failure's statement.
        if checked == Checked::Replay {
            event(
                c,
                now,
                Some(&t.serial),
                Some(customer),
                "replay",
                Some(purpose.as_str()),
            )
            .await?;
        }
        return match checked.refusal(ErrorCode::InvalidOtp) {
            None => Ok(()),
            Some(r) => Err(r.into()),
        };
    }
    // Three concurrent changes in a row: nothing of ours was written.
    Err(PgFault::Retry)
}

/// Expires unbound tokens past `bind_by` and drops dead sessions; skipped
/// when another instance is sweeping right now.
async fn sweep<C: GenericClient>(c: &C, now: u64) -> Result<(), tokio_postgres::Error> {
    let st = c
        .prepare_cached("SELECT pg_try_advisory_xact_lock($1)")
        .await?;
    let got: bool = c.query_one(&st, &[&SWEEP_LOCK]).await?.try_get(0)?;
    if !got {
        return Ok(());
    }
    let now = to_i64(now);
    for sql in [
        "UPDATE tokens SET state = 'expired', sealed_secret = NULL WHERE state = 'issued' AND bind_by < $1",
        "DELETE FROM sessions WHERE finished_at IS NULL AND expires_at < $1",
        "DELETE FROM sessions WHERE finished_at IS NOT NULL AND expires_at < $1::bigint - 86400",
    ] {
        let st = c.prepare_cached(sql).await?;
        c.execute(&st, &[&now]).await?;
    }
    Ok(())
}

async fn create_session<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    p: PendingSession,
    expires_at: u64,
    now: u64,
) -> Result<(), PgFault> {
    sweep(c, now).await?;
    let st = c
        .prepare_cached("SELECT count(*) FROM sessions WHERE finished_at IS NULL")
        .await?;
    let pending: i64 = c.query_one(&st, &[]).await?.try_get(0)?;
    if pending.max(0) as u64 >= ctx.cfg.max_pending_sessions {
        return refuse(
            ErrorCode::RateLimited,
            "too many pairings in progress; try again in a few minutes",
        );
    }
    // Counted up to the cap only (the partial index `tokens_unbound`).
    let st = c
        .prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM tokens WHERE state = 'issued' AND bind_by >= $1 LIMIT $2) u",
        )
        .await?;
    let unbound: i64 = c
        .query_one(&st, &[&to_i64(now), &to_i64(ctx.cfg.max_unbound_tokens)])
        .await?
        .try_get(0)?;
    if unbound.max(0) as u64 >= ctx.cfg.max_unbound_tokens {
        return refuse(
            ErrorCode::RateLimited,
            "too many unbound tokens; try again later",
        );
    }
    let serial = p.serial.as_str();
    let st = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM tokens WHERE serial = $1) OR EXISTS(SELECT 1 FROM sessions WHERE serial = $1)",
        )
        .await?;
    let taken: bool = c.query_one(&st, &[&serial]).await?.try_get(0)?;
    if taken {
        return Err(PgFault::SerialTaken);
    }
    let aad = session_aad(&p.session_id);
    let mut key_aad = aad.clone();
    key_aad.extend_from_slice(b":key");
    let sealed_key = ctx.sealer.seal(p.token_key.expose(), &key_aad);
    let sealed_confirm = ctx.sealer.seal(&p.client_confirm, &aad);
    let st = c
        .prepare_cached(
            "INSERT INTO sessions(session_id, serial, sealed_key, sealed_confirm, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    c.execute(
        &st,
        &[
            &&p.session_id[..],
            &serial,
            &sealed_key,
            &sealed_confirm,
            &to_i64(expires_at),
        ],
    )
    .await?;
    Ok(())
}

/// Confirmation failures after which an unfinished session is dropped.
const MAX_CONFIRM_FAILURES: i32 = 5;

async fn finish<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    id: [u8; 16],
    req: &FinishRequest,
    now: u64,
) -> Result<FinishResponse, PgFault> {
    let st = c
        .prepare_cached(
            "SELECT serial, sealed_key, sealed_confirm, expires_at, finished_at, bind_by, confirm_failures
             FROM sessions WHERE session_id = $1 FOR UPDATE",
        )
        .await?;
    let Some(row) = c.query_opt(&st, &[&&id[..]]).await? else {
        return refuse(
            ErrorCode::SessionExpired,
            "no such pairing session (expired or never started)",
        );
    };
    let serial_text: String = row.try_get(0)?;
    let sealed_key: Option<Vec<u8>> = row.try_get(1)?;
    let sealed_confirm: Vec<u8> = row.try_get(2)?;
    let expires_at: i64 = row.try_get(3)?;
    let finished_at: Option<i64> = row.try_get(4)?;
    let bind_by: Option<i64> = row.try_get(5)?;
    let failures: i32 = row.try_get(6)?;
    let finished = finished_at.is_some();
    if !finished && to_i64(now) > expires_at {
        let st = c
            .prepare_cached("DELETE FROM sessions WHERE session_id = $1")
            .await?;
        c.execute(&st, &[&&id[..]]).await?;
        return refuse(
            ErrorCode::SessionExpired,
            "the pairing session has expired; start again",
        );
    }
    let aad = session_aad(&id);
    let confirm = ctx.sealer.open(&sealed_confirm, &aad).map_err(|e| {
        tracing::error!("session {}: {e}", encode(&id));
        PgFault::Refused(Refusal::internal())
    })?;
    let serial =
        Serial::parse_strict(&serial_text).map_err(|_| PgFault::Refused(Refusal::internal()))?;
    if confirm.len() != 32 {
        return internal();
    }
    let mut client_confirm = [0u8; 32];
    client_confirm.copy_from_slice(&confirm);
    let check = PendingSession {
        session_id: id,
        serial: serial.clone(),
        token_key: Secret::new(Vec::new()),
        client_confirm,
    };
    if let Err(e) = check.check_finish(req) {
        if e.code() == ErrorCode::ConfirmFailed && !finished {
            let sql = if failures + 1 >= MAX_CONFIRM_FAILURES {
                "DELETE FROM sessions WHERE session_id = $1"
            } else {
                "UPDATE sessions SET confirm_failures = confirm_failures + 1 WHERE session_id = $1"
            };
            let st = c.prepare_cached(sql).await?;
            c.execute(&st, &[&&id[..]]).await?;
        }
        return Err(PgFault::Refused(e.into()));
    }
    if let (true, Some(bind_by)) = (finished, bind_by) {
        return Ok(FinishResponse {
            v: 1,
            serial,
            state: TokenState::Issued,
            bind_by: bind_by.max(0) as u64,
        });
    }
    let Some(sealed_key) = sealed_key else {
        return internal();
    };
    let mut key_aad = aad.clone();
    key_aad.extend_from_slice(b":key");
    let key = ctx.sealer.open(&sealed_key, &key_aad).map_err(|e| {
        tracing::error!("session {}: {e}", encode(&id));
        PgFault::Refused(Refusal::internal())
    })?;
    let sealed_secret = ctx.sealer.seal(&key, &token_aad(serial.as_str()));
    let bind_by = now.saturating_add(ctx.cfg.bind_ttl);
    let st = c
        .prepare_cached(
            "INSERT INTO tokens(serial, state, sealed_secret, issued_at, bind_by) VALUES ($1, 'issued', $2, $3, $4)",
        )
        .await?;
    c.execute(
        &st,
        &[
            &serial.as_str(),
            &sealed_secret,
            &to_i64(now),
            &to_i64(bind_by),
        ],
    )
    .await?;
    let st = c
        .prepare_cached(
            "UPDATE sessions SET finished_at = $2, bind_by = $3, sealed_key = NULL WHERE session_id = $1",
        )
        .await?;
    c.execute(&st, &[&&id[..], &to_i64(now), &to_i64(bind_by)])
        .await?;
    event(c, now, Some(serial.as_str()), None, "issued", None).await?;
    Ok(FinishResponse {
        v: 1,
        serial,
        state: TokenState::Issued,
        bind_by,
    })
}

/// The state of a row, expiring an unbound token past `bind_by`.
async fn effective_state<C: GenericClient>(
    c: &C,
    t: &TokenRow,
    now: u64,
) -> Result<TokenState, tokio_postgres::Error> {
    Ok(match t.state.as_str() {
        "issued" if now > t.bind_by => {
            let st = c
                .prepare_cached(
                    "UPDATE tokens SET state = 'expired', sealed_secret = NULL WHERE serial = $1 AND state = 'issued'",
                )
                .await?;
            if c.execute(&st, &[&t.serial]).await? == 1 {
                event(c, now, Some(&t.serial), None, "expired", None).await?;
            }
            TokenState::Expired
        }
        "issued" => TokenState::Issued,
        "active" => TokenState::Active,
        "revoked" => TokenState::Revoked,
        _ => TokenState::Expired,
    })
}

async fn status<C: GenericClient>(c: &C, serial: &Serial, now: u64) -> Result<TokenState, PgFault> {
    let state = match token_by_serial(c, serial.as_str(), false).await? {
        Some(t) => effective_state(c, &t, now).await?,
        None => TokenState::Expired,
    };
    Ok(state)
}

/// An issued, unexpired token for a typed serial (row locked), or
/// `serial_or_otp_invalid`.
async fn issued_token<C: GenericClient>(c: &C, typed: &str, now: u64) -> Result<TokenRow, PgFault> {
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    let Some(t) = token_by_serial(c, serial.as_str(), true).await? else {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    if effective_state(c, &t, now).await? != TokenState::Issued {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    }
    Ok(t)
}

async fn activate<C: GenericClient>(
    c: &C,
    serial: &str,
    customer: &str,
    now: u64,
) -> Result<(), tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "UPDATE tokens SET state = 'active', customer_id = $2, bound_at = $3 WHERE serial = $1 AND state = 'issued'",
        )
        .await?;
    c.execute(&st, &[&serial, &customer, &to_i64(now)]).await?;
    Ok(())
}

async fn bind<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    customer: &str,
    typed: &str,
    otp: &str,
    now: u64,
) -> Result<Serial, PgFault> {
    if active_token(c, customer, false).await?.is_some() {
        return Err(PgFault::Refused(customer_has_token()));
    }
    let t = issued_token(c, typed, now).await?;
    let (checked, t) = check_locked(c, ctx, t, otp, now).await?;
    match checked {
        Checked::Accepted => {
            // A bind for the same customer committed meanwhile on another
            // instance → unique_violation → customer_has_token (rolled back).
            activate(c, &t.serial, customer, now).await?;
            event(c, now, Some(&t.serial), Some(customer), "bound", None).await?;
            let serial = Serial::parse_strict(&t.serial)
                .map_err(|_| PgFault::Refused(Refusal::internal()))?;
            Ok(serial)
        }
        Checked::Replay => Err(replay_refusal()),
        Checked::Locked => Err(locked_refusal()),
        Checked::Invalid { now_locked, .. } => {
            event(c, now, Some(&t.serial), Some(customer), "bind_failed", None).await?;
            if now_locked {
                event(c, now, Some(&t.serial), Some(customer), "locked", None).await?;
                return Err(locked_refusal());
            }
            refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID)
        }
    }
}

/// Checks a code of the customer's active token (row locked).
async fn check_active<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    customer: &str,
    otp: &str,
    now: u64,
    invalid_code: ErrorCode,
    purpose: &str,
) -> Result<TokenRow, PgFault> {
    let Some(t) = active_token(c, customer, true).await? else {
        return Err(no_token());
    };
    let (checked, t) = check_locked(c, ctx, t, otp, now).await?;
    let serial = Some(t.serial.as_str());
    match checked {
        Checked::Accepted | Checked::Locked => {}
        Checked::Replay => {
            event(c, now, serial, Some(customer), "replay", Some(purpose)).await?;
        }
        Checked::Invalid { now_locked, .. } => {
            event(c, now, serial, Some(customer), "failed", Some(purpose)).await?;
            if now_locked {
                event(c, now, serial, Some(customer), "locked", None).await?;
            }
        }
    }
    match checked.refusal(invalid_code) {
        None => Ok(t),
        Some(r) => Err(r.into()),
    }
}

async fn revoke<C: GenericClient>(
    c: &C,
    serial: &str,
    now: u64,
) -> Result<(), tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "UPDATE tokens SET state = 'revoked', sealed_secret = NULL, revoked_at = $2 WHERE serial = $1",
        )
        .await?;
    c.execute(&st, &[&serial, &to_i64(now)]).await?;
    Ok(())
}

async fn deactivate<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    customer: &str,
    otp: &str,
    now: u64,
) -> Result<Serial, PgFault> {
    let t = check_active(
        c,
        ctx,
        customer,
        otp,
        now,
        ErrorCode::InvalidOtp,
        "deactivate",
    )
    .await?;
    revoke(c, &t.serial, now).await?;
    event(c, now, Some(&t.serial), Some(customer), "revoked", None).await?;
    Serial::parse_strict(&t.serial).map_err(|_| PgFault::Refused(Refusal::internal()))
}

async fn change(
    tx: &mut Transaction<'_>,
    ctx: &PgCtx<'_>,
    customer: &str,
    old_otp: &str,
    new_serial: &str,
    new_otp: &str,
    now: u64,
) -> Result<(Serial, Serial), PgFault> {
    let Some(old) = active_token(&*tx, customer, false).await? else {
        return Err(no_token());
    };
    // Both rows are locked in serial order, so two transactions never
    // wait on each other in a cycle.
    let typed_new = Serial::parse_typed(new_serial).ok();
    let mut serials = vec![old.serial.clone()];
    if let Some(s) = &typed_new {
        if s.as_str() != old.serial {
            serials.push(s.as_str().to_string());
        }
    }
    serials.sort();
    let st = tx
        .prepare_cached(
            "SELECT serial FROM tokens WHERE serial = ANY($1) ORDER BY serial FOR UPDATE",
        )
        .await?;
    tx.query(&st, &[&serials]).await?;
    match active_token(&*tx, customer, false).await? {
        Some(t) if t.serial == old.serial => {}
        // Another 交換 or deactivate won the race: nothing written, 503.
        _ => return Err(PgFault::Retry),
    }
    let new = match issued_token(&*tx, new_serial, now).await {
        Ok(t) => Some(t),
        Err(PgFault::Refused(_)) => None,
        Err(e) => return Err(e),
    };
    // The old code's acceptance and the new token's activation happen in a
    // savepoint: if the new token fails, the old token is left as it was
    // (its code not consumed) and only the new token's failure is counted.
    let inner = tx.savepoint("change").await?;
    let old = match check_active(
        &inner,
        ctx,
        customer,
        old_otp,
        now,
        ErrorCode::OldOtpInvalid,
        "change",
    )
    .await
    {
        Ok(t) => t,
        Err(PgFault::Refused(r)) => {
            inner.commit().await?; // keep the old token's failure count
            return Err(PgFault::Refused(r));
        }
        Err(e) => return Err(e),
    };
    let Some(new) = new else {
        inner.rollback().await?;
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    let new_serial = new.serial.clone();
    let new_state = new.state.clone();
    let (checked, new) = check_locked(&inner, ctx, new, new_otp, now).await?;
    match checked {
        Checked::Accepted => {
            revoke(&inner, &old.serial, now).await?;
            activate(&inner, &new.serial, customer, now).await?;
            event(
                &inner,
                now,
                Some(&old.serial),
                Some(customer),
                "changed_from",
                Some(&new.serial),
            )
            .await?;
            event(
                &inner,
                now,
                Some(&new.serial),
                Some(customer),
                "changed_to",
                Some(&old.serial),
            )
            .await?;
            inner.commit().await?;
            let p = Serial::parse_strict(&old.serial)
                .map_err(|_| PgFault::Refused(Refusal::internal()))?;
            let s = Serial::parse_strict(&new.serial)
                .map_err(|_| PgFault::Refused(Refusal::internal()))?;
            Ok((p, s))
        }
        other => {
            inner.rollback().await?; // the old token's acceptance is undone
            match other {
                Checked::Replay => Err(replay_refusal()),
                Checked::Locked => Err(locked_refusal()),
                Checked::Invalid { .. } => {
                    // Count the new token's failure outside the rollback.
                    let limit = i32::try_from(ctx.cfg.policy.lockout_limit).unwrap_or(i32::MAX);
                    let st = tx.prepare_cached(FAIL).await?;
                    let row = tx
                        .query_opt(&st, &[&new_serial, &limit, &new_state])
                        .await?;
                    event(
                        &*tx,
                        now,
                        Some(&new_serial),
                        Some(customer),
                        "bind_failed",
                        None,
                    )
                    .await?;
                    if let Some(row) = row {
                        let locked: bool = row.try_get(1)?;
                        if locked {
                            return Err(locked_refusal());
                        }
                    }
                    refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID)
                }
                Checked::Accepted => Err(PgFault::Retry),
            }
        }
    }
}

async fn resync<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    typed: &str,
    otp1: &str,
    otp2: &str,
    now: u64,
) -> Result<i64, PgFault> {
    const FAILED: &str = "no two consecutive codes found for this token near the server's time";
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::InvalidRequest, "not a valid serial number");
    };
    let Some(t) = token_by_serial(c, serial.as_str(), true).await? else {
        return refuse(ErrorCode::ResyncFailed, FAILED);
    };
    if !matches!(
        effective_state(c, &t, now).await?,
        TokenState::Issued | TokenState::Active
    ) {
        return refuse(ErrorCode::ResyncFailed, FAILED);
    }
    let gen = generator(ctx, &t)?;
    let Some(new) = ctx.cfg.policy.resync(&gen, &t.record, otp1, otp2, now) else {
        event(c, now, Some(&t.serial), None, "resync_failed", None).await?;
        return refuse(ErrorCode::ResyncFailed, FAILED);
    };
    // The row is locked: the record cannot have changed since the read,
    // and last_step only grows.
    let st = c
        .prepare_cached(
            "UPDATE tokens SET last_step = $2, drift = $3, fail_count = $4, locked = $5
             WHERE serial = $1 AND (last_step IS NULL OR last_step <= $2)",
        )
        .await?;
    let n = c
        .execute(
            &st,
            &[
                &t.serial,
                &new.last_step.map(to_i64),
                &new.drift,
                &i32::try_from(new.fail_count).unwrap_or(i32::MAX),
                &new.locked,
            ],
        )
        .await?;
    if n != 1 {
        return internal();
    }
    event(
        c,
        now,
        Some(&t.serial),
        None,
        "resynced",
        Some(&new.drift.to_string()),
    )
    .await?;
    Ok(new.drift)
}

async fn unlock<C: GenericClient>(c: &C, typed: &str, now: u64) -> Result<(), PgFault> {
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::InvalidRequest, "not a valid serial number");
    };
    let st = c
        .prepare_cached(
            "UPDATE tokens SET fail_count = 0, locked = false WHERE serial = $1 RETURNING serial",
        )
        .await?;
    if c.query_opt(&st, &[&serial.as_str()]).await?.is_none() {
        return refuse(ErrorCode::NotFound, "no token with this serial number");
    }
    event(c, now, Some(serial.as_str()), None, "unlocked", None).await?;
    Ok(())
}

/// [`crate::gc::Collect`] on PostgreSQL: the SQLite statements with the
/// same bounds (at most `batch` rows of each kind), in one transaction.
/// Instances collecting at the same time are harmless: a row deleted by
/// one is simply not deleted again by the other.
pub(crate) async fn gc_op(
    op: crate::gc::Collect,
    client: &mut deadpool_postgres::Client,
    _: &PgCtx<'_>,
    now: u64,
) -> Result<crate::gc::Collected, PgFault> {
    in_transaction!(client, |tx| collect(&tx, op, now).await)
}

async fn collect<C: GenericClient>(
    c: &C,
    op: crate::gc::Collect,
    now: u64,
) -> Result<crate::gc::Collected, PgFault> {
    let now_i = to_i64(now);
    let batch = i64::from(op.batch);
    let st = c
        .prepare_cached(
            "DELETE FROM sessions WHERE session_id IN (SELECT session_id FROM sessions
               WHERE (finished_at IS NULL AND expires_at < $1)
                  OR (finished_at IS NOT NULL AND expires_at < $1 - 86400)
               LIMIT $2)",
        )
        .await?;
    let sessions = c.execute(&st, &[&now_i, &batch]).await?;
    let st = c
        .prepare_cached(
            "DELETE FROM tokens WHERE serial IN (SELECT serial FROM tokens
               WHERE state IN ('issued', 'expired') AND bound_at IS NULL AND bind_by < $1
               LIMIT $2)",
        )
        .await?;
    let tokens = c.execute(&st, &[&now_i, &batch]).await?;
    let cutoff = to_i64(now.saturating_sub(op.event_retention));
    let st = c
        .prepare_cached(
            "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT $2)
               AND at < $1",
        )
        .await?;
    let events = c.execute(&st, &[&cutoff, &batch]).await?;
    Ok(crate::gc::Collected {
        sessions,
        tokens,
        events,
    })
}

pub(crate) mod admin;
pub(crate) mod txn;
