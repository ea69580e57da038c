//! Codes typed on one step of a procedure and sent to the token service on
//! a later one (交換: the old token's code; 利用中止: the current code). They
//! live only in memory, keyed by session, zeroised when dropped, and expire
//! after [`TTL`] — never in the database, a page or a log.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// How long a pending code is kept.
pub const TTL: Duration = Duration::from_secs(5 * 60);

/// Pending codes by session key.
#[derive(Default)]
pub struct Pending {
    codes: Mutex<HashMap<String, (Zeroizing<String>, Instant)>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending([redacted])")
    }
}

impl Pending {
    /// Keeps `code` for `session`.
    pub fn put(&self, session: &str, code: &str) {
        let now = Instant::now();
        let mut m = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, (_, t)| now.duration_since(*t) < TTL);
        m.insert(session.to_string(), (Zeroizing::new(code.to_string()), now));
    }

    /// The code kept for `session`, if still fresh.
    pub fn get(&self, session: &str) -> Option<Zeroizing<String>> {
        let m = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        m.get(session)
            .filter(|(_, t)| t.elapsed() < TTL)
            .map(|(c, _)| c.clone())
    }

    /// Drops the code kept for `session`.
    pub fn forget(&self, session: &str) {
        let mut m = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_forget() {
        let p = Pending::default();
        assert!(p.get("s").is_none());
        p.put("s", "123456");
        assert_eq!(p.get("s").as_deref().map(String::as_str), Some("123456"));
        assert!(p.get("t").is_none());
        assert!(!format!("{p:?}").contains("123456"));
        p.forget("s");
        assert!(p.get("s").is_none());
    }
}
