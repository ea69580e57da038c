//! Storage of STK1-TXN (schema version 2): transactions, the poll nonces
//! of each token, the per-token window of bad decision MACs and the
//! token's last accepted offline step.
//!
//! Contract: every state change of a transaction is **one conditional
//! `UPDATE`** whose `WHERE` clause is the whole precondition (the state it
//! leaves, the expiry, the owner, the token's state); the caller learns
//! from the number of changed rows whether it was the one that made the
//! change. Two racing requests can therefore never both decide or both
//! consume a transaction, whatever the interleaving and however many
//! processes share the file. Reads only explain a refusal after the
//! `UPDATE` changed nothing.
//!
//! Payee data (`fields`) is stored as the JSON array it arrived as and is
//! never written to the audit log.

use rusqlite::{params, Connection, OptionalExtension};
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::{Kind, Transaction, TxnId, NONCE_LEN};

use super::rows::to_i64;

/// How long a poll nonce is remembered, in seconds (twice the ±120 s
/// window plus margin).
pub(crate) const NONCE_MEMORY: u64 = 300;
/// Length of the bad-MAC window, in seconds.
pub(crate) const MAC_WINDOW: u64 = 600;
/// Bad MACs allowed in one window; the next request is `rate_limited`.
pub(crate) const MAC_LIMIT: u32 = 10;

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A stored transaction.
pub(crate) struct TxnRow {
    pub(crate) txn_id: TxnId,
    pub(crate) serial: String,
    pub(crate) customer_id: String,
    pub(crate) kind: Kind,
    pub(crate) created_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) fields: Vec<(String, String)>,
    /// The state as stored (a pending row past `expires_at` is expired;
    /// see [`TxnRow::state_at`]).
    pub(crate) state: TxnState,
}

impl TxnRow {
    /// The state at `now`: a stored `pending` is `expired` once
    /// `now >= expires_at`.
    pub(crate) fn state_at(&self, now: u64) -> TxnState {
        match self.state {
            TxnState::Pending if now >= self.expires_at => TxnState::Expired,
            s => s,
        }
    }
}

fn state_from(text: &str) -> rusqlite::Result<TxnState> {
    Ok(match text {
        "pending" => TxnState::Pending,
        "approved" => TxnState::Approved,
        "rejected" => TxnState::Rejected,
        "expired" => TxnState::Expired,
        "consumed" => TxnState::Consumed,
        other => {
            return Err(rusqlite::Error::InvalidColumnType(
                7,
                format!("txns.state {other:?}"),
                rusqlite::types::Type::Text,
            ))
        }
    })
}

const TXN_COLS: &str = "txn_id, serial, customer_id, kind, created_at, expires_at, fields, state";

fn txn_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TxnRow> {
    let id: Vec<u8> = r.get(0)?;
    let id: [u8; 16] = id.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "txns.txn_id".into(), rusqlite::types::Type::Blob)
    })?;
    let kind: String = r.get(3)?;
    let kind = Kind::parse(&kind).map_err(|_| {
        rusqlite::Error::InvalidColumnType(3, "txns.kind".into(), rusqlite::types::Type::Text)
    })?;
    let fields: String = r.get(6)?;
    let fields: Vec<(String, String)> = serde_json::from_str(&fields).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let state: String = r.get(7)?;
    Ok(TxnRow {
        txn_id: TxnId::from_bytes(id),
        serial: r.get(1)?,
        customer_id: r.get(2)?,
        kind,
        created_at: to_u64(r.get(4)?),
        expires_at: to_u64(r.get(5)?),
        fields,
        state: state_from(&state)?,
    })
}

/// `INSERT` of a new, pending transaction of `customer` (its token is
/// `tx.serial()`).
pub(crate) fn insert(c: &Connection, tx: &Transaction, customer: &str) -> rusqlite::Result<()> {
    let fields = serde_json::to_string(tx.fields())
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    c.prepare_cached(
        "INSERT INTO txns(txn_id, serial, customer_id, kind, created_at, expires_at, fields, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')",
    )?
    .execute(params![
        &tx.txn_id().as_bytes()[..],
        tx.serial().as_str(),
        customer,
        tx.kind().as_str(),
        to_i64(tx.created_at()),
        to_i64(tx.expires_at()),
        fields,
    ])?;
    Ok(())
}

