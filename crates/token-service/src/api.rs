//! The `/v1` HTTP API: the STK1 token service (`provision/*`, `tokens/*`)
//! and the bank back-end API (`bank/*`, `admin/*`, bearer API key).
//!
//! Contract of every endpoint:
//! * bodies are read up to [`MAX_BODY`] bytes; larger, not JSON, a
//!   `Content-Type` other than JSON, a missing field → `invalid_request`;
//!   a `"v"` other than 1 → `unsupported_version`;
//! * back-end calls need `Authorization: Bearer <api key>`, compared in
//!   constant time, checked before the body is read → `unauthorized`;
//! * the server's time is the system clock, or — only when the server runs
//!   with `--test-clock` — the request header `X-Test-Time: <unix seconds>`;
//! * errors are `{"v":1,"error","message"}` (see [`Refusal`]); nothing a
//!   client sent (codes, confirmations) is echoed in them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use rand_core::OsRng;
use serde::de::DeserializeOwned;
use serde_json::json;
use softtoken_core::encoding::decode_array;
use softtoken_core::stk1::messages::{
    decode, BindRequest, ChangeRequest, DeactivateRequest, ErrorCode, FinishRequest, InitRequest,
    ResyncRequest, StatusResponse, UnlockRequest, VerifyRequest, MAX_BODY,
};
use softtoken_core::stk1::server::{respond, ServerEphemeral, ServerKey};
use softtoken_core::Serial;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::refusal::Refusal;
use crate::store::{Op, Outcome, Store, SERIAL_TAKEN};

/// Seconds a pairing session stays open for `finish` (`expires_in`).
pub const SESSION_TTL: u64 = 300;

/// Header carrying the test clock.
pub const TEST_TIME_HEADER: &str = "x-test-time";

/// Longest accepted `customer_id`.
const MAX_CUSTOMER_ID: usize = 64;

/// What the handlers share.
pub struct ApiState {
    /// Durable state.
    pub store: Store,
    /// Server static keys by id (several during a key rotation).
    pub keys: HashMap<String, ServerKey>,
    /// Back-end API key.
    pub api_key: Zeroizing<String>,
    /// Honour `X-Test-Time`.
    pub test_clock: bool,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("test_clock", &self.test_clock)
            .finish_non_exhaustive()
    }
}

type St = State<Arc<ApiState>>;

/// The `/v1` router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/provision/init", only(post(init)))
        .route("/v1/provision/finish", only(post(finish)))
        .route("/v1/tokens/{serial}/status", only(get(status)))
        .route("/v1/bank/bind", only(post(bind)))
        .route("/v1/bank/verify", only(post(verify)))
        .route("/v1/bank/change", only(post(change)))
        .route("/v1/bank/deactivate", only(post(deactivate)))
        .route("/v1/admin/resync", only(post(resync)))
        .route("/v1/admin/unlock", only(post(unlock)))
        .route("/v1", any_not_found())
        .route("/v1/{*rest}", any_not_found())
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

fn now(st: &ApiState, headers: &HeaderMap) -> Result<u64, Refusal> {
    if st.test_clock {
        if let Some(v) = headers.get(TEST_TIME_HEADER) {
            return v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| Refusal::invalid("X-Test-Time must be Unix seconds"));
        }
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Refusal::internal())
}

fn authorize(st: &ApiState, headers: &HeaderMap) -> Result<(), Refusal> {
    let unauthorized = || Refusal::new(ErrorCode::Unauthorized, "missing or wrong API key");
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(unauthorized)?
        .as_bytes();
    let key = value.strip_prefix(b"Bearer ").ok_or_else(unauthorized)?;
    if bool::from(key.ct_eq(st.api_key.as_bytes())) {
        Ok(())
    } else {
        Err(unauthorized())
    }
}

async fn read<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, Refusal> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if mime != "application/json" {
            return Err(Refusal::invalid("Content-Type must be application/json"));
        }
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Refusal::invalid(format!("body missing or larger than {MAX_BODY} bytes")))?;
    Ok(decode::<T>(&bytes)?)
}

fn check_customer(id: &str) -> Result<(), Refusal> {
    if id.is_empty() || id.chars().count() > MAX_CUSTOMER_ID || id.chars().any(char::is_control) {
        return Err(Refusal::invalid(
            "customer_id must be 1 to 64 printable characters",
        ));
    }
    Ok(())
}

