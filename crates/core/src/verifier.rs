//! Server-side verification rules (RFC 4226 §7, RFC 6238 §5–6,
//! NIST SP 800-63B §5.1.4.2 / §5.2.2) as a pure state machine.
//!
//! [`Policy::verify`] takes a [`TokenRecord`] and returns a [`Verdict`]
//! holding the record that must be stored. Storing it is the caller's job
//! and must be a compare-and-set on the record it read: two requests
//! racing with one code then cannot both succeed, because the second
//! compare-and-set sees a newer `last_step`.
//!
//! Rules:
//! * a locked record is refused before any code is looked at, and nothing
//!   here ever clears `locked` (only [`TokenRecord::unlocked`], an explicit
//!   bank action);
//! * candidates are the steps `T-w..=T+w` and, once a drift `d` is known,
//!   `T+d-w..=T+d+w` (`w` = [`Policy::window`], 1);
//! * a step is accepted only if it is greater than `last_step`; a code that
//!   matches only old steps is a [`Verdict::Replay`], which is *not* a
//!   failure (a double-submitted form must not lock anybody out);
//! * every other code — wrong, or malformed — is a failure; at
//!   [`Policy::lockout_limit`] consecutive failures the record locks;
//! * a success resets the failure count and learns the drift `step - T`,
//!   moving at most one step per success and never beyond
//!   [`Policy::max_learned_drift`] unless a resync set a larger one;
//! * [`Policy::resync`] accepts two consecutive codes within
//!   [`Policy::max_resync_drift`] steps and sets the drift from them.
//!
//! All candidates are computed and compared (in constant time) whatever the
//! result, so timing does not tell which step matched.
//!
//! The same rules decide for every storage backend and for the offline
//! confirmation codes of STK1-TXN ([`Policy::check_offline`]): the
//! candidate window ([`Policy::scan`]), the replay rule, and the failure
//! and lock arithmetic ([`Policy::after_failure`], [`Policy::locks_at`]).
//! A backend only stores the decision with its own conditional update.

use crate::otp::{parse_value, Generator};
use serde::{Deserialize, Serialize};

/// The verifier's state for one token, as stored by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Highest time step ever accepted (`None` before the first success).
    pub last_step: Option<u64>,
    /// Learned clock drift of the token, in steps.
    pub drift: i64,
    /// Consecutive failures since the last success.
    pub fail_count: u32,
    /// Locked until the bank unlocks it.
    pub locked: bool,
}

impl TokenRecord {
    /// The record after a bank-side unlock: not locked, failures reset,
    /// replay protection (`last_step`) and drift kept.
    pub fn unlocked(self) -> TokenRecord {
        TokenRecord {
            fail_count: 0,
            locked: false,
            ..self
        }
    }
}

/// Tunable limits. [`Policy::default`] is the STK1 reference policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Steps accepted on each side of the expected step (1).
    pub window: u64,
    /// Largest drift learned from ordinary successes (4).
    pub max_learned_drift: i64,
    /// Largest drift a resync may set (20).
    pub max_resync_drift: i64,
    /// Consecutive failures that lock the token (10).
    pub lockout_limit: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            window: 1,
            max_learned_drift: 4,
            max_resync_drift: 20,
            lockout_limit: 10,
        }
    }
}

/// The result of one verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The code is good; store `record` (compare-and-set).
    Accepted {
        /// Record to store.
        record: TokenRecord,
        /// The step that matched.
        step: u64,
    },
    /// The code matches a step at or before `last_step`. Not a failure;
    /// nothing to store.
    Replay,
    /// Wrong or malformed code; store `record` (its `fail_count` grew and
    /// it may now be `locked`).
    Invalid {
        /// Record to store.
        record: TokenRecord,
    },
    /// The token is locked; nothing to store.
    Locked,
}

