//! The token service's durable state: one SQLite database (WAL) owned by a
//! single writer thread that applies every state change.
//!
//! Contract:
//! * every request is one [`Operation`] (the types of [`crate::ops`])
//!   applied by the writer thread inside a SAVEPOINT of a `BEGIN IMMEDIATE`
//!   transaction; an operation's writes are all kept or (on a storage
//!   error) all rolled back;
//! * **group commit**: the writer takes every operation already queued (up
//!   to [`DbConfig::max_batch`]) into one transaction and commits — one
//!   fsync — before it answers any of them. Operations in a batch are
//!   applied in order and each sees the writes of the ones before, so a
//!   batch gives exactly the results of running them one by one; nobody is
//!   answered before the commit that made their change durable. With group
//!   commit off every operation has its own transaction;
//! * the verifier's record is stored with a compare-and-set
//!   (`UPDATE … WHERE serial = ? AND last_step IS ? AND …`) on
//!   the record that was read, so the same code never passes twice even if
//!   another writer (a second process on the same file) raced this one;
//! * token secrets and pairing-session secrets are stored only sealed
//!   ([`crate::seal`]); revoked and expired tokens lose their sealed
//!   secret (crypto-shredding).
//!
//! Adding an operation: a type implementing [`Operation`] in its own module
//! of [`crate::ops`]; a schema change is a new step in [`schema`].

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, Savepoint, TransactionBehavior};
use softtoken_core::Policy;
use tokio::sync::{mpsc, oneshot};

use crate::refusal::Refusal;
use crate::seal::Sealer;

pub mod pg;
pub(crate) mod rows;
pub mod schema;
pub(crate) mod txn;

/// SQLite `synchronous` setting of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// WAL synced at every commit: durable (the default).
    Full,
    /// WAL synced at checkpoints only: a power loss may lose the last
    /// commits (never corrupts). Not durable; for comparison only.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Where the token service keeps its state (`--database`).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// `sqlite:` — the SQLite file in the data directory.
    Sqlite,
    /// A libpq URL (`postgres://…`, `postgresql://…`) or key/value string.
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite => f.write_str("Sqlite"),
            // The string may hold a password.
            Database::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// `--database` is neither `sqlite:` nor a PostgreSQL connection string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--database must be `sqlite:` or a PostgreSQL connection string (postgres://… or key=value …)"
)]
pub struct BadDatabase;

impl std::str::FromStr for Database {
    type Err = BadDatabase;

    fn from_str(s: &str) -> Result<Database, BadDatabase> {
        let t = s.trim();
        if t == "sqlite:" || t == "sqlite" {
            Ok(Database::Sqlite)
        } else if t.starts_with("postgres://")
            || t.starts_with("postgresql://")
            || (t.contains('=') && !t.contains("://"))
        {
            Ok(Database::Postgres(t.to_string()))
        } else {
            Err(BadDatabase)
        }
    }
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Database file.
    pub path: PathBuf,
    /// `synchronous` pragma.
    pub synchronous: Synchronous,
    /// Batch queued operations into one transaction.
    pub group_commit: bool,
    /// Largest batch.
    pub max_batch: usize,
    /// Verification policy.
    pub policy: Policy,
    /// Seconds an issued token may stay unbound (`bind_by - finish time`).
    pub bind_ttl: u64,
    /// Most unfinished pairing sessions at a time (then `rate_limited`).
    pub max_pending_sessions: u64,
    /// Lifetime of a new STK1-TXN transaction, seconds (60..=900; the
    /// core refuses anything else at creation).
    pub txn_lifetime: u64,
    /// Most issued-but-unbound tokens at a time (then `init` answers
    /// `rate_limited`).
    pub max_unbound_tokens: u64,
}

impl DbConfig {
    /// Defaults for a database file: FULL, group commit on, batch 512,
    /// default policy, 24 h to bind, 10 000 pending sessions, 100 000
    /// unbound tokens, transactions of 300 s.
    pub fn new(path: PathBuf) -> DbConfig {
        DbConfig {
            path,
            synchronous: Synchronous::Full,
            group_commit: true,
            max_batch: 512,
            policy: Policy::default(),
            bind_ttl: 24 * 3600,
            max_pending_sessions: 10_000,
            txn_lifetime: softtoken_core::txn::DEFAULT_LIFETIME,
            max_unbound_tokens: 100_000,
        }
    }
}

/// Errors opening the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite refused to open or migrate the database.
    #[error("token-service database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the token-service database writer thread: {0}")]
    Thread(std::io::Error),
    /// The database was written by a newer schema.
    #[error("token-service database {path}: schema version {found} is newer than this server ({supported})")]
    Schema {
        /// The file.
        path: PathBuf,
        /// Found version.
        found: i64,
        /// Supported version.
        supported: i64,
    },
}

