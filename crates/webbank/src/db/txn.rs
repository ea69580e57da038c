//! 取引認証 in `web.sqlite`: the transaction web banking sent to the token
//! service (its typed detail, exactly as sent), its local state, and the
//! customer's 取引認証 choice under `--txn-auth optional`.
//!
//! The executed receipt is always built from the stored detail, never from
//! a form; the state moves out of `pending` once, by one conditional
//! `UPDATE` inside the transaction that issues the receipt.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{insert_event, Conn, DbError, Event, ReceiptDetail};

/// Local state of a transaction awaiting 取引認証.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalTxnState {
    /// Sent; no decision known here yet.
    Pending,
    /// Executed once; the receipt exists.
    Executed,
    /// Rejected in the app: nothing executed.
    Rejected,
    /// Expired (or otherwise no longer executable): nothing executed.
    Expired,
}

impl LocalTxnState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LocalTxnState::Pending => "pending",
            LocalTxnState::Executed => "executed",
            LocalTxnState::Rejected => "rejected",
            LocalTxnState::Expired => "expired",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => LocalTxnState::Pending,
            "executed" => LocalTxnState::Executed,
            "rejected" => LocalTxnState::Rejected,
            "expired" => LocalTxnState::Expired,
            _ => return None,
        })
    }
}

/// A transaction as web banking stored it when the token service created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTxn {
    /// The token service's `txn_id` (base32).
    pub txn_id: String,
    /// What was sent (a `Transfer` or `Payment` detail).
    pub detail: ReceiptDetail,
    /// Token service's `created_at` (unix seconds).
    pub created_at: i64,
    /// Token service's `expires_at` (unix seconds).
    pub expires_at: i64,
    /// Local state.
    pub state: LocalTxnState,
    /// The receipt row once executed.
    pub receipt: Option<i64>,
}

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS txn_auth (
  txn_id TEXT PRIMARY KEY,
  contract_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  receipt_id INTEGER
);
CREATE TABLE IF NOT EXISTS customer_settings (
  contract_id TEXT PRIMARY KEY,
  txn_auth INTEGER NOT NULL
);
";

impl Conn {
    /// Stores a transaction just created at the token service (state
    /// `pending`). Only `Transfer` and `Payment` details are stored.
    pub fn insert_txn(&self, contract_id: &str, t: &StoredTxn) -> Result<(), DbError> {
        let (kind, _, _, json) = t.detail.to_columns()?;
        self.conn.execute(
            "INSERT INTO txn_auth (txn_id, contract_id, kind, detail, created_at, expires_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
            params![t.txn_id, contract_id, kind, json, t.created_at, t.expires_at],
        )?;
        Ok(())
    }

