//! Demo customers (`serve --demo`). Their passwords are random, drawn on
//! first start, and kept in `demo-credentials.txt` (mode 0600, marked
//! DEMO ONLY) in the data directory so later starts can print them again;
//! the database itself only holds Argon2id hashes. A real bank has no such
//! file.

use std::io::Write;
use std::path::Path;

use rand::Rng;

use crate::credentials::hash_password;
use crate::db::Conn;
use crate::display_clock;
use crate::WebError;

/// File name in the data directory.
pub const FILE: &str = "demo-credentials.txt";

/// The demo contract IDs and names.
pub const CUSTOMERS: [(&str, &str); 2] = [("1000001", "デモ 一郎"), ("1000002", "デモ 花子")];

const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn new_password() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..12)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn read_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut id = None;
            let mut pw = None;
            for part in l.split_whitespace() {
                if let Some(v) = part.strip_prefix("contract_id=") {
                    id = Some(v.to_string());
                }
                if let Some(v) = part.strip_prefix("password=") {
                    pw = Some(v.to_string());
                }
            }
            Some((id?, pw?))
        })
        .collect()
}

fn write_file(path: &Path, creds: &[(String, String)]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    writeln!(
        f,
        "# DEMO ONLY - softtoken-bank --demo customers. Never use in production."
    )?;
    for (id, pw) in creds {
        writeln!(f, "contract_id={id} password={pw}")?;
    }
    f.sync_all()
}

/// Creates the demo customers if absent (or re-keys them when the
/// credentials file was lost) and returns their `(contract_id, password)`.
pub fn ensure(db: &Conn, dir: &Path) -> Result<Vec<(String, String)>, WebError> {
    let path = dir.join(FILE);
    let known = read_file(&path);
    let mut out = Vec::new();
    let mut changed = false;
    for (id, name) in CUSTOMERS {
        let existing = db.customer(id)?;
        let remembered = known.iter().find(|(k, _)| k == id).map(|(_, p)| p.clone());
        match (existing, remembered) {
            (Some(_), Some(pw)) => out.push((id.to_string(), pw)),
            _ => {
                let pw = new_password();
                let hash = hash_password(&pw).map_err(|_| WebError::Hashing)?;
                db.upsert_customer(id, name, &hash, display_clock::system_now())?;
                out.push((id.to_string(), pw));
                changed = true;
            }
        }
    }
    if changed {
        write_file(&path, &out).map_err(|source| WebError::DemoFile { source })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(dir.path()).unwrap();
        let store = db.blocking();
        let first = ensure(&store, dir.path()).unwrap();
        assert_eq!(first.len(), 2);
        let second = ensure(&store, dir.path()).unwrap();
        assert_eq!(first, second, "a later start prints the same passwords");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(dir.path().join(FILE)).unwrap();
        let third = ensure(&store, dir.path()).unwrap();
        assert_ne!(
            third[0].1, first[0].1,
            "a lost file re-keys the demo customers"
        );
    }
}
