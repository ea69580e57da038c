//! The token service's state on PostgreSQL: several instances on one
//! database (docs/deploy.md). The operations' statements are in [`ops`].
//!
//! Contract (the same results as the SQLite store for every op):
//! * a code is accepted only by one conditional
//!   `UPDATE tokens … WHERE serial = $1 AND state = $4 AND NOT locked AND
//!   (last_step IS NULL OR last_step < $2)`: two instances racing with the
//!   same code update the row one after the other, and the second sees the
//!   first's `last_step` (READ COMMITTED re-checks the `WHERE` on the new
//!   row) and updates nothing → `replay`;
//! * failures are counted in the database (`fail_count = fail_count + 1`),
//!   locking at the limit in the same statement, so one counter holds
//!   across instances and nothing is accepted once locked;
//! * the verification hot path is two statements (read, then the
//!   conditional update with its audit event, auto-committed); every other
//!   op is one transaction with its rows taken `FOR UPDATE`;
//! * a request is answered only after PostgreSQL acknowledged its commit;
//!   when the connection breaks, or no connection is available within the
//!   pool's wait, the answer is `unavailable` (503) — never `ok`, never a
//!   counted failure — and the request is not retried;
//! * migrations (`migrations/postgres/*.sql`) are applied at open under an
//!   advisory lock; a database with a newer schema is refused;
//! * an operation runs on PostgreSQL through [`Operation::apply_pg`]; one
//!   that does not override it answers `internal_error` there;
//! * the caller's scope ([`crate::scope::Scoped`]) is stamped on every
//!   audit event the operation writes, in the statement that writes it
//!   (no later update: other instances append at the same time).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime,
};
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::Policy;
use tokio_postgres::error::SqlState;
use zeroize::Zeroizing;

use crate::db::{Fault, Operation};
use crate::refusal::Refusal;
use crate::seal::Sealer;

pub(crate) mod ops;

/// Embedded migrations, in order: (version, SQL).
/// Version 1 is the tables of pairing, tokens and the audit log; version 2
/// adds `events.scope` and the STK1-TXN tables and columns (the SQLite
/// steps `V_SCOPE` and `V_TXN`). Existing entries never change.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_scope_txn.sql"),
    ),
];

/// Newest schema version this build knows (the last of [`MIGRATIONS`]).
pub const PG_SCHEMA_VERSION: i32 = 2;

/// Advisory lock taken while migrating (any constant shared by all instances).
const MIGRATION_LOCK: i64 = 0x5354_4b31_6d69_6772; // "STK1migr"
/// Advisory lock of the expiry sweep (one instance sweeps at a time).
pub(crate) const SWEEP_LOCK: i64 = 0x5354_4b31_7377_6570; // "STK1swep"

