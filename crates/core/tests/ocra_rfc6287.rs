//! RFC 6287 Appendix C ("Test Vectors"), every suite of the appendix.
//!
//! Keys (Appendix C): the ASCII digits "1234567890" repeated to 20, 32 and
//! 64 bytes; PIN "1234" hashed with SHA-1 =
//! 7110eda4d09e062aa5e4a390b0a572ac0d2c0220; timestamp T = 0x132d0b6
//! (minutes since the epoch, March 2008).
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use softtoken_core::ocra::{compute, OcraInput, Password, Question, Suite};

const KEY20: &[u8] = b"12345678901234567890";
const KEY32: &[u8] = b"12345678901234567890123456789012";
const KEY64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
const PIN: &[u8] = b"1234";
const PIN_SHA1: &str = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220";
const T: u64 = 0x132d0b6;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One row of an Appendix C table.
struct Row {
    suite: &'static str,
    key: &'static [u8],
    counter: Option<u64>,
    question: Q,
    pin: bool,
    timestep: Option<u64>,
    expected: &'static str,
}

#[derive(Clone, Copy)]
enum Q {
    One(&'static str),
    /// Mutual: (first, second) concatenated in this order.
    Mutual(&'static str, &'static str),
}

const fn one(
    suite: &'static str,
    key: &'static [u8],
    counter: Option<u64>,
    q: &'static str,
    pin: bool,
    timestep: Option<u64>,
    expected: &'static str,
) -> Row {
    Row {
        suite,
        key,
        counter,
        question: Q::One(q),
        pin,
        timestep,
        expected,
    }
}

const fn mutual(
    suite: &'static str,
    key: &'static [u8],
    a: &'static str,
    b: &'static str,
    pin: bool,
    expected: &'static str,
) -> Row {
    Row {
        suite,
        key,
        counter: None,
        question: Q::Mutual(a, b),
        pin,
        timestep: None,
        expected,
    }
}

const S1: &str = "OCRA-1:HOTP-SHA1-6:QN08";
const S2: &str = "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1";
const S3: &str = "OCRA-1:HOTP-SHA256-8:QN08-PSHA1";
const S4: &str = "OCRA-1:HOTP-SHA512-8:C-QN08";
const S5: &str = "OCRA-1:HOTP-SHA512-8:QN08-T1M";
const M256: &str = "OCRA-1:HOTP-SHA256-8:QA08";
const M512: &str = "OCRA-1:HOTP-SHA512-8:QA08";
const M512P: &str = "OCRA-1:HOTP-SHA512-8:QA08-PSHA1";
const SIG256: &str = "OCRA-1:HOTP-SHA256-8:QA08";
const SIG512T: &str = "OCRA-1:HOTP-SHA512-8:QA10-T1M";

/// RFC 6287 Appendix C.1, One-Way Challenge Response.
const C1: &[Row] = &[
    // OCRA-1:HOTP-SHA1-6:QN08, 20-byte key
    one(S1, KEY20, None, "00000000", false, None, "237653"),
    one(S1, KEY20, None, "11111111", false, None, "243178"),
    one(S1, KEY20, None, "22222222", false, None, "653583"),
    one(S1, KEY20, None, "33333333", false, None, "740991"),
    one(S1, KEY20, None, "44444444", false, None, "608993"),
    one(S1, KEY20, None, "55555555", false, None, "388898"),
    one(S1, KEY20, None, "66666666", false, None, "816933"),
    one(S1, KEY20, None, "77777777", false, None, "224598"),
    one(S1, KEY20, None, "88888888", false, None, "750600"),
    one(S1, KEY20, None, "99999999", false, None, "294470"),
    // OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1, 32-byte key, Q = 12345678, PIN 1234
    one(S2, KEY32, Some(0), "12345678", true, None, "65347737"),
    one(S2, KEY32, Some(1), "12345678", true, None, "86775851"),
    one(S2, KEY32, Some(2), "12345678", true, None, "78192410"),
    one(S2, KEY32, Some(3), "12345678", true, None, "71565254"),
    one(S2, KEY32, Some(4), "12345678", true, None, "10104329"),
    one(S2, KEY32, Some(5), "12345678", true, None, "65983500"),
    one(S2, KEY32, Some(6), "12345678", true, None, "70069104"),
    one(S2, KEY32, Some(7), "12345678", true, None, "91771096"),
    one(S2, KEY32, Some(8), "12345678", true, None, "75011558"),
    one(S2, KEY32, Some(9), "12345678", true, None, "08522129"),
    // OCRA-1:HOTP-SHA256-8:QN08-PSHA1, 32-byte key, PIN 1234
    one(S3, KEY32, None, "00000000", true, None, "83238735"),
    one(S3, KEY32, None, "11111111", true, None, "01501458"),
    one(S3, KEY32, None, "22222222", true, None, "17957585"),
    one(S3, KEY32, None, "33333333", true, None, "86776967"),
    one(S3, KEY32, None, "44444444", true, None, "86807031"),
    // OCRA-1:HOTP-SHA512-8:C-QN08, 64-byte key
    one(S4, KEY64, Some(0), "00000000", false, None, "07016083"),
    one(S4, KEY64, Some(1), "11111111", false, None, "63947962"),
    one(S4, KEY64, Some(2), "22222222", false, None, "70123924"),
    one(S4, KEY64, Some(3), "33333333", false, None, "25341727"),
    one(S4, KEY64, Some(4), "44444444", false, None, "33203315"),
    one(S4, KEY64, Some(5), "55555555", false, None, "34205738"),
    one(S4, KEY64, Some(6), "66666666", false, None, "44343969"),
    one(S4, KEY64, Some(7), "77777777", false, None, "51946085"),
    one(S4, KEY64, Some(8), "88888888", false, None, "20403879"),
    one(S4, KEY64, Some(9), "99999999", false, None, "31409299"),
    // OCRA-1:HOTP-SHA512-8:QN08-T1M, 64-byte key, T = 0x132d0b6
    one(S5, KEY64, None, "00000000", false, Some(T), "95209754"),
    one(S5, KEY64, None, "11111111", false, Some(T), "55907591"),
    one(S5, KEY64, None, "22222222", false, Some(T), "22048402"),
    one(S5, KEY64, None, "33333333", false, Some(T), "24218844"),
    one(S5, KEY64, None, "44444444", false, Some(T), "36209546"),
];

/// RFC 6287 Appendix C.2, Mutual Challenge-Response.
const C2: &[Row] = &[
    // OCRA-1:HOTP-SHA256-8:QA08, server computation (client ‖ server)
    mutual(M256, KEY32, "CLI22220", "SRV11110", false, "28247970"),
    mutual(M256, KEY32, "CLI22221", "SRV11111", false, "01984843"),
    mutual(M256, KEY32, "CLI22222", "SRV11112", false, "65387857"),
    mutual(M256, KEY32, "CLI22223", "SRV11113", false, "03351211"),
    mutual(M256, KEY32, "CLI22224", "SRV11114", false, "83412541"),
    // OCRA-1:HOTP-SHA256-8:QA08, client computation (server ‖ client)
    mutual(M256, KEY32, "SRV11110", "CLI22220", false, "15510767"),
    mutual(M256, KEY32, "SRV11111", "CLI22221", false, "90175646"),
    mutual(M256, KEY32, "SRV11112", "CLI22222", false, "33777207"),
    mutual(M256, KEY32, "SRV11113", "CLI22223", false, "95285278"),
    mutual(M256, KEY32, "SRV11114", "CLI22224", false, "28934924"),
    // OCRA-1:HOTP-SHA512-8:QA08, server computation
    mutual(M512, KEY64, "CLI22220", "SRV11110", false, "79496648"),
    mutual(M512, KEY64, "CLI22221", "SRV11111", false, "76831980"),
    mutual(M512, KEY64, "CLI22222", "SRV11112", false, "12250499"),
    mutual(M512, KEY64, "CLI22223", "SRV11113", false, "90856481"),
    mutual(M512, KEY64, "CLI22224", "SRV11114", false, "12761449"),
    // OCRA-1:HOTP-SHA512-8:QA08-PSHA1, client computation, PIN 1234
    mutual(M512P, KEY64, "SRV11110", "CLI22220", true, "18806276"),
    mutual(M512P, KEY64, "SRV11111", "CLI22221", true, "70020315"),
    mutual(M512P, KEY64, "SRV11112", "CLI22222", true, "01600026"),
    mutual(M512P, KEY64, "SRV11113", "CLI22223", true, "18951020"),
    mutual(M512P, KEY64, "SRV11114", "CLI22224", true, "32528969"),
];

/// RFC 6287 Appendix C.3, Plain Signature.
const C3: &[Row] = &[
    // OCRA-1:HOTP-SHA256-8:QA08, 32-byte key
    one(SIG256, KEY32, None, "SIG10000", false, None, "53095496"),
    one(SIG256, KEY32, None, "SIG11000", false, None, "04110475"),
    one(SIG256, KEY32, None, "SIG12000", false, None, "31331128"),
    one(SIG256, KEY32, None, "SIG13000", false, None, "76028668"),
    one(SIG256, KEY32, None, "SIG14000", false, None, "46554205"),
    // OCRA-1:HOTP-SHA512-8:QA10-T1M, 64-byte key, T = 0x132d0b6
    one(
        SIG512T,
        KEY64,
        None,
        "SIG1000000",
        false,
        Some(T),
        "77537423",
    ),
    one(
        SIG512T,
        KEY64,
        None,
        "SIG1100000",
        false,
        Some(T),
        "31970405",
    ),
    one(
        SIG512T,
        KEY64,
        None,
        "SIG1200000",
        false,
        Some(T),
        "10235557",
    ),
    one(
        SIG512T,
        KEY64,
        None,
        "SIG1300000",
        false,
        Some(T),
        "95213541",
    ),
    one(
        SIG512T,
        KEY64,
        None,
        "SIG1400000",
        false,
        Some(T),
        "65360607",
    ),
];

fn run(table: &[Row], name: &str) {
    let pin_hash = unhex(PIN_SHA1);
    for (i, r) in table.iter().enumerate() {
        let suite: Suite = r.suite.parse().unwrap();
        assert_eq!(suite.as_str(), r.suite);
        let question = match r.question {
            Q::One(q) => Question::One(q),
            Q::Mutual(a, b) => Question::Mutual(a, b),
        };
        // With the PIN itself, and with its stored hash: same response.
        let passwords: Vec<Option<Password>> = if r.pin {
            vec![
                Some(Password::Plain(PIN)),
                Some(Password::Hashed(&pin_hash)),
            ]
        } else {
            vec![None]
        };
        for password in passwords {
            let input = OcraInput {
                counter: r.counter,
                question,
                password,
                session: None,
                timestep: r.timestep,
            };
            let code = compute(&suite, r.key, &input).unwrap();
            assert_eq!(
                code.as_str(),
                r.expected,
                "{name} row {i}: {} {:?}",
                r.suite,
                password
            );
            assert!(code.matches(r.expected));
        }
    }
}

#[test]
fn appendix_c1_one_way_challenge_response() {
    run(C1, "C.1");
}

#[test]
fn appendix_c2_mutual_challenge_response() {
    run(C2, "C.2");
}

#[test]
fn appendix_c3_plain_signature() {
    run(C3, "C.3");
}

/// The T1M timestamp of the appendix is the minute count: any second of
/// that minute gives the same step.
#[test]
fn appendix_timestamp_from_unix_time() {
    let suite: Suite = S5.parse().unwrap();
    assert_eq!(suite.timestep_at(T * 60), Some(T));
    assert_eq!(suite.timestep_at(T * 60 + 59), Some(T));
    let input = OcraInput {
        question: Question::One("00000000"),
        timestep: suite.timestep_at(T * 60 + 30),
        ..OcraInput::default()
    };
    assert_eq!(compute(&suite, KEY64, &input).unwrap().as_str(), "95209754");
}

/// The spec's own reference row (stk1-txn.md, last line).
#[test]
fn spec_quotes_appendix_c() {
    let suite: Suite = S1.parse().unwrap();
    let input = OcraInput {
        question: Question::One("11111111"),
        ..OcraInput::default()
    };
    assert_eq!(compute(&suite, KEY20, &input).unwrap().as_str(), "243178");
}
