//! Differential test against Debian's `oathtool` (OATH Toolkit), an
//! independent C implementation of RFC 4226/6238.
//!
//! Runs 1,200 random (key, time, digits, period, algorithm) cases. It is
//! not skipped when `oathtool` is missing: the test fails, because
//! `scripts/setup` installs it and CI must run it.
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use softtoken_core::{Algorithm, Generator, Params, Secret};

const CASES: u32 = 1_200;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn oathtool(key: &[u8], alg: Algorithm, digits: u32, period: u64, time: u64) -> String {
    let mode = match alg {
        Algorithm::Sha1 => "--totp=sha1",
        Algorithm::Sha256 => "--totp=sha256",
        Algorithm::Sha512 => "--totp=sha512",
    };
    let out = Command::new("oathtool")
        .args([
            mode,
            "-d",
            &digits.to_string(),
            "-s",
            &format!("{period}s"),
            "-N",
            &format!("@{time}"),
            &hex(key),
        ])
        .output()
        .expect("oathtool must be installed (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("oathtool prints ASCII")
        .trim()
        .to_string()
}

fn alg() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

#[test]
fn matches_oathtool_on_random_cases() {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 1..=64),
        alg(),
        6u32..=8,
        1u64..=120,
        // Up to year ~2242: past 2038 (2^31) and 2106 (2^32).
        0u64..(1u64 << 33),
    );
    let ran = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |(key, alg, digits, period, time)| {
            let params = Params::new(alg, digits, period, 0).unwrap();
            let ours = Generator::new(&Secret::from_slice(&key), params)
                .unwrap()
                .totp(time)
                .unwrap();
            let theirs = oathtool(&key, alg, digits, period, time);
            prop_assert_eq!(
                ours.as_str(),
                theirs.as_str(),
                "{:?} d={} p={} t={}",
                alg,
                digits,
                period,
                time
            );
            ran.set(ran.get() + 1);
            Ok(())
        })
        .unwrap();
    assert!(ran.get() >= 1_000, "only {} cases ran", ran.get());
}
