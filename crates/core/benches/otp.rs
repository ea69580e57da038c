//! Core OTP benchmarks: softtoken-core next to totp-rs (latest) and the
//! SHA-1 compression floor, in the same run. Figures go to BENCHMARKS.md.
//!
//! Run: `cargo bench -p softtoken-core --bench otp`
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use softtoken_core::verifier::{Policy, TokenRecord};
use softtoken_core::{Generator, Params, Secret};

const KEY: &[u8; 20] = b"12345678901234567890";
const NOW: u64 = 1_700_000_000;

fn totp_rs() -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(KEY.to_vec())
        .build()
        .expect("valid totp-rs parameters")
}

fn code_generation(c: &mut Criterion) {
    let ours = Generator::new(&Secret::from_slice(KEY), Params::STK1).expect("valid key");
    let theirs = totp_rs();
    assert_eq!(
        ours.totp(NOW).unwrap().as_str(),
        theirs.generate(NOW).to_string()
    );
    let mut g = c.benchmark_group("code");
    g.bench_function("softtoken-core", |b| {
        b.iter(|| ours.totp(black_box(NOW)).unwrap())
    });
    g.bench_function("totp-rs", |b| b.iter(|| theirs.generate(black_box(NOW))));
    g.finish();
}

fn window_verification(c: &mut Criterion) {
    let ours = Generator::new(&Secret::from_slice(KEY), Params::STK1).expect("valid key");
    let theirs = totp_rs();
    let policy = Policy::default();
    let record = TokenRecord::default();
    // A wrong code: both sides must compute all three candidates (T-1, T, T+1).
    let t = NOW / 30;
    let wrong = (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| (t - 1..=t + 1).all(|s| ours.at_step(s).as_str() != c))
        .expect("some code is wrong");
    assert!(theirs.check(&wrong, NOW).is_none());
    // The code of T+1: totp-rs scans T-1, T, T+1 in order, so it also
    // computes all three.
    let next = ours.at_step(t + 1).as_str().to_string();
    assert!(theirs.check(&next, NOW).is_some());

    let mut g = c.benchmark_group("verify_window_1");
    g.bench_function("softtoken-core/wrong", |b| {
        b.iter(|| policy.verify(&ours, &record, black_box(&wrong), black_box(NOW)))
    });
    g.bench_function("totp-rs/wrong", |b| {
        b.iter(|| theirs.check(black_box(&wrong), black_box(NOW)))
    });
    g.bench_function("softtoken-core/next", |b| {
        b.iter(|| policy.verify(&ours, &record, black_box(&next), black_box(NOW)))
    });
    g.bench_function("totp-rs/next", |b| {
        b.iter(|| theirs.check(black_box(&next), black_box(NOW)))
    });
    // The floor: the 6 SHA-1 compressions a ±1 window needs with
    // precomputed HMAC pads (inner + outer for each of 3 candidates).
    let blocks = [sha1::digest::generic_array::GenericArray::from([0x5au8; 64]); 6];
    g.bench_function("floor/6-sha1-compressions", |b| {
        b.iter(|| {
            let mut state = [
                0x67452301u32,
                0xEFCDAB89,
                0x98BADCFE,
                0x10325476,
                0xC3D2E1F0,
            ];
            for block in black_box(&blocks) {
                sha1::compress(&mut state, core::slice::from_ref(block));
            }
            state
        })
    });
    g.finish();
}

criterion_group!(benches, code_generation, window_verification);
criterion_main!(benches);
