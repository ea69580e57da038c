//! `POST /v1/provision/finish`: the app confirms the pairing; the token
//! is issued. Idempotent: a finished session answers the same body again
//! to a request with the right confirmation.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::{params, OptionalExtension, Savepoint};
use softtoken_core::encoding::{decode_array, encode};
use softtoken_core::stk1::messages::{ErrorCode, FinishRequest, FinishResponse, TokenState};
use softtoken_core::stk1::server::PendingSession;
use softtoken_core::{Secret, Serial};

use crate::db::rows::{event, session_aad, to_i64, token_aad};
use crate::db::{refuse, Ctx, Fault, Operation};
use crate::http::{ApiState, RequestTime, Stk1Json};
use crate::refusal::Refusal;

/// Confirmation failures after which an unfinished session is dropped.
const MAX_CONFIRM_FAILURES: i64 = 5;

/// Finishes a pairing session: checks the confirmation (in constant time,
/// by the core), issues the token (`bind_by` = now + the bind TTL) and
/// deletes the session's sealed key. A wrong confirmation is counted; the
/// fifth deletes an unfinished session.
pub struct Finish {
    /// Decoded session id.
    pub session_id: [u8; 16],
    /// The request (its confirmation is compared, never stored).
    pub req: FinishRequest,
}

impl std::fmt::Debug for Finish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finish")
            .field("session_id", &encode(&self.session_id))
            .field("req", &super::Redacted)
            .finish()
    }
}

impl Operation for Finish {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::finish_op(self, client, ctx, now)
    }

    type Output = FinishResponse;

    fn apply(
        self,
        c: &mut Savepoint<'_>,
        ctx: &Ctx<'_>,
        now: u64,
    ) -> Result<FinishResponse, Fault> {
        let Finish {
            session_id: id,
            req,
        } = self;
        type SessionRow = (
            String,
            Option<Vec<u8>>,
            Vec<u8>,
            i64,
            Option<i64>,
            Option<i64>,
            i64,
        );
        let row: Option<SessionRow> = c
        .prepare_cached(
            "SELECT serial, sealed_key, sealed_confirm, expires_at, finished_at, bind_by, confirm_failures
             FROM sessions WHERE session_id = ?1",
        )?
        .query_row([&id[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
        let Some((
            serial_text,
            sealed_key,
            sealed_confirm,
            expires_at,
            finished_at,
            bind_by,
            failures,
        )) = row
        else {
            return refuse(
                ErrorCode::SessionExpired,
                "no such pairing session (expired or never started)",
            );
        };
        let finished = finished_at.is_some();
        if !finished && to_i64(now) > expires_at {
            c.prepare_cached("DELETE FROM sessions WHERE session_id = ?1")?
                .execute([&id[..]])?;
            return refuse(
                ErrorCode::SessionExpired,
                "the pairing session has expired; start again",
            );
        }
        let aad = session_aad(&id);
        let confirm = ctx.sealer.open(&sealed_confirm, &aad).map_err(|e| {
            tracing::error!("session {}: {e}", encode(&id));
            Fault::Refused(Refusal::internal())
        })?;
        let serial =
            Serial::parse_strict(&serial_text).map_err(|_| Fault::Refused(Refusal::internal()))?;
        let mut client_confirm = [0u8; 32];
        if confirm.len() != 32 {
            return Err(Fault::Refused(Refusal::internal()));
        }
        client_confirm.copy_from_slice(&confirm);
        let check = PendingSession {
            session_id: id,
            serial: serial.clone(),
            token_key: Secret::new(Vec::new()),
            client_confirm,
        };
        if let Err(e) = check.check_finish(&req) {
            if e.code() == ErrorCode::ConfirmFailed && !finished {
                if failures + 1 >= MAX_CONFIRM_FAILURES {
                    c.prepare_cached("DELETE FROM sessions WHERE session_id = ?1")?
                        .execute([&id[..]])?;
                } else {
                    c.prepare_cached("UPDATE sessions SET confirm_failures = confirm_failures + 1 WHERE session_id = ?1")?
                        .execute([&id[..]])?;
                }
            }
            return Err(Fault::Refused(e.into()));
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
            return Err(Fault::Refused(Refusal::internal()));
        };
        let mut key_aad = aad.clone();
        key_aad.extend_from_slice(b":key");
        let key = ctx.sealer.open(&sealed_key, &key_aad).map_err(|e| {
            tracing::error!("session {}: {e}", encode(&id));
            Fault::Refused(Refusal::internal())
        })?;
        let sealed_secret = ctx.sealer.seal(&key, &token_aad(serial.as_str()));
        let bind_by = now.saturating_add(ctx.cfg.bind_ttl);
        c.prepare_cached(
            "INSERT INTO tokens(serial, state, sealed_secret, issued_at, bind_by) VALUES (?1, 'issued', ?2, ?3, ?4)",
        )?
        .execute(params![serial.as_str(), sealed_secret, to_i64(now), to_i64(bind_by)])?;
        c.prepare_cached("UPDATE sessions SET finished_at = ?2, bind_by = ?3, sealed_key = NULL WHERE session_id = ?1")?
            .execute(params![&id[..], to_i64(now), to_i64(bind_by)])?;
        event(c, now, Some(serial.as_str()), None, "issued", None)?;
        Ok(FinishResponse {
            v: 1,
            serial,
            state: TokenState::Issued,
            bind_by,
        })
    }
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    RequestTime(now): RequestTime,
    Stk1Json(req): Stk1Json<FinishRequest>,
) -> Result<Json<FinishResponse>, Refusal> {
    let result = async {
        let session_id: [u8; 16] = decode_array(&req.session_id)
            .map_err(|_| Refusal::invalid("session_id must be 16 bytes in base32"))?;
        Ok(Json(st.db.run(Finish { session_id, req }, now).await?))
    }
    .await;
    crate::metrics::global().pairing("finish", result.as_ref().map(|_| ()));
    result
}
