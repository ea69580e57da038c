//! The token service's durable state: one SQLite database (WAL) owned by a
//! single writer thread that applies every state change.
//!
//! Contract:
//! * every request is one [`Op`] applied by the writer thread inside a
//!   SAVEPOINT of a `BEGIN IMMEDIATE` transaction; an op's writes are all
//!   kept or (on a storage error) all rolled back;
//! * **group commit**: the writer takes every op already queued (up to
//!   [`StoreConfig::max_batch`]) into one transaction and commits — one
//!   fsync — before it answers any of them. Ops in a batch are applied in
//!   order and each sees the writes of the ones before, so a batch gives
//!   exactly the results of running its ops one by one; nobody is answered
//!   before the commit that made their change durable. With group commit
//!   off every op has its own transaction;
//! * the verifier's record is stored with a compare-and-set
//!   (`UPDATE … WHERE serial = ? AND last_step IS ? AND …`) on the record
//!   that was read, so the same code never passes twice even if another
//!   writer (a second process on the same file) raced this one;
//! * token secrets and pairing-session secrets are stored only sealed
//!   ([`crate::seal`]); revoked and expired tokens lose their sealed
//!   secret (crypto-shredding).

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use softtoken_core::encoding::encode;
use softtoken_core::stk1::messages::{
    ErrorCode, FinishRequest, FinishResponse, OtpText, Purpose, TokenState,
};
use softtoken_core::stk1::server::PendingSession;
use softtoken_core::{Generator, Params, Policy, Secret, Serial, TokenRecord, Verdict};
use tokio::sync::{mpsc, oneshot};

use crate::refusal::Refusal;
use crate::seal::Sealer;

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
    /// Parses `full` or `normal`.
    pub fn parse(text: &str) -> Option<Synchronous> {
        match text.to_ascii_lowercase().as_str() {
            "full" => Some(Synchronous::Full),
            "normal" => Some(Synchronous::Normal),
            _ => None,
        }
    }

    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Database file.
    pub path: PathBuf,
    /// `synchronous` pragma.
    pub synchronous: Synchronous,
    /// Batch queued ops into one transaction.
    pub group_commit: bool,
    /// Largest batch.
    pub max_batch: usize,
    /// Verification policy.
    pub policy: Policy,
    /// Seconds an issued token may stay unbound (`bind_by - finish time`).
    pub bind_ttl: u64,
    /// Most unfinished pairing sessions at a time (then `rate_limited`).
    pub max_pending_sessions: u64,
}

impl StoreConfig {
    /// Defaults for a database file: FULL, group commit on, batch 512,
    /// default policy, 24 h to bind, 10 000 pending sessions.
    pub fn new(path: PathBuf) -> StoreConfig {
        StoreConfig {
            path,
            synchronous: Synchronous::Full,
            group_commit: true,
            max_batch: 512,
            policy: Policy::default(),
            bind_ttl: 24 * 3600,
            max_pending_sessions: 10_000,
        }
    }
}

/// Errors opening the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused to open or migrate the database.
    #[error("token-service database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the token-store writer thread: {0}")]
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

/// A request to the writer.
#[derive(Debug)]
pub enum Op {
    /// Store a pairing session from `provision/init`.
    CreateSession {
        /// The session (its token key is sealed before storing).
        pending: PendingSession,
        /// Unix time after which `finish` is refused.
        expires_at: u64,
    },
    /// `provision/finish`.
    Finish {
        /// Decoded session id.
        session_id: [u8; 16],
        /// The request.
        req: FinishRequest,
    },
    /// Token state (`tokens/{serial}/status`).
    Status {
        /// Serial.
        serial: Serial,
    },
    /// `bank/bind`.
    Bind {
        /// Customer.
        customer_id: String,
        /// Serial as typed.
        serial: String,
        /// Code as typed.
        otp: OtpText,
    },
    /// `bank/verify`.
    Verify {
        /// Customer.
        customer_id: String,
        /// Code as typed.
        otp: OtpText,
        /// Purpose (audit log).
        purpose: Purpose,
    },
    /// `bank/change`.
    Change {
        /// Customer.
        customer_id: String,
        /// Old token's code.
        old_otp: OtpText,
        /// New serial as typed.
        new_serial: String,
        /// New token's code.
        new_otp: OtpText,
    },
    /// `bank/deactivate`.
    Deactivate {
        /// Customer.
        customer_id: String,
        /// Code.
        otp: OtpText,
    },
    /// `admin/resync`.
    Resync {
        /// Serial as typed.
        serial: String,
        /// First code.
        otp1: OtpText,
        /// Next code.
        otp2: OtpText,
    },
    /// `admin/unlock`.
    Unlock {
        /// Serial as typed.
        serial: String,
    },
}

