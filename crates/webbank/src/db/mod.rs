//! Web banking's own SQLite file (`web.sqlite` in the data directory):
//! customers (Argon2id password hashes), sessions, receipts (受付番号) and
//! the customers' OTP history. It never holds a code or a password in clear,
//! and it is separate from the token service's database, so the two
//! schemas cannot collide. WAL, `synchronous=FULL`; every state change is
//! one transaction.
//!
//! [`Db`] is the handle page handlers use: each of its methods runs the
//! SQLite work on Tokio's blocking pool (`spawn_blocking`), never on an
//! async worker. [`Conn`] is the same work, synchronous, for start-up
//! (demo customers) and tests.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod receipt;
mod staff;
mod txn;

pub use receipt::{AccountType, PaymentDetail, Receipt, ReceiptDetail, TransferDetail};
pub use staff::{StaffAction, StaffEvent};
pub use txn::{LocalTxnState, StoredTxn};

/// File name inside the data directory.
pub const FILE: &str = "web.sqlite";

/// Expired sessions are purged once per this many session saves.
pub const PURGE_EVERY: u32 = 64;
/// Stored sessions kept per customer (the oldest beyond are dropped).
pub const SESSIONS_PER_CUSTOMER: i64 = 5;
/// Stored sessions kept in all (the oldest beyond are dropped).
pub const SESSIONS_MAX: i64 = 20_000;

/// Storage errors (no customer data or secret in the text).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite failed.
    #[error("web banking database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A receipt's detail could not be encoded.
    #[error("web banking database: receipt detail: {0}")]
    Encode(#[from] serde_json::Error),
    /// The blocking task running the query did not finish (panic or
    /// runtime shutdown).
    #[error("web banking database: the storage task did not finish")]
    Task,
}

/// A customer as web banking knows it.
#[derive(Clone)]
pub struct Customer {
    /// Contract ID 「契約者ID（利用者番号）」.
    pub contract_id: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Login with OTP 「する」 (true) / 「しない」 (false).
    pub otp_login: bool,
    /// Serial of the active token as last reported by the token service.
    pub token_serial: Option<String>,
}

impl std::fmt::Debug for Customer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Customer")
            .field("contract_id", &self.contract_id)
            .field("otp_login", &self.otp_login)
            .field("token_serial", &self.token_serial)
            .finish_non_exhaustive()
    }
}

/// An OTP history event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// Token registered (利用開始).
    Registered,
    /// Token exchanged (交換).
    Exchanged,
    /// Token stopped (利用中止).
    Stopped,
    /// A code was accepted.
    Accepted,
    /// A wrong code (with the token service's failure count when given).
    Failed,
    /// A code that was already used.
    Replay,
    /// The token is locked.
    Locked,
    /// No token registered.
    NoToken,
    /// Login-OTP choice set to する.
    LoginOtpOn,
    /// Login-OTP choice set to しない.
    LoginOtpOff,
    /// 取引認証: approved in the app, executed.
    TxnApproved,
    /// 取引認証: rejected in the app, nothing executed.
    TxnRejected,
    /// 取引認証: expired before a decision, nothing executed.
    TxnExpired,
    /// 取引認証: the offline 取引認証番号 was accepted, executed.
    TxnOffline,
    /// 取引認証 choice set to する.
    TxnAuthOn,
    /// 取引認証 choice set to しない.
    TxnAuthOff,
}

impl EventKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Registered => "registered",
            EventKind::Exchanged => "exchanged",
            EventKind::Stopped => "stopped",
            EventKind::Accepted => "accepted",
            EventKind::Failed => "failed",
            EventKind::Replay => "replay",
            EventKind::Locked => "locked",
            EventKind::NoToken => "no_token",
            EventKind::LoginOtpOn => "login_otp_on",
            EventKind::LoginOtpOff => "login_otp_off",
            EventKind::TxnApproved => "txn_approved",
            EventKind::TxnRejected => "txn_rejected",
            EventKind::TxnExpired => "txn_expired",
            EventKind::TxnOffline => "txn_offline",
            EventKind::TxnAuthOn => "txn_auth_on",
            EventKind::TxnAuthOff => "txn_auth_off",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "registered" => EventKind::Registered,
            "exchanged" => EventKind::Exchanged,
            "stopped" => EventKind::Stopped,
            "accepted" => EventKind::Accepted,
            "failed" => EventKind::Failed,
            "replay" => EventKind::Replay,
            "locked" => EventKind::Locked,
            "no_token" => EventKind::NoToken,
            "login_otp_on" => EventKind::LoginOtpOn,
            "login_otp_off" => EventKind::LoginOtpOff,
            "txn_approved" => EventKind::TxnApproved,
            "txn_rejected" => EventKind::TxnRejected,
            "txn_expired" => EventKind::TxnExpired,
            "txn_offline" => EventKind::TxnOffline,
            "txn_auth_on" => EventKind::TxnAuthOn,
            "txn_auth_off" => EventKind::TxnAuthOff,
            _ => return None,
        })
    }
}

