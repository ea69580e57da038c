//! Runs the verifier's hot path N times (for instruction counts with
//! `valgrind --tool=callgrind`; see BENCHMARKS.md).
//! Modes: `verify` (default), `code`, `totp-rs` (the peer's `check`).
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use softtoken_core::verifier::{Policy, TokenRecord};
use softtoken_core::{Generator, Params, Secret};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let which = std::env::args().nth(2).unwrap_or_else(|| "verify".into());
    let g =
        Generator::new(&Secret::from_slice(b"12345678901234567890"), Params::STK1).expect("key");
    let theirs = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(b"12345678901234567890".to_vec())
        .build()
        .expect("valid totp-rs parameters");
    let p = Policy::default();
    let r = TokenRecord::default();
    let mut acc = 0u64;
    for i in 0..n {
        let now = 1_700_000_000 + (i % 7);
        match which.as_str() {
            "code" => acc += u64::from(g.hotp_value(now / 30)),
            // The peer: totp-rs's ±1-window check of the same wrong code.
            "totp-rs" => acc += theirs.check("000000", now).is_none() as u64,
            _ => {
                acc += matches!(
                    p.verify(&g, &r, "000000", now),
                    softtoken_core::Verdict::Invalid { .. }
                ) as u64
            }
        }
    }
    println!("{acc}");
}
