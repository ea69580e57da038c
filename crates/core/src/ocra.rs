//! RFC 6287 OCRA, the OATH challenge-response algorithm.
//!
//! ```text
//! OCRA      = CryptoFunction(K, DataInput)
//! DataInput = OCRASuite ‖ 0x00 ‖ C ‖ Q ‖ P ‖ S ‖ T        (RFC 6287 §5.1)
//! ```
//!
//! * [`Suite`] — a parsed suite string (§6), e.g.
//!   `OCRA-1:HOTP-SHA256-6:QN08-T30S`. The grammar accepted is
//!   `OCRA-1:HOTP-SHA{1,256,512}-{0,4..10}:[C-]Q{N,A,H}{04..64}[-PSHA1|-PSHA256|-PSHA512][-Snnn][-T{n}{S,M,H}]`
//!   with the optional parts in that order. Parsing is canonical: a
//!   suite is accepted only in the one spelling [`Suite`]'s `Display`
//!   writes back, so the bytes hashed into `DataInput` are the input.
//! * [`compute`] — the response for an [`OcraInput`], as an [`OcraCode`].
//!
//! The parts of `DataInput` (§5.1):
//! * `C`: 8-byte big-endian counter;
//! * `Q`: 128 bytes. A numeric question is read as a decimal number,
//!   written in hexadecimal (no leading zeros, as Java's
//!   `BigInteger.toString(16)` in the RFC's reference code and test
//!   vectors), left-aligned and padded with `0` nibbles on the right; an
//!   alphanumeric question is its ASCII bytes; a hexadecimal question is
//!   its nibbles (an odd count gets a trailing `0` nibble). Zero bytes fill
//!   the rest;
//! * `P`: the hash of the PIN/password with the suite's hash (given as the
//!   password or as its hash);
//! * `S`: exactly `nnn` bytes of session information;
//! * `T`: 8-byte big-endian number of time steps since the Unix epoch.
//!
//! The response (§5.2) is HOTP's dynamic truncation (RFC 4226 §5.3) to
//! `t` decimal digits; for `t = 0` ("no truncation") it is the whole HMAC,
//! as lower-case hexadecimal.
//!
//! Mutual challenge-response (§7.3) passes both challenges as
//! [`Question::Mutual`]: each may have up to `xx` characters and they are
//! concatenated in the given order.

use core::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::otp::Algorithm;

/// Size of the `Q` part of `DataInput`.
pub const QUESTION_BYTES: usize = 128;

/// Why a suite string was refused. Carries no part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// Not three `:`-separated parts.
    #[error("a suite has three parts separated by ':'")]
    Shape,
    /// The algorithm part is not `OCRA-1`.
    #[error("unsupported OCRA version")]
    Version,
    /// The crypto function is not `HOTP-SHA1|SHA256|SHA512-t`.
    #[error("unknown crypto function")]
    CryptoFunction,
    /// Truncation other than 0 or 4..=10, or not written canonically.
    #[error("truncation must be 0 or 4 to 10")]
    Truncation,
    /// The data input has no `Q` part.
    #[error("the data input needs a question (Q)")]
    MissingQuestion,
    /// A `Q` part other than `Q{N,A,H}{04..64}` with two digits.
    #[error("the question must be QN, QA or QH with two digits 04 to 64")]
    Question,
    /// A `P` part other than `PSHA1`, `PSHA256`, `PSHA512`.
    #[error("the password hash must be PSHA1, PSHA256 or PSHA512")]
    Password,
    /// An `S` part other than `S` and three digits 001..=999.
    #[error("session information must be S and three digits, 001 to 999")]
    Session,
    /// A `T` part other than `T{1..59}S`, `T{1..59}M` or `T{1..48}H`
    /// (no leading zero).
    #[error("the time step must be 1-59 S, 1-59 M or 1-48 H")]
    Timestamp,
    /// An unknown, repeated or misplaced data-input element.
    #[error("data-input elements must be C, Q, P, S, T in this order, each at most once")]
    DataInput,
}