/// Where in web banking a history event happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventContext {
    /// The login OTP step.
    Login,
    /// 振込.
    Transfer,
    /// 収納サービスへの支払.
    Payment,
    /// The login-OTP choice.
    Settings,
    /// 利用開始.
    Start,
    /// 交換.
    Exchange,
    /// 利用中止.
    Stop,
}

impl EventContext {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventContext::Login => "login",
            EventContext::Transfer => "transfer",
            EventContext::Payment => "payment",
            EventContext::Settings => "settings",
            EventContext::Start => "start",
            EventContext::Exchange => "exchange",
            EventContext::Stop => "stop",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "login" => EventContext::Login,
            "transfer" => EventContext::Transfer,
            "payment" => EventContext::Payment,
            "settings" => EventContext::Settings,
            "start" => EventContext::Start,
            "exchange" => EventContext::Exchange,
            "stop" => EventContext::Stop,
            _ => return None,
        })
    }
}

/// One line of a customer's OTP history.
#[derive(Debug, Clone)]
pub struct Event {
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub kind: EventKind,
    /// Where.
    pub context: EventContext,
    /// Serial concerned, if any.
    pub serial: Option<String>,
    /// Previous serial (exchange).
    pub previous_serial: Option<String>,
    /// Consecutive failures reported by the token service.
    pub fail_count: Option<u32>,
}

impl Event {
    /// An event with no serial or count.
    pub fn new(at: i64, kind: EventKind, context: EventContext) -> Self {
        Event {
            at,
            kind,
            context,
            serial: None,
            previous_serial: None,
            fail_count: None,
        }
    }
}

/// The change to a customer's token that goes with a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenChange {
    /// Leave it.
    None,
    /// Set the active serial.
    Set(String),
    /// No token any more (and login OTP back to しない).
    Clear,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS customers (
  contract_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  otp_login INTEGER NOT NULL DEFAULT 0,
  token_serial TEXT,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  contract_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  at INTEGER NOT NULL,
  serial TEXT,
  previous_serial TEXT,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  contract_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  context TEXT NOT NULL,
  serial TEXT,
  previous_serial TEXT,
  fail_count INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_customer ON events(contract_id, id);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions(expires);
";

/// The open database, synchronous. Reached through [`Db`] from async code.
pub struct Conn {
    conn: Connection,
    saves: u32,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conn")
    }
}