/// Why an operation did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// Refused with an STK1 error; the operation's writes so far are kept
    /// (e.g. a failure count).
    #[error("{}", .0.message)]
    Refused(Refusal),
    /// `provision/init` drew a serial that a token or a session already
    /// has; no session was stored and the caller draws another serial.
    #[error("serial already in use")]
    SerialTaken,
    /// Storage failed inside the writer; the operation's writes are rolled
    /// back. [`Db::run`] never returns it: its callers get
    /// `Refused(internal_error)` instead.
    #[error("storage: {0}")]
    Storage(rusqlite::Error),
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Fault {
        Fault::Storage(e)
    }
}

impl From<Refusal> for Fault {
    fn from(r: Refusal) -> Fault {
        Fault::Refused(r)
    }
}

impl From<Fault> for Refusal {
    /// The STK1 error a client sees: a refusal as is, anything else
    /// `internal_error`.
    fn from(f: Fault) -> Refusal {
        match f {
            Fault::Refused(r) => r,
            Fault::SerialTaken | Fault::Storage(_) => Refusal::internal(),
        }
    }
}

/// `Err(Fault::Refused(Refusal::new(code, message)))`.
pub(crate) fn refuse<T>(
    code: softtoken_core::stk1::messages::ErrorCode,
    message: &str,
) -> Result<T, Fault> {
    Err(Fault::Refused(Refusal::new(code, message)))
}

/// What an operation may use besides its savepoint.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// Settings (policy, limits).
    pub(crate) cfg: &'a DbConfig,
    /// The KEK.
    pub(crate) sealer: &'a Sealer,
}

/// One state change, applied by the writer thread.
///
/// `apply` runs inside the operation's own SAVEPOINT: returning
/// [`Fault::Storage`] rolls back everything it wrote, any other result
/// keeps it. It returns exactly what the operation can produce, so its
/// caller has no impossible case to handle.
pub trait Operation: Send + 'static {
    /// The answer of a successful operation.
    type Output: Send + 'static;

    /// Applies the operation at time `now` (Unix seconds).
    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<Self::Output, Fault>;

    /// The same operation on PostgreSQL ([`pg`]), with the same results.
    /// The implementation chooses its transactions (the verification hot
    /// path is auto-committed statements; everything else one
    /// transaction). Without an override the operation answers
    /// `internal_error` on PostgreSQL and writes nothing.
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, pg::PgFault>> + Send + 'a
    where
        Self: Sized,
    {
        let _ = (self, client, ctx, now);
        std::future::ready(Err(pg::PgFault::Unsupported))
    }
}

/// A queued operation with its reply channel, type-erased for the queue.
trait Queued: Send {
    /// Applies the operation in `sp` and keeps its result. Returns `false`
    /// when its writes must be rolled back (storage error).
    fn apply(&mut self, sp: &mut Savepoint<'_>, ctx: &Ctx<'_>) -> bool;
    /// Replaces the kept result with `internal_error`.
    fn fail(&mut self);
    /// Sends the kept result, or `internal_error` if the batch did not
    /// commit.
    fn answer(self: Box<Self>, committed: bool);
}

type Reply<O> = oneshot::Sender<Result<<O as Operation>::Output, Fault>>;

struct Job<O: Operation> {
    op: Option<O>,
    now: u64,
    result: Option<Result<O::Output, Fault>>,
    reply: Reply<O>,
}

fn internal() -> Fault {
    Fault::Refused(Refusal::internal())
}

impl<O: Operation> Queued for Job<O> {
    fn apply(&mut self, sp: &mut Savepoint<'_>, ctx: &Ctx<'_>) -> bool {
        let Some(op) = self.op.take() else {
            self.result = Some(Err(internal()));
            return false;
        };
        match op.apply(sp, ctx, self.now) {
            Err(Fault::Storage(e)) => {
                tracing::error!("storage error, operation rolled back: {e}");
                self.result = Some(Err(internal()));
                false
            }
            other => {
                self.result = Some(other);
                true
            }
        }
    }

    fn fail(&mut self) {
        self.result = Some(Err(internal()));
    }

    fn answer(self: Box<Self>, committed: bool) {
        let result = match self.result {
            Some(r) if committed => r,
            _ => Err(internal()),
        };
        let _ = self.reply.send(result);
    }
}

/// Handle to the token service's state: the SQLite writer thread or the
/// PostgreSQL pool, chosen at start-up. Cheap to clone. Both backends give
/// the same results for the same operations.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(mpsc::Sender<Box<dyn Queued>>),
    Postgres(pg::PgStore),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Sqlite(_) => f.write_str("Db(sqlite)"),
            Backend::Postgres(p) => write!(f, "Db({p:?})"),
        }
    }
}

