//! Clocks: the system clock (with an offset for the simulator) and a fixed,
//! settable clock for tests.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Source of the current time in milliseconds since the Unix epoch.
///
/// Contract: the screens read the time only through this trait, so a test
/// clock decides exactly what every countdown and code shows.
pub trait Clock: Send + Sync {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_millis(&self) -> u64;

    /// Whole seconds since the epoch.
    fn now_unix(&self) -> u64 {
        self.now_millis() / 1000
    }
}

/// The device clock, shifted by `offset_secs` (simulator `--clock-offset`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock {
    offset_secs: i64,
}

impl SystemClock {
    /// A system clock shifted by `offset_secs` seconds (may be negative).
    pub fn with_offset(offset_secs: i64) -> Self {
        SystemClock { offset_secs }
    }
}

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i128)
            .unwrap_or(0);
        let shifted = real + i128::from(self.offset_secs) * 1000;
        shifted.clamp(0, i128::from(u64::MAX)) as u64
    }
}

/// A clock that shows a set time until it is set again (tests).
#[derive(Debug, Clone, Default)]
pub struct FixedClock(Arc<AtomicU64>);

impl FixedClock {
    /// A clock standing at `unix` seconds.
    pub fn at(unix: u64) -> Self {
        FixedClock(Arc::new(AtomicU64::new(unix * 1000)))
    }

    /// Moves the clock to `unix` seconds (clones share the time).
    pub fn set(&self, unix: u64) {
        self.0.store(unix * 1000, Ordering::SeqCst);
    }

    /// Moves the clock to `millis` milliseconds.
    pub fn set_millis(&self, millis: u64) {
        self.0.store(millis, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Milliseconds to wait from `now_millis` until the next whole second.
pub fn millis_to_next_second(now_millis: u64) -> u64 {
    1000 - now_millis % 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_shifts_the_system_clock() {
        let plain = SystemClock::default().now_unix();
        let ahead = SystemClock::with_offset(3600).now_unix();
        assert!((3599..=3601).contains(&(ahead - plain)));
    }

    #[test]
    fn fixed_clock_clones_share_time() {
        let c = FixedClock::at(10);
        let d = c.clone();
        d.set(20);
        assert_eq!(c.now_unix(), 20);
        assert_eq!(millis_to_next_second(20_250), 750);
        assert_eq!(millis_to_next_second(20_000), 1000);
    }
}
