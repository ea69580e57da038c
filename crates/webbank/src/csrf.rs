//! Anti-forgery tokens: one random token per session, sent back in a hidden
//! field of every form and compared in constant time on every POST.

use rand::RngCore;
use subtle::ConstantTimeEq;

/// Name of the hidden form field.
pub const FIELD: &str = "csrf";

/// A fresh token: 32 random bytes from the OS CSPRNG, hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// True iff `sent` equals `expected` (constant time; an empty expected
/// token never matches).
pub fn matches(expected: &str, sent: &str) -> bool {
    !expected.is_empty()
        && expected.len() == sent.len()
        && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_exactly() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(matches(&a, &a.clone()));
        assert!(!matches(&a, &b));
        assert!(!matches(&a, &a[..63]));
        assert!(!matches(&a, ""));
        assert!(!matches("", ""));
    }
}
