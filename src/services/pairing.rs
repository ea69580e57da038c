//! Pairing a new token with a bank: the link (typed, pasted or read from a
//! QR image) checked against the directory, then the STK1 exchange and the
//! two-phase store write in the only safe order (see [`pair`]).
//!
//! UI-free: the pairing screens call these functions and show the
//! [`PairingError`] in the customer's words.
use crate::qr::QrError;
use crate::services::bank::ClientError;
use crate::services::clock::{clock_difference, CLOCK_LIMIT_SECS};
use crate::services::directory::{BankEntry, DirectoryError, PinnedKey};
use crate::services::store::{blocking, StoreError, TokenMeta};
use crate::services::Services;
use softtoken_core::stk1::link::{LinkError, PairLink};
use softtoken_core::{Generator, OtpError, Params, Serial};
use thiserror::Error;

/// Why a pairing (or the link that starts it) failed. Texts carry no
/// secret, no confirmation value and no code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PairingError {
    /// The text is not a `softtoken://pair` link.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The link is not trusted by the bank directory.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// No link could be read from the QR image.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// The bank's token service failed or refused.
    #[error(transparent)]
    Bank(#[from] ClientError),
    /// The token the bank issued cannot make codes.
    #[error(transparent)]
    Token(#[from] OtpError),
    /// The token could not be saved on this device.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A bank and the pinned key a pairing will use, as checked by the
/// directory.
pub type Target = (BankEntry, PinnedKey);

/// A pairing that worked.
#[derive(Clone)]
pub struct Paired {
    /// The new token's serial.
    pub serial: Serial,
    /// Bank name.
    pub bank_name: String,
    /// Register in web banking before this time (Unix seconds).
    pub bind_by: u64,
    /// Device − bank clock difference beyond the limit, if any.
    pub clock_diff: Option<i64>,
    /// Generator of the new token (for showing its code).
    pub gen: Generator,
}

/// Parses a pairing link and checks it against the directory: the bank
/// must be known, the key pinned for it and the URL the directory's.
pub fn resolve_link(services: &Services, text: &str) -> Result<Target, PairingError> {
    let link = PairLink::parse(text)?;
    Ok(services.directory.check_link(&link)?)
}

/// Checks a link read from a QR code against the directory, as
/// [`resolve_link`] does for a typed one (the QR inputs are
/// [`crate::services::scanner`]).
pub fn resolve_pair_link(services: &Services, link: &PairLink) -> Result<Target, PairingError> {
    Ok(services.directory.check_link(link)?)
}

/// Pairs with `bank` using `key`, in the only safe order: the client
/// verifies `server_confirm` → the secret goes into the keystore
/// (`begin_add`, the `finish` request kept) → `finish` at the bank →
/// `commit_add`. If `finish` fails the pending token is dropped again; a
/// keystore failure stops before `finish`. Store calls run on the blocking
/// pool.
pub async fn pair(
    services: &Services,
    bank: &BankEntry,
    key: &PinnedKey,
) -> Result<Paired, PairingError> {
    let paired = services.bank.init(bank, key).await?;
    let now = services.clock.now_unix();
    let meta = TokenMeta {
        serial: paired.serial.clone(),
        bank_id: bank.id.clone(),
        bank_name: bank.name.clone(),
        url: bank.url.clone(),
        paired_at: now,
        bind_by: None,
        clock_offset: None,
    };
    let gen = Generator::new(&paired.secret, Params::STK1)?;
    let store = &services.store;
    let (m, secret, req) = (
        meta.clone(),
        paired.secret.clone(),
        paired.finish_request.clone(),
    );
    blocking(store, move |s| s.begin_add(&m, &secret, Some(&req))).await?;
    let finished = match services
        .bank
        .finish(&bank.url, &paired.finish_request)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            // Best effort: a failed abort leaves only a pending record,
            // which the store never lists and the recovery resolves.
            let serial = meta.serial.clone();
            let _ = blocking(store, move |s| s.abort_add(&serial)).await;
            return Err(e.into());
        }
    };
    let offset = paired.server_time as i64 - now as i64;
    let (serial, bind_by) = (meta.serial.clone(), finished.bind_by);
    blocking(store, move |s| {
        s.commit_add(&serial)?;
        // Informational metadata: a failure here loses nothing that matters.
        let _ = s.record_pairing(&serial, bind_by, Some(offset), now);
        Ok(())
    })
    .await?;
    Ok(Paired {
        serial: meta.serial,
        bank_name: meta.bank_name,
        bind_by: finished.bind_by,
        clock_diff: clock_difference(now, Some(paired.server_time), CLOCK_LIMIT_SECS),
        gen,
    })
}
