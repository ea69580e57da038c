//! [`RequestTime`]: the request's "now".

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::ApiState;
use crate::refusal::Refusal;

/// Header carrying the test clock.
pub const TEST_TIME_HEADER: &str = "x-test-time";

/// The request's "now" in Unix seconds: the system clock, or — only when
/// the server runs with `--test-clock` — the `X-Test-Time` header if the
/// request has one. A malformed header (with the test clock on) is
/// `invalid_request`; without the test clock the header is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTime(pub u64);

impl FromRequestParts<Arc<ApiState>> for RequestTime {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<ApiState>,
    ) -> Result<RequestTime, Refusal> {
        if st.test_clock {
            if let Some(v) = parts.headers.get(TEST_TIME_HEADER) {
                return v
                    .to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .map(RequestTime)
                    .ok_or_else(|| Refusal::invalid("X-Test-Time must be Unix seconds"));
            }
        }
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| RequestTime(d.as_secs()))
            .map_err(|_| Refusal::internal())
    }
}
