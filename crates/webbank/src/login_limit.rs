//! Login rate limit: a sliding window of failed password attempts per key
//! (the contract ID, and separately the client address).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts allowed per contract ID within [`WINDOW`].
pub const PER_ACCOUNT: usize = 5;
/// Failed attempts allowed per client address within [`WINDOW`].
pub const PER_CLIENT: usize = 30;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

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

    /// Records one failure of `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, q| {
                Self::expire(q, now, window);
                !q.is_empty()
            });
        }
        let q = map.entry(key.to_string()).or_default();
        Self::expire(q, now, self.window);
        q.push_back(now);
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
}
