//! Re-sealing every secret of the database under a new KEK.
//!
//! [`rekey`] walks the sealed columns (`tokens.sealed_secret`,
//! `sessions.sealed_key`, `sessions.sealed_confirm`) in batches: each batch
//! is one `BEGIN IMMEDIATE` transaction that opens up to `batch` blobs not
//! yet sealed under the new KEK (with the new or the old KEK; blobs of the
//! first format without key id included), seals them under the new KEK and
//! writes them back with a compare-and-set on the old blob. Progress is the
//! database itself: a batch that committed stays done, so an interrupted
//! run is resumed by running it again. The old KEK is needed until the run
//! reports completion; a server running meanwhile must hold both
//! (`serve --kek-file NEW --old-kek-file OLD`).
//!
//! On PostgreSQL ([`pg_open`], [`pg_remaining`], [`pg_step`], [`pg_rekey`])
//! the same walk runs with the same guarantees: each batch is one
//! transaction that takes its rows `FOR UPDATE`, re-seals them and writes
//! them back with the same compare-and-set, so it may run while every
//! instance serves (each holding both KEKs); an interrupted run is resumed
//! by running it again.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::db::rows::{session_aad, token_aad};
use crate::db::schema::current_version;
use crate::seal::Sealer;

/// Why a re-keying run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RekeyError {
    /// The database could not be opened.
    #[error("token-service database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The database has another schema version than this program.
    #[error("token-service database schema version {found}, this program needs {supported}: start the server once first")]
    Schema {
        /// Found version.
        found: i64,
        /// Supported version.
        supported: i64,
    },
    /// A read or write failed (the current batch is rolled back).
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    /// A PostgreSQL statement failed or the connection broke (the current
    /// batch is rolled back).
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// A blob opens with neither KEK (nothing of it is shown).
    #[error("{row}: the sealed value opens with neither the old nor the new key-encryption key")]
    Unopenable {
        /// The row (table and key; no secret).
        row: String,
    },
    /// Rows sealed under another key keep appearing: a server is running
    /// without the new KEK.
    #[error("rows under another key keep appearing after {batches} batches: is a server running with only the old key-encryption key? Restart it with --kek-file NEW --old-kek-file OLD")]
    Unfinished {
        /// Batches done.
        batches: u64,
    },
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RekeyReport {
    /// Blobs re-sealed.
    pub resealed: u64,
    /// Committed batches.
    pub batches: u64,
}

/// A sealed column and how its associated data is named.
#[derive(Debug, Clone, Copy)]
enum Column {
    TokenSecret,
    SessionKey,
    SessionConfirm,
}

impl Column {
    const ALL: [Column; 3] = [
        Column::TokenSecret,
        Column::SessionKey,
        Column::SessionConfirm,
    ];

    fn table_key_col(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Column::TokenSecret => ("tokens", "serial", "sealed_secret"),
            Column::SessionKey => ("sessions", "session_id", "sealed_key"),
            Column::SessionConfirm => ("sessions", "session_id", "sealed_confirm"),
        }
    }

    /// The associated data of the row with primary key `key`, or `None`
    /// for a malformed key.
    fn aad(self, key: &rusqlite::types::Value) -> Option<Vec<u8>> {
        use rusqlite::types::Value;
        match (self, key) {
            (Column::TokenSecret, Value::Text(s)) => Some(token_aad(s)),
            (Column::SessionKey | Column::SessionConfirm, Value::Blob(b)) => {
                let id: [u8; 16] = b.as_slice().try_into().ok()?;
                let mut aad = session_aad(&id);
                if matches!(self, Column::SessionKey) {
                    aad.extend_from_slice(b":key");
                }
                Some(aad)
            }
            _ => None,
        }
    }

    fn row_name(self, rowid: i64) -> String {
        let (t, _, c) = self.table_key_col();
        format!("{t}.{c} of row {rowid}")
    }
}

/// Opens the token-service database for re-keying (it must have this
/// program's schema version).
pub fn open(path: &Path) -> Result<Connection, RekeyError> {
    let err = |source| RekeyError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    if found != current_version() {
        return Err(RekeyError::Schema {
            found,
            supported: current_version(),
        });
    }
    Ok(conn)
}

