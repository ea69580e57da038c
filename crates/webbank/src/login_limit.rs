//! Login limits, decided before any password is hashed.
//!
//! * Per contract ID ([`LoginGuard`]): an attempt is *reserved* under one
//!   lock before Argon2 runs — at most one attempt in flight per ID (a second
//!   concurrent one is refused at once), and the attempt counts as a failure
//!   from the moment it is reserved (no check-then-record race). After
//!   [`FREE_FAILURES`] failures each further attempt must wait
//!   `2^k` seconds since the last one (capped at [`MAX_DELAY`]) — a
//!   progressive delay instead of a lockout anyone can trigger by naming a
//!   customer; only after [`HARD_LOCK_FAILURES`] failures is the ID locked
//!   for [`HARD_LOCK`]. A success clears the count and reports how many
//!   failures happened since the previous success (shown to the customer).
//! * Per client address ([`RateLimiter`]): a sliding window of failures.
//!
//! Memory is bounded: at most [`MAX_KEYS`] keys per map (the oldest
//! entries are dropped first when full).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts per contract ID before the progressive delay starts.
pub const FREE_FAILURES: u32 = 5;
/// Longest delay between two attempts of one contract ID.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures (since the last success) that lock a contract ID hard.
pub const HARD_LOCK_FAILURES: u32 = 50;
/// How long a hard lock lasts.
pub const HARD_LOCK: Duration = Duration::from_secs(24 * 60 * 60);
/// Failed attempts allowed per client address within [`WINDOW`].
pub const PER_CLIENT: usize = 30;
/// The window of the per-client limit.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept per map at most.
pub const MAX_KEYS: usize = 100_000;

/// The wait required before attempt number `failures + 1` of an ID
/// (zero while `failures < FREE_FAILURES`).
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let k = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << k).min(MAX_DELAY)
}

/// Why an attempt was refused before any password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Another attempt for this contract ID is being checked right now.
    Busy,
    /// The progressive delay has not passed yet (remaining wait).
    Wait(Duration),
    /// Locked after [`HARD_LOCK_FAILURES`] failures.
    Locked,
    /// Too many failures from this client address.
    Client,
}

#[derive(Debug, Default)]
struct Account {
    failures: u32,
    since_success: u32,
    last: Option<Instant>,
    in_flight: bool,
}

/// Per contract ID state (see the module documentation).
#[derive(Debug, Default)]
pub struct LoginGuard {
    accounts: Mutex<HashMap<String, Account>>,
}

/// A reserved attempt. Dropping it without [`Reservation::succeeded`]
/// leaves the attempt counted as a failure and frees the ID for the next
/// one; the delay before that one counts from the drop.
#[derive(Debug)]
pub struct Reservation<'a> {
    guard: &'a LoginGuard,
    id: String,
}

impl LoginGuard {
    /// Reserves an attempt for `id` at `now`: refused when one is in
    /// flight, while the delay runs, or when locked; otherwise the
    /// attempt is counted as a failure and marked in flight.
    pub fn reserve(&self, id: &str, now: Instant) -> Result<Reservation<'_>, Refusal> {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(id) && map.len() >= MAX_KEYS {
            // Forget the entries whose delay is long over first.
            map.retain(|_, a| {
                a.in_flight
                    || a.last
                        .is_some_and(|t| now.saturating_duration_since(t) < HARD_LOCK)
            });
            if map.len() >= MAX_KEYS {
                return Err(Refusal::Busy);
            }
        }
        let a = map.entry(id.to_string()).or_default();
        if a.in_flight {
            return Err(Refusal::Busy);
        }
        if let Some(last) = a.last {
            let since = now.saturating_duration_since(last);
            if a.failures >= HARD_LOCK_FAILURES {
                if since < HARD_LOCK {
                    return Err(Refusal::Locked);
                }
                a.failures = FREE_FAILURES;
            }
            let wait = delay_after(a.failures);
            if since < wait {
                return Err(Refusal::Wait(wait - since));
            }
        }
        a.in_flight = true;
        a.failures = a.failures.saturating_add(1);
        a.since_success = a.since_success.saturating_add(1);
        a.last = Some(now);
        Ok(Reservation {
            guard: self,
            id: id.to_string(),
        })
    }

    /// Failures counted for `id` since its last success.
    pub fn failures(&self, id: &str) -> u32 {
        let map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).map_or(0, |a| a.failures)
    }
}

