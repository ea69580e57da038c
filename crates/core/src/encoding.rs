//! RFC 4648 base32.
//!
//! Two decoders with different contracts:
//! * [`decode_strict`] for protocol fields (STK1): upper case `A–Z2–7`, no
//!   padding, canonical (unused trailing bits are zero, length is a valid
//!   base32 length). Anything else is refused.
//! * [`decode_lenient`] for what a person typed (e.g. a secret in a QA
//!   tool): case-insensitive, ignores spaces, `-` and trailing `=` padding.

use thiserror::Error;

const ALPHABET: base32::Alphabet = base32::Alphabet::Rfc4648 { padding: false };

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
pub fn encode(bytes: &[u8]) -> String {
    base32::encode(ALPHABET, bytes)
}

/// Strict decoder for protocol fields. See the module documentation.
pub fn decode_strict(text: &str) -> Result<Vec<u8>, DecodeError> {
    if let Some(position) = text
        .bytes()
        .position(|c| !(c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)))
    {
        return Err(DecodeError::InvalidCharacter { position });
    }
    // Valid unpadded lengths modulo 8 are 0, 2, 4, 5, 7.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err(DecodeError::NotCanonical { length: text.len() });
    }
    let bytes =
        base32::decode(ALPHABET, text).ok_or(DecodeError::NotCanonical { length: text.len() })?;
    // Canonical: re-encoding gives the same text (trailing bits are zero).
    if encode(&bytes) != text {
        return Err(DecodeError::NotCanonical { length: text.len() });
    }
    Ok(bytes)
}

/// Strict decoder for a field of exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], DecodeError> {
    let bytes = decode_strict(text)?;
    let actual = bytes.len();
    bytes.try_into().map_err(|_| DecodeError::WrongLength {
        expected: N,
        actual,
    })
}

/// Forgiving decoder for typed input: ignores ASCII case, spaces, tabs, `-`
/// and trailing `=` padding, then decodes strictly.
pub fn decode_lenient(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' ' | '\t' | '-' => {}
            c => cleaned.push(c.to_ascii_uppercase()),
        }
    }
    let trimmed = cleaned.trim_end_matches('=');
    let result = decode_strict(trimmed);
    zeroize::Zeroize::zeroize(&mut cleaned);
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