/// Cheap-to-clone handle on `web.sqlite` whose methods run on the
/// blocking pool.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Conn>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if absent) `web.sqlite` in `dir`, owner-only.
    pub fn open(dir: &Path) -> Result<Db, DbError> {
        let path = dir.join(FILE);
        // Password hashes and sessions: owner-only, like the token database.
        restrict_db_files(&path);
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(txn::SCHEMA)?;
        conn.execute_batch(staff::SCHEMA)?;
        Ok(Db::from_connection(conn))
    }

    /// An in-memory database (tests).
    #[cfg(test)]
    pub fn memory() -> Db {
        let conn = Connection::open_in_memory().expect("in-memory sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        conn.execute_batch(txn::SCHEMA).expect("schema");
        conn.execute_batch(staff::SCHEMA).expect("schema");
        Db::from_connection(conn)
    }

    fn from_connection(conn: Connection) -> Db {
        Db {
            conn: Arc::new(Mutex::new(Conn { conn, saves: 1 })),
        }
    }

    /// The synchronous connection, for start-up code that already runs
    /// outside the async workers (and tests). Never call it from a handler.
    pub fn blocking(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the blocking pool with the connection.
    async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|_| DbError::Task)?
    }

    /// [`Conn::customer`].
    pub async fn customer(&self, contract_id: &str) -> Result<Option<Customer>, DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.customer(&id)).await
    }

    /// [`Conn::set_otp_login`].
    pub async fn set_otp_login(
        &self,
        contract_id: &str,
        on: bool,
        event: Event,
    ) -> Result<(), DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.set_otp_login(&id, on, &event)).await
    }

    /// [`Conn::add_event`].
    pub async fn add_event(&self, contract_id: &str, event: Event) -> Result<(), DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.add_event(&id, &event)).await
    }

    /// [`Conn::complete`].
    pub async fn complete(
        &self,
        contract_id: &str,
        at: i64,
        detail: ReceiptDetail,
        change: TokenChange,
        event: Option<Event>,
    ) -> Result<i64, DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.complete(&id, at, &detail, change, event.as_ref()))
            .await
    }

    /// [`Conn::set_token`].
    pub async fn set_token(&self, contract_id: &str, change: TokenChange) -> Result<(), DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.set_token(&id, change)).await
    }

    /// [`Conn::receipt`].
    pub async fn receipt(&self, id: i64, contract_id: &str) -> Result<Option<Receipt>, DbError> {
        let cid = contract_id.to_string();
        self.run(move |c| c.receipt(id, &cid)).await
    }

    /// [`Conn::events`].
    pub async fn events(&self, contract_id: &str, limit: u32) -> Result<Vec<Event>, DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.events(&id, limit)).await
    }

    /// [`Conn::session`].
    pub async fn session(&self, id_hash: &str, now: i64) -> Result<Option<(String, i64)>, DbError> {
        let key = id_hash.to_string();
        self.run(move |c| c.session(&key, now)).await
    }

    /// [`Conn::save_session`].
    pub async fn save_session(
        &self,
        id_hash: &str,
        data: String,
        expires: i64,
        now: i64,
    ) -> Result<(), DbError> {
        let key = id_hash.to_string();
        self.run(move |c| c.save_session(&key, &data, expires, now))
            .await
    }

    /// [`Conn::insert_txn`].
    pub async fn insert_txn(&self, contract_id: &str, t: StoredTxn) -> Result<(), DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.insert_txn(&id, &t)).await
    }

    /// [`Conn::txn`].
    pub async fn txn(&self, txn_id: &str, contract_id: &str) -> Result<Option<StoredTxn>, DbError> {
        let (t, id) = (txn_id.to_string(), contract_id.to_string());
        self.run(move |c| c.txn(&t, &id)).await
    }

    /// [`Conn::execute_txn`].
    pub async fn execute_txn(
        &self,
        contract_id: &str,
        txn_id: &str,
        at: i64,
        event: Event,
    ) -> Result<Option<i64>, DbError> {
        let (t, id) = (txn_id.to_string(), contract_id.to_string());
        self.run(move |c| c.execute_txn(&id, &t, at, &event)).await
    }

    /// [`Conn::close_txn`].
    pub async fn close_txn(
        &self,
        contract_id: &str,
        txn_id: &str,
        to: LocalTxnState,
        event: Event,
    ) -> Result<bool, DbError> {
        let (t, id) = (txn_id.to_string(), contract_id.to_string());
        self.run(move |c| c.close_txn(&id, &t, to, &event)).await
    }

    /// [`Conn::txn_auth_choice`].
    pub async fn txn_auth_choice(&self, contract_id: &str) -> Result<Option<bool>, DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.txn_auth_choice(&id)).await
    }

    /// [`Conn::set_txn_auth_choice`].
    pub async fn set_txn_auth_choice(
        &self,
        contract_id: &str,
        on: bool,
        event: Event,
    ) -> Result<(), DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.set_txn_auth_choice(&id, on, &event))
            .await
    }

    /// [`Conn::delete_session`].
    pub async fn delete_session(&self, id_hash: &str, now: i64) -> Result<(), DbError> {
        let key = id_hash.to_string();
        self.run(move |c| c.delete_session(&key, now)).await
    }
}

