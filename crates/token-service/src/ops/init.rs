//! `POST /v1/provision/init`: the first message of a pairing. The core
//! computes the answer ([`respond`]); the session it creates is stored
//! ([`CreateSession`]) before the answer is sent.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rand_core::OsRng;
use rusqlite::{params, Savepoint};
use softtoken_core::stk1::messages::{ErrorCode, InitRequest, InitResponse};
use softtoken_core::stk1::server::{respond, PendingSession, ServerEphemeral};
use softtoken_core::Serial;

use crate::db::rows::{session_aad, sweep, to_i64};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, RequestTime, Stk1Json};
use crate::refusal::Refusal;

/// Seconds a pairing session stays open for `finish` (`expires_in`).
pub const SESSION_TTL: u64 = 300;

/// Serials drawn before giving up (`internal_error`) when each one drawn
/// is already in use.
const SERIAL_TRIES: usize = 3;

/// Stores a pairing session (its token key and expected confirmation
/// sealed). Sweeps expired rows first; refuses with `rate_limited` when
/// [`crate::db::DbConfig::max_pending_sessions`] sessions are open or
/// [`crate::db::DbConfig::max_unbound_tokens`] tokens are issued but not
/// bound, and
/// with [`Fault::SerialTaken`] when the serial is already used by a token
/// or a session.
pub struct CreateSession {
    /// The session from the core.
    pub pending: PendingSession,
    /// Unix time after which `finish` is refused.
    pub expires_at: u64,
}

impl std::fmt::Debug for CreateSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSession")
            .field("serial", &self.pending.serial)
            .field("token_key", &super::Redacted)
            .field("client_confirm", &super::Redacted)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Operation for CreateSession {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::init_op(self, client, ctx, now)
    }

    type Output = ();

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<(), Fault> {
        let CreateSession {
            pending: p,
            expires_at,
        } = self;
        sweep(c, now)?;
        let pending: i64 = c
            .prepare_cached("SELECT COUNT(*) FROM sessions WHERE finished_at IS NULL")?
            .query_row([], |r| r.get(0))?;
        if pending as u64 >= ctx.cfg.max_pending_sessions {
            return refuse(
                ErrorCode::RateLimited,
                "too many pairings in progress; try again in a few minutes",
            );
        }
        // Counted up to the cap only (the partial index `tokens_unbound`).
        let unbound: i64 = c
            .prepare_cached(
                "SELECT COUNT(*) FROM (SELECT 1 FROM tokens WHERE state = 'issued' AND bind_by >= ?1 LIMIT ?2)",
            )?
            .query_row(params![to_i64(now), to_i64(ctx.cfg.max_unbound_tokens)], |r| r.get(0))?;
        if unbound as u64 >= ctx.cfg.max_unbound_tokens {
            return refuse(
                ErrorCode::RateLimited,
                "too many unbound tokens; try again later",
            );
        }
        let serial = p.serial.as_str();
        let taken: bool = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM tokens WHERE serial = ?1) OR EXISTS(SELECT 1 FROM sessions WHERE serial = ?1)",
        )?
        .query_row([serial], |r| r.get(0))?;
        if taken {
            return Err(Fault::SerialTaken);
        }
        let aad = session_aad(&p.session_id);
        let mut key_aad = aad.clone();
        key_aad.extend_from_slice(b":key");
        let sealed_key = ctx.sealer.seal(p.token_key.expose(), &key_aad);
        let sealed_confirm = ctx.sealer.seal(&p.client_confirm, &aad);
        c.prepare_cached(
            "INSERT INTO sessions(session_id, serial, sealed_key, sealed_confirm, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![&p.session_id[..], serial, sealed_key, sealed_confirm, to_i64(expires_at)])?;
        Ok(())
    }
}

/// The handler: draws a serial, computes the answer and stores the
/// session; a serial already in use is replaced by a new one.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    RequestTime(now): RequestTime,
    Stk1Json(req): Stk1Json<InitRequest>,
) -> Result<Json<InitResponse>, Refusal> {
    let result = init(&st, now, req).await;
    crate::metrics::global().pairing("init", result.as_ref().map(|_| ()));
    result
}

async fn init(st: &ApiState, now: u64, req: InitRequest) -> Result<Json<InitResponse>, Refusal> {
    let key = st
        .keys
        .get(&req.server_key_id)
        .ok_or_else(|| Refusal::new(ErrorCode::UnknownKeyId, "unknown server_key_id"))?;
    for _ in 0..SERIAL_TRIES {
        let serial = Serial::generate(&mut OsRng);
        let (resp, pending) = respond(
            key,
            &req,
            ServerEphemeral::generate(&mut OsRng),
            serial,
            now,
            SESSION_TTL,
        )?;
        let expires_at = now.saturating_add(SESSION_TTL);
        let op = CreateSession {
            pending,
            expires_at,
        };
        match st.db.run(op, now).await {
            Ok(()) => return Ok(Json(resp)),
            Err(Fault::SerialTaken) => continue,
            Err(f) => return Err(f.into()),
        }
    }
    Err(Refusal::internal())
}
