//! The schema and its migrations, and opening the database file.
//!
//! `PRAGMA user_version` is the number of [`MIGRATIONS`] applied. Opening
//! applies the missing ones in order, each in its own `BEGIN IMMEDIATE`
//! transaction together with the new version number, and refuses a file
//! whose version is newer than this server. A schema change is a new
//! entry at the end of [`MIGRATIONS`]; existing entries never change.
//!
//! Version 1:
//! * `sessions` — pairing sessions between `init` and `finish`;
//! * `tokens` — token state and the verifier record, at most one active
//!   token per customer (unique partial index);
//! * `events` — the audit log (never a code or a secret).
//!
//! [`V_SCOPE`]: `events.scope`, the scope of the caller's key
//! (`backend`, `operations`; NULL for calls without a key).
//!
//! STK1-TXN step (`V_TXN`): `txns` (transactions and their state),
//! `txn_nonces` (poll nonces per token, 300 s), `txn_mac_failures` (the
//! bad-MAC window per token) and `tokens.last_offline_step`.

use std::path::Path;

use rusqlite::Connection;

use super::{DbConfig, DbError};

/// Schema steps: entry `i` takes `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V_SCOPE, V_TXN];

/// The schema version this server writes.
pub fn current_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

const V1: &str = "
CREATE TABLE IF NOT EXISTS sessions(
  session_id BLOB PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  sealed_key BLOB,
  sealed_confirm BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  finished_at INTEGER,
  bind_by INTEGER,
  confirm_failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_open ON sessions(expires_at) WHERE finished_at IS NULL;
CREATE TABLE IF NOT EXISTS tokens(
  serial TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('issued','active','revoked','expired')),
  customer_id TEXT,
  sealed_secret BLOB,
  last_step INTEGER,
  drift INTEGER NOT NULL DEFAULT 0,
  fail_count INTEGER NOT NULL DEFAULT 0,
  locked INTEGER NOT NULL DEFAULT 0,
  issued_at INTEGER NOT NULL,
  bind_by INTEGER NOT NULL,
  bound_at INTEGER,
  revoked_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS tokens_active_customer ON tokens(customer_id) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS tokens_unbound ON tokens(bind_by) WHERE state = 'issued';
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  serial TEXT,
  customer_id TEXT,
  kind TEXT NOT NULL,
  detail TEXT
);
";

/// The caller's scope in the audit log.
pub const V_SCOPE: &str = "ALTER TABLE events ADD COLUMN scope TEXT;";

/// STK1-TXN (`super::txn`): transactions, poll nonces, the bad-MAC
/// window per token and the token's last accepted offline step.
const V_TXN: &str = "
ALTER TABLE tokens ADD COLUMN last_offline_step INTEGER;
CREATE TABLE IF NOT EXISTS txns(
  txn_id BLOB PRIMARY KEY CHECK (length(txn_id) = 16),
  serial TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('transfer','payment')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  fields TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','approved','rejected','expired','consumed')),
  decided_at INTEGER,
  consumed_at INTEGER
);
CREATE INDEX IF NOT EXISTS txns_pending ON txns(serial, created_at) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS txn_nonces(
  serial TEXT NOT NULL,
  nonce BLOB NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (serial, nonce)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS txn_mac_failures(
  serial TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  bad_macs INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Creates the SQLite file `path` with mode 0600 if absent and tightens an
/// existing one and its `-wal`/`-shm` files to 0600. SQLite gives the WAL
/// files the mode of the database file, so creating it first is enough for
/// new files. Errors are ignored here: opening the database reports them.
fn restrict_db_files(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.to_path_buf().into_os_string();
            p.push(suffix);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Opens the file (mode 0600, WAL, the configured `synchronous`) and
/// applies the missing migrations.
pub(super) fn open(cfg: &DbConfig) -> Result<Connection, DbError> {
    let err = |source| DbError::Open {
        path: cfg.path.clone(),
        source,
    };
    restrict_db_files(&cfg.path);
    let conn = Connection::open(&cfg.path).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", cfg.synchronous.pragma())
        .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    let supported = current_version();
    if version > supported {
        return Err(DbError::Schema {
            path: cfg.path.clone(),
            found: version,
            supported,
        });
    }
    for (done, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let next = done + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {step} PRAGMA user_version = {next}; COMMIT;"
        ))
        .map_err(err)?;
    }
    Ok(conn)
}