/// What one typed code matched among the candidate steps
/// ([`Policy::scan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scan {
    /// It matches a step after the last accepted one: the matching step
    /// nearest the expected step.
    Fresh(u64),
    /// It matches only steps at or before the last accepted one (a
    /// replay, not a failure).
    Stale,
    /// It matches no candidate (a failure).
    Miss,
}

/// The result of checking an offline confirmation code
/// ([`Policy::check_offline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfflineVerdict {
    /// The code is good for `step` (after the last offline step): store
    /// `last_offline_step = step` and reset the token's failures.
    Accepted {
        /// The offline step that matched.
        step: u64,
    },
    /// The code matches only offline steps at or before the last accepted
    /// one. Not a failure; nothing to store.
    Replay,
    /// Wrong or malformed: the token's shared failure count becomes
    /// `fail_count`, locking it when `locked`.
    Invalid {
        /// Consecutive failures after this one.
        fail_count: u32,
        /// Whether the token is now locked.
        locked: bool,
    },
    /// The token is locked; nothing to store.
    Locked,
}

fn offset(base: u64, by: i64) -> Option<u64> {
    if by >= 0 {
        base.checked_add(by as u64)
    } else {
        base.checked_sub(by.unsigned_abs())
    }
}

impl Policy {
    /// Candidate steps around `now_step` for a record: base window first,
    /// then the drift window, without duplicates or out-of-range steps.
    pub fn candidates(&self, record: &TokenRecord, now_step: u64) -> Vec<u64> {
        let mut out = Vec::with_capacity(2 * (2 * self.window as usize + 1));
        self.for_each_candidate(record, now_step, |s| out.push(s));
        out
    }

    fn for_each_candidate(&self, record: &TokenRecord, now_step: u64, mut f: impl FnMut(u64)) {
        let w = self.window as i64;
        let in_base = |s: u64| s.abs_diff(now_step) <= self.window;
        for d in -w..=w {
            if let Some(s) = offset(now_step, d) {
                f(s);
            }
        }
        if record.drift != 0 {
            for d in -w..=w {
                if let Some(s) = offset(now_step, record.drift + d).filter(|s| !in_base(*s)) {
                    f(s);
                }
            }
        }
    }

    /// Verifies typed text `otp` for a token at `now_unix`.
    pub fn verify(
        &self,
        generator: &Generator,
        record: &TokenRecord,
        otp: &str,
        now_unix: u64,
    ) -> Verdict {
        if record.locked {
            return Verdict::Locked;
        }
        let params = generator.params();
        let Ok(now_step) = params.step_at(now_unix) else {
            return self.fail(record);
        };
        let Some(value) = parse_value(otp, params.digits()) else {
            return self.fail(record);
        };
        let scan = self.scan(record, now_step, record.last_step, |step| {
            generator.check_value(value, step)
        });
        match scan {
            Scan::Fresh(step) => {
                let learned = step as i128 - now_step as i128;
                let limit = self.max_learned_drift.max(record.drift.abs()) as i128;
                let drift = learned.clamp(-limit, limit) as i64;
                Verdict::Accepted {
                    record: TokenRecord {
                        last_step: Some(step),
                        drift,
                        fail_count: 0,
                        locked: false,
                    },
                    step,
                }
            }
            Scan::Stale => Verdict::Replay,
            Scan::Miss => self.fail(record),
        }
    }