/// What a successful op returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Session stored.
    SessionCreated,
    /// Finish answer.
    Finished(FinishResponse),
    /// Token state.
    State(TokenState),
    /// Bound (serial).
    Bound(Serial),
    /// Code accepted.
    Verified,
    /// Changed (previous serial, new serial).
    Changed(Serial, Serial),
    /// Revoked (serial).
    Deactivated(Serial),
    /// Resynced (drift in steps).
    Resynced(i64),
    /// Unlocked.
    Unlocked,
}

/// Why `CreateSession` failed in a way the caller can retry.
pub const SERIAL_TAKEN: &str = "serial already in use";

struct Job {
    op: Op,
    now: u64,
    reply: oneshot::Sender<Result<Outcome, Refusal>>,
}

/// Handle to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
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

/// Creates the SQLite file `path` with mode 0600 if absent and tightens an
/// existing one and its `-wal`/`-shm` files to 0600. SQLite gives the WAL
/// files the mode of the database file, so creating it first is enough for
/// new files. Errors are ignored here: opening the database reports them.
pub(crate) fn restrict_db_files(path: &std::path::Path) {
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

fn open(cfg: &StoreConfig) -> Result<Connection, StoreError> {
    let err = |source| StoreError::Open {
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
    if version > SCHEMA_VERSION {
        return Err(StoreError::Schema {
            path: cfg.path.clone(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    conn.execute_batch(&format!(
        "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))
    .map_err(err)?;
    Ok(conn)
}

impl Store {
    /// Opens (creating and migrating) the database and starts the writer
    /// thread. The thread ends when every [`Store`] handle is dropped.
    pub fn open(cfg: StoreConfig, sealer: Arc<Sealer>) -> Result<Store, StoreError> {
        let conn = open(&cfg)?;
        let (tx, rx) = mpsc::channel::<Job>(8192);
        std::thread::Builder::new()
            .name("token-store-writer".into())
            .spawn(move || writer(conn, cfg, sealer, rx))
            .map_err(StoreError::Thread)?;
        Ok(Store { tx })
    }

    /// Applies `op` at time `now` and waits for its durable result.
    pub async fn run(&self, op: Op, now: u64) -> Result<Outcome, Refusal> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { op, now, reply })
            .await
            .map_err(|_| Refusal::internal())?;
        rx.await.unwrap_or_else(|_| Err(Refusal::internal()))
    }
}

fn writer(
    mut conn: Connection,
    cfg: StoreConfig,
    sealer: Arc<Sealer>,
    mut rx: mpsc::Receiver<Job>,
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
    let mut batch: Vec<Job> = Vec::with_capacity(max);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = run_batch(&mut conn, &ctx, &mut batch);
        for (job, result) in batch.drain(..).zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

fn run_batch(conn: &mut Connection, ctx: &Ctx, batch: &mut [Job]) -> Vec<Result<Outcome, Refusal>> {
    let fail_all = |n: usize| (0..n).map(|_| Err(Refusal::internal())).collect();
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!("begin transaction: {e}");
            return fail_all(batch.len());
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        let op = std::mem::replace(
            &mut job.op,
            Op::Unlock {
                serial: String::new(),
            },
        );
        let result = match tx.savepoint() {
            Ok(mut sp) => match apply(&mut sp, ctx, op, job.now) {
                Err(Fault::Storage(e)) => {
                    tracing::error!("storage error, op rolled back: {e}");
                    drop(sp);
                    Err(Refusal::internal())
                }
                other => match sp.commit() {
                    Ok(()) => other.map_err(|f| match f {
                        Fault::Refused(r) => r,
                        Fault::Storage(_) => Refusal::internal(),
                    }),
                    Err(e) => {
                        tracing::error!("release savepoint: {e}");
                        Err(Refusal::internal())
                    }
                },
            },
            Err(e) => {
                tracing::error!("savepoint: {e}");
                Err(Refusal::internal())
            }
        };
        results.push(result);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => {
            tracing::error!("commit failed, batch of {} rolled back: {e}", batch.len());
            fail_all(batch.len())
        }
    }
}

struct Ctx<'a> {
    cfg: &'a StoreConfig,
    sealer: &'a Sealer,
}

/// Why an op failed inside the writer.
enum Fault {
    /// Refused: the op's writes so far are kept (e.g. a failure count).
    Refused(Refusal),
    /// Storage failed: the op's writes are rolled back.
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

type OpResult = Result<Outcome, Fault>;

fn refuse<T>(code: ErrorCode, message: &str) -> Result<T, Fault> {
    Err(Fault::Refused(Refusal::new(code, message)))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn session_aad(id: &[u8; 16]) -> Vec<u8> {
    format!("session:{}", encode(id)).into_bytes()
}

fn token_aad(serial: &str) -> Vec<u8> {
    format!("token:{serial}").into_bytes()
}

/// A token row as the verifier needs it.
struct TokenRow {
    serial: String,
    state: String,
    sealed: Option<Vec<u8>>,
    record: TokenRecord,
    bind_by: u64,
}

const TOKEN_COLS: &str =
    "serial, state, sealed_secret, last_step, drift, fail_count, locked, bind_by";

fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    let last: Option<i64> = r.get(3)?;
    Ok(TokenRow {
        serial: r.get(0)?,
        state: r.get(1)?,
        sealed: r.get(2)?,
        record: TokenRecord {
            last_step: last.map(|s| s.max(0) as u64),
            drift: r.get(4)?,
            fail_count: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
            locked: r.get::<_, i64>(6)? != 0,
        },
        bind_by: r.get::<_, i64>(7)?.max(0) as u64,
    })
}

fn token_by_serial(c: &Connection, serial: &str) -> rusqlite::Result<Option<TokenRow>> {
    c.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE serial = ?1"
    ))?
    .query_row([serial], token_from_row)
    .optional()
}

fn active_token(c: &Connection, customer: &str) -> rusqlite::Result<Option<TokenRow>> {
    c.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE customer_id = ?1 AND state = 'active'"
    ))?
    .query_row([customer], token_from_row)
    .optional()
}

fn generator(ctx: &Ctx, t: &TokenRow) -> Result<Generator, Fault> {
    let Some(blob) = &t.sealed else {
        return Err(Fault::Refused(Refusal::internal()));
    };
    let plain = ctx.sealer.open(blob, &token_aad(&t.serial)).map_err(|e| {
        tracing::error!("token {}: {e}", t.serial);
        Fault::Refused(Refusal::internal())
    })?;
    let secret = Secret::from_slice(&plain);
    Generator::new(&secret, Params::STK1).map_err(|_| Fault::Refused(Refusal::internal()))
}

/// Compare-and-set of the verifier record: succeeds only if the row still
/// holds `old`. Returns `false` when another writer changed it first.
fn cas_record(
    c: &Connection,
    serial: &str,
    old: &TokenRecord,
    new: &TokenRecord,
) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE tokens SET last_step = ?1, drift = ?2, fail_count = ?3, locked = ?4
             WHERE serial = ?5 AND last_step IS ?6 AND drift = ?7 AND fail_count = ?8 AND locked = ?9",
        )?
        .execute(params![
            new.last_step.map(to_i64),
            new.drift,
            new.fail_count,
            new.locked,
            serial,
            old.last_step.map(to_i64),
            old.drift,
            old.fail_count,
            old.locked,
        ])?;
    Ok(n == 1)
}

