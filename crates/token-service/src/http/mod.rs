//! The `/v1` HTTP API: the STK1 token service (`provision/*`, `tokens/*`)
//! and the bank back-end API (`bank/*`, back-end key) on the public
//! listener ([`router`]); the operations calls (`admin/*`, operations key)
//! on their own listener ([`admin_router`]), absent (`not_found`) from the
//! public one.
//!
//! Contract of every endpoint (enforced by the extractors, in this order):
//! * [`BackendAuth`] (back-end calls) / [`OpsAuth`] (operations calls):
//!   `Authorization: Bearer <key>` with the key of that scope, compared in
//!   constant time, checked before anything else and before the body is
//!   read → `unauthorized`; the other scope's key is refused;
//! * [`RequestTime`]: the server's "now" is the system clock, or — only when
//!   the server runs with `--test-clock` — the request header
//!   `X-Test-Time: <unix seconds>` (malformed → `invalid_request`);
//! * [`Stk1Json`]: the body is read up to `MAX_BODY` bytes; larger, not
//!   JSON, a `Content-Type` other than JSON, a duplicate key, a missing or
//!   unknown field → `invalid_request`; a `"v"` other than 1 →
//!   `unsupported_version`;
//! * errors are `{"v":1,"error","message"}` ([`Refusal`]); nothing a
//!   client sent (codes, confirmations) is echoed in them. Unknown `/v1`
//!   paths answer `not_found`, a wrong method 405 with an STK1 body.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use softtoken_core::stk1::api_key::ApiKey;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::stk1::server::ServerKey;

use crate::db::Db;
use crate::ops;
use crate::refusal::Refusal;

mod auth;
mod json;
mod time;

pub use auth::{BackendAuth, OpsAuth};
pub use json::Stk1Json;
pub use time::{RequestTime, TEST_TIME_HEADER};

/// What the handlers share.
pub struct ApiState {
    /// Durable state.
    pub db: Db,
    /// Server static keys by id (several during a key rotation).
    pub keys: HashMap<String, ServerKey>,
    /// Back-end API key.
    pub api_key: ApiKey,
    /// Operations key (unlock, resync, the token read).
    pub ops_key: ApiKey,
    /// Honour `X-Test-Time`.
    pub test_clock: bool,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("api_key", &self.api_key)
            .field("ops_key", &self.ops_key)
            .field("test_clock", &self.test_clock)
            .finish_non_exhaustive()
    }
}

/// The `/v1` router of the public listener (no `admin/*` route).
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/provision/init", only(post(ops::init::handle)))
        .route("/v1/provision/finish", only(post(ops::finish::handle)))
        .route("/v1/tokens/{serial}/status", only(get(ops::status::handle)))
        .route("/v1/bank/bind", only(post(ops::bind::handle)))
        .route("/v1/bank/verify", only(post(ops::verify::handle)))
        .route("/v1/bank/change", only(post(ops::change::handle)))
        .route("/v1/bank/deactivate", only(post(ops::deactivate::handle)))
        .route(
            "/v1/bank/transactions",
            only(post(ops::txn::create::handle)),
        )
        .route(
            "/v1/bank/transactions/status",
            only(post(ops::txn::status::handle)),
        )
        .route(
            "/v1/bank/transactions/consume",
            only(post(ops::txn::consume::handle)),
        )
        .route(
            "/v1/bank/transactions/verify_code",
            only(post(ops::txn::verify_code::handle)),
        )
        .route(
            "/v1/tokens/{serial}/transactions/pending",
            only(post(ops::txn::poll::handle)),
        )
        .route(
            "/v1/tokens/{serial}/transactions/{txn_id}/decision",
            only(post(ops::txn::decision::handle)),
        )
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .route("/v1", any_not_found())
        .route("/v1/{*rest}", any_not_found())
        .with_state(state)
}

/// The router of the admin listener: `admin/*` (operations key) only;
/// every other path is `not_found`.
pub fn admin_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/admin/resync", only(post(ops::resync::handle)))
        .route("/v1/admin/unlock", only(post(ops::unlock::handle)))
        .route("/v1/admin/tokens/{serial}", only(get(ops::inspect::handle)))
        .fallback(|| async { Refusal::new(ErrorCode::NotFound, "no such endpoint") })
        .with_state(state)
}

fn only(m: MethodRouter<Arc<ApiState>>) -> MethodRouter<Arc<ApiState>> {
    m.fallback(|| async {
        let mut r = Refusal::invalid("method not allowed on this endpoint").into_response();
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r
    })
}

fn any_not_found() -> MethodRouter<Arc<ApiState>> {
    axum::routing::any(|| async { Refusal::new(ErrorCode::NotFound, "no such endpoint") })
}