/// The transaction `txn_id`, whoever owns it.
pub(crate) fn by_id(c: &Connection, txn_id: &TxnId) -> rusqlite::Result<Option<TxnRow>> {
    c.prepare_cached(&format!("SELECT {TXN_COLS} FROM txns WHERE txn_id = ?1"))?
        .query_row([&txn_id.as_bytes()[..]], txn_from_row)
        .optional()
}

/// Pending, unexpired transactions of token `serial`, oldest first
/// (creation time, then insertion order), at most `limit`.
pub(crate) fn pending_of(
    c: &Connection,
    serial: &str,
    now: u64,
    limit: usize,
) -> rusqlite::Result<Vec<TxnRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {TXN_COLS} FROM txns
         WHERE serial = ?1 AND state = 'pending' AND expires_at > ?2
         ORDER BY created_at, rowid LIMIT ?3"
    ))?;
    let rows = st.query_map(
        params![serial, to_i64(now), i64::try_from(limit).unwrap_or(0)],
        txn_from_row,
    )?;
    rows.collect()
}

/// Marks the pending transactions of token `serial` past their expiry as
/// `expired`; returns their ids (each is returned by exactly one call).
pub(crate) fn expire_due_of_serial(
    c: &Connection,
    serial: &str,
    now: u64,
) -> rusqlite::Result<Vec<TxnId>> {
    let mut st = c.prepare_cached(
        "UPDATE txns SET state = 'expired'
         WHERE serial = ?1 AND state = 'pending' AND expires_at <= ?2
         RETURNING txn_id",
    )?;
    let rows = st.query_map(params![serial, to_i64(now)], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for id in rows {
        if let Ok(id) = <[u8; 16]>::try_from(id?) {
            out.push(TxnId::from_bytes(id));
        }
    }
    Ok(out)
}

/// Marks transaction `txn_id` `expired` if it is pending and past its
/// expiry; `true` if this call did it.
pub(crate) fn expire_if_due(c: &Connection, txn_id: &TxnId, now: u64) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE txns SET state = 'expired'
             WHERE txn_id = ?1 AND state = 'pending' AND expires_at <= ?2",
        )?
        .execute(params![&txn_id.as_bytes()[..], to_i64(now)])?;
    Ok(n == 1)
}

/// Compare-and-set of a decision: `pending` → `to` (`approved` or
/// `rejected`) only if the transaction belongs to `serial`, is still
/// pending and `now < expires_at`. `true` if this call decided it.
pub(crate) fn decide(
    c: &Connection,
    txn_id: &TxnId,
    serial: &str,
    to: TxnState,
    now: u64,
) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE txns SET state = ?1, decided_at = ?2
             WHERE txn_id = ?3 AND serial = ?4 AND state = 'pending' AND expires_at > ?2",
        )?
        .execute(params![
            to.as_str(),
            to_i64(now),
            &txn_id.as_bytes()[..],
            serial
        ])?;
    Ok(n == 1)
}

/// Compare-and-set of `consume`: `approved` → `consumed` only if the
/// transaction belongs to `customer` and its token is active and not
/// locked. The token's serial if this call consumed it.
pub(crate) fn consume_approved(
    c: &Connection,
    txn_id: &TxnId,
    customer: &str,
    now: u64,
) -> rusqlite::Result<Option<String>> {
    c.prepare_cached(
        "UPDATE txns SET state = 'consumed', consumed_at = ?1
             WHERE txn_id = ?2 AND customer_id = ?3 AND state = 'approved'
               AND EXISTS (SELECT 1 FROM tokens t
                           WHERE t.serial = txns.serial AND t.state = 'active' AND t.locked = 0)
             RETURNING serial",
    )?
    .query_row(
        params![to_i64(now), &txn_id.as_bytes()[..], customer],
        |r| r.get(0),
    )
    .optional()
}

/// Compare-and-set of `verify_code`: `pending` → `consumed` only if the
/// transaction belongs to `customer`, `now < expires_at` and its token is
/// active and not locked. The token's serial if this call consumed it.
pub(crate) fn consume_pending(
    c: &Connection,
    txn_id: &TxnId,
    customer: &str,
    now: u64,
) -> rusqlite::Result<Option<String>> {
    c.prepare_cached(
        "UPDATE txns SET state = 'consumed', decided_at = ?1, consumed_at = ?1
             WHERE txn_id = ?2 AND customer_id = ?3 AND state = 'pending' AND expires_at > ?1
               AND EXISTS (SELECT 1 FROM tokens t
                           WHERE t.serial = txns.serial AND t.state = 'active' AND t.locked = 0)
             RETURNING serial",
    )?
    .query_row(
        params![to_i64(now), &txn_id.as_bytes()[..], customer],
        |r| r.get(0),
    )
    .optional()
}

