//! Per-source admission limits of the anonymous pairing endpoints
//! (`/v1/provision/*`), applied before any cryptography, body reading or
//! database work.
//!
//! A *source* is the client's IPv4 address, or the /64 prefix of its IPv6
//! address (one customer line usually gets a whole /64). The client
//! address is the TCP peer, or — only when the peer is a configured
//! trusted proxy — the right-most address of `X-Forwarded-For` that is not
//! itself a trusted proxy.
//!
//! Per source (all in memory, so an over-limit answer costs a map lookup):
//! * a token bucket over `init` and `finish` requests (`rate` per second,
//!   `burst`);
//! * at most `pending_per_source` `init`s per session lifetime
//!   ([`crate::ops::init::SESSION_TTL`]): an upper bound of the pairing
//!   sessions the source can have open, i.e. its share of the global
//!   pending cap;
//! * at most `unbound_per_source` `finish`es per bind period (`bind_ttl`):
//!   an upper bound of the issued-but-unbound tokens it can create.
//!
//! The global caps (pending sessions, unbound tokens) are the database's
//! ([`crate::db::DbConfig`]). An over-limit answer is `429 rate_limited`
//! with `Retry-After` (whole seconds). The table of sources is bounded
//! (`max_sources`); when it is full, idle entries are dropped, and if none
//! is idle new sources share one overflow entry (so memory never grows
//! without bound, and a flood of spoofed-looking sources limits itself).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use softtoken_core::stk1::messages::ErrorCode;

use crate::refusal::Refusal;

/// Limits of the pairing endpoints.
#[derive(Debug, Clone)]
pub struct LimitConfig {
    /// Token-bucket refill per source, requests per second.
    pub rate_per_second: f64,
    /// Token-bucket size per source.
    pub burst: u32,
    /// `init`s per source per session lifetime.
    pub pending_per_source: u32,
    /// Length of that window (the session lifetime).
    pub pending_window: Duration,
    /// `finish`es per source per bind period.
    pub unbound_per_source: u32,
    /// Length of that window (the bind period).
    pub unbound_window: Duration,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Most sources tracked at a time.
    pub max_sources: usize,
}

impl Default for LimitConfig {
    /// 2 requests/s with a burst of 20, 20 open pairings and 50 unbound
    /// tokens per source, 300 s and 24 h windows, no trusted proxy,
    /// 100 000 sources.
    fn default() -> LimitConfig {
        LimitConfig {
            rate_per_second: 2.0,
            burst: 20,
            pending_per_source: 20,
            pending_window: Duration::from_secs(crate::ops::init::SESSION_TTL),
            unbound_per_source: 50,
            unbound_window: Duration::from_secs(24 * 3600),
            trusted_proxies: Vec::new(),
            max_sources: 100_000,
        }
    }
}

/// Which limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `provision/init`: bucket and the pending share.
    Init,
    /// `provision/finish`: bucket and the unbound share.
    Finish,
}

/// A source: an IPv4 address or an IPv6 /64 (IPv4-mapped IPv6 addresses
/// count as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// IPv4 address.
    V4([u8; 4]),
    /// The upper 64 bits of an IPv6 address.
    V6Prefix(u64),
    /// The shared entry used when the table is full.
    Overflow,
}

impl Source {
    /// The source of a client address.
    pub fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(a) => Source::V4(a.octets()),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.octets()),
                None => Source::V6Prefix((u128::from(a) >> 64) as u64),
            },
        }
    }
}

/// A fixed window counter.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window {
            start: now,
            count: 0,
        }
    }

    /// Counts one if below `max` in the current window, else the time
    /// until the window ends.
    fn take(&mut self, now: Instant, len: Duration, max: u32) -> Result<(), Duration> {
        if now.duration_since(self.start) >= len {
            *self = Window::new(now);
        }
        if self.count >= max {
            return Err(len.saturating_sub(now.duration_since(self.start)));
        }
        self.count += 1;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tokens: f64,
    refilled: Instant,
    pending: Window,
    unbound: Window,
}

