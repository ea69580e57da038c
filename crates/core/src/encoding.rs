//! RFC 4648 base32.
//!
//! Two decoders with different contracts:
//! * [`decode_strict`] for protocol fields (STK1): upper case `A–Z2–7`, no
//!   padding, canonical (unused trailing bits are zero, length is a valid
//!   base32 length). Anything else is refused.
//! * [`decode_lenient`] for what a person typed (e.g. a secret in a QA
//!   tool): case-insensitive, ignores spaces, `-` and trailing `=` padding.
//!
//! Token secrets pass through here (the keystore holds them as base32), so
//! both directions write into a buffer allocated once at its final size
//! (no reallocation leaves a copy behind), the canonical check is done on
//! the bits themselves rather than by encoding the result again, and a
//! partly decoded buffer is zeroised when the text is refused.

use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a base32 text was refused. Never contains the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A character outside the alphabet at this byte offset.
    #[error("invalid base32 character at position {position}")]
    InvalidCharacter {
        /// Byte offset in the input.
        position: usize,
    },
    /// The length (in characters) cannot come from any byte string, or the
    /// unused trailing bits are not zero.
    #[error("base32 text is not canonical (length {length})")]
    NotCanonical {
        /// Length of the input in characters.
        length: usize,
    },
    /// The decoded value has the wrong length for the field.
    #[error("expected {expected} bytes, got {actual}")]
    WrongLength {
        /// Bytes the field must have.
        expected: usize,
        /// Bytes decoded.
        actual: usize,
    },
}

/// Encodes bytes as upper-case base32 without padding.
///
/// The result is allocated once at its final length. For secret bytes use
/// [`crate::Secret::to_base32`], which returns it zeroising.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    // At most 12 bits are pending between iterations.
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    acc.zeroize();
    out
}

/// The 5-bit value of an alphabet character.
fn value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'2'..=b'7' => Some(u32::from(c - b'2') + 26),
        _ => None,
    }
}

/// Strict decoder for protocol fields. See the module documentation.
pub fn decode_strict(text: &str) -> Result<Vec<u8>, DecodeError> {
    if let Some(position) = text.bytes().position(|c| value(c).is_none()) {
        return Err(DecodeError::InvalidCharacter { position });
    }
    // Valid unpadded lengths modulo 8 are 0, 2, 4, 5, 7.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err(DecodeError::NotCanonical { length: text.len() });
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8));
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for c in text.bytes() {
        // Every character was checked above.
        let v = value(c).unwrap_or(0);
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // Canonical: the bits left over after the last whole byte are zero.
    let canonical = acc == 0;
    acc.zeroize();
    if !canonical {
        return Err(DecodeError::NotCanonical { length: text.len() });
    }
    // Moved out, not copied; the emptied wrapper has nothing to clear.
    Ok(core::mem::take(&mut *out))
}

/// Strict decoder for a field of exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], DecodeError> {
    let bytes = Zeroizing::new(decode_strict(text)?);
    let actual = bytes.len();
    if actual != N {
        return Err(DecodeError::WrongLength {
            expected: N,
            actual,
        });
    }
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// Forgiving decoder for typed input: ignores ASCII case, spaces, tabs, `-`
/// and trailing `=` padding, then decodes strictly.
pub fn decode_lenient(text: &str) -> Result<Vec<u8>, DecodeError> {
    // ASCII upper-casing keeps every character's length: no reallocation.
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' ' | '\t' | '-' => {}
            c => cleaned.push(c.to_ascii_uppercase()),
        }
    }
    let trimmed = cleaned.trim_end_matches('=');
    let result = decode_strict(trimmed);
    cleaned.zeroize();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 test vectors (without padding).
    const RFC4648: &[(&str, &str)] = &[
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    #[test]
    fn rfc4648_section_10_vectors() {
        for (plain, coded) in RFC4648 {
            assert_eq!(encode(plain.as_bytes()), *coded);
            assert_eq!(decode_strict(coded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn strict_refuses_lower_case_padding_and_strays() {
        assert_eq!(
            decode_strict("mzxw6"),
            Err(DecodeError::InvalidCharacter { position: 0 })
        );
        assert_eq!(
            decode_strict("MY======"),
            Err(DecodeError::InvalidCharacter { position: 2 })
        );
        assert_eq!(
            decode_strict("MZ XW"),
            Err(DecodeError::InvalidCharacter { position: 2 })
        );
        assert_eq!(
            decode_strict("MZ1"),
            Err(DecodeError::InvalidCharacter { position: 2 })
        );
        assert!(matches!(
            decode_strict("MZX"),
            Err(DecodeError::NotCanonical { .. })
        ));
        // "MZ" is "f"; "MZ" with a non-zero trailing bit ("M3") is not canonical.
        assert!(matches!(
            decode_strict("M3"),
            Err(DecodeError::NotCanonical { .. })
        ));
    }

    #[test]
    fn array_checks_length() {
        assert_eq!(decode_array::<3>("MZXW6").unwrap(), *b"foo");
        assert_eq!(
            decode_array::<4>("MZXW6"),
            Err(DecodeError::WrongLength {
                expected: 4,
                actual: 3
            })
        );
    }

    #[test]
    fn lenient_accepts_typed_forms() {
        assert_eq!(decode_lenient("mzxw 6ytb-oi======").unwrap(), b"foobar");
        assert!(decode_lenient("mzxw8").is_err());
    }
}