/// Settings of the PostgreSQL store.
#[derive(Clone)]
pub struct PgConfig {
    /// Connection settings, password included.
    pub database: tokio_postgres::Config,
    /// Most connections of this instance.
    pub pool_size: usize,
    /// Longest wait for a free connection (then `unavailable`).
    pub wait: Duration,
    /// Longest time one request may take in the database (then `unavailable`).
    pub op_timeout: Duration,
    /// Verification policy.
    pub policy: Policy,
    /// Seconds an issued token may stay unbound.
    pub bind_ttl: u64,
    /// Most unfinished pairing sessions at a time (soft across instances).
    pub max_pending_sessions: u64,
    /// Most issued-but-unbound tokens at a time (then `init` answers
    /// `rate_limited`; soft across instances, as the pending cap).
    pub max_unbound_tokens: u64,
    /// Lifetime of a new STK1-TXN transaction, seconds.
    pub txn_lifetime: u64,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("database", &describe(&self.database))
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

impl PgConfig {
    /// Defaults: pool 16, 2 s wait, 10 s per request, default policy, 24 h
    /// to bind, 10 000 pending sessions, 100 000 unbound tokens,
    /// transactions of 300 s (the SQLite store's defaults).
    pub fn new(database: tokio_postgres::Config) -> PgConfig {
        PgConfig {
            database,
            pool_size: 16,
            wait: Duration::from_secs(2),
            op_timeout: Duration::from_secs(10),
            policy: Policy::default(),
            bind_ttl: 24 * 3600,
            max_pending_sessions: 10_000,
            max_unbound_tokens: 100_000,
            txn_lifetime: softtoken_core::txn::DEFAULT_LIFETIME,
        }
    }
}

/// Errors opening the PostgreSQL store or reading its settings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The connection string is not a valid libpq URL or key/value string.
    #[error(
        "the --database connection string is not valid (libpq URL or key/value string expected)"
    )]
    BadConnectionString,
    /// A password file could not be used.
    #[error("password file {path}: {what}")]
    PasswordFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong (never the content).
        what: String,
    },
    /// The pool could not be built.
    #[error("cannot build the database pool: {0}")]
    Pool(String),
    /// The database could not be reached or refused a statement at start.
    #[error("database {target}: {source}")]
    Database {
        /// Host/port/database/user (no password).
        target: String,
        /// The cause.
        source: tokio_postgres::Error,
    },
    /// No connection at start.
    #[error("database {target}: no connection ({detail})")]
    Connect {
        /// Host/port/database/user (no password).
        target: String,
        /// The cause (no password).
        detail: String,
    },
    /// The database has a newer schema than this server.
    #[error("database {target}: schema version {found} is newer than this server ({supported})")]
    Schema {
        /// Host/port/database/user.
        target: String,
        /// Found version.
        found: i32,
        /// Supported version.
        supported: i32,
    },
    /// The key files of this instance differ from those the database was
    /// first used with.
    #[error("the key file `{name}` of this instance differs from the one the database was set up with; copy the key files of an existing instance")]
    KeyMismatch {
        /// Which key.
        name: String,
    },
}

/// The check values of an instance's key files stored in `key_checks`:
/// `kek` and `api_key` as `HMAC-SHA256(key, label)[..16]` (which reveal
/// nothing of the keys), `server_key_id` as the id itself.
pub fn key_checks(
    kek: &[u8; 32],
    api_key: &[u8],
    server_key_id: &str,
) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        kek_check(kek),
        (
            "api_key",
            check_value(api_key, b"softtoken api-key check v1"),
        ),
        ("server_key_id", server_key_id.as_bytes().to_vec()),
    ]
}

/// The `kek` entry of [`key_checks`] for `kek`. [`PgStore::open`] accepts
/// any of several entries with one name: an instance that holds a new
/// and an old KEK during a re-keying lists both.
pub fn kek_check(kek: &[u8; 32]) -> (&'static str, Vec<u8>) {
    ("kek", check_value(kek, b"softtoken kek check v1"))
}

fn check_value(key: &[u8], label: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(label);
    mac.finalize().into_bytes()[..16].to_vec()
}

/// Host, port, database and user of a connection (never the password).
pub fn describe(cfg: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = cfg
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = cfg.get_ports().iter().map(|p| p.to_string()).collect();
    format!(
        "host={} port={} dbname={} user={}",
        if hosts.is_empty() {
            "(default)".into()
        } else {
            hosts.join(",")
        },
        if ports.is_empty() {
            "5432".into()
        } else {
            ports.join(",")
        },
        cfg.get_dbname().unwrap_or("(default)"),
        cfg.get_user().unwrap_or("(default)")
    )
}

/// Parses a libpq URL (`postgres://…`, `postgresql://…`) or key/value
/// string and completes its password from, in order: the string itself,
/// `password_file` (first line; the file must not be readable by group or
/// others), the pgpass file named by `PGPASSFILE`.
pub fn connection_config(
    spec: &str,
    password_file: Option<&Path>,
) -> Result<tokio_postgres::Config, PgError> {
    let mut cfg: tokio_postgres::Config = spec.parse().map_err(|_| PgError::BadConnectionString)?;
    if cfg.get_password().is_some() {
        return Ok(cfg);
    }
    if let Some(path) = password_file {
        let text = read_private(path)?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(PgError::PasswordFile {
                path: path.to_path_buf(),
                what: "empty".into(),
            });
        }
        cfg.password(line.as_bytes());
        return Ok(cfg);
    }
    if let Some(pgpass) = std::env::var_os("PGPASSFILE") {
        let path = Path::new(&pgpass);
        let text = read_private(path)?;
        if let Some(pw) = pgpass_lookup(&text, &cfg) {
            cfg.password(pw.as_bytes());
        }
    }
    Ok(cfg)
}

