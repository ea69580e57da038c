//! Connection limits of the listeners: a global and a per-source cap on
//! open connections, a deadline and a minimum rate for request bodies, and
//! a rate-limited log line for refused or failed accepts.
//!
//! The request head has its own deadline (`--header-timeout`, hyper's
//! header timer); the body must then arrive within `--body-timeout` and,
//! after a grace second, at no less than `--min-body-rate` bytes per
//! second on average. A body that misses either fails to read (the handler
//! answers an error and the connection is closed, since its request was
//! not read to the end). A source is an IPv4 address or an IPv6 /64; a
//! trusted proxy is exempt from the per-source cap (it carries many
//! clients) but not from the global one.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use softtoken_token_service::limits::Source;
use tokio::time::Sleep;

/// Settings of a listener's connections.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Most open connections in total.
    pub max_total: usize,
    /// Most open connections per source.
    pub max_per_source: usize,
    /// Sources exempt from the per-source cap (trusted proxies).
    pub exempt: Vec<ipnet::IpNet>,
    /// Time for a request body once its head has arrived.
    pub body_timeout: Duration,
    /// Least average body rate (bytes per second) after the first second.
    pub min_body_rate: u64,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_source: HashMap<Source, usize>,
}

/// The open connections of a listener.
#[derive(Debug)]
pub struct Connections {
    cfg: ConnConfig,
    counts: Mutex<Counts>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    owner: Arc<Connections>,
    source: Option<Source>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The listener has `max_total` connections.
    Total,
    /// The source has `max_per_source` connections.
    Source,
}

impl Connections {
    /// No connection yet.
    pub fn new(cfg: ConnConfig) -> Arc<Connections> {
        Arc::new(Connections {
            cfg,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ConnConfig {
        &self.cfg
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        match self.counts.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        }
    }

    /// Admits a connection from `ip`, or says which cap it hit.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let mut c = self.lock();
        if c.total >= self.cfg.max_total {
            return Err(Refused::Total);
        }
        let source = if self.cfg.exempt.iter().any(|n| n.contains(&ip)) {
            None
        } else {
            let s = Source::of(ip);
            let n = c.per_source.entry(s).or_insert(0);
            if *n >= self.cfg.max_per_source {
                return Err(Refused::Source);
            }
            *n += 1;
            Some(s)
        };
        c.total += 1;
        Ok(Slot {
            owner: Arc::clone(self),
            source,
        })
    }

    /// Open connections (total, from `ip`'s source).
    #[cfg(test)]
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let c = self.lock();
        let s = c.per_source.get(&Source::of(ip)).copied().unwrap_or(0);
        (c.total, s)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.owner.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(s) = self.source {
            if let Some(n) = c.per_source.get_mut(&s) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.per_source.remove(&s);
                }
            }
        }
    }
}

/// A body read failed its deadline or its minimum rate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlowBody {
    /// Not complete within the body timeout.
    #[error("request body not complete in time")]
    Deadline,
    /// Sent more slowly than the minimum rate.
    #[error("request body sent too slowly")]
    TooSlow,
}

/// A request body with a deadline and a minimum average rate.
pub struct Paced<B> {
    inner: B,
    started: Instant,
    received: u64,
    min_rate: u64,
    deadline: Pin<Box<Sleep>>,
    failed: bool,
}

impl<B> Paced<B> {
    /// `inner`, to be complete within `timeout` at `min_rate` bytes/s.
    pub fn new(inner: B, timeout: Duration, min_rate: u64) -> Paced<B> {
        Paced {
            inner,
            started: Instant::now(),
            received: 0,
            min_rate,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            failed: false,
        }
    }
}

/// The grace period before the minimum rate applies.
const GRACE: Duration = Duration::from_secs(1);

impl<B> Body for Paced<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.received += d.len() as u64;
                }
                let elapsed = this.started.elapsed();
                if elapsed > GRACE
                    && (this.received as f64) < this.min_rate as f64 * elapsed.as_secs_f64()
                {
                    this.failed = true;
                    return Poll::Ready(Some(Err(Box::new(SlowBody::TooSlow))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    this.failed = true;
                    return Poll::Ready(Some(Err(Box::new(SlowBody::Deadline))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A log line at most once per `every`, with the number it held back.
#[derive(Debug)]
pub struct LogLimiter {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl LogLimiter {
    /// One line per `every`.
    pub fn new(every: Duration) -> LogLimiter {
        LogLimiter {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// `Some(lines held back since the last one)` if a line may be
    /// written now.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.duration_since(t) < self.every => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ConnConfig {
        ConnConfig {
            max_total: 3,
            max_per_source: 2,
            exempt: vec!["10.9.0.0/16".parse().unwrap()],
            body_timeout: Duration::from_secs(1),
            min_body_rate: 100,
        }
    }

    #[test]
    fn caps_and_slots_free_their_place() {
        let c = Connections::new(cfg());
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.1".parse().unwrap();
        let s1 = c.admit(a).unwrap();
        let _s2 = c.admit(a).unwrap();
        assert_eq!(c.admit(a).unwrap_err(), Refused::Source);
        let _s3 = c.admit(b).unwrap();
        assert_eq!(c.admit(b).unwrap_err(), Refused::Total);
        drop(s1);
        assert_eq!(c.open(a), (2, 1));
        let _s4 = c.admit(b).unwrap();
        assert_eq!(c.open(b), (3, 2));
    }

    #[test]
    fn trusted_proxies_skip_the_per_source_cap_only() {
        let c = Connections::new(cfg());
        let p: IpAddr = "10.9.1.1".parse().unwrap();
        let _s: Vec<Slot> = (0..3).map(|_| c.admit(p).unwrap()).collect();
        assert_eq!(c.admit(p).unwrap_err(), Refused::Total);
    }

    #[test]
    fn log_limiter_counts_what_it_holds_back() {
        let mut l = LogLimiter::new(Duration::from_secs(10));
        let t = Instant::now();
        assert_eq!(l.allow(t), Some(0));
        assert_eq!(l.allow(t + Duration::from_secs(1)), None);
        assert_eq!(l.allow(t + Duration::from_secs(2)), None);
        assert_eq!(l.allow(t + Duration::from_secs(11)), Some(2));
    }
}
