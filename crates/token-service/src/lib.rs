//! # softtoken-token-service
//!
//! The bank side of STK1 (`shared/spec/stk1.md`): the token service the app
//! pairs with and the back-end API web banking calls, with a replay-proof
//! verifier. This crate is what a security reviewer reads; it has no web
//! pages, no password hashing and no HTTP client. Design decisions are in
//! `docs/server.md`.
//!
//! * [`keys`] — key files and profile in the data directory;
//! * [`seal`] — AEAD sealing of secrets at rest;
//! * [`db`] — the SQLite database, its schema and its single writer
//!   thread (group commit);
//! * [`ops`] — one module per operation: the state change, its success
//!   body and its handler;
//! * [`http`] — the `/v1` router, the shared state and the extractors
//!   ([`http::BackendAuth`], [`http::Stk1Json`], [`http::RequestTime`]);
//! * [`refusal`] — STK1 error bodies ([`refusal::Refusal`] is the error
//!   type of every handler).
//!
//! Serving (the listener, timeouts, shutdown) is the binary's
//! (`crates/bank`).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod db;
pub mod http;
pub mod keys;
pub mod ops;
pub mod refusal;
pub mod seal;

pub use http::{router, ApiState};
