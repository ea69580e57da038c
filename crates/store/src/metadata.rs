//! The metadata file `tokens.json`: versioned JSON, written atomically.
//!
//! Format (version 1):
//! `{"version":1,"tokens":[{"phase":"ready","meta":{…},"finish":{…}?}, …]}`.
//! A file that is not exactly this (bad JSON, unknown field, duplicate
//! serial, version 0 or missing) is corrupt; a higher version is too new.
//! Neither is ever rewritten, moved or deleted by reading it.

use crate::{StoreError, TokenEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The metadata file's name inside the profile directory.
pub const FILE_NAME: &str = "tokens.json";
/// The temporary file a write goes through before its rename.
pub const TEMP_NAME: &str = "tokens.json.tmp";
/// The newest (and only) format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    tokens: Vec<TokenEntry>,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<serde_json::Value>,
}

/// Reads the token list of `dir`. `Ok(None)` if the file does not exist.
pub(crate) fn read(dir: &Path) -> Result<Option<Vec<TokenEntry>>, StoreError> {
    let path = dir.join(FILE_NAME);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path, e)),
    };
    parse(&bytes, &path).map(Some)
}

fn parse(bytes: &[u8], path: &Path) -> Result<Vec<TokenEntry>, StoreError> {
    let corrupt = |reason: String| StoreError::MetadataCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let head: VersionOnly =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not a token list: {e}")))?;
    let version = match head.version {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| corrupt("the format version is not a whole number".into()))?,
        Some(_) => return Err(corrupt("the format version is not a number".into())),
        None => return Err(corrupt("the format version is missing".into())),
    };
    if version > u64::from(FORMAT_VERSION) {
        return Err(StoreError::MetadataTooNew {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version != u64::from(FORMAT_VERSION) {
        return Err(corrupt(format!("unknown format version {version}")));
    }
    let doc: Document =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("invalid token list: {e}")))?;
    let mut seen = BTreeSet::new();
    for entry in &doc.tokens {
        if !seen.insert(entry.serial().clone()) {
            return Err(corrupt(format!("token {} is listed twice", entry.serial())));
        }
    }
    Ok(doc.tokens)
}

/// Serialises a token list (pretty JSON, trailing newline).
pub(crate) fn render(tokens: &[TokenEntry]) -> Vec<u8> {
    #[derive(Serialize)]
    struct DocumentRef<'a> {
        version: u32,
        tokens: &'a [TokenEntry],
    }
    let doc = DocumentRef {
        version: FORMAT_VERSION,
        tokens,
    };
    // Serialising plain data structs to a Vec cannot fail.
    let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Replaces the token list of `dir` atomically: write `tokens.json.tmp`,
/// fsync it, rename it over `tokens.json`, fsync the directory. After a
/// crash at any point the file is either the old or the new list, plus
/// perhaps a stale temporary file.
pub(crate) fn write(dir: &Path, tokens: &[TokenEntry]) -> Result<(), StoreError> {
    let bytes = render(tokens);
    let tmp = dir.join(TEMP_NAME);
    let path = dir.join(FILE_NAME);
    fail_point::check(fail_point::Step::WriteTemp, &tmp)?;
    let mut file = private_file(&tmp).map_err(|e| StoreError::io("create", &tmp, e))?;
    file.write_all(&bytes)
        .map_err(|e| StoreError::io("write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| StoreError::io("sync", &tmp, e))?;
    drop(file);
    fail_point::check(fail_point::Step::Rename, &path)?;
    fs::rename(&tmp, &path).map_err(|e| StoreError::io("replace", &path, e))?;
    sync_dir(dir)
}

fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("sync", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StoreError> {
    // Windows has no directory handles to fsync; MoveFileEx replaces
    // the file atomically and NTFS journals the rename.
    Ok(())
}

/// Creates the profile directory (mode 0700 on Unix) if needed.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| StoreError::io("create", dir, e))
}

/// Deletes a temporary file left by a write that never reached its rename
/// (it never holds the authoritative list). Returns its path if there was
/// one.
pub(crate) fn remove_stale_temp(dir: &Path) -> Result<Option<PathBuf>, StoreError> {
    let tmp = dir.join(TEMP_NAME);
    match fs::remove_file(&tmp) {
        Ok(()) => Ok(Some(tmp)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("remove", tmp, e)),
    }
}

/// Renames `tokens.json` to `tokens.json.aside-<unix seconds>[-n]`, never
/// replacing an existing file. Returns the new path, or `None` if there was
/// no file.
pub(crate) fn set_aside(dir: &Path, now_unix: u64) -> Result<Option<PathBuf>, StoreError> {
    let path = dir.join(FILE_NAME);
    if !path.exists() {
        return Ok(None);
    }
    for n in 0u32..1000 {
        let name = if n == 0 {
            format!("{FILE_NAME}.aside-{now_unix}")
        } else {
            format!("{FILE_NAME}.aside-{now_unix}-{n}")
        };
        let target = dir.join(name);
        // hard_link fails if the target exists, so nothing is ever replaced;
        // then the original name is unlinked.
        match fs::hard_link(&path, &target) {
            Ok(()) => {
                fs::remove_file(&path).map_err(|e| StoreError::io("move", &path, e))?;
                sync_dir(dir)?;
                return Ok(Some(target));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(StoreError::io("move", &path, e)),
        }
    }
    Err(StoreError::io(
        "move",
        path,
        io::Error::new(io::ErrorKind::AlreadyExists, "too many set-aside files"),
    ))
}

/// Test-only injection of a crash or I/O error inside [`write`].
pub(crate) mod fail_point {
    use crate::StoreError;
    use std::path::Path;

    /// The step before which a write can be made to fail.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) enum Step {
        /// Before the temporary file is created.
        WriteTemp,
        /// After the temporary file is complete, before the rename.
        Rename,
    }

    #[cfg(test)]
    thread_local! {
        static ARMED: std::cell::Cell<Option<(Step, usize)>> = const { std::cell::Cell::new(None) };
    }

    /// Makes the `n`th (1-based) write from now fail before `step`.
    #[cfg(test)]
    pub(crate) fn arm(step: Step, n: usize) {
        ARMED.with(|a| a.set(Some((step, n))));
    }

    /// Disarms the fail point.
    #[cfg(test)]
    pub(crate) fn disarm() {
        ARMED.with(|a| a.set(None));
    }

    #[cfg(test)]
    pub(crate) fn check(step: Step, path: &Path) -> Result<(), StoreError> {
        ARMED.with(|a| match a.get() {
            Some((armed, n)) if armed == step => {
                if n <= 1 {
                    a.set(None);
                    Err(StoreError::io(
                        "write",
                        path,
                        std::io::Error::other("injected failure"),
                    ))
                } else {
                    a.set(Some((armed, n - 1)));
                    Ok(())
                }
            }
            _ => Ok(()),
        })
    }

    #[cfg(not(test))]
    #[inline(always)]
    pub(crate) fn check(_step: Step, _path: &Path) -> Result<(), StoreError> {
        Ok(())
    }
}