fn answer(r: Result<Response, Refusal>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

async fn init(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(init_inner(&st, &headers, body).await)
}

async fn init_inner(st: &ApiState, headers: &HeaderMap, body: Body) -> Result<Response, Refusal> {
    let now = now(st, headers)?;
    let req: InitRequest = read(headers, body).await?;
    let key = st
        .keys
        .get(&req.server_key_id)
        .ok_or_else(|| Refusal::new(ErrorCode::UnknownKeyId, "unknown server_key_id"))?;
    for _ in 0..3 {
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
        match st
            .store
            .run(
                Op::CreateSession {
                    pending,
                    expires_at,
                },
                now,
            )
            .await
        {
            Ok(_) => return Ok(Json(resp).into_response()),
            Err(r) if r.message == SERIAL_TAKEN => continue,
            Err(r) => return Err(r),
        }
    }
    Err(Refusal::internal())
}

async fn finish(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let now = now(&st, &headers)?;
            let req: FinishRequest = read(&headers, body).await?;
            let session_id: [u8; 16] = decode_array(&req.session_id)
                .map_err(|_| Refusal::invalid("session_id must be 16 bytes in base32"))?;
            match st.store.run(Op::Finish { session_id, req }, now).await? {
                Outcome::Finished(resp) => Ok(Json(resp).into_response()),
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

async fn status(State(st): St, headers: HeaderMap, Path(serial): Path<String>) -> Response {
    answer(
        async {
            let now = now(&st, &headers)?;
            let serial = Serial::parse_typed(&serial)
                .map_err(|_| Refusal::invalid("not a valid serial number"))?;
            match st
                .store
                .run(
                    Op::Status {
                        serial: serial.clone(),
                    },
                    now,
                )
                .await?
            {
                Outcome::State(state) => Ok(Json(StatusResponse {
                    v: 1,
                    serial: serial.as_str().to_string(),
                    state,
                })
                .into_response()),
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

/// Authorises, reads the clock and the body, runs the op built from it.
async fn backend<T: DeserializeOwned>(
    st: &ApiState,
    headers: &HeaderMap,
    body: Body,
    make: impl FnOnce(T) -> Result<Op, Refusal>,
) -> Result<Outcome, Refusal> {
    authorize(st, headers)?;
    let now = now(st, headers)?;
    let req: T = read(headers, body).await?;
    st.store.run(make(req)?, now).await
}

fn ok(value: serde_json::Value) -> Result<Response, Refusal> {
    Ok(Json(value).into_response())
}

async fn bind(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let out = backend(&st, &headers, body, |r: BindRequest| {
                check_customer(&r.customer_id)?;
                Ok(Op::Bind {
                    customer_id: r.customer_id,
                    serial: r.serial,
                    otp: r.otp,
                })
            })
            .await?;
            match out {
                Outcome::Bound(s) => {
                    ok(json!({"v":1,"result":"ok","serial":s.as_str(),"state":"active"}))
                }
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

async fn verify(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let out = backend(&st, &headers, body, |r: VerifyRequest| {
                check_customer(&r.customer_id)?;
                Ok(Op::Verify {
                    customer_id: r.customer_id,
                    otp: r.otp,
                    purpose: r.purpose,
                })
            })
            .await?;
            match out {
                Outcome::Verified => ok(json!({"v":1,"result":"ok"})),
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

async fn change(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let out = backend(&st, &headers, body, |r: ChangeRequest| {
                check_customer(&r.customer_id)?;
                Ok(Op::Change {
                    customer_id: r.customer_id,
                    old_otp: r.old_otp,
                    new_serial: r.new_serial,
                    new_otp: r.new_otp,
                })
            })
            .await?;
            match out {
                Outcome::Changed(p, s) => ok(json!({"v":1,"result":"ok",
                    "previous_serial":p.as_str(),"serial":s.as_str()})),
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

async fn deactivate(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let out = backend(&st, &headers, body, |r: DeactivateRequest| {
                check_customer(&r.customer_id)?;
                Ok(Op::Deactivate {
                    customer_id: r.customer_id,
                    otp: r.otp,
                })
            })
            .await?;
            match out {
                Outcome::Deactivated(s) => {
                    ok(json!({"v":1,"result":"ok","serial":s.as_str(),"state":"revoked"}))
                }
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

async fn resync(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let out = backend(&st, &headers, body, |r: ResyncRequest| {
                Ok(Op::Resync {
                    serial: r.serial,
                    otp1: r.otp1,
                    otp2: r.otp2,
                })
            })
            .await?;
            match out {
                Outcome::Resynced(d) => ok(json!({"v":1,"result":"ok","drift_steps":d})),
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}

async fn unlock(State(st): St, headers: HeaderMap, body: Body) -> Response {
    answer(
        async {
            let out = backend(&st, &headers, body, |r: UnlockRequest| {
                Ok(Op::Unlock { serial: r.serial })
            })
            .await?;
            match out {
                Outcome::Unlocked => ok(json!({"v":1,"result":"ok"})),
                _ => Err(Refusal::internal()),
            }
        }
        .await,
    )
}
