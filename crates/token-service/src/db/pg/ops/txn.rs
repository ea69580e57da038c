//! STK1-TXN on PostgreSQL: the statements of [`crate::ops::txn`] with the
//! same results, refusals and audit events as the SQLite ones
//! (`db/txn.rs` and the operations' `apply`).
//!
//! Contract (the SQLite one, across instances):
//! * every state change of a transaction is **one conditional `UPDATE`**
//!   whose `WHERE` is the whole precondition (the state it leaves, the
//!   expiry, the owner, the token's state). Under READ COMMITTED a racing
//!   `UPDATE` of the same row waits for the first to commit and then
//!   re-checks its `WHERE` on the new row, so of N racing decisions or
//!   consumptions exactly one changes the row; the others change nothing
//!   and only then read the row to explain the refusal;
//! * a poll nonce is remembered with one `INSERT … ON CONFLICT DO UPDATE …
//!   WHERE` (a racing duplicate waits for the first insert and then finds
//!   the conflict): a nonce is accepted once per [`NONCE_MEMORY`] seconds
//!   per token, whatever instance sees it;
//! * bad decision MACs are counted per token with one upsert (the window
//!   restarts after [`MAC_WINDOW`]); more than [`MAC_LIMIT`] in a window is
//!   `rate_limited`;
//! * an offline code takes the token row `FOR UPDATE`, then the core
//!   ([`softtoken_core::Policy::check_offline`]) decides, and the decision
//!   is stored with conditional updates on that row (its own
//!   `last_offline_step`, the shared `fail_count`/`locked`) and the
//!   transaction (`pending` → `consumed`);
//! * expiry is the request's time (`now`), as on SQLite.

use deadpool_postgres::GenericClient;
use softtoken_core::stk1::messages::ErrorCode;
use softtoken_core::txn::wire::{PollResponse, TxnState, WireTransaction, MAX_PENDING};
use softtoken_core::txn::{
    derive_txn_keys, offline_step, Decision, Kind, OcraKey, TxnId, TxnKey, NONCE_LEN,
};
use softtoken_core::{OfflineVerdict, Serial};
use tokio_postgres::Row;

use super::{active_token, event, to_i64, token_by_serial, TokenRow};
use super::{PgCtx, PgFault};
use crate::db::txn::{TxnRow, MAC_LIMIT, MAC_WINDOW, NONCE_MEMORY};
use crate::db::Fault;
use crate::ops::check;
use crate::ops::txn as ops_txn;
use crate::ops::txn::poll::{poll_refused, POLL_WINDOW};
use crate::ops::txn::CreateTxnResponse;
use crate::ops::{Done, V};
use crate::refusal::Refusal;

