//! Property tests of the core's boundaries.
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use softtoken_core::serial::{self, Serial, ALPHABET};
use softtoken_core::verifier::{Policy, TokenRecord, Verdict};
use softtoken_core::{Algorithm, Generator, Params, Secret};

fn alg() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

proptest! {
    /// A code always has exactly `digits` ASCII digits.
    #[test]
    fn code_has_exactly_digits(key in proptest::collection::vec(any::<u8>(), 1..80), a in alg(),
                               digits in 6u32..=8, counter in any::<u64>()) {
        let g = Generator::new(&Secret::from_slice(&key), Params::new(a, digits, 30, 0).unwrap()).unwrap();
        let c = g.hotp(counter);
        prop_assert_eq!(c.as_str().len(), digits as usize);
        prop_assert!(c.as_str().bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(c.grouped().replace(' ', ""), c.as_str());
    }

    /// Seconds left is always in 1..=period, and the code changes exactly
    /// at the boundary: same code until `t + left - 1`, next step at `t + left`.
    #[test]
    fn countdown_and_boundary(t0 in 0u64..1_000_000, period in 1u64..=120, offset in 0u64..(1u64 << 40)) {
        let p = Params::new(Algorithm::Sha1, 6, period, t0).unwrap();
        let t = t0 + offset;
        let left = p.seconds_left(t).unwrap();
        prop_assert!((1..=period).contains(&left));
        let step = p.step_at(t).unwrap();
        prop_assert_eq!(p.step_at(t + left - 1).unwrap(), step);
        prop_assert_eq!(p.step_at(t + left).unwrap(), step + 1);
        prop_assert_eq!(p.seconds_left(t + left).unwrap(), period);
        prop_assert_eq!(p.step_start(step + 1), t + left);
    }

    /// format ∘ normalise round-trips for every generated serial.
    #[test]
    fn serial_format_round_trip(seed in any::<[u8; 32]>()) {
        use rand::{SeedableRng, rngs::StdRng};
        let s = Serial::generate(&mut StdRng::from_seed(seed));
        prop_assert_eq!(Serial::parse_typed(&s.formatted()).unwrap(), s.clone());
        prop_assert_eq!(Serial::parse_typed(&s.formatted().to_lowercase()).unwrap(), s.clone());
        prop_assert_eq!(Serial::parse_strict(s.as_str()).unwrap(), s);
    }

    /// Every single-character substitution is caught by the check character.
    #[test]
    fn serial_single_typo_is_caught(seed in any::<[u8; 32]>(), pos in 0usize..12, with in 0usize..32) {
        use rand::{SeedableRng, rngs::StdRng};
        let s = Serial::generate(&mut StdRng::from_seed(seed));
        let mut bytes = s.as_str().as_bytes().to_vec();
        prop_assume!(bytes[pos] != ALPHABET[with]);
        bytes[pos] = ALPHABET[with];
        let typo = String::from_utf8(bytes).unwrap();
        prop_assert_eq!(Serial::parse_strict(&typo), Err(serial::SerialError::Check));
    }

    /// The verifier never accepts a step ≤ the last accepted one, and never
    /// unlocks by itself, whatever the sequence of codes and times.
    #[test]
    fn verifier_monotonic_and_never_self_unlocks(
        key in proptest::collection::vec(any::<u8>(), 20..21),
        start in 1_000_000u64..4_000_000_000,
        moves in proptest::collection::vec((-3i64..=3, -200i64..200, any::<bool>()), 1..40),
    ) {
        let g = Generator::new(&Secret::from_slice(&key), Params::STK1).unwrap();
        let policy = Policy { lockout_limit: 5, ..Policy::default() };
        let mut rec = TokenRecord::default();
        let mut now = start;
        for (step_delta, time_delta, garbage) in moves {
            now = now.saturating_add_signed(time_delta);
            let t = Params::STK1.step_at(now).unwrap();
            let target = t.saturating_add_signed(step_delta);
            let otp = if garbage { "12x456".to_string() } else { g.at_step(target).as_str().to_string() };
            let before = rec;
            match policy.verify(&g, &rec, &otp, now) {
                Verdict::Accepted { record, step } => {
                    prop_assert!(!before.locked);
                    prop_assert!(before.last_step.is_none_or(|l| step > l));
                    prop_assert_eq!(record.last_step, Some(step));
                    rec = record;
                }
                Verdict::Invalid { record } => {
                    prop_assert_eq!(record.fail_count, before.fail_count + 1);
                    prop_assert_eq!(record.last_step, before.last_step);
                    prop_assert!(!before.locked || record.locked);
                    rec = record;
                }
                Verdict::Replay => prop_assert!(!before.locked),
                Verdict::Locked => prop_assert!(before.locked),
                v => prop_assert!(false, "unexpected verdict {:?}", v),
            }
            prop_assert!(!before.locked || rec.locked, "unlocked by itself");
            prop_assert!(rec.drift.abs() <= policy.max_learned_drift);
        }
    }
}

/// Regression: a replayed code must not count as a failure, otherwise a
/// double-submitted form locks the customer out (spec: "A replayed code is
/// refused with `replay` but is not a failure").
#[test]
fn regression_double_submit_does_not_lock_out() {
    let g = Generator::new(&Secret::from_slice(b"12345678901234567890"), Params::STK1).unwrap();
    let policy = Policy {
        lockout_limit: 2,
        ..Policy::default()
    };
    let now = 1_700_000_000;
    let code = g.totp(now).unwrap();
    let Verdict::Accepted { record, .. } =
        policy.verify(&g, &TokenRecord::default(), code.as_str(), now)
    else {
        panic!("first submit must pass");
    };
    for _ in 0..5 {
        assert_eq!(
            policy.verify(&g, &record, code.as_str(), now),
            Verdict::Replay
        );
    }
    assert_eq!(record.fail_count, 0);
    assert!(!record.locked);
}

mod base32_differential {
    use proptest::prelude::*;
    use softtoken_core::encoding::{decode_strict, encode};

    const REF: base32::Alphabet = base32::Alphabet::Rfc4648 { padding: false };

    proptest! {
        /// Encoding agrees with the `base32` crate and decodes back.
        #[test]
        fn encode_matches_reference(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let text = encode(&bytes);
            prop_assert_eq!(&text, &base32::encode(REF, &bytes));
            prop_assert_eq!(decode_strict(&text).unwrap(), bytes);
        }

        /// The strict decoder accepts exactly the texts the reference
        /// decodes and re-encodes to themselves, with the same bytes.
        #[test]
        fn strict_accepts_exactly_canonical_texts(text in "[A-Z2-7]{0,20}|[A-Za-z0-9= ]{0,12}") {
            let reference = base32::decode(REF, &text).filter(|b| base32::encode(REF, b) == text);
            prop_assert_eq!(decode_strict(&text).ok(), reference);
        }
    }
}
