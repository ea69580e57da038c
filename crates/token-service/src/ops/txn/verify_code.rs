//! `POST /v1/bank/transactions/verify_code`: the offline 取引認証番号 — the
//! customer typed the payee's account number (or the biller number) into
//! the app, which showed an RFC 6287 OCRA code (`OCRA-1:HOTP-SHA256-6:
//! QN08-T30S`, key `K_OCRA`); web banking passes the code typed back.
//!
//! Contract:
//! * the question is the **stored** transaction's `account_number`
//!   (transfer) or `biller_number` (payment), so a payee changed on the
//!   way to the bank makes the code fail;
//! * candidate steps are those of the token's codes ([`softtoken_core::
//!   Policy::candidates`]): `T−1…T+1` around `floor(now / 30)` and the
//!   same window around `T + drift` (the drift learned from the token's
//!   codes); every candidate is computed and compared in constant time;
//! * a step is accepted only if it is greater than the token's last
//!   accepted *offline* step (kept apart from the codes' `last_step`);
//!   then one compare-and-set stores the step and resets the token's
//!   consecutive failures, and one conditional `UPDATE` takes the
//!   transaction from `pending` to `consumed`;
//! * a code matching only steps at or before the last offline step is
//!   `replay` (not a failure); any other code — wrong or malformed — is a
//!   failure in the token's consecutive-failure counter (the one of the
//!   codes, so one lockout covers both) → `invalid_otp` with `fail_count`,
//!   or `locked` at the limit;
//! * refused before any code is looked at: `unknown_txn`, `no_token`
//!   (token revoked/exchanged), `locked`, `txn_expired`, `txn_decided`
//!   (already approved, rejected or consumed).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use rusqlite::Savepoint;
use softtoken_core::stk1::messages::{ErrorCode, OtpText};
use softtoken_core::txn::offline_step;
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::TxnId;
use softtoken_core::OfflineVerdict;

use super::{
    customer_txn, token_gone, token_keys, transaction, txn_decided, txn_event, txn_expired,
    TxnStateResponse, VerifyCodeRequest,
};
use crate::db::rows::{event, token_by_serial};
use crate::db::txn::{cas_offline, consume_pending, last_offline_step, OfflineRecord};
use crate::db::{Ctx, Fault, Operation};
use crate::http::{ApiState, BackendAuth, RequestTime, Stk1Json};
use crate::ops::check::{locked_refusal, replay_refusal};
use crate::ops::{check_customer, Redacted};
use crate::refusal::Refusal;
use crate::scope::{Scope, Scoped};

/// Checks the offline code of transaction `txn_id` of `customer_id` and
/// consumes the transaction if it is right.
pub struct VerifyCode {
    /// Customer (checked by [`check_customer`]).
    pub customer_id: String,
    /// The transaction.
    pub txn_id: TxnId,
    /// The code as typed.
    pub code: OtpText,
}

impl std::fmt::Debug for VerifyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCode")
            .field("customer_id", &self.customer_id)
            .field("txn_id", &self.txn_id)
            .field("code", &Redacted)
            .finish()
    }
}

impl Operation for VerifyCode {
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::ops::txn::verify_code_op(self, client, ctx, now)
    }

    type Output = ();

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<(), Fault> {
        let customer = self.customer_id.as_str();
        let row = customer_txn(c, customer, &self.txn_id, now)?;
        let Some(t) = token_by_serial(c, &row.serial)? else {
            return Err(token_gone());
        };
        if t.state != "active" {
            return Err(token_gone());
        }
        if t.record.locked {
            return Err(locked_refusal());
        }
        match row.state {
            TxnState::Pending => {}
            TxnState::Expired => return Err(txn_expired()),
            _ => return Err(txn_decided()),
        }
        let (serial, _, k_ocra) = token_keys(ctx, &t)?;
        let tx = transaction(&row, &serial)?;
        let question = tx.offline_question();
        let old = OfflineRecord {
            last_offline_step: last_offline_step(c, &t.serial)?,
            fail_count: t.record.fail_count,
            locked: t.record.locked,
        };
        let verdict = ctx.cfg.policy.check_offline(
            &t.record,
            old.last_offline_step,
            offline_step(now),
            |step| k_ocra.check_offline_code(question, step, &self.code),
        );
        drop(k_ocra);
        let txn_id = &self.txn_id;
        match verdict {
            OfflineVerdict::Accepted { step } => {
                let new = OfflineRecord {
                    last_offline_step: Some(step),
                    fail_count: 0,
                    locked: false,
                };
                // Both compare-and-sets or neither: the writer holds the
                // write lock, so a failure here means the rows changed
                // under a concurrent writer; undo and answer internal.
                let consumed = consume_pending(c, txn_id, customer, now)?.is_some();
                if !consumed || !cas_offline(c, &t.serial, &old, &new)? {
                    c.rollback()?;
                    return Err(Fault::Refused(Refusal::internal()));
                }
                txn_event(c, now, &t.serial, Some(customer), "txn_offline_ok", txn_id)?;
                txn_event(c, now, &t.serial, Some(customer), "txn_consumed", txn_id)?;
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
                )?;
                Err(replay_refusal())
            }
            OfflineVerdict::Invalid { fail_count, locked } => {
                let new = OfflineRecord {
                    fail_count,
                    locked,
                    ..old
                };
                if !cas_offline(c, &t.serial, &old, &new)? {
                    return Err(Fault::Refused(Refusal::internal()));
                }
                txn_event(
                    c,
                    now,
                    &t.serial,
                    Some(customer),
                    "txn_offline_failed",
                    txn_id,
                )?;
                if new.locked {
                    event(c, now, Some(&t.serial), Some(customer), "locked", None)?;
                    return Err(locked_refusal());
                }
                Err(Fault::Refused(
                    Refusal::new(
                        ErrorCode::InvalidOtp,
                        "the offline confirmation code (取引認証番号) is not correct",
                    )
                    .with_fail_count(fail_count),
                ))
            }
            // Checked above; a token locked meanwhile is refused as such.
            _ => Err(locked_refusal()),
        }
    }
}

/// The handler.
pub async fn handle(
    State(st): State<Arc<ApiState>>,
    _: BackendAuth,
    RequestTime(now): RequestTime,
    Stk1Json(r): Stk1Json<VerifyCodeRequest>,
) -> Result<Json<TxnStateResponse>, Refusal> {
    check_customer(&r.customer_id)?;
    let op = VerifyCode {
        customer_id: r.customer_id,
        txn_id: r.txn_id,
        code: r.code,
    };
    st.db.run(Scoped::new(Scope::Backend, op), now).await?;
    Ok(Json(TxnStateResponse::new(TxnState::Consumed)))
}
