//! Garbage collection of the token service's database, off the request
//! path.
//!
//! [`Collect`] is one bounded operation of the writer: it deletes at most
//! `batch` rows of each kind —
//! * pairing sessions past their expiry (finished ones a day later, as
//!   [`crate::ops::finish`] keeps them for a repeated `finish`);
//! * tokens that were never bound and are past `bind_by` (state `issued`
//!   or `expired`; bound tokens stay, revoked ones without their secret);
//! * audit events older than the retention, taken from the oldest ids
//!   (events are appended in time order, so the oldest ids are the oldest
//!   events; a batch looks at `batch` rows at most, whatever the table
//!   size).
//!
//! [`run`] repeats it every `interval`, at most `max_rounds` times per
//! tick, so a backlog is worked off in small transactions between the
//! requests' batches.
//!
//! On PostgreSQL the same statements run in one transaction per
//! [`Collect`] (`db/pg/ops.rs`); every instance collects, and instances
//! collecting at once delete each row once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Savepoint};

use crate::db::rows::to_i64;
use crate::db::{Ctx, Db, Fault, Operation};

/// Settings of the collector.
#[derive(Debug, Clone)]
pub struct GcConfig {
    /// Seconds audit events are kept.
    pub event_retention: u64,
    /// Rows of each kind per operation.
    pub batch: u32,
    /// Time between ticks.
    pub interval: Duration,
    /// Operations per tick at most.
    pub max_rounds: u32,
}

impl Default for GcConfig {
    /// 400 days of events, 500 rows per batch, every 60 s, 20 rounds.
    fn default() -> GcConfig {
        GcConfig {
            event_retention: 400 * 86_400,
            batch: 500,
            interval: Duration::from_secs(60),
            max_rounds: 20,
        }
    }
}

/// One bounded collection at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Collect {
    /// Seconds audit events are kept.
    pub event_retention: u64,
    /// Rows of each kind at most.
    pub batch: u32,
}

/// Rows deleted by one [`Collect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Collected {
    /// Pairing sessions.
    pub sessions: u64,
    /// Never-bound tokens.
    pub tokens: u64,
    /// Audit events.
    pub events: u64,
}

impl Collected {
    /// Whether some kind had a full batch (more may be waiting).
    fn full(&self, batch: u32) -> bool {
        let b = u64::from(batch);
        self.sessions >= b || self.tokens >= b || self.events >= b
    }
}