/// What the question may contain (the `F` of `QFxx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuestionFormat {
    /// `N`: decimal digits.
    Numeric,
    /// `A`: ASCII letters and digits.
    Alphanumeric,
    /// `H`: hexadecimal digits (either case).
    Hex,
}

impl QuestionFormat {
    fn letter(self) -> char {
        match self {
            QuestionFormat::Numeric => 'N',
            QuestionFormat::Alphanumeric => 'A',
            QuestionFormat::Hex => 'H',
        }
    }
}

/// The unit of a time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `S`, 1 to 59.
    Seconds,
    /// `M`, 1 to 59.
    Minutes,
    /// `H`, 1 to 48.
    Hours,
}

/// The time-step size of a `T` part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeStep {
    count: u8,
    unit: TimeUnit,
}

impl TimeStep {
    /// Checks the RFC 6287 §6.3 ranges.
    pub fn new(count: u8, unit: TimeUnit) -> Option<TimeStep> {
        let max = match unit {
            TimeUnit::Seconds | TimeUnit::Minutes => 59,
            TimeUnit::Hours => 48,
        };
        (1..=max)
            .contains(&count)
            .then_some(TimeStep { count, unit })
    }

    /// The step length in seconds.
    pub fn seconds(self) -> u64 {
        u64::from(self.count)
            * match self.unit {
                TimeUnit::Seconds => 1,
                TimeUnit::Minutes => 60,
                TimeUnit::Hours => 3600,
            }
    }

    /// The count.
    pub fn count(self) -> u8 {
        self.count
    }

    /// The unit.
    pub fn unit(self) -> TimeUnit {
        self.unit
    }
}

/// A parsed OCRA suite. Build it with [`Suite::from_str`] (or
/// [`str::parse`]); `Display` writes the suite string back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Suite {
    text: String,
    hash: Algorithm,
    digits: u8,
    counter: bool,
    question_format: QuestionFormat,
    question_len: u8,
    password: Option<Algorithm>,
    session: Option<u16>,
    timestep: Option<TimeStep>,
}

fn hash_name(a: Algorithm) -> &'static str {
    a.name()
}

fn parse_hash(s: &str) -> Option<Algorithm> {
    match s {
        "SHA1" => Some(Algorithm::Sha1),
        "SHA256" => Some(Algorithm::Sha256),
        "SHA512" => Some(Algorithm::Sha512),
        _ => None,
    }
}

/// A decimal without sign or leading zero ("0" itself allowed).
fn canonical_decimal(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 3 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if b.len() > 1 && b[0] == b'0' {
        return None;
    }
    s.parse().ok()
}

impl FromStr for Suite {
    type Err = SuiteError;

    fn from_str(text: &str) -> Result<Suite, SuiteError> {
        let mut parts = text.split(':');
        let (Some(version), Some(crypto), Some(data), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SuiteError::Shape);
        };
        if version != "OCRA-1" {
            return Err(SuiteError::Version);
        }
        // Crypto function: HOTP-H-t.
        let mut cf = crypto.split('-');
        let (Some("HOTP"), Some(h), Some(t), None) = (cf.next(), cf.next(), cf.next(), cf.next())
        else {
            return Err(SuiteError::CryptoFunction);
        };
        let hash = parse_hash(h).ok_or(SuiteError::CryptoFunction)?;
        let digits = match canonical_decimal(t) {
            Some(d @ (0 | 4..=10)) => d as u8,
            _ => return Err(SuiteError::Truncation),
        };

        // Data input: [C-]QFxx[-PH][-Snnn][-TG], in this order.
        let mut elements = data.split('-').peekable();
        let counter = elements.peek() == Some(&"C");
        if counter {
            elements.next();
        }
        let q = elements.next().ok_or(SuiteError::MissingQuestion)?;
        let q = q.strip_prefix('Q').ok_or(SuiteError::MissingQuestion)?;
        let qb = q.as_bytes();
        if qb.len() != 3 || !qb[1].is_ascii_digit() || !qb[2].is_ascii_digit() {
            return Err(SuiteError::Question);
        }
        let question_format = match qb[0] {
            b'N' => QuestionFormat::Numeric,
            b'A' => QuestionFormat::Alphanumeric,
            b'H' => QuestionFormat::Hex,
            _ => return Err(SuiteError::Question),
        };
        let question_len = (qb[1] - b'0') * 10 + (qb[2] - b'0');
        if !(4..=64).contains(&question_len) {
            return Err(SuiteError::Question);
        }