fn read_private(path: &Path) -> Result<Zeroizing<String>, PgError> {
    let err = |what: String| PgError::PasswordFile {
        path: path.to_path_buf(),
        what,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(err("readable by group or others; make it mode 0600".into()));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    Ok(Zeroizing::new(text))
}

/// Splits one pgpass line at unescaped `:` (`\:` and `\\` are escapes).
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if let Some(next) = chars.next() {
                    if let Some(last) = out.last_mut() {
                        last.push(next);
                    }
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(ch);
                }
            }
        }
    }
    out
}

/// The password of the first pgpass line matching `cfg` (libpq rules:
/// `*` matches anything; `localhost` also matches a Unix-socket host).
fn pgpass_lookup(text: &str, cfg: &tokio_postgres::Config) -> Option<Zeroizing<String>> {
    let (host, unix) = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => (h.clone(), false),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => (p.display().to_string(), true),
        None => ("localhost".to_string(), true),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = cfg.get_user().unwrap_or("").to_string();
    let db = cfg.get_dbname().unwrap_or(&user).to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f = pgpass_fields(line);
        if f.len() != 5 {
            continue;
        }
        let ok = |field: &str, value: &str| field == "*" || field == value;
        let host_ok = ok(&f[0], &host) || (unix && f[0] == "localhost");
        if host_ok && ok(&f[1], &port) && ok(&f[2], &db) && ok(&f[3], &user) {
            return Some(Zeroizing::new(f[4].clone()));
        }
    }
    None
}

/// Handle to the PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    cfg: PgConfig,
    sealer: Arc<Sealer>,
    target: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgStore({})", self.inner.target)
    }
}

/// Pool occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub size: usize,
    /// Of those, idle.
    pub available: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
    /// Most connections.
    pub max_size: usize,
}

