//! Recovery of interrupted pairings: tokens whose secret is in the
//! keystore but whose pairing was never confirmed (the app stopped, or lost
//! the bank's answer, between `begin_add` and `commit_add`).
//!
//! Contract of [`recover_pending`], per pending token:
//! * a kept `finish` is resent (STK1 `finish` is idempotent for its
//!   session); the bank's answer → `commit_add` and the deadline is
//!   recorded;
//! * the bank refuses `finish` (e.g. `session_expired`) → the token's status
//!   decides: `issued`, `active` or `revoked` (the bank knows the token) →
//!   `commit_add`; `expired` (also the answer for an unknown serial) →
//!   `abort_add`, and the person is told to pair again;
//! * no answer, a garbled answer or `rate_limited` → nothing changes, the
//!   token stays pending and the next pass retries. Nothing is ever
//!   deleted because of an error.
//!
//! Store calls run on the blocking pool ([`blocking`]).
use crate::services::bank::ClientError;
use crate::services::store::{blocking, PendingAdd, StoreError};
use crate::services::Services;
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::stk1::ErrorCode;
use softtoken_core::Serial;

/// What a recovery pass did about one pending token. Carries no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// The bank confirmed the token; it is now listed.
    Completed {
        /// The token.
        serial: Serial,
        /// Its bank's name.
        bank_name: String,
    },
    /// The bank does not know the token (session expired, never issued):
    /// the pending token and its secret were removed. Pair again.
    Abandoned {
        /// The token.
        serial: Serial,
        /// Its bank's name.
        bank_name: String,
    },
    /// The bank could not be asked (or answered nothing usable); the token
    /// stays pending and is tried again later.
    NotConfirmed {
        /// The token.
        serial: Serial,
        /// Its bank's name.
        bank_name: String,
        /// Why (no secret in it).
        error: ClientError,
    },
    /// The bank answered but this device could not record the result; the
    /// token stays pending, nothing was deleted.
    StoreFailed {
        /// The token.
        serial: Serial,
        /// Its bank's name.
        bank_name: String,
        /// Why.
        error: StoreError,
    },
}

impl Recovery {
    /// `true` when the pass changed the token list (committed or aborted).
    pub fn changed_list(&self) -> bool {
        matches!(
            self,
            Recovery::Completed { .. } | Recovery::Abandoned { .. }
        )
    }
}

/// `true` when a refusal of `finish` is the bank's final word on that
/// session; `rate_limited` only asks to come back later.
fn definitive(e: &ClientError) -> bool {
    matches!(e, ClientError::Refused { code } if *code != ErrorCode::RateLimited)
}

/// Decides one pending token. See the module contract.
pub async fn recover_one(services: &Services, pending: PendingAdd) -> Recovery {
    let PendingAdd { meta, finish } = pending;
    let serial = meta.serial.clone();
    let bank_name = meta.bank_name.clone();
    let not_confirmed = |error: ClientError| Recovery::NotConfirmed {
        serial: serial.clone(),
        bank_name: bank_name.clone(),
        error,
    };
    let mut bind_by = None;
    let commit = match finish {
        Some(req) => match services.bank.finish(&meta.url, &req).await {
            Ok(done) => {
                bind_by = Some(done.bind_by);
                true
            }
            Err(e) if definitive(&e) => match services.bank.status(&meta.url, &serial).await {
                Ok(s) => s.state != TokenState::Expired,
                Err(e) => return not_confirmed(e),
            },
            Err(e) => return not_confirmed(e),
        },
        None => match services.bank.status(&meta.url, &serial).await {
            Ok(s) => s.state != TokenState::Expired,
            Err(e) => return not_confirmed(e),
        },
    };
    let now = services.clock.now_unix();
    let s = serial.clone();
    let result = blocking(&services.store, move |store| {
        if commit {
            store.commit_add(&s)?;
            if let Some(b) = bind_by {
                // Informational: the token is usable without it.
                let _ = store.record_pairing(&s, b, None, now);
            }
            Ok(())
        } else {
            store.abort_add(&s)
        }
    })
    .await;
    match (result, commit) {
        (Ok(()), true) => Recovery::Completed { serial, bank_name },
        (Ok(()), false) => Recovery::Abandoned { serial, bank_name },
        (Err(error), _) => Recovery::StoreFailed {
            serial,
            bank_name,
            error,
        },
    }
}

/// One recovery pass over every pending token (see the module contract).
/// Fails only if the pending list cannot be read; nothing is changed then.
pub async fn recover_pending(services: &Services) -> Result<Vec<Recovery>, StoreError> {
    let pending = blocking(&services.store, |s| s.pending_adds()).await?;
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        out.push(recover_one(services, p).await);
    }
    Ok(out)
}