        let (mut password, mut session, mut timestep) = (None, None, None);
        // 0 = nothing yet, 1 = P seen, 2 = S seen, 3 = T seen.
        let mut stage = 0;
        for e in elements {
            let (rank, rest) = match e.as_bytes().first() {
                Some(b'P') => (1, &e[1..]),
                Some(b'S') => (2, &e[1..]),
                Some(b'T') => (3, &e[1..]),
                _ => return Err(SuiteError::DataInput),
            };
            if rank <= stage {
                return Err(SuiteError::DataInput);
            }
            stage = rank;
            match rank {
                1 => password = Some(parse_hash(rest).ok_or(SuiteError::Password)?),
                2 => {
                    let b = rest.as_bytes();
                    if b.len() != 3 || !b.iter().all(u8::is_ascii_digit) {
                        return Err(SuiteError::Session);
                    }
                    let n: u16 = rest.parse().map_err(|_| SuiteError::Session)?;
                    if n == 0 {
                        return Err(SuiteError::Session);
                    }
                    session = Some(n);
                }
                _ => {
                    let (count, unit) = match rest.as_bytes().last() {
                        Some(b'S') => (&rest[..rest.len() - 1], TimeUnit::Seconds),
                        Some(b'M') => (&rest[..rest.len() - 1], TimeUnit::Minutes),
                        Some(b'H') => (&rest[..rest.len() - 1], TimeUnit::Hours),
                        _ => return Err(SuiteError::Timestamp),
                    };
                    let count = canonical_decimal(count)
                        .and_then(|c| u8::try_from(c).ok())
                        .ok_or(SuiteError::Timestamp)?;
                    timestep = Some(TimeStep::new(count, unit).ok_or(SuiteError::Timestamp)?);
                }
            }
        }
        let suite = Suite {
            text: String::new(),
            hash,
            digits,
            counter,
            question_format,
            question_len,
            password,
            session,
            timestep,
        };
        let text_out = suite.render();
        // Every accepted spelling is the canonical one; this holds by
        // construction and is pinned by a property test.
        if text_out != text {
            return Err(SuiteError::DataInput);
        }
        Ok(Suite {
            text: text_out,
            ..suite
        })
    }
}

impl Suite {
    fn render(&self) -> String {
        let mut s = format!("OCRA-1:HOTP-{}-{}:", hash_name(self.hash), self.digits);
        if self.counter {
            s.push_str("C-");
        }
        s.push_str(&format!(
            "Q{}{:02}",
            self.question_format.letter(),
            self.question_len
        ));
        if let Some(p) = self.password {
            s.push_str(&format!("-P{}", hash_name(p)));
        }
        if let Some(n) = self.session {
            s.push_str(&format!("-S{n:03}"));
        }
        if let Some(t) = self.timestep {
            let u = match t.unit {
                TimeUnit::Seconds => 'S',
                TimeUnit::Minutes => 'M',
                TimeUnit::Hours => 'H',
            };
            s.push_str(&format!("-T{}{u}", t.count));
        }
        s
    }

    /// The suite string (as parsed, which is the canonical spelling).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The HMAC hash of the crypto function.
    pub fn hash(&self) -> Algorithm {
        self.hash
    }

    /// Truncation: 0 (none) or 4..=10 digits.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// Whether the data input has a counter `C`.
    pub fn has_counter(&self) -> bool {
        self.counter
    }

    /// The question format.
    pub fn question_format(&self) -> QuestionFormat {
        self.question_format
    }

    /// The longest question (per challenge), 4..=64.
    pub fn question_len(&self) -> u8 {
        self.question_len
    }

    /// The password hash, if the suite has `P`.
    pub fn password_hash(&self) -> Option<Algorithm> {
        self.password
    }

    /// The session-information length in bytes, if the suite has `S`.
    pub fn session_len(&self) -> Option<u16> {
        self.session
    }

