//! The server's key files and bank profile in its data directory.
//!
//! On first start [`DataDir::open_or_create`] creates, each with mode 0600
//! (the directory itself 0700):
//! * `server-key` — the X25519 static key: one line `<key id> <base32 secret>`;
//! * `api-key` — the back-end bearer key (bind, verify, change,
//!   deactivate), base32 (52 characters);
//! * `ops-key` — the operations bearer key (unlock, resync; admin
//!   listener only), base32;
//! * `profile.json` — bank id, name and the token-service URL.
//!
//! The key-encryption key is not among them: it lives outside the data
//! directory ([`crate::kek`]; only a demo keeps it in `kek` here). Later
//! starts read them back. A key file that exists but cannot be read
//! or parsed is an error naming the file; it is never overwritten. New files
//! are written to a temporary name, synced and renamed, so a crash never
//! leaves half a key behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use softtoken_core::encoding::{decode_array, encode};
use softtoken_core::stk1::api_key::ApiKey;
use softtoken_core::stk1::server::ServerKey;
use zeroize::Zeroizing;

/// Name of the server key file.
pub const SERVER_KEY_FILE: &str = "server-key";
/// Name of the key-encryption key file when a demo keeps it in the data
/// directory ([`crate::kek`]).
pub const KEK_FILE: &str = "kek";
/// Name of the back-end key file.
pub const API_KEY_FILE: &str = "api-key";
/// Name of the operations key file.
pub const OPS_KEY_FILE: &str = "ops-key";
/// Name of the profile file.
pub const PROFILE_FILE: &str = "profile.json";
/// Name of the token-service database.
pub const DB_FILE: &str = "token-service.sqlite";

/// Default bank id.
pub const DEFAULT_BANK_ID: &str = "demo-shinkin";
/// Default bank name.
pub const DEFAULT_BANK_NAME: &str = "デモ信用金庫";

/// Errors reading or creating the data directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// File system error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file exists but its content is not valid (never overwritten).
    #[error("{path}: corrupted key file ({what}); refusing to start — restore it from backup; it is not overwritten")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// What is wrong (no key material).
        what: &'static str,
    },
    /// A key file is readable by others.
    #[error("{path}: mode {mode:o} lets others read a key; chmod 600 it")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The bank's public profile (`softtoken-bank profile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Bank id of the pairing link.
    pub bank_id: String,
    /// Display name.
    pub name: String,
    /// Token-service base URL the app uses.
    pub url: String,
    /// Current server key id.
    pub server_key_id: String,
    /// Server public key, STK1 base32.
    pub server_public_key: String,
}

/// The stored part of the profile (`profile.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProfile {
    /// Bank id.
    pub bank_id: String,
    /// Display name.
    pub name: String,
    /// Last token-service URL (from `--url`, else the last listen address).
    pub url: String,
}

/// Keys loaded from the data directory.
pub struct DataDir {
    /// The directory.
    pub path: PathBuf,
    /// X25519 static key.
    pub server_key: ServerKey,
    /// Back-end API key (its base32 text).
    pub api_key: ApiKey,
    /// Operations key (its base32 text).
    pub ops_key: ApiKey,
}

impl std::fmt::Debug for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir")
            .field("path", &self.path)
            .field("server_key", &self.server_key)
            .finish_non_exhaustive()
    }
}

fn write_new(path: &Path, content: &[u8]) -> Result<(), KeyFileError> {
    let tmp = path.with_extension("tmp-new");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(content).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    // Never replace an existing key: hard-link, then remove the temp name.
    fs::hard_link(&tmp, path).map_err(io(path))?;
    fs::remove_file(&tmp).map_err(io(&tmp))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn read_key_file(path: &Path) -> Result<Option<Zeroizing<String>>, KeyFileError> {
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    }
    let bytes = Zeroizing::new(fs::read(path).map_err(io(path))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyFileError::Corrupted {
        path: path.to_path_buf(),
        what: "not text",
    })?;
    Ok(Some(Zeroizing::new(
        text.trim_end_matches('\n').to_string(),
    )))
}

fn corrupted(path: &Path, what: &'static str) -> KeyFileError {
    KeyFileError::Corrupted {
        path: path.to_path_buf(),
        what,
    }
}

fn load_or_create_server_key(dir: &Path) -> Result<ServerKey, KeyFileError> {
    let path = dir.join(SERVER_KEY_FILE);
    if let Some(text) = read_key_file(&path)? {
        let (id, secret) = text
            .split_once(' ')
            .ok_or_else(|| corrupted(&path, "expected `<key id> <base32 key>`"))?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(corrupted(&path, "bad key id"));
        }
        let bytes = Zeroizing::new(
            decode_array::<32>(secret).map_err(|_| corrupted(&path, "bad base32 key"))?,
        );
        return Ok(ServerKey::from_secret_bytes(id, *bytes));
    }
    let mut tag = [0u8; 5];
    OsRng.fill_bytes(&mut tag);
    let id = format!("k1-{}", encode(&tag).to_ascii_lowercase());
    let key = ServerKey::generate(id, &mut OsRng);
    let line = Zeroizing::new(format!("{} {}\n", key.id(), encode(&*key.secret_bytes())));
    write_new(&path, line.as_bytes())?;
    Ok(key)
}

