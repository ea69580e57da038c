//! Operations endpoints and metrics, served on their own listener
//! (`--metrics-listen`), never on the public one:
//! * `GET /healthz` — 200 while the process serves (no database access);
//! * `GET /readyz` — 200 when the database answers with the schema this
//!   build knows and the keys are loaded, else 503 with the reasons;
//! * `GET /metrics` — OpenMetrics text (which Prometheus scrapes):
//!   `softtoken_verifications_total{purpose,result}`,
//!   `softtoken_pairings_total{step,outcome}`,
//!   `softtoken_request_duration_seconds{route}` (histogram),
//!   `softtoken_db_pool_connections{state}` (PostgreSQL only).
//!
//! Label values come from closed sets (purposes, STK1 error codes, route
//! templates), never from request data, so nothing a client sends reaches
//! the metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::http::ApiState;
use crate::refusal::Refusal;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifyLabels {
    purpose: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PairLabels {
    step: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms … about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// The process's metrics (one registry per process, like Prometheus'
/// default registry).
pub fn global() -> &'static Metrics {
    static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::new);
    &METRICS
}

/// The service's counters and histograms.
pub struct Metrics {
    registry: Registry,
    verifications: Family<VerifyLabels, Counter>,
    pairings: Family<PairLabels, Counter>,
    latency: LatencyFamily,
    pool: Family<PoolLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The label value of a result: `ok` or the STK1 error code.
fn result_label(r: &Result<(), &Refusal>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(refusal) => refusal.code.as_str(),
    }
}

impl Metrics {
    /// Empty metrics, registered under `softtoken_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("softtoken");
        let verifications = Family::<VerifyLabels, Counter>::default();
        registry.register(
            "verifications",
            "Code verifications (bank/verify) by purpose and result",
            verifications.clone(),
        );
        let pairings = Family::<PairLabels, Counter>::default();
        registry.register(
            "pairings",
            "Pairing steps (provision/init, provision/finish) by outcome",
            pairings.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time to answer a /v1 request, by route",
            latency.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of this instance (PostgreSQL)",
            pool.clone(),
        );
        Metrics {
            registry,
            verifications,
            pairings,
            latency,
            pool,
        }
    }

    /// Counts one verification with its result.
    pub fn verification(&self, purpose: &'static str, result: Result<(), &Refusal>) {
        self.verifications
            .get_or_create(&VerifyLabels {
                purpose,
                result: result_label(&result),
            })
            .inc();
    }

    /// Counts one pairing step (`init`, `finish`) with its result.
    pub fn pairing(&self, step: &'static str, result: Result<(), &Refusal>) {
        self.pairings
            .get_or_create(&PairLabels {
                step,
                outcome: result_label(&result),
            })
            .inc();
    }

    /// Records the time to answer a request of `route` (a route template).
    pub fn observe(&self, route: &str, took: Duration) {
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// The text exposition, with the pool gauges of `state`'s database.
    pub fn render(&self, state: &ApiState) -> Result<String, std::fmt::Error> {
        if let Some(p) = state.db.pool_stats() {
            let in_use = p.size.saturating_sub(p.available);
            for (label, n) in [
                ("in_use", in_use),
                ("idle", p.available),
                ("waiting", p.waiting),
                ("max", p.max_size),
            ] {
                self.pool
                    .get_or_create(&PoolLabels { state: label })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Middleware of the `/v1` router: the latency histogram by route template.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let started = Instant::now();
    let resp = next.run(req).await;
    global().observe(&route, started.elapsed());
    resp
}

/// The operations router (`/healthz`, `/readyz`, `/metrics`).
pub fn ops_router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({"status": "alive"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(st): State<Arc<ApiState>>) -> Response {
    let mut reasons: Vec<&'static str> = Vec::new();
    if let Err(why) = st.db.ready(Duration::from_secs(1)).await {
        reasons.push(why);
    }
    if st.keys.is_empty() {
        reasons.push("no server key loaded");
    }
    if reasons.is_empty() {
        Json(json!({"status": "ready", "database": st.db.kind()})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "database": st.db.kind(), "reasons": reasons})),
        )
            .into_response()
    }
}

async fn metrics(State(st): State<Arc<ApiState>>) -> Response {
    match global().render(&st) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => Refusal::internal().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::stk1::messages::ErrorCode;

    #[test]
    fn counters_and_histogram_render() {
        let m = Metrics::new();
        m.verification("login", Ok(()));
        m.verification("login", Ok(()));
        let replay = Refusal::new(ErrorCode::Replay, "x");
        m.verification("transfer", Err(&replay));
        m.pairing("init", Ok(()));
        m.observe("/v1/bank/verify", Duration::from_millis(3));
        let mut out = String::new();
        encode(&mut out, &m.registry).unwrap();
        assert!(
            out.contains(r#"softtoken_verifications_total{purpose="login",result="ok"} 2"#),
            "{out}"
        );
        assert!(
            out.contains(r#"softtoken_verifications_total{purpose="transfer",result="replay"} 1"#)
        );
        assert!(out.contains(r#"softtoken_pairings_total{step="init",outcome="ok"} 1"#));
        assert!(
            out.contains(r#"softtoken_request_duration_seconds_count{route="/v1/bank/verify"} 1"#)
        );
    }
}