/// A SQLite-side fault (the shared refusal helpers) as a PostgreSQL one.
fn pf(f: Fault) -> PgFault {
    match f {
        Fault::Refused(r) => PgFault::Refused(r),
        Fault::SerialTaken | Fault::Storage(_) => PgFault::Refused(Refusal::internal()),
    }
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn bad_row(what: &str) -> PgFault {
    tracing::error!("stored transaction: malformed {what}");
    PgFault::Refused(Refusal::internal())
}

fn state_from(text: &str) -> Result<TxnState, PgFault> {
    Ok(match text {
        "pending" => TxnState::Pending,
        "approved" => TxnState::Approved,
        "rejected" => TxnState::Rejected,
        "expired" => TxnState::Expired,
        "consumed" => TxnState::Consumed,
        _ => return Err(bad_row("state")),
    })
}

const TXN_COLS: &str = "txn_id, serial, customer_id, kind, created_at, expires_at, fields, state";

fn txn_from_row(r: &Row) -> Result<TxnRow, PgFault> {
    let id: Vec<u8> = r.try_get(0)?;
    let id: [u8; 16] = id.try_into().map_err(|_| bad_row("txn_id"))?;
    let kind: String = r.try_get(3)?;
    let kind = Kind::parse(&kind).map_err(|_| bad_row("kind"))?;
    let fields: String = r.try_get(6)?;
    let fields: Vec<(String, String)> =
        serde_json::from_str(&fields).map_err(|_| bad_row("fields"))?;
    let state: String = r.try_get(7)?;
    Ok(TxnRow {
        txn_id: TxnId::from_bytes(id),
        serial: r.try_get(1)?,
        customer_id: r.try_get(2)?,
        kind,
        created_at: to_u64(r.try_get(4)?),
        expires_at: to_u64(r.try_get(5)?),
        fields,
        state: state_from(&state)?,
    })
}

/// `K_TXN` and `K_OCRA` of token `t` (the opened secret is zeroised when
/// this returns; the keys when the caller drops them).
fn token_keys(ctx: &PgCtx<'_>, t: &TokenRow) -> Result<(Serial, TxnKey, OcraKey), PgFault> {
    let serial =
        Serial::parse_strict(&t.serial).map_err(|_| PgFault::Refused(Refusal::internal()))?;
    let secret = check::open_secret(ctx.sealer, &t.serial, t.sealed.as_deref())?;
    let (k_txn, k_ocra) = derive_txn_keys(&secret, &serial);
    Ok((serial, k_txn, k_ocra))
}

async fn txn_event<C: GenericClient>(
    c: &C,
    now: u64,
    serial: &str,
    customer: Option<&str>,
    kind: &str,
    txn_id: &TxnId,
) -> Result<(), tokio_postgres::Error> {
    event(
        c,
        now,
        Some(serial),
        customer,
        kind,
        Some(&txn_id.to_base32()),
    )
    .await
}

async fn by_id<C: GenericClient>(
    c: &C,
    txn_id: &TxnId,
    for_update: bool,
) -> Result<Option<TxnRow>, PgFault> {
    let sql = if for_update {
        format!("SELECT {TXN_COLS} FROM txns WHERE txn_id = $1 FOR UPDATE")
    } else {
        format!("SELECT {TXN_COLS} FROM txns WHERE txn_id = $1")
    };
    let st = c.prepare_cached(&sql).await?;
    match c.query_opt(&st, &[&&txn_id.as_bytes()[..]]).await? {
        Some(r) => Ok(Some(txn_from_row(&r)?)),
        None => Ok(None),
    }
}

/// Stores `expired` for a pending row past its expiry (audit event only
/// from the statement that changed it) and updates `row.state`.
async fn expire_row<C: GenericClient>(c: &C, row: &mut TxnRow, now: u64) -> Result<(), PgFault> {
    if row.state_at(now) == TxnState::Expired && row.state == TxnState::Pending {
        let st = c
            .prepare_cached(
                "UPDATE txns SET state = 'expired'
                 WHERE txn_id = $1 AND state = 'pending' AND expires_at <= $2",
            )
            .await?;
        if c.execute(&st, &[&&row.txn_id.as_bytes()[..], &to_i64(now)])
            .await?
            == 1
        {
            txn_event(
                c,
                now,
                &row.serial,
                Some(&row.customer_id),
                "txn_expired",
                &row.txn_id,
            )
            .await?;
        }
        row.state = TxnState::Expired;
    }
    Ok(())
}

/// The transaction of `customer` (another customer's or an unknown one
/// is `unknown_txn`), expired on the way if due.
async fn customer_txn<C: GenericClient>(
    c: &C,
    customer: &str,
    txn_id: &TxnId,
    now: u64,
    for_update: bool,
) -> Result<TxnRow, PgFault> {
    let Some(mut row) = by_id(c, txn_id, for_update).await? else {
        return Err(pf(ops_txn::unknown_txn()));
    };
    if row.customer_id != customer {
        return Err(pf(ops_txn::unknown_txn()));
    }
    expire_row(c, &mut row, now).await?;
    Ok(row)
}

/// [`ops_txn::create::CreateTxn`].
pub(crate) async fn create<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    op: ops_txn::create::CreateTxn,
    now: u64,
) -> Result<CreateTxnResponse, PgFault> {
    let customer = op.customer_id.as_str();
    let Some(t) = active_token(c, customer, false).await? else {
        return Err(check::no_token().into());
    };
    if t.record.locked {
        return Err(check::locked().into());
    }
    let serial =
        Serial::parse_strict(&t.serial).map_err(|_| PgFault::Refused(Refusal::internal()))?;
    let expires_at = now.saturating_add(ctx.cfg.txn_lifetime);
    let tx = softtoken_core::txn::Transaction::new(
        TxnId::generate(&mut rand_core::OsRng),
        serial.clone(),
        op.kind,
        now,
        expires_at,
        op.fields,
    )
    .map_err(|e| PgFault::Refused(e.into()))?;
    let fields =
        serde_json::to_string(tx.fields()).map_err(|_| PgFault::Refused(Refusal::internal()))?;
    let st = c
        .prepare_cached(
            "INSERT INTO txns(txn_id, serial, customer_id, kind, created_at, expires_at, fields, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
        )
        .await?;
    c.execute(
        &st,
        &[
            &&tx.txn_id().as_bytes()[..],
            &tx.serial().as_str(),
            &customer,
            &tx.kind().as_str(),
            &to_i64(tx.created_at()),
            &to_i64(tx.expires_at()),
            &fields,
        ],
    )
    .await?;
    txn_event(
        c,
        now,
        &t.serial,
        Some(customer),
        "txn_created",
        tx.txn_id(),
    )
    .await?;
    Ok(CreateTxnResponse {
        v: V,
        result: Done::Ok,
        txn_id: *tx.txn_id(),
        serial,
        created_at: tx.created_at(),
        expires_at: tx.expires_at(),
    })
}

