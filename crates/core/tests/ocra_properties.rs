//! Property tests of the OCRA suite parser and of `compute`.
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use softtoken_core::ocra::{compute, InputError, OcraInput, Question, QuestionFormat, Suite};
use softtoken_core::Algorithm;

/// The parts of a valid suite and its text, built independently of
/// `Suite`'s own formatting.
fn suite_parts() -> impl Strategy<Value = (String, Algorithm, u8, bool, char, u8)> {
    (
        prop::sample::select(vec![
            ("SHA1", Algorithm::Sha1),
            ("SHA256", Algorithm::Sha256),
            ("SHA512", Algorithm::Sha512),
        ]),
        prop_oneof![Just(0u8), 4u8..=10],
        any::<bool>(),
        prop::sample::select(vec!['N', 'A', 'H']),
        4u8..=64,
        prop::option::of(prop::sample::select(vec!["SHA1", "SHA256", "SHA512"])),
        prop::option::of(1u16..=999),
        prop::option::of(prop_oneof![
            (1u8..=59).prop_map(|n| format!("{n}S")),
            (1u8..=59).prop_map(|n| format!("{n}M")),
            (1u8..=48).prop_map(|n| format!("{n}H")),
        ]),
    )
        .prop_map(|((h, alg), digits, c, f, len, p, s, t)| {
            let mut text = format!("OCRA-1:HOTP-{h}-{digits}:");
            if c {
                text.push_str("C-");
            }
            text.push_str(&format!("Q{f}{len:02}"));
            if let Some(p) = p {
                text.push_str(&format!("-P{p}"));
            }
            if let Some(s) = s {
                text.push_str(&format!("-S{s:03}"));
            }
            if let Some(t) = t {
                text.push_str(&format!("-T{t}"));
            }
            (text, alg, digits, c, f, len)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every valid suite parses, prints back byte for byte, and has the
    /// parts it was built from.
    #[test]
    fn suite_round_trip((text, alg, digits, c, f, len) in suite_parts()) {
        let s: Suite = text.parse().unwrap();
        prop_assert_eq!(s.to_string(), text.clone());
        prop_assert_eq!(s.hash(), alg);
        prop_assert_eq!(s.digits(), digits);
        prop_assert_eq!(s.has_counter(), c);
        let want = match f { 'N' => QuestionFormat::Numeric, 'A' => QuestionFormat::Alphanumeric, _ => QuestionFormat::Hex };
        prop_assert_eq!(s.question_format(), want);
        prop_assert_eq!(s.question_len(), len);
        let again: Suite = s.to_string().parse().unwrap();
        prop_assert_eq!(again, s);
    }

    /// Any text: no panic, and whatever is accepted prints back exactly
    /// (the hashed suite is the text given).
    #[test]
    fn parse_never_panics_and_is_canonical(text in "(OCRA-1:HOTP-SHA(1|256|512)-[0-9]{1,2}:)?[CQNAHPSTHM0-9-]{0,24}|\\PC{0,40}") {
        if let Ok(s) = text.parse::<Suite>() {
            prop_assert_eq!(s.to_string(), text);
        }
    }

    /// A one-character change of a valid suite is refused or is itself a
    /// canonical suite: no suite is accepted under two spellings.
    #[test]
    fn one_edit_never_aliases((text, ..) in suite_parts(), pos in any::<prop::sample::Index>(), c in "[0-9A-Z:-]") {
        let s: Suite = text.parse().unwrap();
        let i = pos.index(text.len());
        let mut edited = text.clone();
        edited.replace_range(i..=i, &c);
        if edited != text {
            if let Ok(e) = edited.parse::<Suite>() {
                prop_assert_eq!(e.to_string(), edited.clone());
                prop_assert_ne!(e, s.clone());
            }
        }
    }

    /// Numeric questions: leading zeros do not change the response
    /// (the number is what counts, RFC 6287 §5.1), and the question may be
    /// up to `xx` digits but not more.
    #[test]
    fn numeric_questions(len in 4u8..=64, q in "[1-9][0-9]{0,62}", zeros in 0usize..3, key in prop::collection::vec(any::<u8>(), 1..40)) {
        let suite: Suite = format!("OCRA-1:HOTP-SHA1-8:QN{len:02}").parse().unwrap();
        let padded = format!("{}{}", "0".repeat(zeros), q);
        let one = |q: &str| compute(&suite, &key, &OcraInput { question: Question::One(q), ..OcraInput::default() });
        if padded.len() <= usize::from(len) {
            prop_assert_eq!(one(&padded).unwrap(), one(&q).unwrap());
        } else {
            prop_assert_eq!(one(&padded).unwrap_err(), InputError::QuestionTooLong);
        }
    }

    /// Mutual questions are the concatenation of the two challenges.
    #[test]
    fn mutual_is_concatenation(a in "[A-Za-z0-9]{1,8}", b in "[A-Za-z0-9]{1,8}", key in prop::collection::vec(any::<u8>(), 1..40)) {
        let suite: Suite = "OCRA-1:HOTP-SHA256-8:QA16".parse().unwrap();
        let ab = format!("{a}{b}");
        let mutual = compute(&suite, &key, &OcraInput { question: Question::Mutual(&a, &b), ..OcraInput::default() }).unwrap();
        let one = compute(&suite, &key, &OcraInput { question: Question::One(&ab), ..OcraInput::default() }).unwrap();
        prop_assert_eq!(mutual, one);
    }

    /// The response has the suite's number of digits (or 2 × the hash
    /// length in hex for truncation 0), and any key change changes it
    /// with overwhelming probability for long codes.
    #[test]
    fn response_shape((text, alg, digits, ..) in suite_parts(), key in prop::collection::vec(any::<u8>(), 1..200),
                      counter in any::<u64>(), t in any::<u64>()) {
        let suite: Suite = text.parse().unwrap();
        let q = match suite.question_format() { QuestionFormat::Numeric => "1234", QuestionFormat::Alphanumeric => "ab12", QuestionFormat::Hex => "0fA9" };
        let session = suite.session_len().map(|n| vec![7u8; usize::from(n)]);
        let input = OcraInput {
            counter: suite.has_counter().then_some(counter),
            question: Question::One(q),
            password: suite.password_hash().map(|_| softtoken_core::ocra::Password::Plain(b"1234")),
            session: session.as_deref(),
            timestep: suite.timestep().map(|_| t),
        };
        let code = compute(&suite, &key, &input).unwrap();
        let want_len = if digits == 0 {
            2 * match alg { Algorithm::Sha1 => 20, Algorithm::Sha256 => 32, Algorithm::Sha512 => 64 }
        } else {
            usize::from(digits)
        };
        prop_assert_eq!(code.as_str().len(), want_len);
        if digits == 0 {
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        } else {
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
        prop_assert!(code.matches(code.as_str()));
        let shown = format!("{:?}", code);
        prop_assert!(!shown.contains(code.as_str()));
    }
}