impl Db {
    /// Opens (creating and migrating) the SQLite database and starts the
    /// writer thread. The thread ends when every [`Db`] handle is dropped.
    pub fn open(cfg: DbConfig, sealer: Arc<Sealer>) -> Result<Db, DbError> {
        let conn = schema::open(&cfg)?;
        let (tx, rx) = mpsc::channel::<Box<dyn Queued>>(8192);
        std::thread::Builder::new()
            .name("token-db-writer".into())
            .spawn(move || writer(conn, cfg, sealer, rx))
            .map_err(DbError::Thread)?;
        Ok(Db {
            backend: Backend::Sqlite(tx),
        })
    }

    /// Opens the PostgreSQL database (see [`pg::PgStore::open`]).
    pub async fn open_postgres(
        cfg: pg::PgConfig,
        sealer: Arc<Sealer>,
        key_checks: &[(&str, Vec<u8>)],
    ) -> Result<Db, pg::PgError> {
        Ok(Db {
            backend: Backend::Postgres(pg::PgStore::open(cfg, sealer, key_checks).await?),
        })
    }

    /// Applies `op` at time `now` and waits for its durable result. The
    /// error is never [`Fault::Storage`] (see there); on PostgreSQL a
    /// database that cannot be reached is `Refused(unavailable)`.
    pub async fn run<O: Operation>(&self, op: O, now: u64) -> Result<O::Output, Fault> {
        match &self.backend {
            Backend::Sqlite(tx) => {
                let (reply, rx) = oneshot::channel();
                let job = Job {
                    op: Some(op),
                    now,
                    result: None,
                    reply,
                };
                tx.send(Box::new(job)).await.map_err(|_| internal())?;
                rx.await.unwrap_or_else(|_| Err(internal()))
            }
            Backend::Postgres(p) => p.run(op, now).await,
        }
    }

    /// Whether the store can serve: the SQLite writer is running; the
    /// PostgreSQL database answers within `timeout` with the schema this
    /// build knows. The error says what is missing.
    pub async fn ready(&self, timeout: std::time::Duration) -> Result<(), &'static str> {
        match &self.backend {
            Backend::Sqlite(tx) if tx.is_closed() => Err("the database writer has stopped"),
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(p) => p.ready(timeout).await,
        }
    }

    /// Connection-pool occupancy (PostgreSQL only).
    pub fn pool_stats(&self) -> Option<pg::PoolStats> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(p) => Some(p.pool_stats()),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

fn writer(
    mut conn: Connection,
    cfg: DbConfig,
    sealer: Arc<Sealer>,
    mut rx: mpsc::Receiver<Box<dyn Queued>>,
) {
    let ctx = Ctx {
        cfg: &cfg,
        sealer: &sealer,
    };
    let max = if cfg.group_commit {
        cfg.max_batch.max(1)
    } else {
        1
    };
    let mut batch: Vec<Box<dyn Queued>> = Vec::with_capacity(max);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = run_batch(&mut conn, &ctx, &mut batch);
        for job in batch.drain(..) {
            job.answer(committed);
        }
    }
}

/// Applies a batch in one transaction; `true` if it committed.
fn run_batch(conn: &mut Connection, ctx: &Ctx<'_>, batch: &mut [Box<dyn Queued>]) -> bool {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!("begin transaction: {e}");
            return false;
        }
    };
    for job in batch.iter_mut() {
        match tx.savepoint() {
            Ok(mut sp) => {
                if job.apply(&mut sp, ctx) {
                    if let Err(e) = sp.commit() {
                        tracing::error!("release savepoint: {e}");
                        job.fail();
                    }
                }
                // Otherwise dropping `sp` rolls the operation back.
            }
            Err(e) => {
                tracing::error!("savepoint: {e}");
                job.fail();
            }
        }
    }
    match tx.commit() {
        Ok(()) => true,
        Err(e) => {
            tracing::error!("commit failed, batch of {} rolled back: {e}", batch.len());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_argument() {
        assert_eq!("sqlite:".parse::<Database>(), Ok(Database::Sqlite));
        assert!(matches!(
            "postgres://u@/db?host=/tmp".parse::<Database>(),
            Ok(Database::Postgres(_))
        ));
        assert!(matches!(
            "host=/tmp user=u dbname=d".parse::<Database>(),
            Ok(Database::Postgres(_))
        ));
        for bad in ["", "mysql://x", "sqlite:/x.db", "http://x=y"] {
            assert_eq!(bad.parse::<Database>(), Err(BadDatabase), "{bad}");
        }
        let d: Database = "postgres://u:secret@h/db".parse().unwrap();
        assert!(!format!("{d:?}").contains("secret"));
    }
}
