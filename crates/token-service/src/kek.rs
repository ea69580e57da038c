//! Where the key-encryption key (KEK) comes from.
//!
//! The KEK protects every token secret in the database, so it must not lie
//! next to it: a copy of the data directory alone must not be enough to
//! open a sealed secret. [`locate`] decides the file:
//! * `--kek-file PATH` if given (created 0600 if absent);
//! * else `$CREDENTIALS_DIRECTORY/kek` when the service manager passes
//!   credentials (systemd `LoadCredential=kek:…`; it must exist);
//! * else, only with `--demo`, `DATA/kek` (created if absent, as before).
//!
//! A file inside the data directory is refused unless `demo` is set.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::keys::{load_or_create_32, read_32, KeyFileError, KEK_FILE};

/// The KEK file name inside `$CREDENTIALS_DIRECTORY`.
pub const CREDENTIAL_NAME: &str = "kek";

/// Why no KEK could be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// Neither `--kek-file` nor a credentials directory, and not a demo.
    #[error("no key-encryption key: pass --kek-file PATH (outside the data directory) or run under a service manager that passes the credential `kek` ($CREDENTIALS_DIRECTORY); only --demo keeps it in the data directory")]
    Missing,
    /// The KEK file lies inside the data directory and this is not a demo.
    #[error("{0}: the key-encryption key lies inside the data directory, so a copy of the directory would open every token secret; move it elsewhere (only --demo allows this)")]
    InsideDataDir(PathBuf),
    /// The file could not be read, created or parsed.
    #[error(transparent)]
    File(#[from] KeyFileError),
}

/// Where the KEK is read from, and whether it may be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekLocation {
    /// The file.
    pub path: PathBuf,
    /// Create it (0600, 32 random bytes) if absent; false for a
    /// service-manager credential, which must exist.
    pub create: bool,
}

/// The KEK file for `data` (see the module docs for the order).
/// `credentials_dir` is `$CREDENTIALS_DIRECTORY` as the caller read it.
pub fn locate(
    kek_file: Option<&Path>,
    credentials_dir: Option<&Path>,
    data: &Path,
    demo: bool,
) -> Result<KekLocation, KekError> {
    let loc = match (kek_file, credentials_dir) {
        (Some(p), _) => KekLocation {
            path: p.to_path_buf(),
            create: true,
        },
        (None, Some(d)) => KekLocation {
            path: d.join(CREDENTIAL_NAME),
            create: false,
        },
        (None, None) if demo => KekLocation {
            path: data.join(KEK_FILE),
            create: true,
        },
        (None, None) => return Err(KekError::Missing),
    };
    if !demo && is_inside(&loc.path, data) {
        return Err(KekError::InsideDataDir(loc.path));
    }
    Ok(loc)
}

/// Loads (or, if allowed, creates) the KEK at `loc`.
pub fn load(loc: &KekLocation) -> Result<Zeroizing<[u8; 32]>, KekError> {
    if loc.create {
        Ok(load_or_create_32(&loc.path)?)
    } else {
        Ok(read_32(&loc.path)?)
    }
}

/// `path` (which may not exist yet) lies in `dir` or below, after
/// resolving symbolic links and `..` of the parts that exist.
fn is_inside(path: &Path, dir: &Path) -> bool {
    let Some(dir) = resolve(dir) else {
        // The data directory does not exist yet: compare as written.
        return absolute(path).starts_with(absolute(dir));
    };
    resolve(path).is_some_and(|p| p.starts_with(&dir))
}

/// The canonical form of `path`: its longest existing ancestor resolved
/// (symbolic links, `..`), joined with the names below it that do not
/// exist yet.
fn resolve(path: &Path) -> Option<PathBuf> {
    let abs = absolute(path);
    let mut missing = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(mut p) = cur.canonicalize() {
            for name in missing.iter().rev() {
                p.push(name);
            }
            return Some(p);
        }
        missing.push(cur.file_name()?);
        cur = cur.parent()?;
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_refusals() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let outside = tmp.path().join("kek");
        let creds = tmp.path().join("creds");

        let l = locate(Some(&outside), Some(&creds), &data, false).unwrap();
        assert_eq!((l.path.as_path(), l.create), (outside.as_path(), true));
        let l = locate(None, Some(&creds), &data, false).unwrap();
        assert_eq!((l.path, l.create), (creds.join("kek"), false));
        assert!(matches!(
            locate(None, None, &data, false),
            Err(KekError::Missing)
        ));
        let l = locate(None, None, &data, true).unwrap();
        assert_eq!(l.path, data.join(KEK_FILE));

        for inside in [
            data.join("kek"),
            data.join("sub").join("kek"),
            tmp.path().join("data").join("..").join("data").join("k"),
        ] {
            assert!(
                matches!(
                    locate(Some(&inside), None, &data, false),
                    Err(KekError::InsideDataDir(_))
                ),
                "{inside:?}"
            );
            assert!(locate(Some(&inside), None, &data, true).is_ok());
        }
        // A symbolic link into the data directory is inside too.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&data, &link).unwrap();
        assert!(matches!(
            locate(Some(&link.join("kek")), None, &data, false),
            Err(KekError::InsideDataDir(_))
        ));
    }

    #[test]
    fn a_credential_must_exist_a_kek_file_is_created_once() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = KekLocation {
            path: tmp.path().join("cred-kek"),
            create: false,
        };
        assert!(load(&missing).is_err());
        assert!(!missing.path.exists());
        let file = KekLocation {
            path: tmp.path().join("kek"),
            create: true,
        };
        let a = load(&file).unwrap();
        let b = load(&file).unwrap();
        assert_eq!(*a, *b);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let cred = KekLocation {
            path: file.path.clone(),
            create: false,
        };
        assert_eq!(*load(&cred).unwrap(), *a);
    }
}
