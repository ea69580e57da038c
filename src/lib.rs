//! # softtoken (the app)
//!
//! The soft-token app of the bank's customers: Dioxus screens over typed
//! services (clock, token store, bank client, bank directory). The binary
//! (`src/main.rs`) wires the real services; tests wire the fakes of
//! `services::testing` (feature `testing`, never in a release build).
//!
//! * [`services`]: UI-free services (store, bank client, pairing,
//!   recovery, clock, directory);
//! * [`ui`]: the screens, their shared state and the root component;
//! * [`i18n`], [`cli`], [`qr`], [`mod@bench`]: texts, arguments, QR images,
//!   the benchmark marker.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bench;
pub mod cli;
pub mod i18n;
pub mod qr;
pub mod services;
pub mod ui;
