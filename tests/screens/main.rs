//! Component tests of every screen: the real `App` in a `VirtualDom` on a
//! fixed clock, with an in-memory store, a scripted bank that runs the real
//! STK1 server maths, clicks through the event API on controls found by
//! their element `id`, and assertions on the HTML rendered by dioxus-ssr.
//!
//! The fakes come from `softtoken::services::testing` (the package's
//! dev-dependency on itself turns its `testing` feature on) and [`fakes`].
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod fakes;
mod harness;

mod accessibility;
mod details;
mod interrupted_pairing;
mod next_code;
mod pair_inputs;
mod pairing;
mod qa;
mod readability;
mod store_problems;
mod store_thread;
mod token;
mod transaction;
mod txn_triggers;
