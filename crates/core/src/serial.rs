//! STK1 serial numbers: 11 random Crockford-base32 characters and a
//! Luhn-mod-32 check character, shown to people as `K7M3 Q9XZ 2PD0`.

use core::fmt;
use core::str::FromStr;
use rand_core::CryptoRngCore;
use thiserror::Error;

/// The Crockford base32 alphabet used by serials.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a serial, check character included.
pub const LEN: usize = 12;

/// Why a typed or received serial was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SerialError {
    /// Not 12 characters after normalisation.
    #[error("a serial number has 12 characters, got {0}")]
    Length(usize),
    /// A character outside the alphabet (after normalisation).
    #[error("a serial number has letters and digits only (position {0})")]
    Character(usize),
    /// The check character does not match: a typing error.
    #[error("the serial number's check character does not match (typing error?)")]
    Check,
}

fn index(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|a| *a == c).map(|i| i as u32)
}

/// Luhn mod 32 sum over `chars`, walking from the right with the factor
/// starting at `first_factor` (2 to generate, 1 to validate).
fn luhn_sum(chars: &[u8], first_factor: u32) -> Result<u32, SerialError> {
    let mut factor = first_factor;
    let mut sum = 0u32;
    for (pos, c) in chars.iter().enumerate().rev() {
        let add = factor * index(*c).ok_or(SerialError::Character(pos))?;
        sum += add / 32 + add % 32;
        factor = if factor == 2 { 1 } else { 2 };
    }
    Ok(sum)
}

/// The check character for an 11-character body.
pub fn check_char(body: &[u8]) -> Result<u8, SerialError> {
    if body.len() != LEN - 1 {
        return Err(SerialError::Length(body.len()));
    }
    let sum = luhn_sum(body, 2)?;
    Ok(ALPHABET[((32 - sum % 32) % 32) as usize])
}

/// Normalises typed input: upper case, drop spaces and `-`, `O`→`0`,
/// `I`/`L`→`1`. Does not check anything.
pub fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// A valid serial number, stored in its compact 12-character form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial([u8; LEN]);

impl Serial {
    /// Draws 11 random characters from `rng` (callers pass the OS CSPRNG)
    /// and appends the check character. Uniqueness is the issuer's job.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Serial {
        let mut body = [0u8; LEN - 1];
        let mut random = [0u8; LEN - 1];
        rng.fill_bytes(&mut random);
        for (b, r) in body.iter_mut().zip(random) {
            *b = ALPHABET[(r & 31) as usize];
        }
        Serial::from_body(&body)
    }

    fn from_body(body: &[u8; LEN - 1]) -> Serial {
        let mut s = [0u8; LEN];
        s[..LEN - 1].copy_from_slice(body);
        // The body only holds alphabet characters, so this cannot fail.
        s[LEN - 1] = check_char(body).unwrap_or(b'0');
        Serial(s)
    }

    /// Parses a serial exactly as the protocol carries it: 12 upper-case
    /// alphabet characters with a valid check character, no normalisation.
    pub fn parse_strict(text: &str) -> Result<Serial, SerialError> {
        let bytes = text.as_bytes();
        if bytes.len() != LEN {
            return Err(SerialError::Length(text.chars().count()));
        }
        if luhn_sum(bytes, 1)? % 32 != 0 {
            return Err(SerialError::Check);
        }
        let mut s = [0u8; LEN];
        s.copy_from_slice(bytes);
        Ok(Serial(s))
    }

    /// Parses what a person typed: normalises, then checks strictly.
    pub fn parse_typed(text: &str) -> Result<Serial, SerialError> {
        Serial::parse_strict(&normalise(text))
    }

    /// The compact form `K7M3Q9XZ2PD0`, as carried by the protocol.
    pub fn as_str(&self) -> &str {
        // Only alphabet (ASCII) bytes are ever stored.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The form shown to people: `K7M3 Q9XZ 2PD0`.
    pub fn formatted(&self) -> String {
        let s = self.as_str();
        format!("{} {} {}", &s[0..4], &s[4..8], &s[8..12])
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.as_str())
    }
}

impl FromStr for Serial {
    type Err = SerialError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Serial::parse_strict(s)
    }
}

impl serde::Serialize for Serial {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Serial {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Serial::parse_strict(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// STK1 spec, "Serial numbers": body → full serial.
    const STK1_SERIAL_VECTORS: [(&str, &str); 3] = [
        ("2V0716016FK", "2V0716016FKF"),
        ("0000000000A", "0000000000AC"),
        ("K7M3Q9XZ2PD", "K7M3Q9XZ2PD0"),
    ];

    #[test]
    fn stk1_serial_vectors() {
        for (body, full) in STK1_SERIAL_VECTORS {
            let c = check_char(body.as_bytes()).unwrap();
            assert_eq!(format!("{body}{}", c as char), full);
            assert_eq!(Serial::parse_strict(full).unwrap().as_str(), full);
        }
    }

    #[test]
    fn format_and_typed_input() {
        let s = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
        assert_eq!(s.formatted(), "K7M3 Q9XZ 2PD0");
        assert_eq!(Serial::parse_typed("k7m3-q9xz 2pdO").unwrap(), s);
        assert_eq!(
            Serial::parse_typed("K7M3 Q9XZ 2PD1"),
            Err(SerialError::Check)
        );
        assert_eq!(
            Serial::parse_typed("K7M3 Q9XZ 2PD"),
            Err(SerialError::Length(11))
        );
        assert_eq!(
            Serial::parse_typed("K7M3 Q9XZ 2PDU"),
            Err(SerialError::Character(11))
        );
    }

    #[test]
    fn guide_example_is_not_a_valid_stk1_serial() {
        // The guide's illustration `2V0716016FK2` predates STK1; its check
        // character is F. A person who types it gets a clear check error.
        assert_eq!(Serial::parse_typed("2V0716016FK2"), Err(SerialError::Check));
    }

    #[test]
    fn strict_refuses_lower_case_and_spaces() {
        assert!(Serial::parse_strict("k7m3q9xz2pd0").is_err());
        assert!(Serial::parse_strict("K7M3 Q9XZ 2PD0").is_err());
        assert!(Serial::parse_strict("K7M3Q9XZ2PDÖ").is_err());
    }

    #[test]
    fn serde_round_trip() {
        let s = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "\"K7M3Q9XZ2PD0\"");
        assert_eq!(serde_json::from_str::<Serial>(&j).unwrap(), s);
        assert!(serde_json::from_str::<Serial>("\"K7M3Q9XZ2PD1\"").is_err());
    }
}
