//! Start-up marker for the benchmarks (bench/app/): when the environment
//! variable `SOFTTOKEN_BENCH_MARK` is set, the first mounted code prints
//! `first-code-visible <unix ms>` on stderr, once. Prints no code.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static DONE: AtomicBool = AtomicBool::new(false);

/// Prints the marker `label <unix ms>` once per process if benchmarking.
pub fn mark(label: &str) {
    if std::env::var_os("SOFTTOKEN_BENCH_MARK").is_none() || DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    eprintln!("{label} {ms}");
}