fn event(
    c: &Connection,
    now: u64,
    serial: Option<&str>,
    customer: Option<&str>,
    kind: &str,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO events(at, serial, customer_id, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![to_i64(now), serial, customer, kind, detail])?;
    Ok(())
}

/// The result of checking one code against one token, after storing the
/// record (compare-and-set).
enum Checked {
    Accepted,
    Replay,
    Locked,
    Invalid { fail_count: u32, now_locked: bool },
}

/// Verifies `otp` for token `t` and stores the verdict's record with a
/// compare-and-set, re-reading and re-verifying if the row changed under us.
fn check_and_store(
    c: &Connection,
    ctx: &Ctx,
    mut t: TokenRow,
    otp: &str,
    now: u64,
) -> Result<(Checked, TokenRow), Fault> {
    let gen = generator(ctx, &t)?;
    for _ in 0..3 {
        let verdict = ctx.cfg.policy.verify(&gen, &t.record, otp, now);
        let (new, checked) = match verdict {
            Verdict::Accepted { record, .. } => (record, Checked::Accepted),
            Verdict::Invalid { record } => (
                record,
                Checked::Invalid {
                    fail_count: record.fail_count,
                    now_locked: record.locked,
                },
            ),
            Verdict::Replay => return Ok((Checked::Replay, t)),
            _ => return Ok((Checked::Locked, t)),
        };
        if cas_record(c, &t.serial, &t.record, &new)? {
            t.record = new;
            return Ok((checked, t));
        }
        match token_by_serial(c, &t.serial)? {
            Some(fresh) => t = fresh,
            None => break,
        }
    }
    Err(Fault::Refused(Refusal::internal()))
}

