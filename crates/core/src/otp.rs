//! HOTP (RFC 4226) and TOTP (RFC 6238).
//!
//! [`Generator`] keys an HMAC once: the inner and outer pad states are
//! computed when the generator is built and cloned for each counter, so a
//! code costs two compression-function calls (SHA-1/SHA-256) instead of
//! four. Time is always a parameter: this module never reads a clock.

use core::fmt;
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroize;

use crate::keyed_mac::{HmacSha1, HmacSha256, HmacSha512};
use crate::secret::Secret;

/// The HMAC hash function of an OTP token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Algorithm {
    /// HMAC-SHA-1 (RFC 4226; the STK1 algorithm).
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA-256 (RFC 6238).
    #[serde(rename = "SHA256")]
    Sha256,
    /// HMAC-SHA-512 (RFC 6238).
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    /// Name as used in STK1 and `otpauth` URIs.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// Errors of this module. None carries a secret or a code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OtpError {
    /// `digits` outside 6..=8.
    #[error("digits must be 6 to 8, got {0}")]
    Digits(u32),
    /// `period` outside 1..=120 seconds.
    #[error("period must be 1 to 120 seconds, got {0}")]
    Period(u64),
    /// The key is empty.
    #[error("the key is empty")]
    EmptyKey,
    /// The time is before the parameters' T0.
    #[error("time is before T0")]
    BeforeEpoch,
}

/// TOTP parameters: algorithm, digits (6–8), period (1–120 s) and T0.
///
/// The fields are private: every `Params` value has passed
/// [`Params::new`]'s range checks, including one read with serde (an
/// out-of-range value, e.g. `period: 0`, is a deserialisation error, so
/// [`Params::step_at`] never divides by zero). The serde form is
/// `{"alg":"SHA1","digits":6,"period":30,"t0":0}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ParamsFields")]
pub struct Params {
    alg: Algorithm,
    digits: u32,
    period: u64,
    t0: u64,
}

/// The unchecked serde form of [`Params`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsFields {
    alg: Algorithm,
    digits: u32,
    period: u64,
    t0: u64,
}

impl TryFrom<ParamsFields> for Params {
    type Error = OtpError;
    fn try_from(f: ParamsFields) -> Result<Self, OtpError> {
        Params::new(f.alg, f.digits, f.period, f.t0)
    }
}

impl Params {
    /// The STK1 version-1 parameters: SHA1, 6 digits, 30 s, T0 = 0.
    pub const STK1: Params = Params {
        alg: Algorithm::Sha1,
        digits: 6,
        period: 30,
        t0: 0,
    };

    /// Checks the ranges (digits 6..=8, period 1..=120) and returns the
    /// parameters.
    pub fn new(alg: Algorithm, digits: u32, period: u64, t0: u64) -> Result<Self, OtpError> {
        if !(6..=8).contains(&digits) {
            return Err(OtpError::Digits(digits));
        }
        if !(1..=120).contains(&period) {
            return Err(OtpError::Period(period));
        }
        Ok(Params {
            alg,
            digits,
            period,
            t0,
        })
    }

    /// HMAC hash.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Number of decimal digits of a code (6..=8).
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// Step length in seconds (1..=120).
    pub fn period(&self) -> u64 {
        self.period
    }

    /// Unix time at which step 0 starts.
    pub fn t0(&self) -> u64 {
        self.t0
    }

    /// The canonical string hashed into the STK1 transcript,
    /// e.g. `alg=SHA1;digits=6;period=30;t0=0`.
    pub fn canonical_string(&self) -> String {
        format!(
            "alg={};digits={};period={};t0={}",
            self.alg.name(),
            self.digits,
            self.period,
            self.t0
        )
    }

    /// The time step containing `unix` (RFC 6238 §4.2, 64-bit: valid past
    /// 2038 and 2106).
    pub fn step_at(&self, unix: u64) -> Result<u64, OtpError> {
        unix.checked_sub(self.t0)
            .map(|d| d / self.period)
            .ok_or(OtpError::BeforeEpoch)
    }

    /// Seconds until the code changes, always in `1..=period`.
    pub fn seconds_left(&self, unix: u64) -> Result<u64, OtpError> {
        let d = unix.checked_sub(self.t0).ok_or(OtpError::BeforeEpoch)?;
        Ok(self.period - d % self.period)
    }

