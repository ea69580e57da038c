//! # softtoken-bank
//!
//! The bank reference server (issue 3): the STK1 token service, the bank
//! back-end API with a replay-proof verifier, and web banking. Design
//! decisions are in `docs/server.md`.
//!
//! * [`keys`] — key files and profile in the data directory;
//! * [`seal`] — AEAD sealing of secrets at rest;
//! * [`store`] — the SQLite state and its single writer (group commit);
//! * [`refusal`] — STK1 error bodies;
//! * [`api`] — the `/v1` HTTP endpoints;
//! * [`server`] — start-up of `serve`;
//! * [`web`] — web banking (owner: bank-web).
#![forbid(unsafe_code)]

pub mod api;
pub mod keys;
pub mod refusal;
pub mod seal;
pub mod server;
pub mod store;
pub mod web;