/// Re-seals at most `batch` blobs of one column in one transaction;
/// returns how many.
fn step_column(
    conn: &mut Connection,
    sealer: &Sealer,
    col: Column,
    batch: usize,
) -> Result<u64, RekeyError> {
    let (table, key, column) = col.table_key_col();
    let prefix = sealer.key_id().blob_prefix();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows: Vec<(i64, rusqlite::types::Value, Vec<u8>)> = {
        let mut q = tx.prepare(&format!(
            "SELECT rowid, {key}, {column} FROM {table}
             WHERE {column} IS NOT NULL AND substr({column}, 1, ?1) <> ?2
             ORDER BY rowid LIMIT ?3"
        ))?;
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let plen = i64::try_from(prefix.len()).unwrap_or(i64::MAX);
        let it = q.query_map(params![plen, prefix, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        it.collect::<Result<_, _>>()?
    };
    let mut done = 0u64;
    for (rowid, k, blob) in &rows {
        let aad = col.aad(k).ok_or_else(|| RekeyError::Unopenable {
            row: col.row_name(*rowid),
        })?;
        let plain = sealer
            .open(blob, &aad)
            .map_err(|_| RekeyError::Unopenable {
                row: col.row_name(*rowid),
            })?;
        let fresh = sealer.seal(&plain, &aad);
        done += tx
            .prepare_cached(&format!(
                "UPDATE {table} SET {column} = ?1 WHERE rowid = ?2 AND {column} = ?3"
            ))?
            .execute(params![fresh, rowid, blob])? as u64;
    }
    tx.commit()?;
    Ok(done)
}

/// One batch over the columns in order: re-seals up to `batch` blobs of
/// the first column that still has some. Returns how many (0 = finished).
pub fn step(conn: &mut Connection, sealer: &Sealer, batch: usize) -> Result<u64, RekeyError> {
    for col in Column::ALL {
        let n = step_column(conn, sealer, col, batch.max(1))?;
        if n > 0 {
            return Ok(n);
        }
    }
    Ok(0)
}

/// Blobs not yet sealed under `sealer`'s current KEK.
pub fn remaining(conn: &Connection, sealer: &Sealer) -> Result<u64, RekeyError> {
    let prefix = sealer.key_id().blob_prefix();
    let plen = i64::try_from(prefix.len()).unwrap_or(i64::MAX);
    let mut total = 0u64;
    for col in Column::ALL {
        let (table, _, column) = col.table_key_col();
        let n: Option<i64> = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE {column} IS NOT NULL AND substr({column}, 1, ?1) <> ?2"),
                params![plen, prefix],
                |r| r.get(0),
            )
            .optional()?;
        total += u64::try_from(n.unwrap_or(0)).unwrap_or(0);
    }
    Ok(total)
}

/// Re-seals every blob under `sealer`'s current KEK (opening with it or
/// the old one it holds), `batch` rows per transaction, calling
/// `progress(report)` after each committed batch. Bounded: it stops with
/// [`RekeyError::Unfinished`] if more batches than twice the initial
/// backlog (plus a margin) were needed.
pub fn rekey(
    conn: &mut Connection,
    sealer: &Sealer,
    batch: usize,
    mut progress: impl FnMut(RekeyReport),
) -> Result<RekeyReport, RekeyError> {
    let batch = batch.max(1);
    let backlog = remaining(conn, sealer)?;
    let limit = 2 * (backlog / batch as u64 + 1) + 8;
    let mut report = RekeyReport::default();
    while report.batches < limit {
        let n = step(conn, sealer, batch)?;
        if n == 0 {
            return Ok(report);
        }
        report.resealed += n;
        report.batches += 1;
        progress(report);
    }
    Err(RekeyError::Unfinished {
        batches: report.batches,
    })
}

/// Connects to the PostgreSQL database for re-keying (it must have this
/// program's schema version: start a server once first).
pub async fn pg_open(cfg: &tokio_postgres::Config) -> Result<tokio_postgres::Client, RekeyError> {
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::error!("rekey: database connection: {e}");
        }
    });
    let found: i32 = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
        .await?
        .try_get(0)?;
    let supported = crate::db::pg::PG_SCHEMA_VERSION;
    if found != supported {
        return Err(RekeyError::Schema {
            found: i64::from(found),
            supported: i64::from(supported),
        });
    }
    Ok(client)
}

/// The associated data of a PostgreSQL row of `col` (its key as stored).
fn pg_aad(col: Column, row: &tokio_postgres::Row) -> Result<Option<Vec<u8>>, RekeyError> {
    Ok(match col {
        Column::TokenSecret => Some(token_aad(&row.try_get::<_, String>(0)?)),
        Column::SessionKey | Column::SessionConfirm => {
            let id: Vec<u8> = row.try_get(0)?;
            let Ok(id) = <[u8; 16]>::try_from(id) else {
                return Ok(None);
            };
            let mut aad = session_aad(&id);
            if matches!(col, Column::SessionKey) {
                aad.extend_from_slice(b":key");
            }
            Some(aad)
        }
    })
}

