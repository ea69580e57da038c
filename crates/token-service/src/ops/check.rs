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

/// The code generator of a token, from its sealed secret; a token without
/// one, or one that does not open, is `internal_error`.
pub(crate) fn generator(ctx: &Ctx<'_>, t: &TokenRow) -> Result<Generator, Fault> {
    let Some(blob) = &t.sealed else {
        return Err(Fault::Refused(Refusal::internal()));
    };
    let plain = ctx.sealer.open(blob, &token_aad(&t.serial)).map_err(|e| {
        tracing::error!("token {}: {e}", t.serial);
        Fault::Refused(Refusal::internal())
    })?;
    let secret = Secret::from_slice(&plain);
    Generator::new(&secret, Params::STK1).map_err(|_| Fault::Refused(Refusal::internal()))
}

/// The result of checking one code against one token, after storing the
/// record (compare-and-set).
pub(crate) enum Checked {
    Accepted,
    Replay,
    Locked,
    Invalid { fail_count: u32, now_locked: bool },
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
pub(crate) fn locked_refusal() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::Locked,
        "the token is locked after too many wrong codes; the bank must unlock it",
    ))
}

/// `replay`.
pub(crate) fn replay_refusal() -> Fault {
    Fault::Refused(Refusal::new(
        ErrorCode::Replay,
        "this one-time password was already used; wait for the next one",
    ))
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
        return refuse(ErrorCode::NoToken, "the customer has no active token");
    };
    let (checked, t) = check_and_store(c, ctx, t, otp, now)?;
    match checked {
        Checked::Accepted => Ok(t),
        Checked::Replay => {
            event(
                c,
                now,
                Some(&t.serial),
                Some(customer),
                "replay",
                Some(purpose),
            )?;
            Err(replay_refusal())
        }
        Checked::Locked => Err(locked_refusal()),
        Checked::Invalid {
            fail_count,
            now_locked,
        } => {
            event(
                c,
                now,
                Some(&t.serial),
                Some(customer),
                "failed",
                Some(purpose),
            )?;
            if now_locked {
                event(c, now, Some(&t.serial), Some(customer), "locked", None)?;
                return Err(locked_refusal());
            }
            Err(Fault::Refused(
                Refusal::new(invalid_code, "the one-time password is not correct")
                    .with_fail_count(fail_count),
            ))
        }
    }
}
