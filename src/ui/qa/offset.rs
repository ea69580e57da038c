//! The clock offsets the QA panel may set.
use thiserror::Error;

/// The step buttons keep the offset within ± this many seconds (5 min).
pub const SHIFT_LIMIT_SECS: i64 = 300;

/// A typed jump may set the offset within ± this many seconds (one day:
/// enough to pass a pairing's registration deadline).
pub const JUMP_LIMIT_SECS: i64 = 86_400;

/// The step buttons' shifts, seconds.
pub const STEPS: [i64; 4] = [-30, -1, 1, 30];

/// The offset after shifting `offset` by `by`, if it stays within
/// ±[`SHIFT_LIMIT_SECS`].
pub fn shifted(offset: i64, by: i64) -> Option<i64> {
    let next = offset.checked_add(by)?;
    (next.abs() <= SHIFT_LIMIT_SECS).then_some(next)
}

/// Why a typed offset was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OffsetError {
    /// Not `[+|-]SECONDS` or `[+|-]MIN:SS`.
    #[error("not an offset (e.g. +90, -45, -4:30)")]
    Malformed,
    /// Beyond ±[`JUMP_LIMIT_SECS`].
    #[error("beyond ±{JUMP_LIMIT_SECS} s")]
    TooFar,
}

/// Parses a typed offset: `[+|-]SECONDS` (`90`, `+90`, `-45`) or
/// `[+|-]MIN:SS` (`-4:30`), spaces around allowed, within
/// ±[`JUMP_LIMIT_SECS`].
pub fn parse_offset(text: &str) -> Result<i64, OffsetError> {
    let t = text.trim();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits = |s: &str| -> Result<i64, OffsetError> {
        if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OffsetError::Malformed);
        }
        s.parse().map_err(|_| OffsetError::Malformed)
    };
    let secs = match rest.split_once(':') {
        Some((m, s)) => {
            let s_val = digits(s)?;
            if s.len() != 2 || s_val >= 60 {
                return Err(OffsetError::Malformed);
            }
            digits(m)? * 60 + s_val
        }
        None => digits(rest)?,
    };
    if secs > JUMP_LIMIT_SECS {
        return Err(OffsetError::TooFar);
    }
    Ok(sign * secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_stay_within_five_minutes() {
        assert_eq!(shifted(0, 30), Some(30));
        assert_eq!(shifted(270, 30), Some(300));
        assert_eq!(shifted(300, 1), None);
        assert_eq!(shifted(-300, -1), None);
        assert_eq!(shifted(-299, -1), Some(-300));
        // Outside the range (from --clock-offset or a jump) no step applies.
        assert_eq!(shifted(1000, -30), None);
        assert_eq!(shifted(i64::MAX, 1), None);
    }

    #[test]
    fn typed_offsets() {
        assert_eq!(parse_offset("90"), Ok(90));
        assert_eq!(parse_offset(" +90 "), Ok(90));
        assert_eq!(parse_offset("-45"), Ok(-45));
        assert_eq!(parse_offset("-4:30"), Ok(-270));
        assert_eq!(parse_offset("0"), Ok(0));
        assert_eq!(parse_offset("86400"), Ok(86_400));
        assert_eq!(parse_offset("-86401"), Err(OffsetError::TooFar));
        for bad in [
            "", "+", "--1", "1.5", "4:3", "4:60", "x", "1e3", "９０", "1234567",
        ] {
            assert_eq!(parse_offset(bad), Err(OffsetError::Malformed), "{bad:?}");
        }
    }
}