fn pg_row_name(col: Column, row: &tokio_postgres::Row) -> String {
    let (t, _, c) = col.table_key_col();
    let key = match col {
        Column::TokenSecret => row.try_get::<_, String>(0).unwrap_or_default(),
        Column::SessionKey | Column::SessionConfirm => row
            .try_get::<_, Vec<u8>>(0)
            .map(|id| softtoken_core::encoding::encode(&id))
            .unwrap_or_default(),
    };
    format!("{t}.{c} of {key}")
}

async fn pg_step_column(
    client: &mut tokio_postgres::Client,
    sealer: &Sealer,
    col: Column,
    batch: usize,
) -> Result<u64, RekeyError> {
    let (table, key, column) = col.table_key_col();
    let prefix = sealer.key_id().blob_prefix();
    let plen = i32::try_from(prefix.len()).unwrap_or(i32::MAX);
    let limit = i64::try_from(batch).unwrap_or(i64::MAX);
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {key}, {column} FROM {table}
                 WHERE {column} IS NOT NULL AND substring({column} from 1 for $1) <> $2
                 ORDER BY {key} LIMIT $3 FOR UPDATE"
            ),
            &[&plen, &prefix.as_slice(), &limit],
        )
        .await?;
    let update = tx
        .prepare(&format!(
            "UPDATE {table} SET {column} = $1 WHERE {key} = $2 AND {column} = $3"
        ))
        .await?;
    let mut done = 0u64;
    for row in &rows {
        let unopenable = || RekeyError::Unopenable {
            row: pg_row_name(col, row),
        };
        let aad = pg_aad(col, row)?.ok_or_else(unopenable)?;
        let blob: Vec<u8> = row.try_get(1)?;
        let plain = sealer.open(&blob, &aad).map_err(|_| unopenable())?;
        let fresh = sealer.seal(&plain, &aad);
        done += match col {
            Column::TokenSecret => {
                let k: String = row.try_get(0)?;
                tx.execute(&update, &[&fresh, &k, &blob]).await?
            }
            Column::SessionKey | Column::SessionConfirm => {
                let k: Vec<u8> = row.try_get(0)?;
                tx.execute(&update, &[&fresh, &k, &blob]).await?
            }
        };
    }
    tx.commit().await?;
    Ok(done)
}

/// [`step`] on PostgreSQL: one batch of the first column that still has
/// blobs under another key, in one transaction. Returns how many (0 =
/// finished).
pub async fn pg_step(
    client: &mut tokio_postgres::Client,
    sealer: &Sealer,
    batch: usize,
) -> Result<u64, RekeyError> {
    for col in Column::ALL {
        let n = pg_step_column(client, sealer, col, batch.max(1)).await?;
        if n > 0 {
            return Ok(n);
        }
    }
    Ok(0)
}

