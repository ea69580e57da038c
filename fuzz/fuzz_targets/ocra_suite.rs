//! OCRA suite parser and `compute`: never panic; an accepted suite prints
//! back byte for byte; a response has the suite's shape.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::ocra::{compute, OcraInput, Password, Question, Suite};

fuzz_target!(|data: &[u8]| {
    // First line: the suite; the rest: question bytes, key, session.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Ok(text) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let Ok(suite) = text.parse::<Suite>() else {
        return;
    };
    assert_eq!(suite.to_string(), text);
    let rest = data.get(split + 1..).unwrap_or(&[]);
    // One length byte, then the question, then the key.
    let qlen = usize::from(rest.first().copied().unwrap_or(0) % 140);
    let rest = rest.get(1..).unwrap_or(&[]);
    let (q, rest) = rest.split_at(rest.len().min(qlen));
    let Ok(q) = std::str::from_utf8(q) else {
        return;
    };
    let key: &[u8] = if rest.is_empty() { b"k" } else { rest };
    let session = suite.session_len().map(|n| {
        let mut s = rest.to_vec();
        s.resize(usize::from(n), 0);
        s
    });
    let half = q.len() / 2;
    let question = if q.is_char_boundary(half) && q.len() % 3 == 0 {
        Question::Mutual(&q[..half], &q[half..])
    } else {
        Question::One(q)
    };
    let input = OcraInput {
        counter: suite.has_counter().then_some(u64::from(data.len() as u32)),
        question,
        password: suite.password_hash().map(|_| Password::Plain(rest)),
        session: session.as_deref(),
        timestep: suite.timestep_at(data.len() as u64 * 1_000_003),
    };
    if let Ok(code) = compute(&suite, key, &input) {
        let s = code.as_str();
        if suite.digits() == 0 {
            assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
        } else {
            assert_eq!(s.len(), usize::from(suite.digits()));
            assert!(s.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