fn apply(c: &mut rusqlite::Savepoint<'_>, ctx: &Ctx, op: Op, now: u64) -> OpResult {
    match op {
        Op::CreateSession {
            pending,
            expires_at,
        } => create_session(c, ctx, pending, expires_at, now),
        Op::Finish { session_id, req } => finish(c, ctx, session_id, &req, now),
        Op::Status { serial } => status(c, &serial, now),
        Op::Bind {
            customer_id,
            serial,
            otp,
        } => bind(c, ctx, &customer_id, &serial, &otp, now),
        Op::Verify {
            customer_id,
            otp,
            purpose,
        } => verify(c, ctx, &customer_id, &otp, purpose, now),
        Op::Change {
            customer_id,
            old_otp,
            new_serial,
            new_otp,
        } => change(c, ctx, &customer_id, &old_otp, &new_serial, &new_otp, now),
        Op::Deactivate { customer_id, otp } => deactivate(c, ctx, &customer_id, &otp, now),
        Op::Resync { serial, otp1, otp2 } => resync(c, ctx, &serial, &otp1, &otp2, now),
        Op::Unlock { serial } => unlock(c, &serial, now),
    }
}

/// Expires unbound tokens past `bind_by` and drops dead sessions.
fn sweep(c: &Connection, now: u64) -> rusqlite::Result<()> {
    let now = to_i64(now);
    c.prepare_cached(
        "UPDATE tokens SET state = 'expired', sealed_secret = NULL WHERE state = 'issued' AND bind_by < ?1",
    )?
    .execute([now])?;
    c.prepare_cached("DELETE FROM sessions WHERE finished_at IS NULL AND expires_at < ?1")?
        .execute([now])?;
    // Finished sessions are kept a day past their expiry so that a repeated
    // finish still gets its answer.
    c.prepare_cached(
        "DELETE FROM sessions WHERE finished_at IS NOT NULL AND expires_at < ?1 - 86400",
    )?
    .execute([now])?;
    Ok(())
}