    /// Unix time at which `step` starts (saturating).
    pub fn step_start(&self, step: u64) -> u64 {
        step.saturating_mul(self.period).saturating_add(self.t0)
    }
}

/// A one-time password: `digits` decimal digits.
///
/// Codes are as sensitive as a password for their 30 seconds, so `Debug`
/// is redacted and `==` is constant-time. Use [`Code::as_str`] to type it
/// and [`Code::grouped`] to show it (`123 456`).
///
/// The digits live inline (no heap allocation), so generating a code costs
/// the two compressions and little else.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct Code {
    digits: [u8; 8],
    len: u8,
}

impl Code {
    /// `value` as exactly `digits` (6..=8) ASCII digits, zero-padded.
    fn from_value(mut value: u32, digits: u32) -> Code {
        let mut out = [b'0'; 8];
        let len = digits.min(8) as usize;
        for d in out[..len].iter_mut().rev() {
            *d = b'0' + (value % 10) as u8;
            value /= 10;
        }
        Code {
            digits: out,
            len: len as u8,
        }
    }

    /// The digits without spaces, e.g. for the clipboard.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        core::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or("")
    }

    /// Display grouping: `123 456` (6), `123 4567` (7), `1234 5678` (8).
    pub fn grouped(&self) -> String {
        let s = self.as_str();
        let split = s.len() / 2;
        format!("{} {}", &s[..split], &s[split..])
    }

    /// Parses typed input: ASCII digits with optional spaces; full-width
    /// digits (０-９, common on Japanese keyboards) are accepted. Returns
    /// `None` unless exactly `digits` digits remain.
    pub fn parse(text: &str, digits: u32) -> Option<Code> {
        parse_value(text, digits).map(|v| Code::from_value(v, digits))
    }

    /// The code as an integer below 10^digits.
    fn value(&self) -> u32 {
        self.as_str()
            .bytes()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    }

    /// Constant-time comparison with typed text (no early exit on the first
    /// differing digit). Text of another length is simply unequal.
    pub fn matches(&self, other: &Code) -> bool {
        self.as_str()
            .as_bytes()
            .ct_eq(other.as_str().as_bytes())
            .into()
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code([redacted; {} digits])", self.len)
    }
}

impl PartialEq for Code {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl Eq for Code {}

#[derive(Clone)]
enum KeyedMac {
    Sha1(HmacSha1),
    Sha256(HmacSha256),
    Sha512(HmacSha512),
}

/// A keyed OTP generator: the HMAC pad states are computed once here and
/// reused for every counter.
#[derive(Clone)]
pub struct Generator {
    mac: KeyedMac,
    params: Params,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("params", &self.params)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// Parses typed digits (ASCII or full-width, spaces ignored) into their
/// value without allocating. `None` unless exactly `digits` digits (6..=8).
pub(crate) fn parse_value(text: &str, digits: u32) -> Option<u32> {
    if !(6..=8).contains(&digits) {
        return None;
    }
    let (mut value, mut count) = (0u32, 0u32);
    for c in text.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            '０'..='９' => c as u32 - '０' as u32,
            ' ' | '\u{3000}' => continue,
            _ => return None,
        };
        count += 1;
        if count > digits {
            return None;
        }
        value = value * 10 + d;
    }
    (count == digits).then_some(value)
}