    /// The time step, if the suite has `T`.
    pub fn timestep(&self) -> Option<TimeStep> {
        self.timestep
    }

    /// The `T` value at `unix` seconds: `floor(unix / step)`; `None` for
    /// a suite without `T`.
    pub fn timestep_at(&self, unix: u64) -> Option<u64> {
        self.timestep.map(|t| unix / t.seconds())
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The question of one computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question<'a> {
    /// One-way challenge-response or signature: one challenge.
    One(&'a str),
    /// Mutual challenge-response (RFC 6287 §7.3): two challenges,
    /// concatenated in this order (e.g. client ‖ server for the server's
    /// response, server ‖ client for the client's).
    Mutual(&'a str, &'a str),
}

impl Default for Question<'_> {
    fn default() -> Self {
        Question::One("")
    }
}

/// The PIN/password part.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Password<'a> {
    /// The PIN or password itself; it is hashed with the suite's `P` hash.
    Plain(&'a [u8]),
    /// Its hash, already computed (as a server stores it); must have the
    /// length of the suite's `P` hash.
    Hashed(&'a [u8]),
}

impl fmt::Debug for Password<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Password::Plain(_) => f.write_str("Password::Plain([redacted])"),
            Password::Hashed(_) => f.write_str("Password::Hashed([redacted])"),
        }
    }
}

/// The inputs of one computation. Exactly the parts the suite names must
/// be present; a part the suite does not name is refused, so that a
/// caller who believes a PIN or counter is bound learns otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct OcraInput<'a> {
    /// `C`, for suites with `C`.
    pub counter: Option<u64>,
    /// `Q`, always.
    pub question: Question<'a>,
    /// `P`, for suites with `P`.
    pub password: Option<Password<'a>>,
    /// `S`, for suites with `S`: exactly `nnn` bytes.
    pub session: Option<&'a [u8]>,
    /// `T`, for suites with `T`: the number of time steps
    /// ([`Suite::timestep_at`]).
    pub timestep: Option<u64>,
}

/// Why an input was refused. Carries no input value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InputError {
    /// The key is empty.
    #[error("the key is empty")]
    EmptyKey,
    /// A part the suite names is missing.
    #[error("the suite needs {0}")]
    Missing(&'static str),
    /// A part the suite does not name was given.
    #[error("the suite has no {0}")]
    Unexpected(&'static str),
    /// A (part of the) question is empty.
    #[error("the question is empty")]
    QuestionEmpty,
    /// A (part of the) question is longer than the suite allows.
    #[error("the question is longer than the suite allows")]
    QuestionTooLong,
    /// A character the question format does not allow.
    #[error("the question has a character its format does not allow")]
    QuestionCharacter,
    /// A hashed password of the wrong length for the suite's hash.
    #[error("the password hash has the wrong length")]
    PasswordHashLength,
    /// Session information of another length than the suite's.
    #[error("the session information has the wrong length")]
    SessionLength,
}

/// An OCRA response: 4 to 10 decimal digits, or the full HMAC in
/// lower-case hexadecimal for truncation 0.
///
/// `Debug` is redacted, `==` and [`OcraCode::matches`] are constant-time
/// and the digits are zeroised on drop.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct OcraCode {
    text: [u8; 128],
    len: u8,
}

impl OcraCode {
    fn from_ascii(s: &[u8]) -> OcraCode {
        let mut text = [0u8; 128];
        let len = s.len().min(128);
        text[..len].copy_from_slice(&s[..len]);
        OcraCode {
            text,
            len: len as u8,
        }
    }

    /// The response as text, e.g. for display or to send.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and hex letters are ever stored.
        core::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or("")
    }

    /// Constant-time comparison with typed text (its length is not secret).
    pub fn matches(&self, typed: &str) -> bool {
        self.as_str().as_bytes().ct_eq(typed.as_bytes()).into()
    }
}

impl fmt::Debug for OcraCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OcraCode([redacted; {} chars])", self.len)
    }
}

impl PartialEq for OcraCode {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.as_str())
    }
}

impl Eq for OcraCode {}