impl PgStore {
    /// Builds the pool, applies the migrations and checks the key files
    /// (`key_checks`: name → check value; the first instance stores them,
    /// later ones must match).
    pub async fn open(
        cfg: PgConfig,
        sealer: Arc<Sealer>,
        key_checks: &[(&str, Vec<u8>)],
    ) -> Result<PgStore, PgError> {
        let target = describe(&cfg.database);
        let mut pg = cfg.database.clone();
        if pg.get_application_name().is_none() {
            pg.application_name("softtoken-token-service");
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(Duration::from_secs(5));
        }
        let mgr = Manager::from_config(
            pg,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(cfg.pool_size.max(1))
            .wait_timeout(Some(cfg.wait))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(2)))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| PgError::Pool(e.to_string()))?;
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                cfg,
                sealer,
                target: target.clone(),
            }),
        };
        let mut client = store.inner.pool.get().await.map_err(|e| PgError::Connect {
            target: target.clone(),
            detail: pool_detail(&e),
        })?;
        let db = |source| PgError::Database {
            target: target.clone(),
            source,
        };
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
               version integer PRIMARY KEY CHECK (version > 0),
               applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(db)?;
        let found: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(db)?;
        if found > PG_SCHEMA_VERSION {
            return Err(PgError::Schema {
                target,
                found,
                supported: PG_SCHEMA_VERSION,
            });
        }
        for (version, sql) in MIGRATIONS {
            if *version > found {
                tx.batch_execute(sql).await.map_err(db)?;
                tx.execute(
                    "INSERT INTO schema_version(version) VALUES ($1)",
                    &[version],
                )
                .await
                .map_err(db)?;
                tracing::info!("database {target}: applied schema migration {version}");
            }
        }
        // The first entry of a name is stored when absent; the stored
        // value must equal one of the entries of its name.
        let mut names: Vec<&str> = Vec::new();
        for (n, _) in key_checks {
            if !names.contains(n) {
                names.push(n);
            }
        }
        for name in names {
            let values: Vec<&Vec<u8>> = key_checks
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v)
                .collect();
            let Some(first) = values.first() else {
                continue;
            };
            tx.execute(
                "INSERT INTO key_checks(name, check_value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, *first],
            )
            .await
            .map_err(db)?;
            let stored: Vec<u8> = tx
                .query_one(
                    "SELECT check_value FROM key_checks WHERE name = $1",
                    &[&name],
                )
                .await
                .and_then(|r| r.try_get(0))
                .map_err(db)?;
            let matches = values.iter().fold(subtle::Choice::from(0), |acc, v| {
                acc | subtle::ConstantTimeEq::ct_eq(&stored[..], &v[..])
            });
            if !bool::from(matches) {
                return Err(PgError::KeyMismatch {
                    name: name.to_string(),
                });
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(store)
    }

    /// Where the store points (host, port, database, user; no password).
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// Pool occupancy now.
    pub fn pool_stats(&self) -> PoolStats {
        let s = self.inner.pool.status();
        PoolStats {
            size: s.size,
            available: s.available,
            waiting: s.waiting,
            max_size: s.max_size,
        }
    }

    /// Readiness: a connection within the pool's wait and the schema
    /// version this build knows, both within `timeout`.
    pub async fn ready(&self, timeout: Duration) -> Result<(), &'static str> {
        let check = async {
            let client = self
                .inner
                .pool
                .get()
                .await
                .map_err(|_| "database unreachable")?;
            let v: i32 = client
                .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|_| "database unreachable")?;
            if v == PG_SCHEMA_VERSION {
                Ok(())
            } else {
                Err("database schema is not the one this server knows")
            }
        };
        tokio::time::timeout(timeout, check)
            .await
            .unwrap_or(Err("database did not answer in time"))
    }

    /// Applies `op` at time `now` and returns its committed result; a
    /// database that cannot be reached, or a request that takes longer
    /// than [`PgConfig::op_timeout`], answers `unavailable`.
    pub async fn run<O: Operation>(&self, op: O, now: u64) -> Result<O::Output, Fault> {
        let inner = &self.inner;
        let work = async {
            let mut client = inner.pool.get().await.map_err(|e| {
                tracing::error!("database {}: {}", inner.target, pool_detail(&e));
                PgFault::Retry
            })?;
            let ctx = PgCtx {
                cfg: &inner.cfg,
                sealer: &inner.sealer,
            };
            op.apply_pg(&mut client, &ctx, now).await
        };
        match tokio::time::timeout(inner.cfg.op_timeout, work).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(f)) => Err(self.fault(f)),
            Err(_) => {
                tracing::error!("database {}: request timed out", inner.target);
                Err(Fault::Refused(Refusal::unavailable()))
            }
        }
    }

    fn fault(&self, f: PgFault) -> Fault {
        match f {
            PgFault::Refused(r) => Fault::Refused(r),
            PgFault::SerialTaken => Fault::SerialTaken,
            PgFault::Db(e) => Fault::Refused(self.db_refusal(&e)),
            PgFault::Retry => Fault::Refused(Refusal::unavailable()),
            PgFault::Unsupported => Fault::Refused(Refusal::new(
                ErrorCode::InternalError,
                "this operation is not available with the PostgreSQL database",
            )),
        }
    }

    fn db_refusal(&self, e: &tokio_postgres::Error) -> Refusal {
        let r = classify(e);
        if r.code == ErrorCode::Unavailable {
            tracing::error!("database {}: unavailable: {e}", self.inner.target);
        } else if r.code == ErrorCode::InternalError {
            tracing::error!("database {}: {e}", self.inner.target);
        }
        r
    }
}