impl Entry {
    fn new(now: Instant, cfg: &LimitConfig) -> Entry {
        Entry {
            tokens: f64::from(cfg.burst),
            refilled: now,
            pending: Window::new(now),
            unbound: Window::new(now),
        }
    }

    /// No request is remembered any more: dropping it changes nothing.
    fn idle(&self, now: Instant, cfg: &LimitConfig) -> bool {
        let full = self.tokens
            + now.duration_since(self.refilled).as_secs_f64() * cfg.rate_per_second
            >= f64::from(cfg.burst);
        full && (self.pending.count == 0
            || now.duration_since(self.pending.start) >= cfg.pending_window)
            && (self.unbound.count == 0
                || now.duration_since(self.unbound.start) >= cfg.unbound_window)
    }

    fn admit(&mut self, kind: Kind, now: Instant, cfg: &LimitConfig) -> Result<(), Duration> {
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * cfg.rate_per_second).min(f64::from(cfg.burst));
        self.refilled = now;
        if self.tokens < 1.0 {
            let wait = if cfg.rate_per_second > 0.0 {
                (1.0 - self.tokens) / cfg.rate_per_second
            } else {
                3600.0
            };
            return Err(Duration::from_secs_f64(wait.min(86_400.0)));
        }
        match kind {
            Kind::Init => self
                .pending
                .take(now, cfg.pending_window, cfg.pending_per_source)?,
            Kind::Finish => self
                .unbound
                .take(now, cfg.unbound_window, cfg.unbound_per_source)?,
        }
        self.tokens -= 1.0;
        Ok(())
    }
}

/// The limiter shared by the pairing endpoints.
#[derive(Debug)]
pub struct Limits {
    cfg: LimitConfig,
    table: Mutex<HashMap<Source, Entry>>,
}

impl Limits {
    /// A limiter with `cfg`.
    pub fn new(cfg: LimitConfig) -> Limits {
        Limits {
            cfg,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &LimitConfig {
        &self.cfg
    }

    /// Counts a request of `kind` from `source` at `now`: `Ok` if it may
    /// proceed, else how long the source should wait.
    pub fn admit(&self, source: Source, kind: Kind, now: Instant) -> Result<(), Duration> {
        let mut table = match self.table.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut key = source;
        if !table.contains_key(&key) && table.len() >= self.cfg.max_sources {
            let cfg = &self.cfg;
            table.retain(|_, e| !e.idle(now, cfg));
            if table.len() >= self.cfg.max_sources {
                key = Source::Overflow;
            }
        }
        let cfg = &self.cfg;
        table
            .entry(key)
            .or_insert_with(|| Entry::new(now, cfg))
            .admit(kind, now, cfg)
    }

    /// The client address of a request from `peer` with `headers`: the
    /// peer itself, or behind a trusted proxy the right-most
    /// `X-Forwarded-For` address that is not a trusted proxy (a malformed
    /// header counts as the proxy's own request).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.cfg.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let mut client = peer;
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            let Ok(text) = value.to_str() else {
                return client;
            };
            for part in text.rsplit(',') {
                let Ok(ip) = part.trim().parse::<IpAddr>() else {
                    return client;
                };
                client = ip;
                if !trusted(&ip) {
                    return ip;
                }
            }
        }
        client
    }
}