fn create_session(
    c: &Connection,
    ctx: &Ctx,
    p: PendingSession,
    expires_at: u64,
    now: u64,
) -> OpResult {
    sweep(c, now)?;
    let pending: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM sessions WHERE finished_at IS NULL")?
        .query_row([], |r| r.get(0))?;
    if pending as u64 >= ctx.cfg.max_pending_sessions {
        return refuse(
            ErrorCode::RateLimited,
            "too many pairings in progress; try again in a few minutes",
        );
    }
    let serial = p.serial.as_str();
    let taken: bool = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM tokens WHERE serial = ?1) OR EXISTS(SELECT 1 FROM sessions WHERE serial = ?1)",
        )?
        .query_row([serial], |r| r.get(0))?;
    if taken {
        return refuse(ErrorCode::InternalError, SERIAL_TAKEN);
    }
    let aad = session_aad(&p.session_id);
    let mut key_aad = aad.clone();
    key_aad.extend_from_slice(b":key");
    let sealed_key = ctx.sealer.seal(p.token_key.expose(), &key_aad);
    let sealed_confirm = ctx.sealer.seal(&p.client_confirm, &aad);
    c.prepare_cached(
        "INSERT INTO sessions(session_id, serial, sealed_key, sealed_confirm, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![&p.session_id[..], serial, sealed_key, sealed_confirm, to_i64(expires_at)])?;
    Ok(Outcome::SessionCreated)
}

/// Confirmation failures after which an unfinished session is dropped.
const MAX_CONFIRM_FAILURES: i64 = 5;

