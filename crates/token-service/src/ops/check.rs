//! Checking a code against a token row, shared by bind, verify, change
//! and deactivate: open the sealed secret, run the core verifier, store
//! the new record with a compare-and-set, and the refusals that follow.

use rusqlite::Connection;
use softtoken_core::stk1::messages::{ErrorCode, TokenState};
use softtoken_core::{Generator, Params, Secret, Serial, Verdict};

use crate::db::rows::{
    active_token, cas_record, effective_state, event, token_aad, token_by_serial, TokenRow,
};
use crate::db::{refuse, Ctx, Fault};
use crate::refusal::Refusal;
use crate::seal::Sealer;

/// The secret `K_TOKEN` of token `serial` from its sealed blob (both
/// backends); a token without one, or one that does not open, is
/// `internal_error` (logged with the serial only).
pub(crate) fn open_secret(
    sealer: &Sealer,
    serial: &str,
    sealed: Option<&[u8]>,
) -> Result<Secret, Refusal> {
    let Some(blob) = sealed else {
        return Err(Refusal::internal());
    };
    let plain = sealer.open(blob, &token_aad(serial)).map_err(|e| {
        tracing::error!("token {serial}: {e}");
        Refusal::internal()
    })?;
    Ok(Secret::from_slice(&plain))
}

/// The code generator of a token from its sealed secret ([`open_secret`]).
pub(crate) fn open_generator(
    sealer: &Sealer,
    serial: &str,
    sealed: Option<&[u8]>,
) -> Result<Generator, Refusal> {
    let secret = open_secret(sealer, serial, sealed)?;
    Generator::new(&secret, Params::STK1).map_err(|_| Refusal::internal())
}

/// The code generator of a token, from its sealed secret; a token without
/// one, or one that does not open, is `internal_error`.
pub(crate) fn generator(ctx: &Ctx<'_>, t: &TokenRow) -> Result<Generator, Fault> {
    open_generator(ctx.sealer, &t.serial, t.sealed.as_deref()).map_err(Fault::Refused)
}

/// The result of checking one code against one token, after storing the
/// record (SQLite: compare-and-set; PostgreSQL: conditional update). The
/// same for both backends, and so are the answers ([`Checked::refusal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    Accepted,
    Replay,
    Locked,
    Invalid { fail_count: u32, now_locked: bool },
}

impl Checked {
    /// The answer to a code that was not accepted (`None` if it was):
    /// `replay`, `locked` (also when this very failure locked the token),
    /// or `invalid_code` with the failure count.
    pub(crate) fn refusal(&self, invalid_code: ErrorCode) -> Option<Refusal> {
        match *self {
            Checked::Accepted => None,
            Checked::Replay => Some(replay()),
            Checked::Locked
            | Checked::Invalid {
                now_locked: true, ..
            } => Some(locked()),
            Checked::Invalid { fail_count, .. } => Some(invalid(invalid_code, fail_count)),
        }
    }
}

/// Verifies `otp` for token `t` and stores the verdict's record with a
/// compare-and-set, re-reading and re-verifying if the row changed under us.
pub(crate) fn check_and_store(
    c: &Connection,
    ctx: &Ctx<'_>,
    mut t: TokenRow,
    otp: &str,
    now: u64,
) -> Result<(Checked, TokenRow), Fault> {
    let gen = generator(ctx, &t)?;
    for _ in 0..3 {
        let verdict = ctx.cfg.policy.verify(&gen, &t.record, otp, now);
        let (new, checked) = match verdict {
            Verdict::Accepted { record, .. } => (record, Checked::Accepted),
            Verdict::Invalid { record } => (
                record,
                Checked::Invalid {
                    fail_count: record.fail_count,
                    now_locked: record.locked,
                },
            ),
            Verdict::Replay => return Ok((Checked::Replay, t)),
            _ => return Ok((Checked::Locked, t)),
        };
        if cas_record(c, &t.serial, &t.record, &new)? {
            t.record = new;
            return Ok((checked, t));
        }
        match token_by_serial(c, &t.serial)? {
            Some(fresh) => t = fresh,
            None => break,
        }
    }
    Err(Fault::Refused(Refusal::internal()))
}

/// The one answer of `bind` for a bad serial or code.
pub(crate) const BIND_INVALID: &str = "the serial number or the one-time password is not valid";

/// An issued, unexpired token for a typed serial, or `serial_or_otp_invalid`.
pub(crate) fn issued_token(c: &Connection, typed: &str, now: u64) -> Result<TokenRow, Fault> {
    let Ok(serial) = Serial::parse_typed(typed) else {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    let Some(t) = token_by_serial(c, serial.as_str())? else {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    };
    if effective_state(c, &t, now)? != TokenState::Issued {
        return refuse(ErrorCode::SerialOrOtpInvalid, BIND_INVALID);
    }
    Ok(t)
}

/// `locked`.
pub(crate) fn locked() -> Refusal {
    Refusal::new(
        ErrorCode::Locked,
        "the token is locked after too many wrong codes; the bank must unlock it",
    )
}

/// `replay`.
pub(crate) fn replay() -> Refusal {
    Refusal::new(
        ErrorCode::Replay,
        "this one-time password was already used; wait for the next one",
    )
}

/// `code` (`invalid_otp`, `old_otp_invalid`) with the failure count.
pub(crate) fn invalid(code: ErrorCode, fail_count: u32) -> Refusal {
    Refusal::new(code, "the one-time password is not correct").with_fail_count(fail_count)
}

/// `no_token`: the customer has no active token.
pub(crate) fn no_token() -> Refusal {
    Refusal::new(ErrorCode::NoToken, "the customer has no active token")
}

/// [`locked`] as a fault.
pub(crate) fn locked_refusal() -> Fault {
    Fault::Refused(locked())
}

/// [`replay`] as a fault.
pub(crate) fn replay_refusal() -> Fault {
    Fault::Refused(replay())
}

/// Checks a code of the customer's active token; on failure returns the
/// refusal with `invalid_code` (`invalid_otp` or `old_otp_invalid`).
pub(crate) fn check_active(
    c: &Connection,
    ctx: &Ctx<'_>,
    customer: &str,
    otp: &str,
    now: u64,
    invalid_code: ErrorCode,
    purpose: &str,
) -> Result<TokenRow, Fault> {
    let Some(t) = active_token(c, customer)? else {
        return Err(Fault::Refused(no_token()));
    };
    let (checked, t) = check_and_store(c, ctx, t, otp, now)?;
    let serial = Some(t.serial.as_str());
    match checked {
        Checked::Accepted => {}
        Checked::Replay => event(c, now, serial, Some(customer), "replay", Some(purpose))?,
        Checked::Locked => {}
        Checked::Invalid { now_locked, .. } => {
            event(c, now, serial, Some(customer), "failed", Some(purpose))?;
            if now_locked {
                event(c, now, serial, Some(customer), "locked", None)?;
            }
        }
    }
    match checked.refusal(invalid_code) {
        None => Ok(t),
        Some(r) => Err(Fault::Refused(r)),
    }
}
