//! The bank directory: the banks this build trusts, each with its token
//! service URL and the STK1 server keys it pins.
use serde::Deserialize;
use softtoken_core::encoding;
use softtoken_core::stk1::link::PairLink;
use thiserror::Error;

/// One pinned STK1 server key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKey {
    /// `server_key_id`.
    pub kid: String,
    /// X25519 public key.
    pub public: [u8; 32],
}

/// A bank the app may pair with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankEntry {
    /// Bank id used in pairing links.
    pub id: String,
    /// Name shown to the customer.
    pub name: String,
    /// Token service base URL (no trailing slash).
    pub url: String,
    /// Pinned keys; the first is used when the customer picks the bank by hand.
    pub keys: Vec<PinnedKey>,
}

impl BankEntry {
    /// The pinned key with id `kid`.
    pub fn key(&self, kid: &str) -> Option<&PinnedKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// Why a directory, a bank profile or a pairing link was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The JSON could not be read.
    #[error("bank list or profile is not valid JSON: {0}")]
    Json(String),
    /// A public key is not 32 bytes of base32 or hex.
    #[error("public key of key id {kid} is not 32 bytes of base32 or hex")]
    BadKey {
        /// Key id concerned.
        kid: String,
    },
    /// The URL is not http(s).
    #[error("token service URL of bank {bank} is not http(s)")]
    BadUrl {
        /// Bank id concerned.
        bank: String,
    },
    /// The link names a bank this app does not know.
    #[error("bank {bank} is not in the bank directory")]
    UnknownBank {
        /// Bank id from the link.
        bank: String,
    },
    /// The link names a key the directory does not pin for that bank.
    #[error("key id {kid} is not pinned for bank {bank}")]
    KeyNotPinned {
        /// Bank id.
        bank: String,
        /// Key id from the link.
        kid: String,
    },
    /// The link points at another address than the directory's.
    #[error("the link's address does not match bank {bank}")]
    UrlMismatch {
        /// Bank id.
        bank: String,
    },
}

#[derive(Deserialize)]
struct KeyJson {
    kid: String,
    public_key: String,
}

#[derive(Deserialize)]
struct BankJson {
    id: String,
    name: String,
    url: String,
    keys: Vec<KeyJson>,
}

/// The profile printed by `softtoken-bank profile`.
#[derive(Deserialize)]
struct ProfileJson {
    bank_id: String,
    name: String,
    url: String,
    server_key_id: String,
    server_public_key: String,
}

/// The banks this build trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankDirectory {
    banks: Vec<BankEntry>,
}

fn decode_key(kid: &str, text: &str) -> Result<[u8; 32], DirectoryError> {
    let text = text.trim();
    if let Ok(k) = encoding::decode_array::<32>(text) {
        return Ok(k);
    }
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).map_err(|_| DirectoryError::BadKey {
                kid: kid.to_owned(),
            })?;
            out[i] = u8::from_str_radix(s, 16).map_err(|_| DirectoryError::BadKey {
                kid: kid.to_owned(),
            })?;
        }
        return Ok(out);
    }
    Err(DirectoryError::BadKey {
        kid: kid.to_owned(),
    })
}

fn normalise_url(bank: &str, url: &str) -> Result<String, DirectoryError> {
    let url = url.trim().trim_end_matches('/');
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.to_owned())
    } else {
        Err(DirectoryError::BadUrl {
            bank: bank.to_owned(),
        })
    }
}

impl BankDirectory {
    /// The directory compiled into every build (`assets/banks.json`).
    pub fn builtin() -> BankDirectory {
        // The file is part of the source tree and checked by a unit test.
        BankDirectory::from_json(include_str!("../../assets/banks.json")).unwrap_or_default()
    }

    /// Parses a directory file: `[{"id","name","url","keys":[{"kid","public_key"}]}]`.
    pub fn from_json(text: &str) -> Result<BankDirectory, DirectoryError> {
        let banks: Vec<BankJson> =
            serde_json::from_str(text).map_err(|e| DirectoryError::Json(e.to_string()))?;
        let mut dir = BankDirectory::default();
        for b in banks {
            let mut keys = Vec::new();
            for k in b.keys {
                keys.push(PinnedKey {
                    public: decode_key(&k.kid, &k.public_key)?,
                    kid: k.kid,
                });
            }
            dir.insert(BankEntry {
                url: normalise_url(&b.id, &b.url)?,
                id: b.id,
                name: b.name,
                keys,
            });
        }
        Ok(dir)
    }

