//! # softtoken-token-service
//!
//! The bank side of STK1: the token service the app pairs with and the
//! back-end API web banking calls, with a replay-proof verifier. Design
//! decisions are in `docs/server.md`.
//!
//! * [`keys`] — key files and profile in the data directory;
//! * [`seal`] — AEAD sealing of secrets at rest;
//! * [`store`] — the SQLite state and its single writer (group commit);
//! * [`refusal`] — STK1 error bodies;
//! * [`api`] — the `/v1` HTTP endpoints.
#![forbid(unsafe_code)]

pub mod api;
pub mod keys;
pub mod refusal;
pub mod seal;
pub mod store;