/// Reads an existing file holding 32 bytes in base32 (mode 0600 or
/// stricter).
pub(crate) fn read_32(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let text = read_key_file(path)?.ok_or_else(|| KeyFileError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such key file"),
    })?;
    let bytes = decode_array::<32>(&text).map_err(|_| corrupted(path, "bad base32 key"))?;
    Ok(Zeroizing::new(bytes))
}

/// Reads a file holding 32 bytes in base32, or creates it (0600, random).
pub(crate) fn load_or_create_32(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    if let Some(text) = read_key_file(path)? {
        let bytes = decode_array::<32>(&text).map_err(|_| corrupted(path, "bad base32 key"))?;
        return Ok(Zeroizing::new(bytes));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(&mut *bytes);
    let text = Zeroizing::new(format!("{}\n", encode(&*bytes)));
    write_new(path, text.as_bytes())?;
    Ok(bytes)
}

impl DataDir {
    /// Opens `dir` (creating it with mode 0700 if absent) and loads or
    /// creates the key files (server key, back-end and operations keys).
    pub fn open_or_create(dir: &Path) -> Result<DataDir, KeyFileError> {
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
        let server_key = load_or_create_server_key(dir)?;
        let api_path = dir.join(API_KEY_FILE);
        let api = load_or_create_32(&api_path)?;
        let api_key =
            ApiKey::new(encode(&*api)).map_err(|_| corrupted(&api_path, "bad API key"))?;
        let ops_path = dir.join(OPS_KEY_FILE);
        let ops = load_or_create_32(&ops_path)?;
        let ops_key =
            ApiKey::new(encode(&*ops)).map_err(|_| corrupted(&ops_path, "bad operations key"))?;
        Ok(DataDir {
            path: dir.to_path_buf(),
            server_key,
            api_key,
            ops_key,
        })
    }

    /// Opens an existing data directory without creating anything.
    pub fn open_existing(dir: &Path) -> Result<DataDir, KeyFileError> {
        let path = dir.join(SERVER_KEY_FILE);
        if !path.exists() {
            return Err(KeyFileError::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no server key yet: run `softtoken-bank serve --data DIR` once",
                ),
            });
        }
        DataDir::open_or_create(dir)
    }

    /// The stored profile, if any.
    pub fn stored_profile(&self) -> Result<Option<StoredProfile>, KeyFileError> {
        let path = self.path.join(PROFILE_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| corrupted(&path, "not a profile JSON")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Writes the stored profile (atomically, by rename).
    pub fn save_profile(&self, p: &StoredProfile) -> Result<(), KeyFileError> {
        let path = self.path.join(PROFILE_FILE);
        let tmp = self.path.join("profile.json.tmp");
        // Serialising a struct of strings cannot fail.
        let text = serde_json::to_vec_pretty(p).unwrap_or_default();
        fs::write(&tmp, text).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(())
    }

    /// The public profile from the stored part and the server key.
    pub fn profile(&self, stored: &StoredProfile) -> Profile {
        Profile {
            bank_id: stored.bank_id.clone(),
            name: stored.name.clone(),
            url: stored.url.clone(),
            server_key_id: self.server_key.id().to_string(),
            server_public_key: encode(&self.server_key.public_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_reused_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("data");
        let a = DataDir::open_or_create(&d).unwrap();
        assert!(!d.join(KEK_FILE).exists(), "the KEK is not made here");
        for f in [SERVER_KEY_FILE, API_KEY_FILE, OPS_KEY_FILE] {
            let mode = fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        let b = DataDir::open_or_create(&d).unwrap();
        assert_eq!(a.server_key.public_bytes(), b.server_key.public_bytes());
        assert_eq!(a.server_key.id(), b.server_key.id());
        assert_eq!(a.api_key, b.api_key);
        assert_eq!(a.ops_key, b.ops_key);
        assert_ne!(a.api_key, a.ops_key);
        let shown = format!("{a:?}");
        assert!(!shown.contains(a.api_key.expose()));
        assert!(!shown.contains(a.ops_key.expose()));
        let file = fs::read_to_string(d.join(API_KEY_FILE)).unwrap();
        assert_eq!(file.trim_end(), a.api_key.expose());
    }

    #[test]
    fn corrupted_keys_are_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        DataDir::open_or_create(d).unwrap();
        for f in [SERVER_KEY_FILE, API_KEY_FILE, OPS_KEY_FILE] {
            let path = d.join(f);
            let good = fs::read(&path).unwrap();
            fs::write(&path, b"garbage\n").unwrap();
            let err = DataDir::open_or_create(d).unwrap_err();
            assert!(matches!(err, KeyFileError::Corrupted { .. }), "{f}: {err}");
            assert_eq!(fs::read(&path).unwrap(), b"garbage\n");
            fs::write(&path, &good).unwrap();
        }
        fs::set_permissions(d.join(API_KEY_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            DataDir::open_or_create(d).unwrap_err(),
            KeyFileError::Permissions { .. }
        ));
    }
}