/// Checks one challenge against the suite's format and length.
fn check_challenge(suite: &Suite, q: &str) -> Result<(), InputError> {
    if q.is_empty() {
        return Err(InputError::QuestionEmpty);
    }
    if q.len() > usize::from(suite.question_len) {
        return Err(InputError::QuestionTooLong);
    }
    let ok = match suite.question_format {
        QuestionFormat::Numeric => q.bytes().all(|b| b.is_ascii_digit()),
        QuestionFormat::Alphanumeric => q.bytes().all(|b| b.is_ascii_alphanumeric()),
        QuestionFormat::Hex => q.bytes().all(|b| b.is_ascii_hexdigit()),
    };
    if ok {
        Ok(())
    } else {
        Err(InputError::QuestionCharacter)
    }
}

/// Packs nibbles left-aligned into `out` (an odd count leaves the last low
/// nibble zero).
fn pack_nibbles(nibbles: &[u8], out: &mut [u8; QUESTION_BYTES]) {
    for (i, n) in nibbles.iter().enumerate() {
        out[i / 2] |= if i % 2 == 0 { n << 4 } else { *n };
    }
}

/// The 128-byte `Q` of a (checked) question text.
fn question_bytes(format: QuestionFormat, q: &str) -> [u8; QUESTION_BYTES] {
    let mut out = [0u8; QUESTION_BYTES];
    match format {
        QuestionFormat::Alphanumeric => out[..q.len()].copy_from_slice(q.as_bytes()),
        QuestionFormat::Hex => {
            let nibbles: Vec<u8> = q
                .bytes()
                .map(|b| match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    _ => b - b'A' + 10,
                })
                .collect();
            pack_nibbles(&nibbles, &mut out);
        }
        QuestionFormat::Numeric => {
            // Decimal → big-endian base-256 (at most 128 digits: 54 bytes).
            let mut num: Vec<u8> = Vec::with_capacity(64);
            for d in q.bytes() {
                let mut carry = u16::from(d - b'0');
                for byte in num.iter_mut().rev() {
                    let v = u16::from(*byte) * 10 + carry;
                    *byte = (v & 0xff) as u8;
                    carry = v >> 8;
                }
                while carry > 0 {
                    num.insert(0, (carry & 0xff) as u8);
                    carry >>= 8;
                }
            }
            // Hex digits without leading zeros ("0" for zero).
            let mut nibbles: Vec<u8> = num.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
            let first = nibbles
                .iter()
                .position(|n| *n != 0)
                .unwrap_or(nibbles.len());
            nibbles.drain(..first);
            if nibbles.is_empty() {
                nibbles.push(0);
            }
            pack_nibbles(&nibbles, &mut out);
        }
    }
    out
}

fn hash_with(alg: Algorithm, data: &[u8]) -> Vec<u8> {
    match alg {
        Algorithm::Sha1 => Sha1::digest(data).to_vec(),
        Algorithm::Sha256 => Sha256::digest(data).to_vec(),
        Algorithm::Sha512 => Sha512::digest(data).to_vec(),
    }
}

fn hash_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::Sha1 => 20,
        Algorithm::Sha256 => 32,
        Algorithm::Sha512 => 64,
    }
}

