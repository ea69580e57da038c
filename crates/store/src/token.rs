//! What the app keeps about a token besides its secret (never a secret).

use serde::{Deserialize, Serialize};
use softtoken_core::stk1::messages::{FinishRequest, TokenState};
use softtoken_core::{Params, Serial};
use std::fmt;

/// The bank a token belongs to, as the bank directory named it at pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankRef {
    /// Bank id from the directory (e.g. `demo-shinkin`).
    pub id: String,
    /// Bank name shown to the person.
    pub name: String,
    /// Token service base URL.
    pub url: String,
}

/// The token's state at the bank, as last reported by the token service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankState {
    /// `issued`, `active`, `revoked` or `expired`.
    pub state: TokenState,
    /// When the app learned it (Unix seconds, the phone's clock).
    pub checked_at: u64,
}

/// The last measured difference between the bank's clock and the phone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockOffset {
    /// `server_time - local_time` in seconds (positive: the phone is slow).
    pub seconds: i64,
    /// When it was measured (Unix seconds, the phone's clock).
    pub measured_at: u64,
}

/// Metadata of one token. Holds no secret: it is stored in clear in the
/// profile's `tokens.json`.
///
/// `#[non_exhaustive]`: build it with [`TokenMeta::new`] and set the
/// optional fields afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenMeta {
    /// The token's serial (also the keystore user name).
    pub serial: Serial,
    /// The bank that issued it.
    pub bank: BankRef,
    /// OTP parameters ([`Params::STK1`] in protocol version 1).
    pub params: Params,
    /// When it was paired (Unix seconds, the phone's clock).
    pub paired_at: u64,
    /// Unix time by which the token must be registered in web banking
    /// (from the `finish` response), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_by: Option<u64>,
    /// The last known state at the bank, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_state: Option<BankState>,
    /// The last measured clock difference with the bank, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset: Option<ClockOffset>,
}

impl TokenMeta {
    /// Metadata with the required fields; the optional ones are `None`.
    pub fn new(serial: Serial, bank: BankRef, params: Params, paired_at: u64) -> TokenMeta {
        TokenMeta {
            serial,
            bank,
            params,
            paired_at,
            bind_by: None,
            bank_state: None,
            clock_offset: None,
        }
    }
}

/// Where a token is in the add/remove journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Metadata written, secret being stored, `finish` not yet confirmed:
    /// not shown as a usable token.
    Pending,
    /// Secret stored and pairing finished: a usable token.
    Ready,
    /// Being removed: the secret may or may not still exist.
    Removing,
}

impl Phase {
    /// The name used in the file (`pending`, `ready`, `removing`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Ready => "ready",
            Phase::Removing => "removing",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Pending => "still being added",
            Phase::Ready => "ready",
            Phase::Removing => "being removed",
        })
    }
}

/// The STK1 `finish` request of a pending token, kept so that the app can
/// resend it (it is idempotent for its session) after a crash. It holds the
/// session id and `client_confirm`, which are not the token secret; `Debug`
/// shows only the serial anyway.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PendingFinish(FinishRequest);

impl PendingFinish {
    /// Wraps a finish request.
    pub fn new(request: FinishRequest) -> PendingFinish {
        PendingFinish(request)
    }

    /// The request to POST to `/v1/provision/finish`.
    pub fn request(&self) -> &FinishRequest {
        &self.0
    }
}

impl fmt::Debug for PendingFinish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PendingFinish({}, [redacted])", self.0.serial)
    }
}

/// One record of the token list: metadata plus journal phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub(crate) phase: Phase,
    pub(crate) meta: TokenMeta,
    #[serde(default, rename = "finish", skip_serializing_if = "Option::is_none")]
    pub(crate) pending_finish: Option<PendingFinish>,
}

impl TokenEntry {
    /// The token's metadata.
    pub fn meta(&self) -> &TokenMeta {
        &self.meta
    }

    /// The token's serial.
    pub fn serial(&self) -> &Serial {
        &self.meta.serial
    }

    /// Its journal phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// For a pending token, the `finish` request to resend, if the app gave
    /// one to [`crate::TokenStore::begin_add`].
    pub fn pending_finish(&self) -> Option<&PendingFinish> {
        self.pending_finish.as_ref()
    }
}
