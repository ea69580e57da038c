//! Browser sessions: a random 32-byte id in an `HttpOnly; SameSite=Strict`
//! cookie; the database keys the session by the SHA-256 of that id, so a
//! copy of `web.sqlite` cannot be replayed as a cookie. Every visitor gets
//! a session (it carries the CSRF token and language before login); the id
//! is replaced whenever the customer authenticates (no session fixation).

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::csrf;
use super::i18n::Lang;

/// Cookie name.
pub const COOKIE: &str = "stk_bank_session";
/// Idle lifetime of a session, seconds.
pub const IDLE_SECONDS: i64 = 20 * 60;

/// Which procedure a flow belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Procedure {
    /// 利用開始.
    Start,
    /// 交換.
    Exchange,
    /// 利用中止.
    Stop,
    /// Login step 2 (OTP at login 「する」).
    LoginOtp,
}

/// A procedure in progress. Holds no code or password: a code typed on one
/// step and sent on a later one waits in memory only (see `pending`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Which procedure.
    pub procedure: Procedure,
    /// The customer authenticated for it.
    pub customer: String,
    /// 1-based step reached (procedure-specific).
    pub step: u8,
    /// The receipt row once finished.
    pub receipt: Option<i64>,
    /// A serial the customer typed on a later step, kept when a refusal
    /// sends them back to an earlier one (not a secret).
    #[serde(default)]
    pub typed_serial: Option<String>,
}

/// What a session carries (stored as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    /// CSRF token of this session.
    pub csrf: String,
    /// Page language.
    pub lang: Lang,
    /// The logged-in customer (account pages).
    pub customer: Option<String>,
    /// A procedure in progress.
    pub flow: Option<Flow>,
    /// Receipt of the last transaction made from the account pages.
    pub last_receipt: Option<i64>,
}

impl SessionData {
    /// A fresh anonymous session in `lang`.
    pub fn fresh(lang: Lang) -> Self {
        SessionData {
            csrf: csrf::new_token(),
            lang,
            ..Default::default()
        }
    }

    /// The flow if it is `procedure`'s.
    pub fn flow_of(&self, procedure: Procedure) -> Option<&Flow> {
        self.flow.as_ref().filter(|f| f.procedure == procedure)
    }
}

/// A new session id for the cookie (64 hex characters).
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    csrf::hex(&b)
}

/// The database key of a cookie value.
pub fn key_of(id: &str) -> String {
    csrf::hex(&Sha256::digest(id.as_bytes()))
}

/// The session id in a `Cookie` header, if well-formed.
pub fn id_from_cookie_header(header: &str) -> Option<String> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value for a session id. `Secure` is added when the
/// bank's public URL is https (plain http only on loopback tests).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={IDLE_SECONDS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip_and_flags() {
        let id = new_id();
        let c = set_cookie(&id, false);
        assert!(c.contains("HttpOnly"));
        assert!(c.contains("SameSite=Strict"));
        assert!(!c.contains("Secure"));
        assert!(set_cookie(&id, true).ends_with("; Secure"));
        let header = format!("a=b; {COOKIE}={id}; c=d");
        assert_eq!(id_from_cookie_header(&header), Some(id.clone()));
        assert_eq!(id_from_cookie_header(&format!("{COOKIE}=xyz")), None);
        assert_eq!(id_from_cookie_header("other=1"), None);
        assert_ne!(key_of(&id), id, "the database never holds the cookie value");
        assert_eq!(key_of(&id).len(), 64);
    }

    #[test]
    fn session_data_holds_no_code() {
        let mut s = SessionData::fresh(Lang::En);
        s.flow = Some(Flow {
            procedure: Procedure::Exchange,
            customer: "1000001".into(),
            step: 2,
            receipt: None,
            typed_serial: None,
        });
        let json = serde_json::to_string(&s).unwrap();
        let back: SessionData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.flow_of(Procedure::Exchange).is_some());
        assert!(back.flow_of(Procedure::Stop).is_none());
    }
}