/// The `rate_limited` answer: STK1 body and `Retry-After` in whole
/// seconds (at least 1).
pub fn rate_limited(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = Refusal::new(
        ErrorCode::RateLimited,
        "too many pairing requests from this address; try again later",
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Middleware of the pairing routes: admits `init` and `finish` requests
/// or answers `rate_limited` without reading the body. A request without
/// a peer address (in-process tests) counts as `0.0.0.0`.
pub async fn admit(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let kind = match req.uri().path() {
        "/v1/provision/init" => Kind::Init,
        "/v1/provision/finish" => Kind::Finish,
        _ => return next.run(req).await,
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let ip = limits.client_ip(peer, req.headers());
    match limits.admit(Source::of(ip), kind, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => rate_limited(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LimitConfig {
        LimitConfig {
            rate_per_second: 1.0,
            burst: 3,
            pending_per_source: 5,
            unbound_per_source: 2,
            max_sources: 4,
            ..LimitConfig::default()
        }
    }

    fn v4(s: &str) -> Source {
        Source::of(s.parse().unwrap())
    }

    #[test]
    fn bucket_refills_and_sources_are_separate() {
        let l = Limits::new(cfg());
        let t0 = Instant::now();
        for _ in 0..3 {
            l.admit(v4("10.0.0.1"), Kind::Init, t0).unwrap();
        }
        let wait = l.admit(v4("10.0.0.1"), Kind::Init, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        // Another source is not affected.
        l.admit(v4("10.0.0.2"), Kind::Init, t0).unwrap();
        // One second later one more request is allowed.
        l.admit(v4("10.0.0.1"), Kind::Init, t0 + Duration::from_secs(1))
            .unwrap();
        assert!(l
            .admit(v4("10.0.0.1"), Kind::Init, t0 + Duration::from_secs(1))
            .is_err());
    }

    #[test]
    fn pending_and_unbound_shares() {
        let l = Limits::new(cfg());
        let t0 = Instant::now();
        let s = v4("10.0.0.1");
        let mut t = t0;
        for _ in 0..5 {
            l.admit(s, Kind::Init, t).unwrap();
            t += Duration::from_secs(2);
        }
        // The bucket is full again, but the pending share is used up …
        let wait = l.admit(s, Kind::Init, t).unwrap_err();
        assert!(wait > Duration::from_secs(200), "{wait:?}");
        // … finishes have their own share.
        l.admit(s, Kind::Finish, t).unwrap();
        l.admit(s, Kind::Finish, t + Duration::from_secs(2))
            .unwrap();
        assert!(l
            .admit(s, Kind::Finish, t + Duration::from_secs(4))
            .is_err());
        // After the session lifetime inits are allowed again.
        l.admit(s, Kind::Init, t0 + Duration::from_secs(301))
            .unwrap();
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        assert_eq!(v4("2001:db8:1:2:aaaa::1"), v4("2001:db8:1:2:ffff::9"));
        assert_ne!(v4("2001:db8:1:2::1"), v4("2001:db8:1:3::1"));
        assert_eq!(v4("::ffff:10.0.0.1"), v4("10.0.0.1"));
    }

    #[test]
    fn the_table_is_bounded() {
        let l = Limits::new(cfg());
        let t0 = Instant::now();
        for i in 0..4 {
            l.admit(v4(&format!("10.0.1.{i}")), Kind::Init, t0).unwrap();
        }
        // Full and nobody idle: new sources share the overflow entry.
        for i in 4..7 {
            l.admit(v4(&format!("10.0.1.{i}")), Kind::Init, t0).unwrap();
        }
        assert!(l.admit(v4("10.0.1.9"), Kind::Init, t0).is_err());
        assert_eq!(l.table.lock().unwrap().len(), 5);
        // Once the old entries are idle they make room.
        let later = t0 + Duration::from_secs(400);
        l.admit(v4("10.0.1.9"), Kind::Init, later).unwrap();
        assert!(l.table.lock().unwrap().len() <= 4);
    }

    #[test]
    fn forwarded_for_only_behind_a_trusted_proxy() {
        let mut c = cfg();
        c.trusted_proxies = vec!["10.9.0.0/16".parse().unwrap()];
        let l = Limits::new(c);
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 10.9.0.7".parse().unwrap());
        let proxy: IpAddr = "10.9.0.1".parse().unwrap();
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(l.client_ip(proxy, &h), "1.2.3.4".parse::<IpAddr>().unwrap());
        assert_eq!(l.client_ip(other, &h), other);
        // A client cannot pick its address by prepending to the header:
        // the right-most untrusted entry counts.
        h.insert("x-forwarded-for", "6.6.6.6, 1.2.3.4".parse().unwrap());
        assert_eq!(l.client_ip(proxy, &h), "1.2.3.4".parse::<IpAddr>().unwrap());
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(l.client_ip(proxy, &h), proxy);
        assert_eq!(l.client_ip(proxy, &HeaderMap::new()), proxy);
    }
}