/// Records poll nonce `nonce` of token `serial` at `now`. `true` if it
/// was not seen in the last [`NONCE_MEMORY`] seconds (then it is
/// remembered from `now`); `false` for a replay. One statement: an
/// `INSERT … ON CONFLICT DO UPDATE … WHERE` that changes a row only for a
/// new or forgotten nonce. Nonces older than the memory are deleted first.
pub(crate) fn remember_nonce(
    c: &Connection,
    serial: &str,
    nonce: &[u8; NONCE_LEN],
    now: u64,
) -> rusqlite::Result<bool> {
    let now = to_i64(now);
    let memory = to_i64(NONCE_MEMORY);
    c.prepare_cached("DELETE FROM txn_nonces WHERE serial = ?1 AND seen_at <= ?2 - ?3")?
        .execute(params![serial, now, memory])?;
    let n = c
        .prepare_cached(
            "INSERT INTO txn_nonces(serial, nonce, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(serial, nonce) DO UPDATE SET seen_at = excluded.seen_at
             WHERE txn_nonces.seen_at <= excluded.seen_at - ?4",
        )?
        .execute(params![serial, &nonce[..], now, memory])?;
    Ok(n == 1)
}

/// Whether token `serial` has had more than [`MAC_LIMIT`] bad decision
/// MACs in its current window (which started less than [`MAC_WINDOW`]
/// seconds before `now`).
pub(crate) fn mac_limited(c: &Connection, serial: &str, now: u64) -> rusqlite::Result<bool> {
    let n: Option<i64> = c
        .prepare_cached(
            "SELECT bad_macs FROM txn_mac_failures WHERE serial = ?1 AND window_start > ?2 - ?3",
        )?
        .query_row(params![serial, to_i64(now), to_i64(MAC_WINDOW)], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(n.unwrap_or(0) > i64::from(MAC_LIMIT))
}

/// Counts one bad decision MAC of token `serial` at `now`: a window older
/// than [`MAC_WINDOW`] restarts at `now` with 1, else its count grows by
/// one. Returns the count in the window.
pub(crate) fn count_bad_mac(c: &Connection, serial: &str, now: u64) -> rusqlite::Result<u32> {
    let n: i64 = c
        .prepare_cached(
            "INSERT INTO txn_mac_failures(serial, window_start, bad_macs) VALUES (?1, ?2, 1)
             ON CONFLICT(serial) DO UPDATE SET
               bad_macs = CASE WHEN txn_mac_failures.window_start <= excluded.window_start - ?3
                               THEN 1 ELSE txn_mac_failures.bad_macs + 1 END,
               window_start = CASE WHEN txn_mac_failures.window_start <= excluded.window_start - ?3
                                   THEN excluded.window_start ELSE txn_mac_failures.window_start END
             RETURNING bad_macs",
        )?
        .query_row(params![serial, to_i64(now), to_i64(MAC_WINDOW)], |r| {
            r.get(0)
        })?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The token's last accepted offline step (`None` before the first).
pub(crate) fn last_offline_step(c: &Connection, serial: &str) -> rusqlite::Result<Option<u64>> {
    let v: Option<Option<i64>> = c
        .prepare_cached("SELECT last_offline_step FROM tokens WHERE serial = ?1")?
        .query_row([serial], |r| r.get(0))
        .optional()?;
    Ok(v.flatten().map(to_u64))
}

/// The part of a token row an offline code changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OfflineRecord {
    /// Last accepted offline step.
    pub(crate) last_offline_step: Option<u64>,
    /// The token's consecutive failures (shared with codes).
    pub(crate) fail_count: u32,
    /// Locked (shared with codes).
    pub(crate) locked: bool,
}

/// Compare-and-set of the offline record: succeeds only if the row still
/// holds `old`. `false` when another writer changed it first.
pub(crate) fn cas_offline(
    c: &Connection,
    serial: &str,
    old: &OfflineRecord,
    new: &OfflineRecord,
) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE tokens SET last_offline_step = ?1, fail_count = ?2, locked = ?3
             WHERE serial = ?4 AND last_offline_step IS ?5 AND fail_count = ?6 AND locked = ?7",
        )?
        .execute(params![
            new.last_offline_step.map(to_i64),
            new.fail_count,
            new.locked,
            serial,
            old.last_offline_step.map(to_i64),
            old.fail_count,
            old.locked,
        ])?;
    Ok(n == 1)
}
