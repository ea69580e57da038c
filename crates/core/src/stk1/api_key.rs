//! The back-end API key: the bearer secret web banking sends to the token
//! service in `Authorization: Bearer <key>`.
//!
//! One type from the key file to the HTTP header, on both sides:
//! * the text is zeroised when the value is dropped;
//! * `Debug` prints `ApiKey([redacted])`; there is no `Display` and no
//!   public field;
//! * comparisons ([`PartialEq`], [`ApiKey::matches_bearer`]) run in time
//!   independent of the contents (they may leak the length);
//! * the text is reachable only through [`ApiKey::expose`], for the one
//!   place that writes the header.
//!
//! A key is 1 to [`ApiKey::MAX_LEN`] visible ASCII characters (an HTTP
//! header token; the token service writes 52 base32 characters).

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A text that is not a usable API key (empty, too long, or containing a
/// character that cannot stand in an HTTP header). The text is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid API key (1 to 256 visible ASCII characters)")]
pub struct InvalidApiKey;

/// The back-end API bearer key.
#[derive(Clone)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Longest accepted key.
    pub const MAX_LEN: usize = 256;

    /// Wraps `text` (moved, not copied) after checking that it is 1 to
    /// [`ApiKey::MAX_LEN`] visible ASCII characters (`!`..=`~`).
    pub fn new(text: String) -> Result<ApiKey, InvalidApiKey> {
        let text = Zeroizing::new(text);
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(ApiKey(text))
        } else {
            Err(InvalidApiKey)
        }
    }

    /// The key text, to be written into the `Authorization` header. Keep
    /// the callers few: every one is a place where the key leaves the
    /// type's protection.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// Whether an `Authorization` header value is exactly
    /// `Bearer <this key>`. The key is compared in constant time.
    pub fn matches_bearer(&self, header_value: &[u8]) -> bool {
        match header_value.strip_prefix(b"Bearer ") {
            Some(given) => given.ct_eq(self.0.as_bytes()).into(),
            None => false,
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for ApiKey {}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3A";

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new(KEY.into()).unwrap();
        let shown = format!("{key:?} {:?}", Some(&key));
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("MFRG"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn bearer_header_must_match_exactly() {
        let key = ApiKey::new(KEY.into()).unwrap();
        assert!(key.matches_bearer(format!("Bearer {KEY}").as_bytes()));
        assert!(!key.matches_bearer(KEY.as_bytes()));
        assert!(!key.matches_bearer(format!("bearer {KEY}").as_bytes()));
        assert!(!key.matches_bearer(format!("Bearer {KEY}x").as_bytes()));
        assert!(!key.matches_bearer(format!("Bearer {}", &KEY[1..]).as_bytes()));
        assert!(!key.matches_bearer(b"Bearer "));
        assert_eq!(key.expose(), KEY);
        assert_eq!(key, ApiKey::new(KEY.into()).unwrap());
        assert_ne!(key, ApiKey::new(KEY.to_lowercase()).unwrap());
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", "has space", "tab\there", "nl\n", "ü", &"A".repeat(257)] {
            assert_eq!(ApiKey::new(bad.into()), Err(InvalidApiKey), "{bad:?}");
        }
        assert!(ApiKey::new("A".repeat(256)).is_ok());
    }
}
