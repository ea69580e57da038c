//! Clocks: the system clock (with an offset for the simulator); a fixed,
//! settable clock for tests is in `services::testing` (test builds only).
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