fn finish(c: &Connection, ctx: &Ctx, id: [u8; 16], req: &FinishRequest, now: u64) -> OpResult {
    type SessionRow = (
        String,
        Option<Vec<u8>>,
        Vec<u8>,
        i64,
        Option<i64>,
        Option<i64>,
        i64,
    );
    let row: Option<SessionRow> = c
        .prepare_cached(
            "SELECT serial, sealed_key, sealed_confirm, expires_at, finished_at, bind_by, confirm_failures
             FROM sessions WHERE session_id = ?1",
        )?
        .query_row([&id[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    let Some((serial_text, sealed_key, sealed_confirm, expires_at, finished_at, bind_by, failures)) =
        row
    else {
        return refuse(
            ErrorCode::SessionExpired,
            "no such pairing session (expired or never started)",
        );
    };
    let finished = finished_at.is_some();
    if !finished && to_i64(now) > expires_at {
        c.prepare_cached("DELETE FROM sessions WHERE session_id = ?1")?
            .execute([&id[..]])?;
        return refuse(
            ErrorCode::SessionExpired,
            "the pairing session has expired; start again",
        );
    }
    let aad = session_aad(&id);
    let confirm = ctx.sealer.open(&sealed_confirm, &aad).map_err(|e| {
        tracing::error!("session {}: {e}", encode(&id));
        Fault::Refused(Refusal::internal())
    })?;
    let serial =
        Serial::parse_strict(&serial_text).map_err(|_| Fault::Refused(Refusal::internal()))?;
    let mut client_confirm = [0u8; 32];
    if confirm.len() != 32 {
        return Err(Fault::Refused(Refusal::internal()));
    }
    client_confirm.copy_from_slice(&confirm);
    let check = PendingSession {
        session_id: id,
        serial: serial.clone(),
        token_key: Secret::new(Vec::new()),
        client_confirm,
    };
    if let Err(e) = check.check_finish(req) {
        if e.code() == ErrorCode::ConfirmFailed && !finished {
            if failures + 1 >= MAX_CONFIRM_FAILURES {
                c.prepare_cached("DELETE FROM sessions WHERE session_id = ?1")?
                    .execute([&id[..]])?;
            } else {
                c.prepare_cached("UPDATE sessions SET confirm_failures = confirm_failures + 1 WHERE session_id = ?1")?
                    .execute([&id[..]])?;
            }
        }
        return Err(Fault::Refused(e.into()));
    }
    if let (true, Some(bind_by)) = (finished, bind_by) {
        return Ok(Outcome::Finished(FinishResponse {
            v: 1,
            serial,
            state: TokenState::Issued,
            bind_by: bind_by.max(0) as u64,
        }));
    }
    let Some(sealed_key) = sealed_key else {
        return Err(Fault::Refused(Refusal::internal()));
    };
    let mut key_aad = aad.clone();
    key_aad.extend_from_slice(b":key");
    let key = ctx.sealer.open(&sealed_key, &key_aad).map_err(|e| {
        tracing::error!("session {}: {e}", encode(&id));
        Fault::Refused(Refusal::internal())
    })?;
    let sealed_secret = ctx.sealer.seal(&key, &token_aad(serial.as_str()));
    let bind_by = now.saturating_add(ctx.cfg.bind_ttl);
    c.prepare_cached(
        "INSERT INTO tokens(serial, state, sealed_secret, issued_at, bind_by) VALUES (?1, 'issued', ?2, ?3, ?4)",
    )?
    .execute(params![serial.as_str(), sealed_secret, to_i64(now), to_i64(bind_by)])?;
    c.prepare_cached("UPDATE sessions SET finished_at = ?2, bind_by = ?3, sealed_key = NULL WHERE session_id = ?1")?
        .execute(params![&id[..], to_i64(now), to_i64(bind_by)])?;
    event(c, now, Some(serial.as_str()), None, "issued", None)?;
    Ok(Outcome::Finished(FinishResponse {
        v: 1,
        serial,
        state: TokenState::Issued,
        bind_by,
    }))
}

/// The state of a row, expiring an unbound token past `bind_by`.
fn effective_state(c: &Connection, t: &TokenRow, now: u64) -> rusqlite::Result<TokenState> {
    Ok(match t.state.as_str() {
        "issued" if now > t.bind_by => {
            c.prepare_cached(
                "UPDATE tokens SET state = 'expired', sealed_secret = NULL WHERE serial = ?1",
            )?
            .execute([&t.serial])?;
            event(c, now, Some(&t.serial), None, "expired", None)?;
            TokenState::Expired
        }
        "issued" => TokenState::Issued,
        "active" => TokenState::Active,
        "revoked" => TokenState::Revoked,
        _ => TokenState::Expired,
    })
}

fn status(c: &Connection, serial: &Serial, now: u64) -> OpResult {
    let state = match token_by_serial(c, serial.as_str())? {
        Some(t) => effective_state(c, &t, now)?,
        None => TokenState::Expired,
    };
    Ok(Outcome::State(state))
}

const BIND_INVALID: &str = "the serial number or the one-time password is not valid";

/// An issued, unexpired token for a typed serial, or `serial_or_otp_invalid`.
fn issued_token(c: &Connection, typed: &str, now: u64) -> Result<TokenRow, Fault> {
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    let Some(t) = token_by_serial(c, serial.as_str())? else {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    if effective_state(c, &t, now)? != TokenState::Issued {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    }
    Ok(t)
}

fn locked_refusal() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::Locked,
        "the token is locked after too many wrong codes; the bank must unlock it",
    ))
}

fn replay_refusal() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::Replay,
        "this one-time password was already used; wait for the next one",
    ))
}

fn bind(c: &Connection, ctx: &Ctx, customer: &str, typed: &str, otp: &str, now: u64) -> OpResult {
    if active_token(c, customer)?.is_some() {
        return refuse(
            ErrorCode::CustomerHasToken,
            "the customer already has an active token; use change (交換)",
        );
    }
    let t = issued_token(c, typed, now)?;
    let (checked, t) = check_and_store(c, ctx, t, otp, now)?;
    match checked {
        Checked::Accepted => {
            c.prepare_cached(
                "UPDATE tokens SET state = 'active', customer_id = ?2, bound_at = ?3 WHERE serial = ?1 AND state = 'issued'",
            )?
            .execute(params![&t.serial, customer, to_i64(now)])?;
            event(c, now, Some(&t.serial), Some(customer), "bound", None)?;
            let serial =
                Serial::parse_strict(&t.serial).map_err(|_| Fault::Refused(Refusal::internal()))?;
            Ok(Outcome::Bound(serial))
        }
        Checked::Replay => Err(replay_refusal()),
        Checked::Locked => Err(locked_refusal()),
        Checked::Invalid { now_locked, .. } => {
            event(c, now, Some(&t.serial), Some(customer), "bind_failed", None)?;
            if now_locked {
                event(c, now, Some(&t.serial), Some(customer), "locked", None)?;
                return Err(locked_refusal());
            }
            refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID)
        }
    }
}