impl Operation for Collect {
    type Output = Collected;

    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::gc_op(self, client, ctx, now)
    }

    fn apply(self, c: &mut Savepoint<'_>, _: &Ctx<'_>, now: u64) -> Result<Collected, Fault> {
        let now_i = to_i64(now);
        let batch = i64::from(self.batch);
        let sessions = c
            .prepare_cached(
                "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions
                   WHERE (finished_at IS NULL AND expires_at < ?1)
                      OR (finished_at IS NOT NULL AND expires_at < ?1 - 86400)
                   LIMIT ?2)",
            )?
            .execute(params![now_i, batch])?;
        let tokens = c
            .prepare_cached(
                "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens
                   WHERE state IN ('issued', 'expired') AND bound_at IS NULL AND bind_by < ?1
                   LIMIT ?2)",
            )?
            .execute(params![now_i, batch])?;
        let cutoff = to_i64(now.saturating_sub(self.event_retention));
        let events = c
            .prepare_cached(
                "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?2)
                   AND at < ?1",
            )?
            .execute(params![cutoff, batch])?;
        Ok(Collected {
            sessions: sessions as u64,
            tokens: tokens as u64,
            events: events as u64,
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Collects every `cfg.interval` until the database is closed: each tick
/// runs [`Collect`] again while a batch came back full, at most
/// `cfg.max_rounds` times.
pub async fn run(db: Db, cfg: GcConfig) {
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for _ in 0..cfg.max_rounds.max(1) {
            let op = Collect {
                event_retention: cfg.event_retention,
                batch: cfg.batch.max(1),
            };
            match db.run(op, unix_now()).await {
                Ok(done) => {
                    if done != Collected::default() {
                        tracing::info!(
                            "collected {} sessions, {} unbound tokens, {} events",
                            done.sessions,
                            done.tokens,
                            done.events
                        );
                    }
                    if !done.full(cfg.batch.max(1)) {
                        break;
                    }
                }
                Err(_) => {
                    tracing::warn!("garbage collection failed; retrying at the next tick");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rusqlite::Connection;

    use super::*;
    use crate::db::DbConfig;
    use crate::seal::Sealer;

    const NOW: u64 = 1_000_000;

    fn count(c: &Connection, sql: &str) -> i64 {
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[tokio::test]
    async fn deletes_what_expired_in_bounded_batches_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let db = Db::open(DbConfig::new(path.clone()), Arc::new(Sealer::new(&[1; 32]))).unwrap();
        // The writer has migrated the file once it answers.
        let none = db
            .run(
                Collect {
                    event_retention: 1,
                    batch: 1,
                },
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(none, Collected::default());
        let c = Connection::open(&path).unwrap();
        c.busy_timeout(Duration::from_secs(5)).unwrap();
        let old = NOW as i64 - 10;
        let day = 86_400;
        // Sessions: 3 expired unfinished, 1 finished long ago, 1 finished
        // recently (kept for a repeated finish), 1 open.
        for (i, (expires, finished)) in [
            (old, None),
            (old, None),
            (old, None),
            (old - 2 * day, Some(old - 2 * day)),
            (old, Some(old)),
            (NOW as i64 + 100, None),
        ]
        .into_iter()
        .enumerate()
        {
            c.execute(
                "INSERT INTO sessions(session_id, serial, sealed_confirm, expires_at, finished_at) VALUES (?1, ?2, x'00', ?3, ?4)",
                params![vec![i as u8; 16], format!("S{i}"), expires, finished],
            )
            .unwrap();
        }
        // Tokens: 2 never bound and past bind_by (issued, expired), 1
        // issued within bind_by, 1 bound long ago, 1 revoked.
        for (serial, state, bind_by, bound) in [
            ("T1", "issued", old, None),
            ("T2", "expired", old, None),
            ("T3", "issued", NOW as i64 + 100, None),
            ("T4", "active", old, Some(old - 5)),
            ("T5", "revoked", old, Some(old - 5)),
        ] {
            c.execute(
                "INSERT INTO tokens(serial, state, issued_at, bind_by, bound_at) VALUES (?1, ?2, 0, ?3, ?4)",
                params![serial, state, bind_by, bound],
            )
            .unwrap();
        }
        // Events: 5 older than the retention, 3 recent.
        for at in [1, 2, 3, 4, 5, NOW - 5, NOW - 4, NOW - 3] {
            c.execute(
                "INSERT INTO events(at, kind) VALUES (?1, 'issued')",
                [at as i64],
            )
            .unwrap();
        }
        let op = Collect {
            event_retention: 1000,
            batch: 2,
        };
        let first = db.run(op, NOW).await.unwrap();
        assert_eq!(
            first,
            Collected {
                sessions: 2,
                tokens: 2,
                events: 2
            }
        );
        let mut total = first;
        for _ in 0..10 {
            let d = db.run(op, NOW).await.unwrap();
            if d == Collected::default() {
                break;
            }
            assert!(d.sessions <= 2 && d.tokens <= 2 && d.events <= 2);
            total.sessions += d.sessions;
            total.tokens += d.tokens;
            total.events += d.events;
        }
        assert_eq!(
            total,
            Collected {
                sessions: 4,
                tokens: 2,
                events: 5
            }
        );
        assert_eq!(count(&c, "SELECT COUNT(*) FROM sessions"), 2);
        assert_eq!(
            count(
                &c,
                "SELECT COUNT(*) FROM tokens WHERE serial IN ('T3','T4','T5')"
            ),
            3
        );
        assert_eq!(count(&c, "SELECT COUNT(*) FROM tokens"), 3);
        assert_eq!(count(&c, "SELECT MIN(at) FROM events"), NOW as i64 - 5);
    }
}