    /// Adds (or replaces) the bank described by a `softtoken-bank profile`
    /// JSON document. Simulator only: phone builds never call this.
    pub fn trust_profile(&mut self, text: &str) -> Result<BankEntry, DirectoryError> {
        let p: ProfileJson =
            serde_json::from_str(text).map_err(|e| DirectoryError::Json(e.to_string()))?;
        let entry = BankEntry {
            url: normalise_url(&p.bank_id, &p.url)?,
            keys: vec![PinnedKey {
                public: decode_key(&p.server_key_id, &p.server_public_key)?,
                kid: p.server_key_id,
            }],
            id: p.bank_id,
            name: p.name,
        };
        self.insert(entry.clone());
        Ok(entry)
    }

    fn insert(&mut self, entry: BankEntry) {
        self.banks.retain(|b| b.id != entry.id);
        self.banks.push(entry);
    }

    /// All banks, in directory order.
    pub fn banks(&self) -> &[BankEntry] {
        &self.banks
    }

    /// The bank with id `id`.
    pub fn bank(&self, id: &str) -> Option<&BankEntry> {
        self.banks.iter().find(|b| b.id == id)
    }

    /// Checks a pairing link against the directory: the bank must be known,
    /// the key id pinned for it, and the URL the directory's.
    pub fn check_link(&self, link: &PairLink) -> Result<(BankEntry, PinnedKey), DirectoryError> {
        let bank = self
            .bank(&link.bank)
            .ok_or_else(|| DirectoryError::UnknownBank {
                bank: link.bank.clone(),
            })?;
        let key = bank
            .key(&link.kid)
            .ok_or_else(|| DirectoryError::KeyNotPinned {
                bank: link.bank.clone(),
                kid: link.kid.clone(),
            })?;
        if link.url.trim_end_matches('/') != bank.url {
            return Err(DirectoryError::UrlMismatch {
                bank: link.bank.clone(),
            });
        }
        Ok((bank.clone(), key.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"{"bank_id":"demo","name":"デモ信用金庫","url":"http://127.0.0.1:8700/",
        "server_key_id":"k1","server_public_key":"MSYQDMOQXZNIOBF5A6HZRFIAD7AD5DU7SURPDCG5CKGZQRWUQRTA"}"#;

    #[test]
    fn builtin_directory_parses() {
        let d = BankDirectory::from_json(include_str!("../../assets/banks.json")).unwrap();
        assert!(!d.banks().is_empty());
    }

    #[test]
    fn profile_is_trusted_and_links_are_checked() {
        let mut d = BankDirectory::default();
        let e = d.trust_profile(PROFILE).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:8700");
        assert_eq!(e.keys[0].public[0], 0x64);
        let ok = PairLink::parse(
            "softtoken://pair?v=1&bank=demo&url=http%3A%2F%2F127.0.0.1%3A8700&kid=k1",
        );
        let ok = ok.unwrap();
        assert!(d.check_link(&ok).is_ok());
        let mut bad = ok.clone();
        bad.kid = "k2".into();
        assert!(matches!(
            d.check_link(&bad),
            Err(DirectoryError::KeyNotPinned { .. })
        ));
        let mut bad = ok.clone();
        bad.bank = "evil".into();
        assert!(matches!(
            d.check_link(&bad),
            Err(DirectoryError::UnknownBank { .. })
        ));
        let mut bad = ok;
        bad.url = "http://127.0.0.1:9999".into();
        assert!(matches!(
            d.check_link(&bad),
            Err(DirectoryError::UrlMismatch { .. })
        ));
    }

    #[test]
    fn hex_keys_and_bad_keys() {
        let hex = "64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466";
        assert_eq!(decode_key("k", hex).unwrap()[1], 0xb1);
        assert!(decode_key("k", "abc").is_err());
        assert!(BankDirectory::from_json("{").is_err());
        let mut d = BankDirectory::default();
        assert!(d.trust_profile(r#"{"bank_id":"x","name":"n","url":"ftp://x","server_key_id":"k","server_public_key":"64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466"}"#).is_err());
    }
}