const POW10: [u32; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

impl Generator {
    /// Keys a generator. The secret is not kept: only the HMAC pad states.
    /// `params` are valid by construction; only an empty key is refused.
    pub fn new(secret: &Secret, params: Params) -> Result<Self, OtpError> {
        if secret.is_empty() {
            return Err(OtpError::EmptyKey);
        }
        let key = secret.expose();
        let mac = match params.alg {
            Algorithm::Sha1 => KeyedMac::Sha1(HmacSha1::new(key)),
            Algorithm::Sha256 => KeyedMac::Sha256(HmacSha256::new(key)),
            Algorithm::Sha512 => KeyedMac::Sha512(HmacSha512::new(key)),
        };
        Ok(Generator { mac, params })
    }

    /// The parameters this generator was built with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// RFC 4226 HOTP value for a counter, as an integer below 10^digits.
    pub fn hotp_value(&self, counter: u64) -> u32 {
        let msg = counter.to_be_bytes();
        let truncated = match &self.mac {
            KeyedMac::Sha1(m) => dynamic_truncate(&m.mac8(&msg)),
            KeyedMac::Sha256(m) => dynamic_truncate(&m.mac8(&msg)),
            KeyedMac::Sha512(m) => dynamic_truncate(&m.mac8(&msg)),
        };
        truncated % POW10[self.params.digits as usize]
    }

    /// RFC 4226 HOTP code for a counter.
    pub fn hotp(&self, counter: u64) -> Code {
        Code::from_value(self.hotp_value(counter), self.params.digits)
    }

    /// RFC 6238 code for a time step.
    pub fn at_step(&self, step: u64) -> Code {
        self.hotp(step)
    }

    /// RFC 6238 code at a Unix time.
    pub fn totp(&self, unix: u64) -> Result<Code, OtpError> {
        Ok(self.at_step(self.params.step_at(unix)?))
    }

    /// Whether `code` is the code of `step`, compared in constant time.
    pub fn check_step(&self, code: &Code, step: u64) -> bool {
        self.check_value(code.value(), step)
    }

    /// Whether `value` (a parsed code) is the code of `step`, compared in
    /// constant time. The verifier's hot path: no allocation.
    pub(crate) fn check_value(&self, value: u32, step: u64) -> bool {
        self.hotp_value(step).ct_eq(&value).into()
    }
}

/// RFC 4226 §5.3 dynamic truncation.
fn dynamic_truncate(hash: &[u8]) -> u32 {
    let offset = (hash[hash.len() - 1] & 0x0f) as usize;
    u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED_20: &[u8] = b"12345678901234567890";
    const RFC_SEED_32: &[u8] = b"12345678901234567890123456789012";
    const RFC_SEED_64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 4226 Appendix D: HOTP values for counters 0..9, secret
    /// "12345678901234567890", HMAC-SHA-1, 6 digits.
    const RFC4226_APPENDIX_D: [(u64, &str); 10] = [
        (0, "755224"),
        (1, "287082"),
        (2, "359152"),
        (3, "969429"),
        (4, "338314"),
        (5, "254676"),
        (6, "287922"),
        (7, "162583"),
        (8, "399871"),
        (9, "520489"),
    ];

    /// RFC 6238 Appendix B: 8-digit TOTP, 30 s, T0 = 0. The SHA-256 and
    /// SHA-512 rows use the 32- and 64-byte seeds of the RFC's reference
    /// code (the appendix text names only the 20-byte seed).
    const RFC6238_APPENDIX_B: [(u64, Algorithm, &str); 18] = [
        (59, Algorithm::Sha1, "94287082"),
        (59, Algorithm::Sha256, "46119246"),
        (59, Algorithm::Sha512, "90693936"),
        (1111111109, Algorithm::Sha1, "07081804"),
        (1111111109, Algorithm::Sha256, "68084774"),
        (1111111109, Algorithm::Sha512, "25091201"),
        (1111111111, Algorithm::Sha1, "14050471"),
        (1111111111, Algorithm::Sha256, "67062674"),
        (1111111111, Algorithm::Sha512, "99943326"),
        (1234567890, Algorithm::Sha1, "89005924"),
        (1234567890, Algorithm::Sha256, "91819424"),
        (1234567890, Algorithm::Sha512, "93441116"),
        (2000000000, Algorithm::Sha1, "69279037"),
        (2000000000, Algorithm::Sha256, "90698825"),
        (2000000000, Algorithm::Sha512, "38618901"),
        (20000000000, Algorithm::Sha1, "65353130"),
        (20000000000, Algorithm::Sha256, "77737706"),
        (20000000000, Algorithm::Sha512, "47863826"),
    ];

    fn seed(alg: Algorithm) -> Secret {
        Secret::from_slice(match alg {
            Algorithm::Sha1 => RFC_SEED_20,
            Algorithm::Sha256 => RFC_SEED_32,
            Algorithm::Sha512 => RFC_SEED_64,
        })
    }

    #[test]
    fn rfc4226_appendix_d() {
        let g = Generator::new(
            &seed(Algorithm::Sha1),
            Params::new(Algorithm::Sha1, 6, 30, 0).unwrap(),
        )
        .unwrap();
        for (counter, expected) in RFC4226_APPENDIX_D {
            assert_eq!(g.hotp(counter).as_str(), expected, "counter {counter}");
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        for (time, alg, expected) in RFC6238_APPENDIX_B {
            let g = Generator::new(&seed(alg), Params::new(alg, 8, 30, 0).unwrap()).unwrap();
            assert_eq!(
                g.totp(time).unwrap().as_str(),
                expected,
                "{alg:?} at {time}"
            );
        }
    }

    #[test]
    fn grouping() {
        assert_eq!(Code::parse("123456", 6).unwrap().grouped(), "123 456");
        assert_eq!(Code::parse("1234567", 7).unwrap().grouped(), "123 4567");
        assert_eq!(Code::parse("12345678", 8).unwrap().grouped(), "1234 5678");
    }

    #[test]
    fn parse_typed_codes() {
        assert_eq!(Code::parse("123 456", 6).unwrap().as_str(), "123456");
        assert_eq!(Code::parse("１２３４５６", 6).unwrap().as_str(), "123456");
        assert!(Code::parse("12345", 6).is_none());
        assert!(Code::parse("12345a", 6).is_none());
        assert!(Code::parse("1234567", 6).is_none());
    }

    #[test]
    fn code_debug_is_redacted() {
        let shown = format!("{:?}", Code::parse("987654", 6).unwrap());
        assert!(!shown.contains("987654"));
    }

    #[test]
    fn params_ranges() {
        assert_eq!(
            Params::new(Algorithm::Sha1, 5, 30, 0),
            Err(OtpError::Digits(5))
        );
        assert_eq!(
            Params::new(Algorithm::Sha1, 9, 30, 0),
            Err(OtpError::Digits(9))
        );
        assert_eq!(
            Params::new(Algorithm::Sha1, 6, 0, 0),
            Err(OtpError::Period(0))
        );
        assert_eq!(
            Params::new(Algorithm::Sha1, 6, 121, 0),
            Err(OtpError::Period(121))
        );
        assert_eq!(
            Params::STK1.canonical_string(),
            "alg=SHA1;digits=6;period=30;t0=0"
        );
        assert_eq!(
            Params::new(Algorithm::Sha1, 6, 30, 100)
                .unwrap()
                .step_at(99),
            Err(OtpError::BeforeEpoch)
        );
    }

    #[test]
    fn params_period_zero_is_refused_not_panicking() {
        // Used to deserialise unchecked and divide by zero in `step_at`.
        let r = serde_json::from_str::<Params>(r#"{"alg":"SHA1","digits":6,"period":0,"t0":0}"#);
        let err = r.unwrap_err().to_string();
        assert!(err.contains("period"), "{err}");
    }

    #[test]
    fn params_out_of_range_are_refused_on_deserialisation() {
        for bad in [
            r#"{"alg":"SHA1","digits":5,"period":30,"t0":0}"#,
            r#"{"alg":"SHA1","digits":9,"period":30,"t0":0}"#,
            r#"{"alg":"SHA1","digits":6,"period":121,"t0":0}"#,
            r#"{"alg":"MD5","digits":6,"period":30,"t0":0}"#,
            r#"{"alg":"SHA1","digits":6,"period":30}"#,
            r#"{"alg":"SHA1","digits":6,"period":30,"t0":0,"x":1}"#,
        ] {
            assert!(serde_json::from_str::<Params>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn params_serde_round_trip_keeps_the_wire_form() {
        let text = serde_json::to_string(&Params::STK1).unwrap();
        assert_eq!(text, r#"{"alg":"SHA1","digits":6,"period":30,"t0":0}"#);
        assert_eq!(serde_json::from_str::<Params>(&text).unwrap(), Params::STK1);
        let p = Params::new(Algorithm::Sha512, 8, 60, 5).unwrap();
        let back: Params = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            (back.alg(), back.digits(), back.period(), back.t0()),
            (Algorithm::Sha512, 8, 60, 5)
        );
    }

    #[test]
    fn empty_key_is_refused() {
        assert_eq!(
            Generator::new(&Secret::new(vec![]), Params::STK1).unwrap_err(),
            OtpError::EmptyKey
        );
    }

    #[test]
    fn times_past_2038_and_2106() {
        let p = Params::STK1;
        // 2106-02-07 06:28:16 UTC is 2^32 s.
        assert_eq!(p.step_at(1 << 32).unwrap(), (1u64 << 32) / 30);
        assert_eq!(p.step_at(u64::MAX).unwrap(), u64::MAX / 30);
        let g = Generator::new(&seed(Algorithm::Sha1), p).unwrap();
        assert_eq!(g.totp(u64::MAX).unwrap().as_str().len(), 6);
    }
}