    /// The stored transaction `txn_id`, only if it is `contract_id`'s. A
    /// row that cannot be read back is `None`.
    pub fn txn(&self, txn_id: &str, contract_id: &str) -> Result<Option<StoredTxn>, DbError> {
        let row = self
            .conn
            .query_row(
                "SELECT txn_id, kind, detail, created_at, expires_at, state, receipt_id
                 FROM txn_auth WHERE txn_id = ?1 AND contract_id = ?2",
                params![txn_id, contract_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(
            |(txn_id, kind, detail, created_at, expires_at, state, receipt)| {
                let detail = ReceiptDetail::from_columns(&kind, None, None, &detail)?;
                if !matches!(
                    detail,
                    ReceiptDetail::Transfer(_) | ReceiptDetail::Payment(_)
                ) {
                    return None;
                }
                Some(StoredTxn {
                    txn_id,
                    detail,
                    created_at,
                    expires_at,
                    state: LocalTxnState::parse(&state)?,
                    receipt,
                })
            },
        ))
    }

    /// Executes a pending transaction once: in one transaction, moves it
    /// from `pending` to `executed`, issues the receipt from the **stored**
    /// detail at `at` and records `event`. Returns the receipt row: the new
    /// one, or the existing one when it was already executed; `None` when
    /// the transaction is unknown, not this customer's, or closed without
    /// execution.
    pub fn execute_txn(
        &mut self,
        contract_id: &str,
        txn_id: &str,
        at: i64,
        event: &Event,
    ) -> Result<Option<i64>, DbError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String, String, Option<i64>)> = tx
            .query_row(
                "SELECT kind, detail, state, receipt_id FROM txn_auth
                 WHERE txn_id = ?1 AND contract_id = ?2",
                params![txn_id, contract_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((kind, detail, state, receipt)) = row else {
            return Ok(None);
        };
        if state != LocalTxnState::Pending.as_str() {
            return Ok(receipt.filter(|_| state == LocalTxnState::Executed.as_str()));
        }
        tx.execute(
            "INSERT INTO receipts (contract_id, kind, at, detail) VALUES (?1, ?2, ?3, ?4)",
            params![contract_id, kind, at, detail],
        )?;
        let id = tx.last_insert_rowid();
        let changed = tx.execute(
            "UPDATE txn_auth SET state = 'executed', receipt_id = ?3
             WHERE txn_id = ?1 AND contract_id = ?2 AND state = 'pending'",
            params![txn_id, contract_id, id],
        )?;
        if changed != 1 {
            // Cannot happen under the immediate transaction; never issue
            // a receipt without the state change.
            return Ok(None);
        }
        insert_event(&tx, contract_id, event)?;
        tx.commit()?;
        Ok(Some(id))
    }

    /// Closes a pending transaction without executing it (`Rejected` or
    /// `Expired`) and records `event`, once. Returns whether this call
    /// closed it.
    pub fn close_txn(
        &mut self,
        contract_id: &str,
        txn_id: &str,
        to: LocalTxnState,
        event: &Event,
    ) -> Result<bool, DbError> {
        if !matches!(to, LocalTxnState::Rejected | LocalTxnState::Expired) {
            return Ok(false);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE txn_auth SET state = ?3 WHERE txn_id = ?1 AND contract_id = ?2 AND state = 'pending'",
            params![txn_id, contract_id, to.as_str()],
        )?;
        if changed == 1 {
            insert_event(&tx, contract_id, event)?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    /// The customer's 取引認証 choice (`None`: never chosen).
    pub fn txn_auth_choice(&self, contract_id: &str) -> Result<Option<bool>, DbError> {
        Ok(self
            .conn
            .query_row(
                "SELECT txn_auth FROM customer_settings WHERE contract_id = ?1",
                [contract_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|v| v != 0))
    }

    /// Sets the customer's 取引認証 choice and records `event` (one transaction).
    pub fn set_txn_auth_choice(
        &mut self,
        contract_id: &str,
        on: bool,
        event: &Event,
    ) -> Result<(), DbError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO customer_settings (contract_id, txn_auth) VALUES (?1, ?2)
             ON CONFLICT(contract_id) DO UPDATE SET txn_auth = excluded.txn_auth",
            params![contract_id, on as i64],
        )?;
        insert_event(&tx, contract_id, event)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Db, EventContext, EventKind, TransferDetail};
    use super::*;
    use crate::db::AccountType;

    fn stored() -> StoredTxn {
        StoredTxn {
            txn_id: "AAAQEAYEAUDAOCAJBIFQYDIOB4".into(),
            detail: ReceiptDetail::Transfer(TransferDetail {
                bank: "かけしん信用金庫".into(),
                branch: "本店営業部".into(),
                account_type: AccountType::Futsu,
                account_number: "1234567".into(),
                payee: "ヤマダ タロウ".into(),
                amount: 12_000,
            }),
            created_at: 1_700_000_000,
            expires_at: 1_700_000_300,
            state: LocalTxnState::Pending,
            receipt: None,
        }
    }

    #[tokio::test]
    async fn a_transaction_executes_once_from_its_stored_detail() {
        let db = Db::memory();
        let t = stored();
        db.insert_txn("1000001", t.clone()).await.unwrap();
        assert!(db.txn(&t.txn_id, "1000002").await.unwrap().is_none());
        let ev = || Event::new(5, EventKind::TxnApproved, EventContext::Transfer);
        let first = db.execute_txn("1000001", &t.txn_id, 5, ev()).await.unwrap();
        let again = db.execute_txn("1000001", &t.txn_id, 6, ev()).await.unwrap();
        assert!(first.is_some());
        assert_eq!(first, again, "a second execution returns the same receipt");
        let r = db
            .receipt(first.unwrap(), "1000001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.detail, t.detail);
        assert_eq!(r.at, 5);
        let back = db.txn(&t.txn_id, "1000001").await.unwrap().unwrap();
        assert_eq!(back.state, LocalTxnState::Executed);
        assert_eq!(back.receipt, first);
        assert_eq!(db.events("1000001", 10).await.unwrap().len(), 1);
        // Another customer cannot execute it.
        assert_eq!(
            db.execute_txn("1000002", &t.txn_id, 7, ev()).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_closed_transaction_never_executes() {
        let db = Db::memory();
        let t = stored();
        db.insert_txn("1000001", t.clone()).await.unwrap();
        let ev = Event::new(5, EventKind::TxnRejected, EventContext::Transfer);
        assert!(db
            .close_txn("1000001", &t.txn_id, LocalTxnState::Rejected, ev.clone())
            .await
            .unwrap());
        assert!(!db
            .close_txn("1000001", &t.txn_id, LocalTxnState::Expired, ev.clone())
            .await
            .unwrap());
        let ok = Event::new(6, EventKind::TxnApproved, EventContext::Transfer);
        assert_eq!(
            db.execute_txn("1000001", &t.txn_id, 6, ok).await.unwrap(),
            None
        );
        let back = db.txn(&t.txn_id, "1000001").await.unwrap().unwrap();
        assert_eq!(back.state, LocalTxnState::Rejected);
        assert_eq!(back.receipt, None);
    }

    #[tokio::test]
    async fn the_choice_is_remembered() {
        let db = Db::memory();
        assert_eq!(db.txn_auth_choice("1000001").await.unwrap(), None);
        let ev = Event::new(1, EventKind::TxnAuthOn, EventContext::Settings);
        db.set_txn_auth_choice("1000001", true, ev).await.unwrap();
        assert_eq!(db.txn_auth_choice("1000001").await.unwrap(), Some(true));
    }
}