fn pool_detail(e: &PoolError) -> String {
    match e {
        PoolError::Timeout(_) => "no free connection within the pool's wait".into(),
        PoolError::Backend(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// The answer to a database error. Anything that may mean "the outcome is
/// not known" or "try again" is `unavailable`; the one constraint the
/// service relies on is `customer_has_token`; the rest is `internal_error`.
fn classify(e: &tokio_postgres::Error) -> Refusal {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        // The connection broke: whatever was sent has an unknown outcome.
        return Refusal::unavailable();
    }
    let Some(state) = e.code() else {
        // A parameter or row conversion error: a bug, nothing committed.
        return Refusal::internal();
    };
    if *state == SqlState::UNIQUE_VIOLATION
        && e.as_db_error().and_then(|d| d.constraint()) == Some("tokens_active_customer")
    {
        return ops::customer_has_token();
    }
    let code = state.code();
    let transient = code.starts_with("08") // connection exception
        || code.starts_with("57P") // admin/crash shutdown, cannot connect now
        || code == "53300" // too many connections
        || code == "25006" // read-only transaction (failover in progress)
        || code == "40001" // serialization failure
        || code == "40P01"; // deadlock detected
    if transient {
        Refusal::unavailable()
    } else {
        Refusal::internal()
    }
}

tokio::task_local! {
    /// The scope of the caller's key while a [`crate::scope::Scoped`]
    /// operation runs on this task.
    static SCOPE: &'static str;
}

/// Runs `fut` with `scope` as the scope every audit event it writes
/// carries (`events.scope`); events written outside keep it NULL.
pub(crate) fn with_scope<F: std::future::Future>(
    scope: &'static str,
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    SCOPE.scope(scope, fut)
}

/// The scope set by [`with_scope`] for the running task, if any.
pub(crate) fn current_scope() -> Option<&'static str> {
    SCOPE.try_with(|s| *s).ok()
}

/// What a PostgreSQL operation may use besides its connection.
#[derive(Debug)]
pub struct PgCtx<'a> {
    pub(crate) cfg: &'a PgConfig,
    pub(crate) sealer: &'a Sealer,
}

/// Why a PostgreSQL operation did not succeed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PgFault {
    /// Refused: the operation's writes so far are committed (failure counts).
    Refused(Refusal),
    /// The serial drawn at `init` is taken (nothing stored).
    SerialTaken,
    /// Database error: rolled back; answered by [`classify`].
    Db(tokio_postgres::Error),
    /// No connection, or a concurrent change made the operation
    /// inapplicable: rolled back, `unavailable`.
    Retry,
    /// The operation has no PostgreSQL statements (yet): `internal_error`,
    /// nothing written.
    Unsupported,
}

impl From<tokio_postgres::Error> for PgFault {
    fn from(e: tokio_postgres::Error) -> PgFault {
        PgFault::Db(e)
    }
}

impl From<Refusal> for PgFault {
    fn from(r: Refusal) -> PgFault {
        PgFault::Refused(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_escapes_and_wildcards() {
        let f = pgpass_fields(r"h\:x:5432:db:u:pa\:ss\\w:rd");
        assert_eq!(f, vec!["h:x", "5432", "db", "u", r"pa:ss\w:rd"]);
        let cfg: tokio_postgres::Config = "host=/tmp/s port=5433 user=u dbname=d".parse().unwrap();
        let text = "# comment\n*:5432:*:u:wrong\n/tmp/s:5433:d:other:wrong\n*:5433:d:u:right\n";
        assert_eq!(
            pgpass_lookup(text, &cfg).as_deref().map(String::as_str),
            Some("right")
        );
        let text = "localhost:*:*:u:sock\n";
        assert_eq!(
            pgpass_lookup(text, &cfg).as_deref().map(String::as_str),
            Some("sock")
        );
        assert!(pgpass_lookup("db.example:*:*:u:x\n", &cfg).is_none());
    }

    #[test]
    fn connection_string_errors_never_echo_it() {
        let err = connection_config("postgres://u:s3cr3t@h:notaport/db", None).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        let cfg = connection_config("postgres://u:s3cr3t@h:5432/db", None).unwrap();
        let shown = describe(&cfg);
        assert!(
            !shown.contains("s3cr3t") && shown.contains("user=u"),
            "{shown}"
        );
        assert!(!format!("{:?}", PgConfig::new(cfg)).contains("s3cr3t"));
    }

    #[test]
    fn password_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2\nignored\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = connection_config("host=/tmp user=u", Some(&p)).unwrap_err();
        assert!(matches!(err, PgError::PasswordFile { .. }));
        assert!(!err.to_string().contains("hunter2"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cfg = connection_config("host=/tmp user=u", Some(&p)).unwrap();
        assert_eq!(cfg.get_password(), Some(&b"hunter2"[..]));
        // A password in the string wins over the file.
        let cfg = connection_config("host=/tmp user=u password=inline", Some(&p)).unwrap();
        assert_eq!(cfg.get_password(), Some(&b"inline"[..]));
    }
}
