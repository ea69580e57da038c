//! # softtoken-core
//!
//! The UI-free, I/O-free heart of softtoken. Everything a bank's security
//! reviewer needs to read lives here:
//!
//! * [`ocra`] — RFC 6287 OCRA challenge-response (suite parser, data
//!   input, responses);
//! * [`otp`] — HOTP (RFC 4226) and TOTP (RFC 6238) with a keyed generator
//!   that precomputes the HMAC pads once per key;
//! * [`secret`] — the [`Secret`] newtype (redacted `Debug`, zeroised on
//!   drop, constant-time equality);
//! * [`encoding`] — RFC 4648 base32, strict for protocol fields and
//!   forgiving for typed input;
//! * [`serial`] — STK1 serial numbers (Crockford alphabet, Luhn mod 32);
//! * [`verifier`] — the server's verification rules as a pure state machine;
//! * [`stk1`] — the STK1 pairing protocol: messages, transcript, X25519,
//!   HKDF and key confirmation for both sides;
//! * [`txn`] — STK1-TXN transaction confirmation 「取引認証」: keys,
//!   transactions, digest, MACs and the app endpoints' bodies.
//!
//! Contract for the whole crate: no I/O, no clock (the time is always a
//! parameter), no global state, no `unsafe`. Randomness is taken from a
//! caller-supplied [`rand_core::CryptoRngCore`] so that callers decide on the
//! OS CSPRNG and tests can be deterministic.
//!
//! ## Example: a TOTP code
//!
//! The SHA-1 rows of RFC 6238 Appendix B (the ASCII key
//! `12345678901234567890`, 8 digits, 30-second steps, T0 = 0), then the
//! same key with the app's [`Params::STK1`] (6 digits: the last six of the
//! RFC's code, as RFC 4226's truncation takes the value modulo 10^digits).
//!
//! ```
//! use softtoken_core::{Algorithm, Code, Generator, Params, Secret};
//!
//! # fn main() -> Result<(), softtoken_core::OtpError> {
//! let secret = Secret::from_slice(b"12345678901234567890");
//! let rfc = Generator::new(&secret, Params::new(Algorithm::Sha1, 8, 30, 0)?)?;
//!
//! // RFC 6238, Appendix B: Unix time, TOTP (SHA-1).
//! let table: [(u64, &str); 6] = [
//!     (59, "94287082"),
//!     (1_111_111_109, "07081804"),
//!     (1_111_111_111, "14050471"),
//!     (1_234_567_890, "89005924"),
//!     (2_000_000_000, "69279037"),
//!     (20_000_000_000, "65353130"),
//! ];
//! for (unix, expected) in table {
//!     assert_eq!(rfc.totp(unix)?.as_str(), expected, "T = {unix}");
//! }
//!
//! let app = Generator::new(&secret, Params::STK1)?;
//! assert_eq!(app.totp(59)?.as_str(), "287082");
//! assert_eq!(app.totp(59)?.grouped(), "287 082");
//!
//! // What a customer types is parsed, then compared in constant time.
//! let typed = Code::parse("287 082", 6).expect("six digits");
//! assert!(app.check_step(&typed, Params::STK1.step_at(59)?));
//! assert!(!app.check_step(&typed, Params::STK1.step_at(60)?));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The workspace denies unwrap/expect (Cargo.toml `[workspace.lints]`);
// unit tests may use them.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod encoding;
mod keyed_mac;
pub mod ocra;
pub mod otp;
pub mod secret;
pub mod serial;
pub mod stk1;
pub mod txn;
pub mod verifier;

pub use otp::{Algorithm, Code, Generator, OtpError, Params};
pub use secret::Secret;
pub use serial::{Serial, SerialError};
pub use verifier::{OfflineVerdict, Policy, Scan, TokenRecord, Verdict};
