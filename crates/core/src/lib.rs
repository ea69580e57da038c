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
#![forbid(unsafe_code)]
#![deny(missing_docs)]

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
pub use verifier::{Policy, TokenRecord, Verdict};
