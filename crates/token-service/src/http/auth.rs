//! [`BackendAuth`] and [`OpsAuth`]: the bearer keys of the back-end and
//! the operations calls.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use softtoken_core::stk1::api_key::ApiKey;
use softtoken_core::stk1::messages::ErrorCode;

use super::ApiState;
use crate::refusal::Refusal;

/// Proof that the request carries `Authorization: Bearer <api key>`.
///
/// Put it before any body extractor: axum runs extractors in argument
/// order, so a request without the key is refused (`unauthorized`, 401)
/// before its body is read. The key is compared in constant time
/// ([`softtoken_core::stk1::api_key::ApiKey::matches_bearer`]); a missing
/// header, another scheme and a wrong key get the same answer.
#[derive(Debug, Clone, Copy)]
pub struct BackendAuth(());

impl FromRequestParts<Arc<ApiState>> for BackendAuth {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<ApiState>,
    ) -> Result<BackendAuth, Refusal> {
        bearer(parts, &st.api_key).map(|()| BackendAuth(()))
    }
}

/// Proof that the request carries `Authorization: Bearer <operations
/// key>` (unlock, resync; routes of [`super::admin_router`] only).
///
/// Same contract as [`BackendAuth`] with the other key: the back-end key
/// is refused here (`unauthorized`), and the operations key is refused by
/// [`BackendAuth`].
#[derive(Debug, Clone, Copy)]
pub struct OpsAuth(());

impl FromRequestParts<Arc<ApiState>> for OpsAuth {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<ApiState>) -> Result<OpsAuth, Refusal> {
        bearer(parts, &st.ops_key).map(|()| OpsAuth(()))
    }
}

/// `Ok` if the request's bearer key is `key` (constant time).
fn bearer(parts: &Parts, key: &ApiKey) -> Result<(), Refusal> {
    let given = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if key.matches_bearer(given) {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::Unauthorized,
            "missing or wrong API key",
        ))
    }
}