    /// Scans the candidate steps of `record` around `now_step`
    /// ([`Policy::candidates`]) with `hit(step)` — called for **every**
    /// candidate, whatever the result — and classifies the code against
    /// `last`, the last accepted step of its kind (`record.last_step` for
    /// codes, the last offline step for offline codes).
    pub fn scan(
        &self,
        record: &TokenRecord,
        now_step: u64,
        last: Option<u64>,
        mut hit: impl FnMut(u64) -> bool,
    ) -> Scan {
        let mut fresh: Option<u64> = None;
        let mut old = false;
        self.for_each_candidate(record, now_step, |step| {
            let matched = hit(step);
            let is_fresh = last.is_none_or(|l| step > l);
            if matched && is_fresh {
                // Prefer the candidate nearest the expected step.
                fresh = Some(match fresh {
                    Some(prev) if prev.abs_diff(now_step) <= step.abs_diff(now_step) => prev,
                    _ => step,
                });
            } else if matched {
                old = true;
            }
        });
        match (fresh, old) {
            (Some(step), _) => Scan::Fresh(step),
            (None, true) => Scan::Stale,
            (None, false) => Scan::Miss,
        }
    }

    /// Whether `fail_count` consecutive failures lock a token.
    pub fn locks_at(&self, fail_count: u32) -> bool {
        fail_count >= self.lockout_limit
    }

    /// The failure count and lock after one more failure from
    /// (`fail_count`, `locked`): the count grows by one (saturating) and
    /// the token locks at [`Policy::lockout_limit`]; a lock is never
    /// cleared here. A store that increments in place must apply the same
    /// rule to the stored count.
    pub fn after_failure(&self, fail_count: u32, locked: bool) -> (u32, bool) {
        let n = fail_count.saturating_add(1);
        (n, locked || self.locks_at(n))
    }

    fn fail(&self, record: &TokenRecord) -> Verdict {
        let (fail_count, locked) = self.after_failure(record.fail_count, record.locked);
        Verdict::Invalid {
            record: TokenRecord {
                fail_count,
                locked,
                ..*record
            },
        }
    }

    /// Checks an offline confirmation code for a token whose code record
    /// is `record` (its drift and shared failure count and lock) and whose
    /// last accepted offline step is `last_offline`, at offline step
    /// `now_step`; `hit(step)` tells whether the typed code is the one of
    /// `step` (called for every candidate). Candidates and the
    /// nearest-step preference are those of the codes; the replay rule
    /// uses `last_offline`; failures count in the token's one counter.
    pub fn check_offline(
        &self,
        record: &TokenRecord,
        last_offline: Option<u64>,
        now_step: u64,
        hit: impl FnMut(u64) -> bool,
    ) -> OfflineVerdict {
        if record.locked {
            return OfflineVerdict::Locked;
        }
        match self.scan(record, now_step, last_offline, hit) {
            Scan::Fresh(step) => OfflineVerdict::Accepted { step },
            Scan::Stale => OfflineVerdict::Replay,
            Scan::Miss => {
                let (fail_count, locked) = self.after_failure(record.fail_count, record.locked);
                OfflineVerdict::Invalid { fail_count, locked }
            }
        }
    }