impl Reservation<'_> {
    /// The password was right: clears the count and returns the number of
    /// failures before this attempt (for the customer's notice).
    pub fn succeeded(self) -> u32 {
        let mut map = self
            .guard
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.remove(&self.id)
            .map_or(0, |a| a.since_success.saturating_sub(1))
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut map = self
            .guard
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(a) = map.get_mut(&self.id) {
            a.in_flight = false;
            // The delay runs from the end of the check, however long it took.
            let end = Instant::now();
            a.last = Some(a.last.map_or(end, |t| t.max(end)));
        }
    }
}

/// Counts failures per key; a key is blocked once `limit` failures fall
/// inside the window. Successes do not clear the count (an attacker who
/// knows one password must not reset the counter of another guess).
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` failures per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        RateLimiter {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// True if `key` may try now.
    pub fn allowed(&self, key: &str, now: Instant) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(q) => {
                Self::expire(q, now, self.window);
                q.len() < self.limit
            }
            None => true,
        }
    }

    /// Records one failure of `key` (at most `limit` timestamps are kept
    /// per key, and at most [`MAX_KEYS`] keys).
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let window = self.window;
            map.retain(|_, q| {
                Self::expire(q, now, window);
                !q.is_empty()
            });
            if map.len() >= MAX_KEYS {
                return;
            }
        }
        let q = map.entry(key.to_string()).or_default();
        Self::expire(q, now, self.window);
        q.push_back(now);
        while q.len() > self.limit {
            q.pop_front();
        }
    }

    fn expire(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_at_the_limit_and_recovers_after_the_window() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(rl.allowed("1000001", t0), "attempt {i}");
            rl.fail("1000001", t0);
        }
        assert!(!rl.allowed("1000001", t0));
        assert!(rl.allowed("1000002", t0), "other keys are not affected");
        assert!(!rl.allowed("1000001", t0 + Duration::from_secs(59)));
        assert!(rl.allowed("1000001", t0 + Duration::from_secs(60)));
    }

    #[test]
    fn second_concurrent_attempt_is_refused_while_one_is_in_flight() {
        let g = LoginGuard::default();
        let t0 = Instant::now();
        let r = g.reserve("1", t0).unwrap();
        assert_eq!(g.reserve("1", t0).unwrap_err(), Refusal::Busy);
        assert!(g.reserve("2", t0).is_ok(), "other IDs are independent");
        assert_eq!(
            g.failures("1"),
            1,
            "counted when reserved, before the check"
        );
        drop(r);
        assert!(g.reserve("1", t0).is_ok());
    }

    #[test]
    fn progressive_delay_then_hard_lock_then_notice_count() {
        let g = LoginGuard::default();
        // A logical clock ahead of the real one (drops stamp the real time).
        let mut t = Instant::now() + Duration::from_secs(3600);
        for _ in 0..FREE_FAILURES {
            drop(g.reserve("1", t).unwrap());
        }
        // Sixth attempt: must wait 1 s.
        assert_eq!(
            g.reserve("1", t).unwrap_err(),
            Refusal::Wait(Duration::from_secs(1))
        );
        t += Duration::from_secs(1);
        drop(g.reserve("1", t).unwrap());
        assert_eq!(
            g.reserve("1", t + Duration::from_millis(1999)).unwrap_err(),
            Refusal::Wait(Duration::from_millis(1))
        );
        assert_eq!(delay_after(FREE_FAILURES + 3), Duration::from_secs(8));
        assert_eq!(delay_after(HARD_LOCK_FAILURES), MAX_DELAY);
        while g.failures("1") < HARD_LOCK_FAILURES {
            t += MAX_DELAY;
            drop(g.reserve("1", t).unwrap());
        }
        t += MAX_DELAY;
        assert_eq!(g.reserve("1", t).unwrap_err(), Refusal::Locked);
        t += HARD_LOCK;
        let r = g.reserve("1", t).unwrap();
        assert_eq!(
            r.succeeded(),
            HARD_LOCK_FAILURES,
            "failures before this success"
        );
        assert_eq!(g.failures("1"), 0);
        assert_eq!(g.reserve("1", t).unwrap().succeeded(), 0);
    }
}
