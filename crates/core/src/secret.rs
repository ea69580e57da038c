//! Secret key material.

use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret byte string (a token key, a confirmation key, …).
///
/// Contract:
/// * no public field and no `Deref`: the bytes are reachable only through
///   [`Secret::expose`], which is easy to audit with `grep`;
/// * `Debug` prints `Secret([redacted])` and there is no `Display`;
/// * the bytes are overwritten with zeros when the value is dropped;
/// * `==` runs in time independent of the contents (it may leak the length).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps bytes. The caller's buffer is moved, not copied.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// Copies bytes from a slice. The caller remains responsible for its copy.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Secret(bytes.to_vec())
    }

    /// The secret bytes. Every caller of this function is a place where the
    /// secret leaves the type's protection; keep them few.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` for an empty secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Strict RFC 4648 base32 (upper case, no padding) of the secret, as a
    /// zeroising string. For the keystore only: never log or display it.
    pub fn to_base32(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(crate::encoding::encode(&self.0))
    }

    /// Parses the strict base32 written by [`Secret::to_base32`].
    pub fn from_base32(text: &str) -> Result<Self, crate::encoding::DecodeError> {
        crate::encoding::decode_strict(text).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from_slice(b"12345678901234567890");
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("1234"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(Secret::from_slice(b"abc"), Secret::from_slice(b"abc"));
        assert_ne!(Secret::from_slice(b"abc"), Secret::from_slice(b"abd"));
        assert_ne!(Secret::from_slice(b"abc"), Secret::from_slice(b"abcd"));
    }

    #[test]
    fn zeroize_clears_bytes() {
        let mut s = Secret::from_slice(b"key");
        s.zeroize();
        assert!(s.expose().iter().all(|b| *b == 0));
    }

    #[test]
    fn base32_round_trip() {
        let s = Secret::from_slice(b"12345678901234567890");
        let text = s.to_base32();
        assert_eq!(text.as_str(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(Secret::from_base32(&text).unwrap(), s);
    }
}