    /// Resynchronisation with two consecutive codes (RFC 4226 §7.4): finds
    /// a step `s` within [`Policy::max_resync_drift`] of `now_step` such
    /// that `otp1` is the code of `s` and `otp2` that of `s + 1`, both after
    /// `last_step`. Returns the record to store: `last_step = s + 1`, the
    /// drift set from it and failures reset. `locked` is kept as it is:
    /// unlocking is a separate bank action.
    pub fn resync(
        &self,
        generator: &Generator,
        record: &TokenRecord,
        otp1: &str,
        otp2: &str,
        now_unix: u64,
    ) -> Option<TokenRecord> {
        let params = generator.params();
        let now_step = params.step_at(now_unix).ok()?;
        let c1 = parse_value(otp1, params.digits())?;
        let c2 = parse_value(otp2, params.digits())?;
        let r = self.max_resync_drift;
        let mut found: Option<u64> = None;
        // s + 1 must stay within ±r of now_step.
        for d in (-r - 1)..r {
            let Some(s) = offset(now_step, d) else {
                continue;
            };
            let Some(next) = s.checked_add(1) else {
                continue;
            };
            let hit = generator.check_value(c1, s) & generator.check_value(c2, next);
            let is_fresh = record.last_step.is_none_or(|last| s > last);
            if hit && is_fresh && found.is_none() {
                found = Some(next);
            }
        }
        let next = found?;
        Some(TokenRecord {
            last_step: Some(next),
            drift: (next as i128 - now_step as i128) as i64,
            fail_count: 0,
            locked: record.locked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Params, Secret};

    fn gen() -> Generator {
        Generator::new(&Secret::from_slice(b"12345678901234567890"), Params::STK1).unwrap()
    }
    const NOW: u64 = 1_700_000_000;

    fn code_at(step: u64) -> String {
        gen().at_step(step).as_str().to_string()
    }

    #[test]
    fn accepts_current_and_neighbours_once() {
        let p = Policy::default();
        let g = gen();
        let t = NOW / 30;
        for s in [t - 1, t, t + 1] {
            let r = TokenRecord::default();
            match p.verify(&g, &r, &code_at(s), NOW) {
                Verdict::Accepted { record, step } => {
                    assert_eq!(step, s);
                    assert_eq!(record.last_step, Some(s));
                    assert_eq!(p.verify(&g, &record, &code_at(s), NOW), Verdict::Replay);
                }
                v => panic!("step {s}: {v:?}"),
            }
        }
        assert!(matches!(
            p.verify(&g, &TokenRecord::default(), &code_at(t + 2), NOW),
            Verdict::Invalid { .. }
        ));
        assert!(matches!(
            p.verify(&g, &TokenRecord::default(), &code_at(t - 2), NOW),
            Verdict::Invalid { .. }
        ));
    }

    #[test]
    fn older_step_after_newer_is_replay_not_failure() {
        let p = Policy::default();
        let g = gen();
        let t = NOW / 30;
        let r = TokenRecord {
            last_step: Some(t + 1),
            ..Default::default()
        };
        assert_eq!(p.verify(&g, &r, &code_at(t), NOW), Verdict::Replay);
    }

    #[test]
    fn lockout_at_limit_and_no_self_unlock() {
        let p = Policy {
            lockout_limit: 3,
            ..Policy::default()
        };
        let g = gen();
        let mut r = TokenRecord::default();
        for i in 1..=3 {
            match p.verify(&g, &r, "abc", NOW) {
                Verdict::Invalid { record } => {
                    assert_eq!(record.fail_count, i);
                    assert_eq!(record.locked, i == 3);
                    r = record;
                }
                v => panic!("{v:?}"),
            }
        }
        assert_eq!(p.verify(&g, &r, &code_at(NOW / 30), NOW), Verdict::Locked);
        let r = r.unlocked();
        assert!(matches!(
            p.verify(&g, &r, &code_at(NOW / 30), NOW),
            Verdict::Accepted { .. }
        ));
    }

    #[test]
    fn success_resets_failures_and_learns_drift() {
        let p = Policy::default();
        let g = gen();
        let t = NOW / 30;
        let r = TokenRecord {
            fail_count: 5,
            ..Default::default()
        };
        let Verdict::Accepted { record, .. } = p.verify(&g, &r, &code_at(t + 1), NOW) else {
            panic!()
        };
        assert_eq!(record.fail_count, 0);
        assert_eq!(record.drift, 1);
        // With drift 1, T+2 is now a candidate; drift grows one step a time.
        let Verdict::Accepted { record, .. } = p.verify(&g, &record, &code_at(t + 2), NOW) else {
            panic!()
        };
        assert_eq!(record.drift, 2);
        // It never exceeds the learned limit of 4.
        let mut r = TokenRecord {
            drift: 4,
            last_step: Some(t),
            ..Default::default()
        };
        let Verdict::Accepted { record, .. } = p.verify(&g, &r, &code_at(t + 5), NOW) else {
            panic!()
        };
        assert_eq!(record.drift, 4);
        r = record;
        assert!(matches!(
            p.verify(&g, &r, &code_at(t + 7), NOW),
            Verdict::Invalid { .. }
        ));
    }

    #[test]
    fn resync_sets_large_drift_with_two_consecutive_codes() {
        let p = Policy::default();
        let g = gen();
        let t = NOW / 30;
        let r = TokenRecord::default();
        let rec = p
            .resync(&g, &r, &code_at(t + 14), &code_at(t + 15), NOW)
            .unwrap();
        assert_eq!(rec.drift, 15);
        assert_eq!(rec.last_step, Some(t + 15));
        // The same pair again is refused (both steps are now old).
        assert!(p
            .resync(&g, &rec, &code_at(t + 14), &code_at(t + 15), NOW)
            .is_none());
        // Not consecutive, or too far, is refused.
        assert!(p
            .resync(&g, &r, &code_at(t + 14), &code_at(t + 16), NOW)
            .is_none());
        assert!(p
            .resync(&g, &r, &code_at(t + 21), &code_at(t + 22), NOW)
            .is_none());
        // The next code after the resync is accepted in the drift window.
        assert!(matches!(
            p.verify(&g, &rec, &code_at(t + 16), NOW),
            Verdict::Accepted { .. }
        ));
    }

    #[test]
    fn scan_classifies_against_the_given_last_step() {
        let p = Policy::default();
        let t = 1000;
        let r = TokenRecord {
            drift: 3,
            ..Default::default()
        };
        let mut seen = Vec::new();
        // Every candidate is looked at even after a hit.
        let s = p.scan(&r, t, None, |step| {
            seen.push(step);
            step == t - 1 || step == t + 2
        });
        assert_eq!(s, Scan::Fresh(t - 1));
        seen.sort_unstable();
        assert_eq!(seen, vec![t - 1, t, t + 1, t + 2, t + 3, t + 4]);
        assert_eq!(p.scan(&r, t, Some(t + 4), |s| s == t + 2), Scan::Stale);
        assert_eq!(p.scan(&r, t, Some(t), |s| s == t + 2), Scan::Fresh(t + 2));
        assert_eq!(p.scan(&r, t, None, |s| s == t + 5), Scan::Miss);
    }

    #[test]
    fn offline_codes_share_the_lockout_and_have_their_own_replay_step() {
        let p = Policy {
            lockout_limit: 3,
            ..Policy::default()
        };
        let t = 500;
        // The codes' last_step does not matter to offline codes.
        let r = TokenRecord {
            last_step: Some(t + 1),
            fail_count: 1,
            ..Default::default()
        };
        assert_eq!(
            p.check_offline(&r, None, t, |s| s == t),
            OfflineVerdict::Accepted { step: t }
        );
        assert_eq!(
            p.check_offline(&r, Some(t), t, |s| s == t),
            OfflineVerdict::Replay
        );
        assert_eq!(
            p.check_offline(&r, None, t, |_| false),
            OfflineVerdict::Invalid {
                fail_count: 2,
                locked: false
            }
        );
        let r = TokenRecord { fail_count: 2, ..r };
        assert_eq!(
            p.check_offline(&r, None, t, |_| false),
            OfflineVerdict::Invalid {
                fail_count: 3,
                locked: true
            }
        );
        let r = TokenRecord { locked: true, ..r };
        assert_eq!(
            p.check_offline(&r, None, t, |_| true),
            OfflineVerdict::Locked
        );
        assert_eq!(p.after_failure(u32::MAX, false), (u32::MAX, true));
        assert!(!p.locks_at(2) && p.locks_at(3));
    }

    #[test]
    fn resync_keeps_lock() {
        let p = Policy::default();
        let g = gen();
        let t = NOW / 30;
        let r = TokenRecord {
            locked: true,
            fail_count: 10,
            ..Default::default()
        };
        let rec = p.resync(&g, &r, &code_at(t), &code_at(t + 1), NOW).unwrap();
        assert!(rec.locked);
    }
}
