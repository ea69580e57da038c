//! Row-level helpers shared by the operations: reading token rows,
//! the verifier record's compare-and-set, the audit log, expiry.
//!
//! Every statement is prepared through the connection's statement cache.

use rusqlite::{params, Connection, OptionalExtension};
use softtoken_core::encoding::encode;
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::TokenRecord;

/// A Unix time or count as SQLite's integer (saturating).
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Associated data of a session's sealed confirmation (`session:<id>`;
/// its sealed key adds `:key`).
pub(crate) fn session_aad(id: &[u8; 16]) -> Vec<u8> {
    format!("session:{}", encode(id)).into_bytes()
}

/// Associated data of a token's sealed secret (`token:<serial>`).
pub(crate) fn token_aad(serial: &str) -> Vec<u8> {
    format!("token:{serial}").into_bytes()
}

/// A token row as the verifier needs it.
pub(crate) struct TokenRow {
    /// Canonical serial.
    pub(crate) serial: String,
    /// `issued`, `active`, `revoked` or `expired` as stored.
    pub(crate) state: String,
    /// The sealed `K_TOKEN` (absent once revoked or expired).
    pub(crate) sealed: Option<Vec<u8>>,
    /// The verifier record.
    pub(crate) record: TokenRecord,
    /// Unix time until which an issued token may be bound.
    pub(crate) bind_by: u64,
}

/// The columns [`token_from_row`] reads, in its order.
pub(crate) const TOKEN_COLS: &str =
    "serial, state, sealed_secret, last_step, drift, fail_count, locked, bind_by";

/// A [`TokenRow`] from a row selected with [`TOKEN_COLS`].
pub(crate) fn token_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
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

/// The token with canonical serial `serial`, if any.
pub(crate) fn token_by_serial(c: &Connection, serial: &str) -> rusqlite::Result<Option<TokenRow>> {
    c.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE serial = ?1"
    ))?
    .query_row([serial], token_from_row)
    .optional()
}

/// The customer's active token, if any (at most one, unique index).
pub(crate) fn active_token(c: &Connection, customer: &str) -> rusqlite::Result<Option<TokenRow>> {
    c.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM tokens WHERE customer_id = ?1 AND state = 'active'"
    ))?
    .query_row([customer], token_from_row)
    .optional()
}

/// Compare-and-set of the verifier record: succeeds only if the row still
/// holds `old`. Returns `false` when another writer changed it first.
pub(crate) fn cas_record(
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

/// Appends an audit event (never a code or a secret in `detail`).
pub(crate) fn event(
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

/// The state of a row, expiring an unbound token past `bind_by`.
pub(crate) fn effective_state(
    c: &Connection,
    t: &TokenRow,
    now: u64,
) -> rusqlite::Result<TokenState> {
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

/// Revokes a token and deletes its sealed secret (crypto-shredding).
pub(crate) fn revoke(c: &Connection, serial: &str, now: u64) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE tokens SET state = 'revoked', sealed_secret = NULL, revoked_at = ?2 WHERE serial = ?1")?
        .execute(params![serial, to_i64(now)])?;
    Ok(())
}

/// Expires unbound tokens past `bind_by` and drops dead sessions.
pub(crate) fn sweep(c: &Connection, now: u64) -> rusqlite::Result<()> {
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