/// [`ops_txn::status::TxnStatus`].
pub(crate) async fn status<C: GenericClient>(
    c: &C,
    op: ops_txn::status::TxnStatus,
    now: u64,
) -> Result<TxnState, PgFault> {
    Ok(customer_txn(c, &op.customer_id, &op.txn_id, now, false)
        .await?
        .state)
}

/// [`ops_txn::consume::Consume`]: one conditional `UPDATE` decides.
pub(crate) async fn consume<C: GenericClient>(
    c: &C,
    op: ops_txn::consume::Consume,
    now: u64,
) -> Result<(), PgFault> {
    let customer = op.customer_id.as_str();
    let st = c
        .prepare_cached(
            "UPDATE txns SET state = 'consumed', consumed_at = $1
             WHERE txn_id = $2 AND customer_id = $3 AND state = 'approved'
               AND EXISTS (SELECT 1 FROM tokens t
                           WHERE t.serial = txns.serial AND t.state = 'active' AND NOT t.locked)
             RETURNING serial",
        )
        .await?;
    let id = &op.txn_id.as_bytes()[..];
    if let Some(r) = c.query_opt(&st, &[&to_i64(now), &id, &customer]).await? {
        let serial: String = r.try_get(0)?;
        txn_event(c, now, &serial, Some(customer), "txn_consumed", &op.txn_id).await?;
        return Ok(());
    }
    let row = customer_txn(c, customer, &op.txn_id, now, false).await?;
    match row.state {
        TxnState::Consumed => Err(PgFault::Refused(Refusal::new(
            ErrorCode::TxnConsumed,
            "the transaction was already consumed",
        ))),
        TxnState::Approved => match token_by_serial(c, &row.serial, false).await? {
            Some(t) if t.state == "active" && t.record.locked => Err(check::locked().into()),
            // Approved, token active and not locked, yet not consumed: a
            // concurrent change in between; nothing written, try again.
            Some(t) if t.state == "active" => Err(PgFault::Retry),
            _ => Err(pf(ops_txn::token_gone())),
        },
        state => Err(PgFault::Refused(
            Refusal::new(
                ErrorCode::TxnNotApproved,
                "the transaction has not been approved in the app",
            )
            .with_txn_state(state),
        )),
    }
}