/// Builds `DataInput` (RFC 6287 §5.1) after checking that exactly the
/// suite's parts are given and well formed. Zeroised when dropped (it may
/// hold a password hash).
pub fn data_input(suite: &Suite, input: &OcraInput<'_>) -> Result<Zeroizing<Vec<u8>>, InputError> {
    let mut di = Zeroizing::new(Vec::with_capacity(
        suite.text.len() + 1 + 8 + QUESTION_BYTES + 64 + 8,
    ));
    di.extend_from_slice(suite.text.as_bytes());
    di.push(0);

    match (suite.counter, input.counter) {
        (true, Some(c)) => di.extend_from_slice(&c.to_be_bytes()),
        (true, None) => return Err(InputError::Missing("a counter (C)")),
        (false, Some(_)) => return Err(InputError::Unexpected("counter (C)")),
        (false, None) => {}
    }

    let joined;
    let q: &str = match input.question {
        Question::One(q) => {
            check_challenge(suite, q)?;
            q
        }
        Question::Mutual(a, b) => {
            check_challenge(suite, a)?;
            check_challenge(suite, b)?;
            joined = [a, b].concat();
            &joined
        }
    };
    di.extend_from_slice(&question_bytes(suite.question_format, q));

    match (suite.password, input.password) {
        (Some(alg), Some(Password::Plain(p))) => {
            let mut h = hash_with(alg, p);
            di.extend_from_slice(&h);
            h.zeroize();
        }
        (Some(alg), Some(Password::Hashed(h))) => {
            if h.len() != hash_len(alg) {
                return Err(InputError::PasswordHashLength);
            }
            di.extend_from_slice(h);
        }
        (Some(_), None) => return Err(InputError::Missing("a password (P)")),
        (None, Some(_)) => return Err(InputError::Unexpected("password (P)")),
        (None, None) => {}
    }

    match (suite.session, input.session) {
        (Some(n), Some(s)) => {
            if s.len() != usize::from(n) {
                return Err(InputError::SessionLength);
            }
            di.extend_from_slice(s);
        }
        (Some(_), None) => return Err(InputError::Missing("session information (S)")),
        (None, Some(_)) => return Err(InputError::Unexpected("session information (S)")),
        (None, None) => {}
    }

    match (suite.timestep, input.timestep) {
        (Some(_), Some(t)) => di.extend_from_slice(&t.to_be_bytes()),
        (Some(_), None) => return Err(InputError::Missing("a time step (T)")),
        (None, Some(_)) => return Err(InputError::Unexpected("time step (T)")),
        (None, None) => {}
    }
    Ok(di)
}