impl Conn {
    /// The customer with this contract ID.
    pub fn customer(&self, contract_id: &str) -> Result<Option<Customer>, DbError> {
        Ok(self
            .conn
            .query_row(
                "SELECT contract_id, name, password_hash, otp_login, token_serial
                 FROM customers WHERE contract_id = ?1",
                [contract_id],
                |r| {
                    Ok(Customer {
                        contract_id: r.get(0)?,
                        name: r.get(1)?,
                        password_hash: r.get(2)?,
                        otp_login: r.get::<_, i64>(3)? != 0,
                        token_serial: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Inserts a customer, or replaces the password hash of an existing one.
    pub fn upsert_customer(
        &self,
        contract_id: &str,
        name: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO customers (contract_id, name, password_hash, created)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(contract_id) DO UPDATE SET password_hash = excluded.password_hash",
            params![contract_id, name, password_hash, now],
        )?;
        Ok(())
    }

    /// Sets the login-OTP choice and records the event (one transaction).
    pub fn set_otp_login(
        &mut self,
        contract_id: &str,
        on: bool,
        event: &Event,
    ) -> Result<(), DbError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE customers SET otp_login = ?2 WHERE contract_id = ?1",
            params![contract_id, on as i64],
        )?;
        insert_event(&tx, contract_id, event)?;
        tx.commit()?;
        Ok(())
    }

    /// Records one history event.
    pub fn add_event(&self, contract_id: &str, event: &Event) -> Result<(), DbError> {
        insert_event(&self.conn, contract_id, event)
    }

    /// Issues a receipt for `detail` at `at`, applies the token change and
    /// records the event, in one transaction. Returns the receipt's row id.
    pub fn complete(
        &mut self,
        contract_id: &str,
        at: i64,
        detail: &ReceiptDetail,
        change: TokenChange,
        event: Option<&Event>,
    ) -> Result<i64, DbError> {
        let (kind, serial, previous_serial, json) = detail.to_columns()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO receipts (contract_id, kind, at, serial, previous_serial, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![contract_id, kind, at, serial, previous_serial, json],
        )?;
        let id = tx.last_insert_rowid();
        apply_token_change(&tx, contract_id, change)?;
        if let Some(e) = event {
            insert_event(&tx, contract_id, e)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Updates the known token serial without a receipt (when the token
    /// service reports a state web banking had not recorded).
    pub fn set_token(&self, contract_id: &str, change: TokenChange) -> Result<(), DbError> {
        apply_token_change(&self.conn, contract_id, change)
    }

    /// A receipt by row id, only if it belongs to `contract_id`. A row
    /// whose kind or detail cannot be read back is `None`.
    pub fn receipt(&self, id: i64, contract_id: &str) -> Result<Option<Receipt>, DbError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, contract_id, kind, at, serial, previous_serial, detail
                 FROM receipts WHERE id = ?1 AND contract_id = ?2",
                params![id, contract_id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        Ok(
            row.and_then(|(id, contract_id, kind, at, serial, previous, detail)| {
                Some(Receipt {
                    id,
                    contract_id,
                    at,
                    detail: ReceiptDetail::from_columns(&kind, serial, previous, &detail)?,
                })
            }),
        )
    }

    /// The newest `limit` history events of a customer, newest first.
    pub fn events(&self, contract_id: &str, limit: u32) -> Result<Vec<Event>, DbError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, kind, context, serial, previous_serial, fail_count FROM events
             WHERE contract_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![contract_id, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<u32>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, kind, context, serial, previous_serial, fail_count) = row?;
            // A row of a kind or place this version does not know is skipped.
            if let (Some(kind), Some(context)) =
                (EventKind::parse(&kind), EventContext::parse(&context))
            {
                out.push(Event {
                    at,
                    kind,
                    context,
                    serial,
                    previous_serial,
                    fail_count,
                });
            }
        }
        Ok(out)
    }

    /// A session's JSON and expiry, if it has not expired at `now`.
    pub fn session(&self, id_hash: &str, now: i64) -> Result<Option<(String, i64)>, DbError> {
        Ok(self
            .conn
            .query_row(
                "SELECT data, expires FROM sessions WHERE id_hash = ?1 AND expires > ?2",
                params![id_hash, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Stores a session's JSON with its expiry. A new row drops the
    /// oldest sessions of the same customer beyond [`SESSIONS_PER_CUSTOMER`]
    /// and the oldest of all beyond [`SESSIONS_MAX`]. Every [`PURGE_EVERY`]th
    /// save also deletes the sessions expired at `now`, so abandoned
    /// anonymous sessions do not pile up.
    pub fn save_session(
        &mut self,
        id_hash: &str,
        data: &str,
        expires: i64,
        now: i64,
    ) -> Result<(), DbError> {
        let updated = self.conn.execute(
            "UPDATE sessions SET data = ?2, expires = ?3 WHERE id_hash = ?1",
            params![id_hash, data, expires],
        )?;
        if updated == 0 {
            // A new row: keep at most SESSIONS_PER_CUSTOMER rows of its
            // customer and SESSIONS_MAX in all, dropping the oldest.
            let tx = self.conn.transaction()?;
            tx.execute(
                "INSERT INTO sessions (id_hash, data, expires) VALUES (?1, ?2, ?3)",
                params![id_hash, data, expires],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE id_hash IN (
                   SELECT id_hash FROM sessions
                   WHERE coalesce(json_extract(data, '$.customer'), json_extract(data, '$.flow.customer'))
                       = coalesce(json_extract(?1, '$.customer'), json_extract(?1, '$.flow.customer'))
                   ORDER BY expires DESC LIMIT -1 OFFSET ?2)",
                params![data, SESSIONS_PER_CUSTOMER],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE id_hash IN (
                   SELECT id_hash FROM sessions ORDER BY expires DESC LIMIT -1 OFFSET ?1)",
                [SESSIONS_MAX],
            )?;
            tx.commit()?;
        }
        let n = self.saves;
        self.saves = self.saves.wrapping_add(1);
        if n.is_multiple_of(PURGE_EVERY) {
            self.conn
                .execute("DELETE FROM sessions WHERE expires <= ?1", [now])?;
        }
        Ok(())
    }

    /// Deletes a session, and every session expired at `now`.
    pub fn delete_session(&mut self, id_hash: &str, now: i64) -> Result<(), DbError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
        tx.execute("DELETE FROM sessions WHERE expires <= ?1", [now])?;
        tx.commit()?;
        Ok(())
    }
}

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

fn apply_token_change(
    conn: &Connection,
    contract_id: &str,
    change: TokenChange,
) -> Result<(), DbError> {
    match change {
        TokenChange::None => {}
        TokenChange::Set(serial) => {
            conn.execute(
                "UPDATE customers SET token_serial = ?2 WHERE contract_id = ?1",
                params![contract_id, serial],
            )?;
        }
        TokenChange::Clear => {
            conn.execute(
                "UPDATE customers SET token_serial = NULL, otp_login = 0
                 WHERE contract_id = ?1",
                params![contract_id],
            )?;
        }
    }
    Ok(())
}

fn insert_event(conn: &Connection, contract_id: &str, e: &Event) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO events (contract_id, at, kind, context, serial, previous_serial, fail_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            contract_id,
            e.at,
            e.kind.as_str(),
            e.context.as_str(),
            e.serial,
            e.previous_serial,
            e.fail_count
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn receipt_and_token_change_are_one_transaction() {
        let db = Db::memory();
        db.blocking()
            .upsert_customer("1000001", "Demo", "$argon2id$x", 0)
            .unwrap();
        let id = db
            .complete(
                "1000001",
                1_700_000_000,
                ReceiptDetail::Start {
                    serial: "K7M3Q9XZ2PD0".into(),
                },
                TokenChange::Set("K7M3Q9XZ2PD0".into()),
                Some(Event::new(
                    1_700_000_000,
                    EventKind::Registered,
                    EventContext::Start,
                )),
            )
            .await
            .unwrap();
        let c = db.customer("1000001").await.unwrap().unwrap();
        assert_eq!(c.token_serial.as_deref(), Some("K7M3Q9XZ2PD0"));
        let r = db.receipt(id, "1000001").await.unwrap().unwrap();
        assert_eq!(r.number().len(), 7);
        assert_eq!(
            r.detail,
            ReceiptDetail::Start {
                serial: "K7M3Q9XZ2PD0".into()
            }
        );
        assert!(
            db.receipt(id, "1000002").await.unwrap().is_none(),
            "receipts are per customer"
        );
        db.set_otp_login(
            "1000001",
            true,
            Event::new(1, EventKind::LoginOtpOn, EventContext::Settings),
        )
        .await
        .unwrap();
        db.complete(
            "1000001",
            1_700_000_100,
            ReceiptDetail::Stop {
                serial: "K7M3Q9XZ2PD0".into(),
            },
            TokenChange::Clear,
            None,
        )
        .await
        .unwrap();
        let c = db.customer("1000001").await.unwrap().unwrap();
        assert_eq!(c.token_serial, None);
        assert!(!c.otp_login, "stopping the token turns login OTP off");
        let ev = db.events("1000001", 10).await.unwrap();
        assert_eq!(ev[0].kind, EventKind::LoginOtpOn);
        assert_eq!(ev[1].kind, EventKind::Registered);
    }

    #[tokio::test]
    async fn a_transfer_receipt_reads_back_typed() {
        let db = Db::memory();
        let detail = ReceiptDetail::Transfer(TransferDetail {
            bank: "かけしん".into(),
            branch: "本店".into(),
            account_type: AccountType::Futsu,
            account_number: "1234567".into(),
            payee: "ヤマダ".into(),
            amount: 12_000,
        });
        let id = db
            .complete("1000001", 5, detail.clone(), TokenChange::None, None)
            .await
            .unwrap();
        let r = db.receipt(id, "1000001").await.unwrap().unwrap();
        assert_eq!(r.detail, detail);
        assert_eq!(r.at, 5);
    }

    /// A query waiting for the connection waits on the blocking pool: the
    /// async worker (one thread here) keeps running other tasks meanwhile.
    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_query_does_not_block_the_async_worker() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::time::Duration;
        let db = Db::memory();
        let held = db.clone();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _guard = held.blocking();
            locked.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        is_locked.recv().unwrap();
        let ticks = Arc::new(AtomicU32::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
        assert!(db.customer("1000001").await.unwrap().is_none());
        let n = ticks.load(Ordering::Relaxed);
        assert!(
            n >= 5,
            "the worker ran other tasks while the query waited ({n} ticks)"
        );
        ticker.abort();
        holder.join().unwrap();
    }

    #[tokio::test]
    async fn history_rows_of_an_unknown_place_are_skipped() {
        let db = Db::memory();
        db.add_event(
            "1000001",
            Event::new(1, EventKind::Accepted, EventContext::Transfer),
        )
        .await
        .unwrap();
        db.blocking()
            .conn
            .execute(
                "INSERT INTO events (contract_id, at, kind, context) VALUES ('1000001', 2, 'accepted', 'elsewhere')",
                [],
            )
            .unwrap();
        let ev = db.events("1000001", 10).await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].context, EventContext::Transfer);
        for c in [
            EventContext::Login,
            EventContext::Transfer,
            EventContext::Payment,
            EventContext::Settings,
            EventContext::Start,
            EventContext::Exchange,
            EventContext::Stop,
        ] {
            assert_eq!(EventContext::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn expired_sessions_are_purged() {
        let db = Db::memory();
        let mut c = db.blocking();
        c.save_session("old", "{}", 1, 10).unwrap();
        for i in 0..PURGE_EVERY {
            c.save_session(&format!("new{i}"), "{}", i64::MAX, 10)
                .unwrap();
        }
        let n: i64 = c
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE id_hash = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn session_rows_are_capped_per_customer_oldest_dropped() {
        let db = Db::memory();
        let mut c = db.blocking();
        let count = |c: &Conn, who: &str| -> i64 {
            c.conn
                .query_row(
                    "SELECT COUNT(*) FROM sessions WHERE coalesce(json_extract(data, '$.customer'), json_extract(data, '$.flow.customer')) = ?1",
                    [who],
                    |r| r.get(0),
                )
                .unwrap()
        };
        for i in 0..(SESSIONS_PER_CUSTOMER + 3) {
            c.save_session(&format!("a{i}"), r#"{"customer":"1000001"}"#, 100 + i, 10)
                .unwrap();
            // Updating an existing row never drops another.
            c.save_session(&format!("a{i}"), r#"{"customer":"1000001"}"#, 100 + i, 10)
                .unwrap();
        }
        c.save_session("f", r#"{"flow":{"customer":"1000001"}}"#, 1_000, 10)
            .unwrap();
        c.save_session("b", r#"{"customer":"1000002"}"#, 50, 10)
            .unwrap();
        assert_eq!(count(&c, "1000001"), SESSIONS_PER_CUSTOMER);
        assert_eq!(count(&c, "1000002"), 1, "other customers keep theirs");
        assert!(c.session("f", 10).unwrap().is_some(), "the newest is kept");
        assert!(c.session("a0", 10).unwrap().is_none(), "the oldest went");
    }

    #[tokio::test]
    async fn sessions_expire() {
        let db = Db::memory();
        db.save_session("h", "{}".into(), 100, 0).await.unwrap();
        assert_eq!(
            db.session("h", 99).await.unwrap(),
            Some(("{}".to_string(), 100))
        );
        assert_eq!(db.session("h", 100).await.unwrap(), None);
        db.delete_session("h", 0).await.unwrap();
        assert_eq!(db.session("h", 0).await.unwrap(), None);
    }
}