/// [`ops_txn::verify_code::VerifyCode`] (one transaction; the token row
/// and the transaction row are taken `FOR UPDATE`).
pub(crate) async fn verify_code<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    op: ops_txn::verify_code::VerifyCode,
    now: u64,
) -> Result<(), PgFault> {
    let customer = op.customer_id.as_str();
    let txn_id = &op.txn_id;
    let row = customer_txn(c, customer, txn_id, now, true).await?;
    let Some(t) = token_by_serial(c, &row.serial, true).await? else {
        return Err(pf(ops_txn::token_gone()));
    };
    if t.state != "active" {
        return Err(pf(ops_txn::token_gone()));
    }
    if t.record.locked {
        return Err(check::locked().into());
    }
    match row.state {
        TxnState::Pending => {}
        TxnState::Expired => return Err(pf(ops_txn::txn_expired())),
        _ => return Err(pf(ops_txn::txn_decided())),
    }
    let (serial, _, k_ocra) = token_keys(ctx, &t)?;
    let tx = ops_txn::transaction(&row, &serial).map_err(pf)?;
    let question = tx.offline_question();
    let st = c
        .prepare_cached("SELECT last_offline_step FROM tokens WHERE serial = $1")
        .await?;
    let last: Option<i64> = c.query_one(&st, &[&t.serial]).await?.try_get(0)?;
    let last_offline = last.map(to_u64);
    let verdict =
        ctx.cfg
            .policy
            .check_offline(&t.record, last_offline, offline_step(now), |step| {
                k_ocra.check_offline_code(question, step, &op.code)
            });
    drop(k_ocra);
    match verdict {
        OfflineVerdict::Accepted { step } => {
            let st = c
                .prepare_cached(
                    "UPDATE txns SET state = 'consumed', decided_at = $1, consumed_at = $1
                     WHERE txn_id = $2 AND customer_id = $3 AND state = 'pending' AND expires_at > $1",
                )
                .await?;
            let consumed = c
                .execute(&st, &[&to_i64(now), &&txn_id.as_bytes()[..], &customer])
                .await?;
            let st = c
                .prepare_cached(
                    "UPDATE tokens SET last_offline_step = $2, fail_count = 0, locked = false
                     WHERE serial = $1 AND state = 'active' AND NOT locked
                       AND (last_offline_step IS NULL OR last_offline_step < $2)",
                )
                .await?;
            let stepped = c.execute(&st, &[&t.serial, &to_i64(step)]).await?;
            if consumed != 1 || stepped != 1 {
                // Both rows are locked by this transaction: a broken
                // invariant. Rolled back, nothing answered as done.
                return Err(PgFault::Retry);
            }
            txn_event(c, now, &t.serial, Some(customer), "txn_offline_ok", txn_id).await?;
            txn_event(c, now, &t.serial, Some(customer), "txn_consumed", txn_id).await?;
            Ok(())
        }
        OfflineVerdict::Replay => {
            event(
                c,
                now,
                Some(&t.serial),
                Some(customer),
                "replay",
                Some("txn_offline"),
            )
            .await?;
            Err(check::replay().into())
        }
        OfflineVerdict::Invalid { fail_count, locked } => {
            let st = c
                .prepare_cached(
                    "UPDATE tokens SET fail_count = $2, locked = $3
                     WHERE serial = $1 AND fail_count = $4 AND NOT locked",
                )
                .await?;
            let n = c
                .execute(
                    &st,
                    &[
                        &t.serial,
                        &i32::try_from(fail_count).unwrap_or(i32::MAX),
                        &locked,
                        &i32::try_from(t.record.fail_count).unwrap_or(i32::MAX),
                    ],
                )
                .await?;
            if n != 1 {
                return Err(PgFault::Retry);
            }
            txn_event(
                c,
                now,
                &t.serial,
                Some(customer),
                "txn_offline_failed",
                txn_id,
            )
            .await?;
            if locked {
                event(c, now, Some(&t.serial), Some(customer), "locked", None).await?;
                return Err(check::locked().into());
            }
            Err(PgFault::Refused(
                Refusal::new(
                    ErrorCode::InvalidOtp,
                    "the offline confirmation code (取引認証番号) is not correct",
                )
                .with_fail_count(fail_count),
            ))
        }
        _ => Err(check::locked().into()),
    }
}

/// Remembers poll nonce `nonce` of `serial` at `now`: `true` if it was not
/// seen in the last [`NONCE_MEMORY`] seconds.
async fn remember_nonce<C: GenericClient>(
    c: &C,
    serial: &str,
    nonce: &[u8; NONCE_LEN],
    now: u64,
) -> Result<bool, tokio_postgres::Error> {
    let now = to_i64(now);
    let memory = to_i64(NONCE_MEMORY);
    let st = c
        .prepare_cached(
            "DELETE FROM txn_nonces WHERE serial = $1 AND seen_at <= $2::bigint - $3::bigint",
        )
        .await?;
    c.execute(&st, &[&serial, &now, &memory]).await?;
    let st = c
        .prepare_cached(
            "INSERT INTO txn_nonces(serial, nonce, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (serial, nonce) DO UPDATE SET seen_at = EXCLUDED.seen_at
             WHERE txn_nonces.seen_at <= EXCLUDED.seen_at - $4::bigint",
        )
        .await?;
    let n = c
        .execute(&st, &[&serial, &&nonce[..], &now, &memory])
        .await?;
    Ok(n == 1)
}

