//! # softtoken-token-service
//!
//! The bank side of STK1 (`shared/spec/stk1.md`): the token service the app
//! pairs with and the back-end API web banking calls, with a replay-proof
//! verifier. This crate is what a security reviewer reads; it has no web
//! pages, no password hashing and no HTTP client. Design decisions are in
//! `docs/server.md`.
//!
//! * [`keys`] — key files and profile in the data directory;
//! * [`kek`] — where the key-encryption key comes from (outside the data
//!   directory);
//! * [`seal`] — AEAD sealing of secrets at rest, with the KEK's id in
//!   every blob; [`rekey`] — re-sealing under a new KEK;
//! * [`db`] — the SQLite database, its schema and its single writer
//!   thread (group commit);
//! * [`gc`] — deleting expired sessions, unbound tokens and old events
//!   off the request path;
//! * [`limits`] — per-source limits of the pairing endpoints;
//! * [`ops`] — one module per operation: the state change, its success
//!   body and its handler;
//! * [`http`] — the `/v1` router, the shared state and the extractors
//!   ([`http::BackendAuth`], [`http::OpsAuth`], [`http::Stk1Json`],
//!   [`http::RequestTime`]);
//! * [`scope`] — the scopes of the two bearer keys, recorded in the
//!   audit log;
//! * [`metrics`] — `/healthz`, `/readyz`, `/metrics` for the operations
//!   listener;
//! * [`refusal`] — STK1 error bodies ([`refusal::Refusal`] is the error
//!   type of every handler).
//!
//! Serving (the listener, timeouts, shutdown) is the binary's
//! (`crates/bank`).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod db;
pub mod gc;
pub mod http;
pub mod kek;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod ops;
pub mod refusal;
pub mod rekey;
pub mod scope;
pub mod seal;

pub use http::{admin_router, router, ApiState};
