//! `GET /v1/tokens/{serial}/status`: the state of a token as the app
//! sees it. Unknown serials and serials of unfinished sessions answer
//! `expired`; a malformed serial is `invalid_request`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::{StatusResponse, TokenState};
use softtoken_core::Serial;

use crate::db::rows::{effective_state, token_by_serial};
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, RequestTime};
use crate::refusal::Refusal;

/// Reads a token's state, expiring an issued token past `bind_by`.
#[derive(Debug)]
pub struct Status {
    /// Serial (parsed).
    pub serial: Serial,
}

impl Operation for Status {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::status_op(self, client, ctx, now)
    }

    type Output = TokenState;

    fn apply(self, c: &mut Savepoint<'_>, _: &Ctx<'_>, now: u64) -> Result<TokenState, Fault> {
        Ok(match token_by_serial(c, self.serial.as_str())? {
            Some(t) => effective_state(c, &t, now)?,
            None => TokenState::Expired,
        })
    }
}

/// The handler. The serial is normalised like typed input.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    RequestTime(now): RequestTime,
    Path(serial): Path<String>,
) -> Result<Json<StatusResponse>, Refusal> {
    let serial =
        Serial::parse_typed(&serial).map_err(|_| Refusal::invalid("not a valid serial number"))?;
    let state = st
        .db
        .run(
            Status {
                serial: serial.clone(),
            },
            now,
        )
        .await?;
    Ok(Json(StatusResponse {
        v: 1,
        serial: serial.as_str().to_string(),
        state,
    }))
}