/// [`ops_txn::poll::Poll`].
pub(crate) async fn poll<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    op: ops_txn::poll::Poll,
    now: u64,
) -> Result<PollResponse, PgFault> {
    let refused = || PgFault::Refused(poll_refused());
    let Some(t) = token_by_serial(c, op.serial.as_str(), false).await? else {
        return Err(refused());
    };
    if t.state != "active" || t.sealed.is_none() {
        return Err(refused());
    }
    if op.req.t.abs_diff(now) > POLL_WINDOW {
        return Err(refused());
    }
    let (serial, k_txn, _) = token_keys(ctx, &t)?;
    if op.req.verify(&k_txn, &serial).is_err() {
        return Err(refused());
    }
    if !remember_nonce(c, &t.serial, &op.req.nonce, now).await? {
        return Err(refused());
    }
    let st = c
        .prepare_cached(
            "UPDATE txns SET state = 'expired'
             WHERE serial = $1 AND state = 'pending' AND expires_at <= $2
             RETURNING txn_id, customer_id",
        )
        .await?;
    for r in c.query(&st, &[&t.serial, &to_i64(now)]).await? {
        let id: Vec<u8> = r.try_get(0)?;
        if let Ok(id) = <[u8; 16]>::try_from(id) {
            txn_event(
                c,
                now,
                &t.serial,
                None,
                "txn_expired",
                &TxnId::from_bytes(id),
            )
            .await?;
        }
    }
    let st = c
        .prepare_cached(&format!(
            "SELECT {TXN_COLS} FROM txns
             WHERE serial = $1 AND state = 'pending' AND expires_at > $2
             ORDER BY created_at, seq LIMIT $3"
        ))
        .await?;
    let limit = i64::try_from(MAX_PENDING).unwrap_or(0);
    let mut transactions = Vec::new();
    for r in c.query(&st, &[&t.serial, &to_i64(now), &limit]).await? {
        let row = txn_from_row(&r)?;
        let tx = ops_txn::transaction(&row, &serial).map_err(pf)?;
        transactions.push(WireTransaction::sign(&tx, &k_txn));
    }
    Ok(PollResponse {
        v: V,
        server_time: now,
        transactions,
    })
}

