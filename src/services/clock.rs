//! Clocks: the system clock (with an offset for the simulator), the
//! [`AdjustableClock`] whose offset the simulator's QA panel changes at run
//! time; a fixed, settable clock for tests is in `services::testing` (test
//! builds only).
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

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

    /// Changes of this clock other than the passing of time (its offset was
    /// set at run time, e.g. from the QA panel): a receiver whose value is
    /// the clock's generation, one more per change, marked changed on each.
    /// `None` (the default) for a clock that never changes that way; a
    /// clock that does also moves differently from the monotonic clock when
    /// it changes, so a jump detector sees it at its next reading anyway.
    fn changes(&self) -> Option<watch::Receiver<u64>> {
        None
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

/// A clock `base` shifted by an offset (whole seconds) that can be changed
/// while the app runs: the simulator's `--clock-offset` and its QA panel.
///
/// Contract: every reading is `base + offset` of the moment; each change of
/// the offset (even to the same value) increases the generation by one and
/// notifies every receiver of [`Clock::changes`], so the ticker, the codes,
/// the countdown and transaction expiry all follow the one clock.
pub struct AdjustableClock {
    base: Arc<dyn Clock>,
    offset_secs: AtomicI64,
    generation: watch::Sender<u64>,
}

impl std::fmt::Debug for AdjustableClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdjustableClock")
            .field("offset_secs", &self.offset_secs())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl AdjustableClock {
    /// `base` shifted by `offset_secs` (may be negative), generation 0.
    pub fn new(base: Arc<dyn Clock>, offset_secs: i64) -> Self {
        AdjustableClock {
            base,
            offset_secs: AtomicI64::new(offset_secs),
            generation: watch::Sender::new(0),
        }
    }

    /// The clock underneath, without the offset.
    pub fn base(&self) -> &Arc<dyn Clock> {
        &self.base
    }

    /// The current offset in seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::SeqCst)
    }

    /// Sets the offset to `offset_secs` and notifies the receivers; returns
    /// the new generation.
    pub fn set_offset(&self, offset_secs: i64) -> u64 {
        self.offset_secs.store(offset_secs, Ordering::SeqCst);
        let mut generation = 0;
        self.generation.send_modify(|g| {
            *g += 1;
            generation = *g;
        });
        generation
    }

    /// How many times the offset was set since the clock was made.
    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }
}

impl Clock for AdjustableClock {
    fn now_millis(&self) -> u64 {
        let shifted = i128::from(self.base.now_millis()) + i128::from(self.offset_secs()) * 1000;
        shifted.clamp(0, i128::from(u64::MAX)) as u64
    }

    fn changes(&self) -> Option<watch::Receiver<u64>> {
        Some(self.generation.subscribe())
    }
}

/// Milliseconds to wait from `now_millis` until the next whole second.
pub fn millis_to_next_second(now_millis: u64) -> u64 {
    1000 - now_millis % 1000
}

/// Allowed difference between the device's and the bank's clock before
/// the app warns, in seconds (half a step).
pub const CLOCK_LIMIT_SECS: u64 = 15;

/// Clock difference device − bank in seconds, if the bank told its time
/// and the difference exceeds `limit` seconds.
pub fn clock_difference(device_now: u64, server_time: Option<u64>, limit: u64) -> Option<i64> {
    let server = server_time?;
    let diff = device_now as i64 - server as i64;
    (diff.unsigned_abs() > limit).then_some(diff)
}

/// Device − bank difference from a stored `server - device` offset, if it
/// exceeds [`CLOCK_LIMIT_SECS`].
pub fn offset_warning(server_minus_device: i64) -> Option<i64> {
    (server_minus_device.unsigned_abs() > CLOCK_LIMIT_SECS).then_some(-server_minus_device)
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

    /// A base clock standing still at a set millisecond.
    struct Still(u64);

    impl Clock for Still {
        fn now_millis(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn adjustable_clock_shifts_its_base_and_announces_every_change() {
        let c = AdjustableClock::new(Arc::new(Still(1_000_500)), -30);
        assert_eq!(c.now_millis(), 970_500);
        assert_eq!(c.now_unix(), 970);
        assert_eq!(c.generation(), 0);
        let mut rx = c.changes().unwrap();
        assert!(!rx.has_changed().unwrap());
        assert_eq!(c.set_offset(30), 1);
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 1);
        assert_eq!(c.now_unix(), 1030);
        assert_eq!(c.offset_secs(), 30);
        // Setting the same offset again is still a change.
        assert_eq!(c.set_offset(30), 2);
        assert!(rx.has_changed().unwrap());
        // Far in the past the reading stops at the epoch, never wraps.
        c.set_offset(-10_000);
        assert_eq!(c.now_millis(), 0);
        assert!(format!("{c:?}").contains("offset_secs: -10000"));
        assert!(SystemClock::default().changes().is_none());
    }

    #[test]
    fn differences_beyond_the_limit_warn() {
        assert_eq!(
            clock_difference(1_000, Some(960), CLOCK_LIMIT_SECS),
            Some(40)
        );
        assert_eq!(clock_difference(1_000, Some(985), CLOCK_LIMIT_SECS), None);
        assert_eq!(clock_difference(1_000, None, CLOCK_LIMIT_SECS), None);
        assert_eq!(offset_warning(20), Some(-20));
        assert_eq!(offset_warning(-15), None);
    }
}
