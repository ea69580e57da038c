//! [`Stk1Json`]: an STK1 request body.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use softtoken_core::stk1::messages::{decode, MAX_BODY};

use crate::refusal::Refusal;

/// A request body decoded by the core's strict STK1 decoder
/// ([`softtoken_core::stk1::messages::decode`]).
///
/// Guarantees, each failure being a [`Refusal`]:
/// * a `Content-Type` other than `application/json` (parameters such as
///   `charset` allowed) → `invalid_request`; a missing one is accepted;
/// * at most `MAX_BODY` (8 KiB) bytes are read; a larger body →
///   `invalid_request`;
/// * not JSON, trailing data, a duplicate key at any depth, a missing
///   field or an unknown field (request types deny them) →
///   `invalid_request`; a `"v"` other than 1 → `unsupported_version`.
///
/// Error texts never quote the body.
#[derive(Debug, Clone)]
pub struct Stk1Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Stk1Json<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, _: &S) -> Result<Stk1Json<T>, Refusal> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
            let mime = ct.split(';').next().unwrap_or("").trim();
            if mime != "application/json" {
                return Err(Refusal::invalid("Content-Type must be application/json"));
            }
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| {
                Refusal::invalid(format!("body missing or larger than {MAX_BODY} bytes"))
            })?;
        Ok(Stk1Json(decode::<T>(&bytes)?))
    }
}
