//! The security headers of every web-banking answer, as one middleware
//! layer (pages, redirects, error pages alike).

use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The page policy: scripts only as files of this site (the 取引認証
/// page's status poller; no inline script, no `eval`), `fetch` only to
/// this site, inline styles only (the layout's `<style>`), images from
/// this site or `data:`, forms post only here, never framed, no `<base>`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'";

/// Sets, on every answer: `Content-Security-Policy` ([`CSP`]),
/// `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer` and `Cache-Control: no-store` (every
/// page may show customer data, and a code typed into a form must not
/// come back from a cache). Values a handler set are replaced.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