/// Checks a code of the customer's active token; on failure returns the
/// refusal with `invalid_code` (`invalid_otp` or `old_otp_invalid`).
fn check_active(
    c: &Connection,
    ctx: &Ctx,
    customer: &str,
    otp: &str,
    now: u64,
    invalid_code: ErrorCode,
    purpose: &str,
) -> Result<TokenRow, Fault> {
    let Some(t) = active_token(c, customer)? else {
        return refuse(ErrorCode::NoToken, "the customer has no active token");
    };
    let (checked, t) = check_and_store(c, ctx, t, otp, now)?;
    match checked {
        Checked::Accepted => Ok(t),
        Checked::Replay => {
            event(
                c,
                now,
                Some(&t.serial),
                Some(customer),
                "replay",
                Some(purpose),
            )?;
            Err(replay_refusal())
        }
        Checked::Locked => Err(locked_refusal()),
        Checked::Invalid {
            fail_count,
            now_locked,
        } => {
            event(
                c,
                now,
                Some(&t.serial),
                Some(customer),
                "failed",
                Some(purpose),
            )?;
            if now_locked {
                event(c, now, Some(&t.serial), Some(customer), "locked", None)?;
                return Err(locked_refusal());
            }
            Err(Fault::Refused(
                Refusal::new(invalid_code, "the one-time password is not correct")
                    .with_fail_count(fail_count),
            ))
        }
    }
}

fn verify(
    c: &Connection,
    ctx: &Ctx,
    customer: &str,
    otp: &str,
    purpose: Purpose,
    now: u64,
) -> OpResult {
    let t = check_active(
        c,
        ctx,
        customer,
        otp,
        now,
        ErrorCode::InvalidOtp,
        purpose.as_str(),
    )?;
    event(
        c,
        now,
        Some(&t.serial),
        Some(customer),
        "verified",
        Some(purpose.as_str()),
    )?;
    Ok(Outcome::Verified)
}

fn revoke(c: &Connection, serial: &str, now: u64) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE tokens SET state = 'revoked', sealed_secret = NULL, revoked_at = ?2 WHERE serial = ?1")?
        .execute(params![serial, to_i64(now)])?;
    Ok(())
}

fn deactivate(c: &Connection, ctx: &Ctx, customer: &str, otp: &str, now: u64) -> OpResult {
    let t = check_active(
        c,
        ctx,
        customer,
        otp,
        now,
        ErrorCode::InvalidOtp,
        "deactivate",
    )?;
    revoke(c, &t.serial, now)?;
    event(c, now, Some(&t.serial), Some(customer), "revoked", None)?;
    Ok(Outcome::Deactivated(
        Serial::parse_strict(&t.serial).map_err(|_| Fault::Refused(Refusal::internal()))?,
    ))
}

