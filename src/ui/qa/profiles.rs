//! The simulator's profiles as the QA panel sees them: directories side by
//! side under one root (the parent of `--profile DIR`), each its own token
//! store and keystore namespace, plus the platform's default profile when
//! the app started on it.
use crate::services::TokenStore;
use crate::ui::qa::log::LOG_FILE;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// The token store's metadata file, whose presence marks a profile dir.
const STORE_FILE: &str = "tokens.json";

/// Longest profile name accepted by [`Profiles::create`].
pub const MAX_NAME_LEN: usize = 32;

/// One profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    /// Shown and logged name: the directory's name, or `default`.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// The platform's default profile (default keystore namespace), not a
    /// `--profile DIR` one.
    pub is_default: bool,
}

/// Why a profile could not be created.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The name is empty, too long or has other characters than ASCII
    /// letters, digits, `-` and `_`.
    #[error("a profile name has 1 to {MAX_NAME_LEN} letters, digits, '-' or '_'")]
    BadName,
    /// A profile (or another file) of that name exists.
    #[error("{0} exists")]
    Exists(String),
    /// The directory could not be made.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Opens the token store of a profile.
pub type OpenStore = dyn Fn(&ProfileRef) -> Arc<dyn TokenStore> + Send + Sync;

/// The profiles under one root directory.
pub struct Profiles {
    root: PathBuf,
    default: Option<ProfileRef>,
    open: Box<OpenStore>,
}

impl std::fmt::Debug for Profiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiles")
            .field("root", &self.root)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

/// Whether `name` may name a profile directory (no separators, no dots).
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Profiles {
    /// Profiles under `root`; `default` is the platform's default profile
    /// when the app started on it; `open` makes a profile's store.
    pub fn new(root: PathBuf, default: Option<ProfileRef>, open: Box<OpenStore>) -> Profiles {
        Profiles {
            root,
            default,
            open,
        }
    }

    /// The directory new profiles are made in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The profile of directory `dir` (`--profile DIR`).
    pub fn of_dir(dir: &Path) -> ProfileRef {
        ProfileRef {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string()),
            dir: dir.to_path_buf(),
            is_default: false,
        }
    }

    /// The default profile, `current`, and every directory under the root
    /// with a valid name that holds a token store or a QA log, sorted by
    /// name (default first).
    pub fn list(&self, current: &ProfileRef) -> Vec<ProfileRef> {
        let mut found: Vec<ProfileRef> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter(|e| e.path().join(STORE_FILE).is_file() || e.path().join(LOG_FILE).is_file())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                valid_name(&name).then(|| ProfileRef {
                    name,
                    dir: e.path(),
                    is_default: false,
                })
            })
            .collect();
        if !current.is_default && !found.iter().any(|p| p.dir == current.dir) {
            found.push(current.clone());
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.dir == b.dir);
        self.default.iter().cloned().chain(found).collect()
    }

    /// Makes the directory of a new profile `name` under the root.
    pub fn create(&self, name: &str) -> Result<ProfileRef, ProfileError> {
        if !valid_name(name) || (self.default.is_some() && name == "default") {
            return Err(ProfileError::BadName);
        }
        let dir = self.root.join(name);
        if dir.exists() {
            return Err(ProfileError::Exists(name.to_owned()));
        }
        std::fs::create_dir_all(&dir).map_err(|source| ProfileError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(ProfileRef {
            name: name.to_owned(),
            dir,
            is_default: false,
        })
    }

    /// The token store of `profile`.
    pub fn open(&self, profile: &ProfileRef) -> Arc<dyn TokenStore> {
        (self.open)(profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::MemoryStore;

    fn profiles(root: &Path) -> Profiles {
        Profiles::new(
            root.to_path_buf(),
            None,
            Box::new(|_| Arc::new(MemoryStore::default())),
        )
    }

    #[test]
    fn names_are_plain_directory_names() {
        assert!(valid_name("qa-old_2"));
        for bad in ["", "a/b", "..", ".", "a b", "é", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn lists_profile_dirs_only_and_creates_new_ones() {
        let root = std::env::temp_dir().join(format!("softtoken-qa-prof-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["b", "a", "unrelated", "bad name"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("a").join(STORE_FILE), "{}").unwrap();
        std::fs::write(root.join("b").join(LOG_FILE), "").unwrap();
        std::fs::write(root.join("bad name").join(STORE_FILE), "{}").unwrap();
        let p = profiles(&root);
        let current = Profiles::of_dir(&root.join("c"));
        let names: Vec<_> = p.list(&current).into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["a", "b", "c"]);

        let d = p.create("d").unwrap();
        assert!(d.dir.is_dir());
        assert!(matches!(p.create("d"), Err(ProfileError::Exists(_))));
        assert!(matches!(p.create("../x"), Err(ProfileError::BadName)));
        assert!(!root.parent().unwrap().join("x").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
