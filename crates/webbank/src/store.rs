//! Web banking's own SQLite file (`web.sqlite` in the data directory):
//! customers (Argon2id password hashes), sessions, receipts (受付番号) and
//! the customers' OTP history. It never holds a code or a password in clear,
//! and it is separate from the token service's database, so the two
//! schemas cannot collide. WAL; every state change is one transaction.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

/// File name inside the data directory.
pub const FILE: &str = "web.sqlite";

/// Storage errors (no customer data or secret in the text).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("web banking database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored session could not be read back.
    #[error("stored session is unreadable")]
    Session,
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

/// What a receipt (受付番号) was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// 利用開始.
    Start,
    /// 交換.
    Exchange,
    /// 利用中止.
    Stop,
    /// 振込.
    Transfer,
    /// 収納サービスへの支払.
    Payment,
    /// Login-OTP choice changed.
    Settings,
}

impl ReceiptKind {
    fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Start => "start",
            ReceiptKind::Exchange => "exchange",
            ReceiptKind::Stop => "stop",
            ReceiptKind::Transfer => "transfer",
            ReceiptKind::Payment => "payment",
            ReceiptKind::Settings => "settings",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "start" => ReceiptKind::Start,
            "exchange" => ReceiptKind::Exchange,
            "stop" => ReceiptKind::Stop,
            "transfer" => ReceiptKind::Transfer,
            "payment" => ReceiptKind::Payment,
            "settings" => ReceiptKind::Settings,
            _ => return None,
        })
    }
}

/// A stored receipt.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Row id; the shown number is [`Receipt::number`].
    pub id: i64,
    /// Whose.
    pub contract_id: String,
    /// For what.
    pub kind: ReceiptKind,
    /// 受付時刻, Unix seconds.
    pub at: i64,
    /// Serial after the procedure (start, exchange) or stopped (stop).
    pub serial: Option<String>,
    /// Serial before an exchange.
    pub previous_serial: Option<String>,
    /// Non-secret details (JSON object of displayed fields).
    pub detail: serde_json::Value,
}

impl Receipt {
    /// 受付番号: seven digits.
    pub fn number(&self) -> String {
        format!("{:07}", 1_000_000 + self.id)
    }
}

/// A receipt to issue.
#[derive(Debug, Clone)]
pub struct NewReceipt<'a> {
    /// For what.
    pub kind: ReceiptKind,
    /// 受付時刻, Unix seconds.
    pub at: i64,
    /// Serial after the procedure (start, exchange) or stopped (stop).
    pub serial: Option<&'a str>,
    /// Serial before an exchange.
    pub previous_serial: Option<&'a str>,
    /// Non-secret details shown on the receipt.
    pub detail: serde_json::Value,
}

impl<'a> NewReceipt<'a> {
    /// A receipt of `kind` at `at` with no serial and no detail.
    pub fn new(kind: ReceiptKind, at: i64) -> Self {
        NewReceipt {
            kind,
            at,
            serial: None,
            previous_serial: None,
            detail: serde_json::json!({}),
        }
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
    /// Where: `login`, `transfer`, `payment`, `settings`, `start`, `exchange`, `stop`.
    pub context: String,
    /// Serial concerned, if any.
    pub serial: Option<String>,
    /// Previous serial (exchange).
    pub previous_serial: Option<String>,
    /// Consecutive failures reported by the token service.
    pub fail_count: Option<u32>,
}

impl Event {
    /// An event with no serial or count.
    pub fn new(at: i64, kind: EventKind, context: &str) -> Self {
        Event {
            at,
            kind,
            context: context.to_string(),
            serial: None,
            previous_serial: None,
            fail_count: None,
        }
    }
}

/// The change to a customer's token that goes with a receipt.
#[derive(Debug, Clone)]
pub enum TokenChange {
    /// Leave it.
    None,
    /// Set the active serial.
    Set(String),
    /// No token any more (and login OTP back to しない).
    Clear,
}

/// The web-banking database.
pub struct Store {
    conn: Mutex<Connection>,
    saves: AtomicU32,
}

/// Expired sessions are purged once per this many session saves.
pub const PURGE_EVERY: u32 = 64;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
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

impl Store {
    /// Opens (creating if absent) `web.sqlite` in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        // Password hashes and sessions: owner-only, like the token database.
        restrict_db_files(&dir.join(FILE));
        let conn = Connection::open(dir.join(FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
            saves: AtomicU32::new(1),
        })
    }