/// [`ops_txn::decision::Decide`].
pub(crate) async fn decide<C: GenericClient>(
    c: &C,
    ctx: &PgCtx<'_>,
    op: ops_txn::decision::Decide,
    now: u64,
) -> Result<TxnState, PgFault> {
    let Some(t) = token_by_serial(c, op.serial.as_str(), false).await? else {
        return Err(PgFault::Refused(poll_refused()));
    };
    if t.state != "active" || t.sealed.is_none() {
        return Err(PgFault::Refused(poll_refused()));
    }
    let st = c
        .prepare_cached(
            "SELECT bad_macs FROM txn_mac_failures WHERE serial = $1 AND window_start > $2::bigint - $3::bigint",
        )
        .await?;
    let bad: Option<i32> = match c
        .query_opt(&st, &[&t.serial, &to_i64(now), &to_i64(MAC_WINDOW)])
        .await?
    {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    };
    if i64::from(bad.unwrap_or(0)) > i64::from(MAC_LIMIT) {
        return Err(PgFault::Refused(Refusal::new(
            ErrorCode::RateLimited,
            "too many wrong confirmations for this token; try again later",
        )));
    }
    let Some(mut row) = by_id(c, &op.txn_id, false).await? else {
        return Err(pf(ops_txn::unknown_txn()));
    };
    if row.serial != t.serial {
        return Err(pf(ops_txn::unknown_txn()));
    }
    let (serial, k_txn, _) = token_keys(ctx, &t)?;
    let tx = ops_txn::transaction(&row, &serial).map_err(pf)?;
    if op.req.verify(&k_txn, &tx).is_err() {
        let st = c
            .prepare_cached(
                "INSERT INTO txn_mac_failures(serial, window_start, bad_macs) VALUES ($1, $2, 1)
                 ON CONFLICT (serial) DO UPDATE SET
                   bad_macs = CASE WHEN txn_mac_failures.window_start <= EXCLUDED.window_start - $3::bigint
                                   THEN 1 ELSE txn_mac_failures.bad_macs + 1 END,
                   window_start = CASE WHEN txn_mac_failures.window_start <= EXCLUDED.window_start - $3::bigint
                                       THEN EXCLUDED.window_start ELSE txn_mac_failures.window_start END",
            )
            .await?;
        c.execute(&st, &[&t.serial, &to_i64(now), &to_i64(MAC_WINDOW)])
            .await?;
        return Err(PgFault::Refused(Refusal::new(
            ErrorCode::ConfirmFailed,
            "the confirmation does not match the transaction",
        )));
    }
    drop(k_txn);
    let decision = op.req.decision;
    if decision == Decision::Approve && t.record.locked {
        return Err(check::locked().into());
    }
    let to = TxnState::after(decision);
    let customer = row.customer_id.clone();
    // The token must still be active (a 交換 or deactivate may have
    // committed since the read) and, for an approval, not locked.
    let st = c
        .prepare_cached(
            "UPDATE txns SET state = $1, decided_at = $2
             WHERE txn_id = $3 AND serial = $4 AND state = 'pending' AND expires_at > $2
               AND EXISTS (SELECT 1 FROM tokens t WHERE t.serial = txns.serial
                           AND t.state = 'active' AND ($1 = 'rejected' OR NOT t.locked))",
        )
        .await?;
    let n = c
        .execute(
            &st,
            &[
                &to.as_str(),
                &to_i64(now),
                &&op.txn_id.as_bytes()[..],
                &t.serial,
            ],
        )
        .await?;
    if n == 1 {
        let kind = match decision {
            Decision::Approve => "txn_approved",
            Decision::Reject => "txn_rejected",
        };
        txn_event(c, now, &t.serial, Some(&customer), kind, &op.txn_id).await?;
        return Ok(to);
    }
    expire_row(c, &mut row, now).await?;
    let Some(fresh) = by_id(c, &op.txn_id, false).await? else {
        return Err(pf(ops_txn::unknown_txn()));
    };
    match (fresh.state, row.state, decision) {
        (_, TxnState::Expired, _) | (TxnState::Expired, _, _) => Err(pf(ops_txn::txn_expired())),
        (s, _, _) if s == to => Ok(to),
        (TxnState::Consumed, _, Decision::Approve) => Ok(TxnState::Approved),
        // Still pending: the token changed (revoked, exchanged, locked)
        // between the read and the update; answered as if it had changed
        // before the read.
        (TxnState::Pending, _, _) => match token_by_serial(c, &t.serial, false).await? {
            Some(now_t) if now_t.state == "active" && now_t.sealed.is_some() => {
                if decision == Decision::Approve && now_t.record.locked {
                    Err(check::locked().into())
                } else {
                    Err(PgFault::Retry)
                }
            }
            _ => Err(PgFault::Refused(poll_refused())),
        },
        _ => Err(pf(ops_txn::txn_decided())),
    }
}

/// The operations' entry points: each one transaction, committed when it
/// succeeds or is refused (refusals keep their counts and events).
macro_rules! entry {
    ($name:ident, $op:ty, $out:ty, |$tx:ident, $ctx:ident, $o:ident, $now:ident| $body:expr) => {
        pub(crate) async fn $name(
            $o: $op,
            client: &mut deadpool_postgres::Client,
            $ctx: &PgCtx<'_>,
            $now: u64,
        ) -> Result<$out, PgFault> {
            let _ = &$ctx;
            in_transaction!(client, |$tx| $body.await)
        }
    };
}

entry!(
    create_op,
    ops_txn::create::CreateTxn,
    CreateTxnResponse,
    |tx, ctx, op, now| create(&tx, ctx, op, now)
);
entry!(
    status_op,
    ops_txn::status::TxnStatus,
    TxnState,
    |tx, ctx, op, now| status(&tx, op, now)
);
entry!(
    consume_op,
    ops_txn::consume::Consume,
    (),
    |tx, ctx, op, now| consume(&tx, op, now)
);
entry!(
    verify_code_op,
    ops_txn::verify_code::VerifyCode,
    (),
    |tx, ctx, op, now| verify_code(&tx, ctx, op, now)
);
entry!(
    poll_op,
    ops_txn::poll::Poll,
    PollResponse,
    |tx, ctx, op, now| poll(&tx, ctx, op, now)
);
entry!(
    decide_op,
    ops_txn::decision::Decide,
    TxnState,
    |tx, ctx, op, now| decide(&tx, ctx, op, now)
);
