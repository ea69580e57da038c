//! # softtoken (the app)
//!
//! The soft-token app of the bank's customers: Dioxus screens over typed
//! services (clock, token store, bank client, bank directory). The binary
//! (`src/main.rs`) wires the real services; tests wire fakes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bench;
pub mod cli;
pub mod i18n;
pub mod qr;
pub mod services;
pub mod ui;