fn hmac_with(alg: Algorithm, key: &[u8], data: &[u8]) -> Zeroizing<Vec<u8>> {
    // HMAC takes keys of any length: these constructors cannot fail.
    Zeroizing::new(match alg {
        Algorithm::Sha1 => {
            let mut m = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha256 => {
            let mut m =
                <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Algorithm::Sha512 => {
            let mut m =
                <Hmac<Sha512> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    })
}

const POW10: [u64; 11] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
];

/// The OCRA response of `suite` with `key` for `input` (RFC 6287 §5).
pub fn compute(suite: &Suite, key: &[u8], input: &OcraInput<'_>) -> Result<OcraCode, InputError> {
    if key.is_empty() {
        return Err(InputError::EmptyKey);
    }
    let di = data_input(suite, input)?;
    let mac = hmac_with(suite.hash, key, &di);
    if suite.digits == 0 {
        let mut hex = Zeroizing::new(Vec::with_capacity(mac.len() * 2));
        for b in mac.iter() {
            hex.extend_from_slice(format!("{b:02x}").as_bytes());
        }
        return Ok(OcraCode::from_ascii(&hex));
    }
    // RFC 4226 §5.3 dynamic truncation.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u64::from(u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]));
    let digits = usize::from(suite.digits);
    let mut value = bin % POW10[digits];
    let mut out = [b'0'; 10];
    for d in out[..digits].iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
    let code = OcraCode::from_ascii(&out[..digits]);
    out.zeroize();
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_question_is_hex_left_aligned() {
        // 11111111 = 0xA98AC7 (RFC 6287 Appendix C, Q = 11111111).
        let q = question_bytes(QuestionFormat::Numeric, "11111111");
        assert_eq!(&q[..4], &[0xA9, 0x8A, 0xC7, 0]);
        assert!(q[3..].iter().all(|b| *b == 0));
        // 2748 = 0xABC: odd nibble count, trailing zero nibble.
        let q = question_bytes(QuestionFormat::Numeric, "2748");
        assert_eq!(&q[..3], &[0xAB, 0xC0, 0]);
        // Leading zeros do not matter, and zero is all zero.
        assert_eq!(
            question_bytes(QuestionFormat::Numeric, "0002748"),
            question_bytes(QuestionFormat::Numeric, "2748")
        );
        assert_eq!(question_bytes(QuestionFormat::Numeric, "0000"), [0u8; 128]);
        // 256 = 0x100 → "100" → 10 00.
        assert_eq!(
            &question_bytes(QuestionFormat::Numeric, "256")[..2],
            &[0x10, 0x00]
        );
    }

    #[test]
    fn hex_and_alnum_questions() {
        assert_eq!(
            &question_bytes(QuestionFormat::Hex, "aBc")[..3],
            &[0xAB, 0xC0, 0]
        );
        assert_eq!(
            &question_bytes(QuestionFormat::Alphanumeric, "SIG1")[..5],
            b"SIG1\0"
        );
    }

    #[test]
    fn suites_parse_and_print_back() {
        for s in [
            "OCRA-1:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
            "OCRA-1:HOTP-SHA512-8:QN08-T1M",
            "OCRA-1:HOTP-SHA256-6:QN08-T30S",
            "OCRA-1:HOTP-SHA512-0:C-QH64-PSHA512-S999-T48H",
            "OCRA-1:HOTP-SHA1-10:QA04-S064",
        ] {
            assert_eq!(s.parse::<Suite>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn bad_suites_are_refused_with_their_reason() {
        for (s, e) in [
            ("OCRA-1:HOTP-SHA1-6", SuiteError::Shape),
            ("OCRA-1:HOTP-SHA1-6:QN08:", SuiteError::Shape),
            ("OCRA-2:HOTP-SHA1-6:QN08", SuiteError::Version),
            ("OCRA-1:TOTP-SHA1-6:QN08", SuiteError::CryptoFunction),
            ("OCRA-1:HOTP-SHA3-6:QN08", SuiteError::CryptoFunction),
            ("OCRA-1:HOTP-SHA1-6-1:QN08", SuiteError::CryptoFunction),
            ("OCRA-1:HOTP-SHA1-3:QN08", SuiteError::Truncation),
            ("OCRA-1:HOTP-SHA1-11:QN08", SuiteError::Truncation),
            ("OCRA-1:HOTP-SHA1-06:QN08", SuiteError::Truncation),
            ("OCRA-1:HOTP-SHA1-6:C", SuiteError::MissingQuestion),
            ("OCRA-1:HOTP-SHA1-6:", SuiteError::MissingQuestion),
            ("OCRA-1:HOTP-SHA1-6:QN8", SuiteError::Question),
            ("OCRA-1:HOTP-SHA1-6:QN03", SuiteError::Question),
            ("OCRA-1:HOTP-SHA1-6:QN65", SuiteError::Question),
            ("OCRA-1:HOTP-SHA1-6:QX08", SuiteError::Question),
            ("OCRA-1:HOTP-SHA1-6:QN08-PSHA3", SuiteError::Password),
            ("OCRA-1:HOTP-SHA1-6:QN08-P", SuiteError::Password),
            ("OCRA-1:HOTP-SHA1-6:QN08-S64", SuiteError::Session),
            ("OCRA-1:HOTP-SHA1-6:QN08-S000", SuiteError::Session),
            ("OCRA-1:HOTP-SHA1-6:QN08-T60S", SuiteError::Timestamp),
            ("OCRA-1:HOTP-SHA1-6:QN08-T49H", SuiteError::Timestamp),
            ("OCRA-1:HOTP-SHA1-6:QN08-T0M", SuiteError::Timestamp),
            ("OCRA-1:HOTP-SHA1-6:QN08-T01M", SuiteError::Timestamp),
            ("OCRA-1:HOTP-SHA1-6:QN08-T", SuiteError::Timestamp),
            ("OCRA-1:HOTP-SHA1-6:QN08-T1MS", SuiteError::Timestamp),
            ("OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1", SuiteError::DataInput),
            ("OCRA-1:HOTP-SHA1-6:QN08-PSHA1-PSHA1", SuiteError::DataInput),
            ("OCRA-1:HOTP-SHA1-6:QN08-C", SuiteError::DataInput),
            ("OCRA-1:HOTP-SHA1-6:QN08-", SuiteError::DataInput),
            ("OCRA-1:HOTP-SHA1-6:C-C-QN08", SuiteError::MissingQuestion),
        ] {
            assert_eq!(s.parse::<Suite>().unwrap_err(), e, "{s}");
        }
    }

    #[test]
    fn inputs_must_match_the_suite() {
        let key = [1u8; 20];
        let s: Suite = "OCRA-1:HOTP-SHA1-6:C-QN08-PSHA1-S004-T1M".parse().unwrap();
        let full = OcraInput {
            counter: Some(1),
            question: Question::One("1234"),
            password: Some(Password::Plain(b"1234")),
            session: Some(b"abcd"),
            timestep: Some(5),
        };
        assert!(compute(&s, &key, &full).is_ok());
        let cases = [
            (
                OcraInput {
                    counter: None,
                    ..full
                },
                InputError::Missing("a counter (C)"),
            ),
            (
                OcraInput {
                    password: None,
                    ..full
                },
                InputError::Missing("a password (P)"),
            ),
            (
                OcraInput {
                    session: None,
                    ..full
                },
                InputError::Missing("session information (S)"),
            ),
            (
                OcraInput {
                    timestep: None,
                    ..full
                },
                InputError::Missing("a time step (T)"),
            ),
            (
                OcraInput {
                    session: Some(b"abc"),
                    ..full
                },
                InputError::SessionLength,
            ),
            (
                OcraInput {
                    password: Some(Password::Hashed(&[0; 32])),
                    ..full
                },
                InputError::PasswordHashLength,
            ),
            (
                OcraInput {
                    question: Question::One(""),
                    ..full
                },
                InputError::QuestionEmpty,
            ),
            (
                OcraInput {
                    question: Question::One("123456789"),
                    ..full
                },
                InputError::QuestionTooLong,
            ),
            (
                OcraInput {
                    question: Question::One("12a4"),
                    ..full
                },
                InputError::QuestionCharacter,
            ),
            (
                OcraInput {
                    question: Question::Mutual("1234", "123456789"),
                    ..full
                },
                InputError::QuestionTooLong,
            ),
        ];
        for (input, err) in cases {
            assert_eq!(compute(&s, &key, &input).unwrap_err(), err);
        }
        let bare: Suite = "OCRA-1:HOTP-SHA1-6:QN08".parse().unwrap();
        let q = OcraInput {
            question: Question::One("1234"),
            ..OcraInput::default()
        };
        for (input, err) in [
            (
                OcraInput {
                    counter: Some(1),
                    ..q
                },
                InputError::Unexpected("counter (C)"),
            ),
            (
                OcraInput {
                    password: Some(Password::Plain(b"1")),
                    ..q
                },
                InputError::Unexpected("password (P)"),
            ),
            (
                OcraInput {
                    session: Some(b"x"),
                    ..q
                },
                InputError::Unexpected("session information (S)"),
            ),
            (
                OcraInput {
                    timestep: Some(1),
                    ..q
                },
                InputError::Unexpected("time step (T)"),
            ),
        ] {
            assert_eq!(compute(&bare, &key, &input).unwrap_err(), err);
        }
        assert_eq!(compute(&bare, &[], &q).unwrap_err(), InputError::EmptyKey);
    }

    #[test]
    fn no_truncation_is_the_whole_hmac_in_hex() {
        let s: Suite = "OCRA-1:HOTP-SHA256-0:QN08".parse().unwrap();
        let q = OcraInput {
            question: Question::One("1"),
            ..OcraInput::default()
        };
        let code = compute(&s, &[9; 32], &q).unwrap();
        let di = data_input(&s, &q).unwrap();
        let want: String = hmac_with(Algorithm::Sha256, &[9; 32], &di)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(code.as_str(), want);
        assert!(!format!("{code:?}").contains(&want[..8]));
    }

    #[test]
    fn timestep_at_divides() {
        let s: Suite = "OCRA-1:HOTP-SHA1-6:QN08-T30S".parse().unwrap();
        assert_eq!(s.timestep_at(1_700_000_029), Some(56_666_667));
        let s: Suite = "OCRA-1:HOTP-SHA1-6:QN08-T2H".parse().unwrap();
        assert_eq!(s.timestep_at(7_199), Some(0));
        assert_eq!(s.timestep_at(7_200), Some(1));
        let s: Suite = "OCRA-1:HOTP-SHA1-6:QN08".parse().unwrap();
        assert_eq!(s.timestep_at(7_200), None);
    }
}