fn change(
    c: &mut rusqlite::Savepoint<'_>,
    ctx: &Ctx,
    customer: &str,
    old_otp: &str,
    new_serial: &str,
    new_otp: &str,
    now: u64,
) -> OpResult {
    // The old token's failures are kept whatever happens next.
    if active_token(c, customer)?.is_none() {
        return refuse(ErrorCode::NoToken, "the customer has no active token");
    }
    let new = match issued_token(c, new_serial, now) {
        Ok(t) => Some(t),
        Err(Fault::Refused(_)) => None,
        Err(e) => return Err(e),
    };
    // Accepting the old code happens in a nested savepoint: if the new
    // token then fails, the old token is left exactly as it was (its code
    // not consumed), so the customer can retry with the same code.
    let inner = c.savepoint()?;
    let old = match check_active(
        &inner,
        ctx,
        customer,
        old_otp,
        now,
        ErrorCode::OldOtpInvalid,
        "change",
    ) {
        Ok(t) => t,
        Err(Fault::Refused(r)) => {
            inner.commit()?; // keep the old token's failure count
            return Err(Fault::Refused(r));
        }
        Err(e) => return Err(e),
    };
    let Some(new) = new else {
        drop(inner);
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    let new_record_before = new.record;
    let (checked, new) = check_and_store(&inner, ctx, new, new_otp, now)?;
    match checked {
        Checked::Accepted => {
            revoke(&inner, &old.serial, now)?;
            inner
                .prepare_cached(
                    "UPDATE tokens SET state = 'active', customer_id = ?2, bound_at = ?3 WHERE serial = ?1 AND state = 'issued'",
                )?
                .execute(params![&new.serial, customer, to_i64(now)])?;
            event(
                &inner,
                now,
                Some(&old.serial),
                Some(customer),
                "changed_from",
                Some(&new.serial),
            )?;
            event(
                &inner,
                now,
                Some(&new.serial),
                Some(customer),
                "changed_to",
                Some(&old.serial),
            )?;
            inner.commit()?;
            let p = Serial::parse_strict(&old.serial)
                .map_err(|_| Fault::Refused(Refusal::internal()))?;
            let s = Serial::parse_strict(&new.serial)
                .map_err(|_| Fault::Refused(Refusal::internal()))?;
            Ok(Outcome::Changed(p, s))
        }
        other => {
            drop(inner); // rolls back the old token's acceptance
            match other {
                Checked::Replay => Err(replay_refusal()),
                Checked::Locked => Err(locked_refusal()),
                Checked::Invalid { .. } => {
                    // Keep the new token's failure count (outside the rollback).
                    let gen = generator(ctx, &new)?;
                    if let Verdict::Invalid { record } =
                        ctx.cfg
                            .policy
                            .verify(&gen, &new_record_before, new_otp, now)
                    {
                        cas_record(c, &new.serial, &new_record_before, &record)?;
                        event(
                            c,
                            now,
                            Some(&new.serial),
                            Some(customer),
                            "bind_failed",
                            None,
                        )?;
                        if record.locked {
                            return Err(locked_refusal());
                        }
                    }
                    refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID)
                }
                Checked::Accepted => Err(Fault::Refused(Refusal::internal())),
            }
        }
    }
}

fn resync(c: &Connection, ctx: &Ctx, typed: &str, otp1: &str, otp2: &str, now: u64) -> OpResult {
    const FAILED: &str = "no two consecutive codes found for this token near the server's time";
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::InvalidRequest, "not a valid serial number");
    };
    let Some(t) = token_by_serial(c, serial.as_str())? else {
        return refuse(ErrorCode::ResyncFailed, FAILED);
    };
    if !matches!(
        effective_state(c, &t, now)?,
        TokenState::Issued | TokenState::Active
    ) {
        return refuse(ErrorCode::ResyncFailed, FAILED);
    }
    let gen = generator(ctx, &t)?;
    let Some(new) = ctx.cfg.policy.resync(&gen, &t.record, otp1, otp2, now) else {
        event(c, now, Some(&t.serial), None, "resync_failed", None)?;
        return refuse(ErrorCode::ResyncFailed, FAILED);
    };
    if !cas_record(c, &t.serial, &t.record, &new)? {
        return Err(Fault::Refused(Refusal::internal()));
    }
    event(
        c,
        now,
        Some(&t.serial),
        None,
        "resynced",
        Some(&new.drift.to_string()),
    )?;
    Ok(Outcome::Resynced(new.drift))
}

fn unlock(c: &Connection, typed: &str, now: u64) -> OpResult {
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::InvalidRequest, "not a valid serial number");
    };
    let Some(t) = token_by_serial(c, serial.as_str())? else {
        return refuse(ErrorCode::NotFound, "no token with this serial number");
    };
    let new = t.record.unlocked();
    if !cas_record(c, &t.serial, &t.record, &new)? {
        return Err(Fault::Refused(Refusal::internal()));
    }
    event(c, now, Some(&t.serial), None, "unlocked", None)?;
    Ok(Outcome::Unlocked)
}
