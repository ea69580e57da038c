//! The pairing link `softtoken://pair?v=1&bank=<id>&url=<base URL>&kid=<key id>`.
//!
//! The link is public. Parsing only checks its shape; the app must then
//! accept only a `bank`/`kid` pair that its bank directory already pins,
//! and ask the person before pairing.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use thiserror::Error;

const SCHEME_AND_PATH: &str = "softtoken://pair?";
const MAX_LINK: usize = 2048;
/// Longest decoded `bank`, `url` or `kid`, in bytes. Small enough that the
/// re-encoded link of any accepted one stays within `MAX_LINK` (each byte
/// encodes to at most 3), so `parse(to_uri(link))` always succeeds.
const MAX_FIELD: usize = 200;
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a pairing link was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not a `softtoken://pair?` link.
    #[error("this is not a softtoken pairing link")]
    NotAPairingLink,
    /// `v` is missing or not 1.
    #[error("unsupported pairing link version")]
    Version,
    /// A required parameter is missing or empty.
    #[error("the pairing link has no `{0}`")]
    Missing(&'static str),
    /// A parameter is repeated, badly encoded or too long.
    #[error("the pairing link is malformed")]
    Malformed,
    /// The token-service URL is not http(s).
    #[error("the pairing link's bank address is not an http(s) URL")]
    Url,
}

/// A parsed pairing link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLink {
    /// Bank id (looked up in the bank directory).
    pub bank: String,
    /// Token-service base URL.
    pub url: String,
    /// Server key id (must be pinned for that bank).
    pub kid: String,
}

impl PairLink {
    /// Parses a link. Surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<PairLink, LinkError> {
        let text = text.trim();
        if text.len() > MAX_LINK {
            return Err(LinkError::Malformed);
        }
        let query = text
            .get(..SCHEME_AND_PATH.len())
            .filter(|p| p.eq_ignore_ascii_case(SCHEME_AND_PATH))
            .map(|_| &text[SCHEME_AND_PATH.len()..])
            .ok_or(LinkError::NotAPairingLink)?;
        let (mut v, mut bank, mut url, mut kid) = (None, None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, val) = pair.split_once('=').ok_or(LinkError::Malformed)?;
            let val = percent_decode_str(&val.replace('+', " "))
                .decode_utf8()
                .map_err(|_| LinkError::Malformed)?
                .into_owned();
            if val.len() > MAX_FIELD || val.chars().any(char::is_control) {
                return Err(LinkError::Malformed);
            }
            let slot = match k {
                "v" => &mut v,
                "bank" => &mut bank,
                "url" => &mut url,
                "kid" => &mut kid,
                _ => continue,
            };
            if slot.replace(val).is_some() {
                return Err(LinkError::Malformed);
            }
        }
        if v.as_deref() != Some("1") {
            return Err(LinkError::Version);
        }
        let bank = bank
            .filter(|s| !s.is_empty())
            .ok_or(LinkError::Missing("bank"))?;
        let url = url
            .filter(|s| !s.is_empty())
            .ok_or(LinkError::Missing("url"))?;
        let kid = kid
            .filter(|s| !s.is_empty())
            .ok_or(LinkError::Missing("kid"))?;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().any(char::is_whitespace)
        {
            return Err(LinkError::Url);
        }
        Ok(PairLink { bank, url, kid })
    }

    /// The link text.
    pub fn to_uri(&self) -> String {
        format!(
            "softtoken://pair?v=1&bank={}&url={}&kid={}",
            utf8_percent_encode(&self.bank, QUERY),
            utf8_percent_encode(&self.url, QUERY),
            utf8_percent_encode(&self.kid, QUERY)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_whose_reencoding_exceeds_the_limit_is_refused() {
        // Found by the pair_link fuzz target: a link under 2 KiB whose
        // fields held NULs re-encoded (`%00`) to more than 2 KiB, so
        // `parse(to_uri(link))` refused what `parse` had accepted.
        let field = "\0".repeat(150);
        let text = format!("softtoken://pair?v=1&bank=demo&url=http://h&kid=k{field}");
        assert!(text.len() < MAX_LINK);
        assert_eq!(PairLink::parse(&text), Err(LinkError::Malformed));
        // Control characters are refused even when short.
        assert_eq!(
            PairLink::parse("softtoken://pair?v=1&bank=de%07mo&url=http://h&kid=k1"),
            Err(LinkError::Malformed)
        );
        // The longest accepted fields, all escaped, still round-trip.
        let long = "é".repeat(MAX_FIELD / 2);
        let l = PairLink {
            bank: long.clone(),
            url: format!("https://{}", "%".repeat(MAX_FIELD - 8)),
            kid: long,
        };
        let uri = l.to_uri();
        assert!(uri.len() <= MAX_LINK, "{}", uri.len());
        assert_eq!(PairLink::parse(&uri).unwrap(), l);
        let too_long = PairLink {
            kid: "k".repeat(MAX_FIELD + 1),
            ..l
        };
        assert_eq!(
            PairLink::parse(&too_long.to_uri()),
            Err(LinkError::Malformed)
        );
    }

    #[test]
    fn round_trip() {
        let l = PairLink {
            bank: "demo-shinkin".into(),
            url: "http://127.0.0.1:8700".into(),
            kid: "k1".into(),
        };
        let uri = l.to_uri();
        assert_eq!(
            uri,
            "softtoken://pair?v=1&bank=demo-shinkin&url=http%3A%2F%2F127.0.0.1%3A8700&kid=k1"
        );
        assert_eq!(PairLink::parse(&uri).unwrap(), l);
        // Unencoded URLs as a person might write them also parse.
        assert_eq!(
            PairLink::parse(
                "softtoken://pair?v=1&bank=demo-shinkin&url=http://127.0.0.1:8700&kid=k1"
            )
            .unwrap(),
            l
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            PairLink::parse("https://evil/pair?v=1"),
            Err(LinkError::NotAPairingLink)
        );
        assert_eq!(
            PairLink::parse("softtoken://pair?v=2&bank=a&url=https://x&kid=k"),
            Err(LinkError::Version)
        );
        assert_eq!(
            PairLink::parse("softtoken://pair?v=1&url=https://x&kid=k"),
            Err(LinkError::Missing("bank"))
        );
        assert_eq!(
            PairLink::parse("softtoken://pair?v=1&bank=a&url=ftp://x&kid=k"),
            Err(LinkError::Url)
        );
        assert_eq!(
            PairLink::parse("softtoken://pair?v=1&bank=a&bank=b&url=https://x&kid=k"),
            Err(LinkError::Malformed)
        );
        assert_eq!(
            PairLink::parse("softtoken://pair?v=1&bank=%FF&url=https://x&kid=k"),
            Err(LinkError::Malformed)
        );
    }
}