    /// An in-memory store (unit tests).
    #[cfg(test)]
    pub fn memory() -> Store {
        let conn = Connection::open_in_memory().expect("in-memory sqlite");
        conn.execute_batch(SCHEMA).expect("schema");
        Store {
            conn: Mutex::new(conn),
            saves: AtomicU32::new(1),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The customer with this contract ID.
    pub fn customer(&self, contract_id: &str) -> Result<Option<Customer>, StoreError> {
        Ok(self
            .conn()
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
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO customers (contract_id, name, password_hash, created)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(contract_id) DO UPDATE SET password_hash = excluded.password_hash",
            params![contract_id, name, password_hash, now],
        )?;
        Ok(())
    }

    /// Sets the login-OTP choice and records the event (one transaction).
    pub fn set_otp_login(
        &self,
        contract_id: &str,
        on: bool,
        event: &Event,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE customers SET otp_login = ?2 WHERE contract_id = ?1",
            params![contract_id, on as i64],
        )?;
        insert_event(&tx, contract_id, event)?;
        tx.commit()?;
        Ok(())
    }

    /// Records one history event.
    pub fn add_event(&self, contract_id: &str, event: &Event) -> Result<(), StoreError> {
        let conn = self.conn();
        insert_event(&conn, contract_id, event)
    }

    /// Issues a receipt, applies the token change and records the event, in
    /// one transaction. Returns the receipt's row id.
    pub fn complete(
        &self,
        contract_id: &str,
        receipt: &NewReceipt<'_>,
        change: TokenChange,
        event: Option<&Event>,
    ) -> Result<i64, StoreError> {
        let NewReceipt {
            kind,
            at,
            serial,
            previous_serial,
            detail,
        } = receipt;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO receipts (contract_id, kind, at, serial, previous_serial, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                contract_id,
                kind.as_str(),
                at,
                serial,
                previous_serial,
                detail.to_string()
            ],
        )?;
        let id = tx.last_insert_rowid();
        match change {
            TokenChange::None => {}
            TokenChange::Set(serial) => {
                tx.execute(
                    "UPDATE customers SET token_serial = ?2 WHERE contract_id = ?1",
                    params![contract_id, serial],
                )?;
            }
            TokenChange::Clear => {
                tx.execute(
                    "UPDATE customers SET token_serial = NULL, otp_login = 0
                     WHERE contract_id = ?1",
                    params![contract_id],
                )?;
            }
        }
        if let Some(e) = event {
            insert_event(&tx, contract_id, e)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Updates the known token serial without a receipt (when the token
    /// service reports a state web banking had not recorded).
    pub fn set_token(&self, contract_id: &str, change: TokenChange) -> Result<(), StoreError> {
        let conn = self.conn();
        match change {
            TokenChange::None => {}
            TokenChange::Set(s) => {
                conn.execute(
                    "UPDATE customers SET token_serial = ?2 WHERE contract_id = ?1",
                    params![contract_id, s],
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

    /// A receipt by row id, only if it belongs to `contract_id`.
    pub fn receipt(&self, id: i64, contract_id: &str) -> Result<Option<Receipt>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, contract_id, kind, at, serial, previous_serial, detail
                 FROM receipts WHERE id = ?1 AND contract_id = ?2",
                params![id, contract_id],
                |r| {
                    let kind: String = r.get(2)?;
                    let detail: String = r.get(6)?;
                    Ok((
                        Receipt {
                            id: r.get(0)?,
                            contract_id: r.get(1)?,
                            kind: ReceiptKind::Start,
                            at: r.get(3)?,
                            serial: r.get(4)?,
                            previous_serial: r.get(5)?,
                            detail: serde_json::from_str(&detail)
                                .unwrap_or(serde_json::Value::Null),
                        },
                        kind,
                    ))
                },
            )
            .optional()?
            .and_then(|(mut rec, kind)| {
                rec.kind = ReceiptKind::parse(&kind)?;
                Some(rec)
            }))
    }

    /// The newest `limit` history events of a customer, newest first.
    pub fn events(&self, contract_id: &str, limit: u32) -> Result<Vec<Event>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
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
            if let Some(kind) = EventKind::parse(&kind) {
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

    /// Loads a session's JSON if it has not expired.
    /// Returns its JSON and expiry.
    pub fn session(&self, id_hash: &str, now: i64) -> Result<Option<(String, i64)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data, expires FROM sessions WHERE id_hash = ?1 AND expires > ?2",
                params![id_hash, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Stores a session's JSON with its expiry. Every
    /// [`PURGE_EVERY`]th save also deletes the expired sessions, so
    /// abandoned anonymous sessions do not pile up.
    pub fn save_session(&self, id_hash: &str, data: &str, expires: i64) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO sessions (id_hash, data, expires) VALUES (?1, ?2, ?3)
             ON CONFLICT(id_hash) DO UPDATE SET data = excluded.data, expires = excluded.expires",
            params![id_hash, data, expires],
        )?;
        if self
            .saves
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PURGE_EVERY)
        {
            conn.execute(
                "DELETE FROM sessions WHERE expires <= ?1",
                [super::clock::system_now()],
            )?;
        }
        Ok(())
    }

    /// Deletes a session, and every expired one.
    pub fn delete_session(&self, id_hash: &str, now: i64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
        tx.execute("DELETE FROM sessions WHERE expires <= ?1", [now])?;
        tx.commit()?;
        Ok(())
    }
}

fn insert_event(conn: &Connection, contract_id: &str, e: &Event) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO events (contract_id, at, kind, context, serial, previous_serial, fail_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            contract_id,
            e.at,
            e.kind.as_str(),
            e.context,
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

    #[test]
    fn receipt_and_token_change_are_one_transaction() {
        let s = Store::memory();
        s.upsert_customer("1000001", "Demo", "$argon2id$x", 0)
            .unwrap();
        let id = s
            .complete(
                "1000001",
                &NewReceipt {
                    serial: Some("K7M3Q9XZ2PD0"),
                    ..NewReceipt::new(ReceiptKind::Start, 1_700_000_000)
                },
                TokenChange::Set("K7M3Q9XZ2PD0".into()),
                Some(&Event::new(1_700_000_000, EventKind::Registered, "start")),
            )
            .unwrap();
        let c = s.customer("1000001").unwrap().unwrap();
        assert_eq!(c.token_serial.as_deref(), Some("K7M3Q9XZ2PD0"));
        let r = s.receipt(id, "1000001").unwrap().unwrap();
        assert_eq!(r.number().len(), 7);
        assert_eq!(r.kind, ReceiptKind::Start);
        assert!(
            s.receipt(id, "1000002").unwrap().is_none(),
            "receipts are per customer"
        );
        s.set_otp_login(
            "1000001",
            true,
            &Event::new(1, EventKind::LoginOtpOn, "settings"),
        )
        .unwrap();
        s.complete(
            "1000001",
            &NewReceipt {
                serial: Some("K7M3Q9XZ2PD0"),
                ..NewReceipt::new(ReceiptKind::Stop, 1_700_000_100)
            },
            TokenChange::Clear,
            None,
        )
        .unwrap();
        let c = s.customer("1000001").unwrap().unwrap();
        assert_eq!(c.token_serial, None);
        assert!(!c.otp_login, "stopping the token turns login OTP off");
        let ev = s.events("1000001", 10).unwrap();
        assert_eq!(ev[0].kind, EventKind::LoginOtpOn);
        assert_eq!(ev[1].kind, EventKind::Registered);
    }

    #[test]
    fn expired_sessions_are_purged() {
        let s = Store::memory();
        s.save_session("old", "{}", 1).unwrap();
        for i in 0..PURGE_EVERY {
            s.save_session(&format!("new{i}"), "{}", i64::MAX).unwrap();
        }
        let n: i64 = s
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM sessions WHERE id_hash = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn sessions_expire() {
        let s = Store::memory();
        s.save_session("h", "{}", 100).unwrap();
        assert_eq!(s.session("h", 99).unwrap(), Some(("{}".to_string(), 100)));
        assert_eq!(s.session("h", 100).unwrap(), None);
        s.delete_session("h", 0).unwrap();
        assert_eq!(s.session("h", 0).unwrap(), None);
    }
}