/// [`remaining`] on PostgreSQL.
pub async fn pg_remaining(
    client: &tokio_postgres::Client,
    sealer: &Sealer,
) -> Result<u64, RekeyError> {
    let prefix = sealer.key_id().blob_prefix();
    let plen = i32::try_from(prefix.len()).unwrap_or(i32::MAX);
    let mut total = 0u64;
    for col in Column::ALL {
        let (table, _, column) = col.table_key_col();
        let n: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE {column} IS NOT NULL AND substring({column} from 1 for $1) <> $2"),
                &[&plen, &prefix.as_slice()],
            )
            .await?
            .try_get(0)?;
        total += u64::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

/// Records in the database that its blobs are now sealed under `new_kek`
/// (the `kek` check value of [`crate::db::pg::key_checks`]), once
/// [`pg_remaining`] is 0 — from then on an instance must hold the new KEK
/// to start, and the old one is no longer accepted. Returns whether it
/// was recorded (`false`: blobs under another key remain).
pub async fn pg_finish(
    client: &tokio_postgres::Client,
    sealer: &Sealer,
    new_kek: &[u8; 32],
) -> Result<bool, RekeyError> {
    if pg_remaining(client, sealer).await? != 0 {
        return Ok(false);
    }
    let (name, value) = crate::db::pg::kek_check(new_kek);
    client
        .execute(
            "INSERT INTO key_checks(name, check_value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET check_value = EXCLUDED.check_value",
            &[&name, &value],
        )
        .await?;
    Ok(true)
}

/// [`rekey`] on PostgreSQL (same bound, same progress reports).
pub async fn pg_rekey(
    client: &mut tokio_postgres::Client,
    sealer: &Sealer,
    batch: usize,
    mut progress: impl FnMut(RekeyReport),
) -> Result<RekeyReport, RekeyError> {
    let batch = batch.max(1);
    let backlog = pg_remaining(client, sealer).await?;
    let limit = 2 * (backlog / batch as u64 + 1) + 8;
    let mut report = RekeyReport::default();
    while report.batches < limit {
        let n = pg_step(client, sealer, batch).await?;
        if n == 0 {
            return Ok(report);
        }
        report.resealed += n;
        report.batches += 1;
        progress(report);
    }
    Err(RekeyError::Unfinished {
        batches: report.batches,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::db::{Db, DbConfig};

    const OLD: [u8; 32] = [1; 32];
    const NEW: [u8; 32] = [2; 32];

    fn secret(i: u8) -> Vec<u8> {
        vec![i; 20]
    }

    /// A database with 5 tokens and 2 sessions sealed under OLD.
    fn fixture(dir: &Path) -> PathBuf {
        let path = dir.join("t.sqlite");
        drop(Db::open(DbConfig::new(path.clone()), Arc::new(Sealer::new(&OLD))).unwrap());
        // The writer thread closes the file when the handle is dropped.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let c = Connection::open(&path).unwrap();
        let old = Sealer::new(&OLD);
        for i in 0..5u8 {
            let serial = format!("SERIAL{i}");
            c.execute(
                "INSERT INTO tokens(serial, state, sealed_secret, issued_at, bind_by) VALUES (?1, 'issued', ?2, 0, 0)",
                params![serial, old.seal(&secret(i), &token_aad(&serial))],
            )
            .unwrap();
        }
        for i in 0..2u8 {
            let id = [i; 16];
            let aad = session_aad(&id);
            let mut key_aad = aad.clone();
            key_aad.extend_from_slice(b":key");
            c.execute(
                "INSERT INTO sessions(session_id, serial, sealed_key, sealed_confirm, expires_at) VALUES (?1, ?2, ?3, ?4, 0)",
                params![&id[..], format!("S{i}"), old.seal(&secret(10 + i), &key_aad), old.seal(&secret(20 + i), &aad)],
            )
            .unwrap();
        }
        path
    }

    fn all_open_with(c: &Connection, s: &Sealer) -> bool {
        let mut q = c
            .prepare("SELECT serial, sealed_secret FROM tokens")
            .unwrap();
        let tokens: Vec<(String, Vec<u8>)> = q
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        tokens.iter().enumerate().all(|(i, (serial, blob))| {
            s.open(blob, &token_aad(serial)).map(|p| p.to_vec()).ok() == Some(secret(i as u8))
        })
    }

    #[test]
    fn resumable_batches_then_only_the_new_key_is_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = fixture(dir.path());
        let mut c = open(&path).unwrap();
        let both = Sealer::new(&NEW).also_opening(&OLD);
        assert_eq!(remaining(&c, &both).unwrap(), 9);
        assert!(!all_open_with(&c, &Sealer::new(&NEW)));

        // One batch, then an "interruption": the rest is still readable
        // with both keys, and a new run finishes the job.
        assert_eq!(step(&mut c, &both, 2).unwrap(), 2);
        assert_eq!(remaining(&c, &both).unwrap(), 7);
        assert!(all_open_with(&c, &both));
        drop(c);
        let mut c = open(&path).unwrap();
        let mut seen = Vec::new();
        let report = rekey(&mut c, &both, 2, |r| seen.push(r)).unwrap();
        assert_eq!(report.resealed, 7);
        assert_eq!(seen.len() as u64, report.batches);
        assert_eq!(remaining(&c, &both).unwrap(), 0);
        // The new KEK alone opens every token and session blob now.
        let new = Sealer::new(&NEW);
        assert!(all_open_with(&c, &new));
        let (k, conf): (Vec<u8>, Vec<u8>) = c
            .query_row(
                "SELECT sealed_key, sealed_confirm FROM sessions WHERE session_id = ?1",
                [&[1u8; 16][..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let aad = session_aad(&[1; 16]);
        assert_eq!(new.open(&conf, &aad).unwrap().to_vec(), secret(21));
        let mut key_aad = aad.clone();
        key_aad.extend_from_slice(b":key");
        assert_eq!(new.open(&k, &key_aad).unwrap().to_vec(), secret(11));
        // Running again does nothing.
        assert_eq!(
            rekey(&mut c, &both, 2, |_| {}).unwrap(),
            RekeyReport::default()
        );
    }

    #[test]
    fn a_blob_neither_key_opens_stops_the_run_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = fixture(dir.path());
        let mut c = open(&path).unwrap();
        let wrong = Sealer::new(&NEW).also_opening(&[9; 32]);
        let err = rekey(&mut c, &wrong, 10, |_| {}).unwrap_err();
        assert!(matches!(err, RekeyError::Unopenable { .. }), "{err}");
        assert!(err.to_string().contains("tokens.sealed_secret"));
        // Nothing was changed by the failed batch.
        assert_eq!(remaining(&c, &wrong).unwrap(), 9);
    }
}
