//! Browser sessions: a random 32-byte id in an `HttpOnly; SameSite=Strict`
//! cookie; the database keys the session by the SHA-256 of that id, so a
//! copy of `web.sqlite` cannot be replayed as a cookie. The id is replaced
//! whenever the customer authenticates (no session fixation).
//!
//! Nothing is stored before authentication: an *anonymous* session (only a
//! CSRF token and the language, see [`SessionData::is_anonymous`]) lives in
//! the same cookie, signed: `a.<csrf>.<expires>.<lang>.<mac>` with an
//! HMAC-SHA256 under a per-process [`CookieKey`] (checked in constant time,
//! refused once expired). A session row is written only when the session
//! carries more (a login, a procedure past 利用者認証).
//!
//! [`layer`] is the middleware that loads the session before a page
//! handler runs and stores it (and sets the cookie) after: handlers only
//! change [`SessionData`] through their [`PageCtx`](crate::request::PageCtx) and
//! hand it back in the [`Page`](crate::page::Page) they return.

use axum::extract::{Request, State};
use axum::http::header::{COOKIE as COOKIE_HEADER, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::csrf;
use crate::db::{PaymentDetail, TransferDetail};
use crate::display_clock;
use crate::i18n::Lang;
use crate::page::PageError;
use crate::web_state::WebState;

/// Cookie name.
pub const COOKIE: &str = "stk_bank_session";
/// Idle lifetime of a session, seconds.
pub const IDLE_SECONDS: i64 = 20 * 60;
/// An unchanged session's expiry is rewritten at most this often.
pub const REFRESH_SECONDS: i64 = 60;

/// The key that signs anonymous session cookies (32 random bytes per
/// process: a restart invalidates open login forms, nothing else).
/// Zeroised on drop; `Debug` shows nothing of it.
pub struct CookieKey(zeroize::Zeroizing<[u8; 32]>);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;

impl CookieKey {
    /// A fresh key from the OS CSPRNG.
    pub fn random() -> CookieKey {
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut *k);
        CookieKey(k)
    }

    /// A key from fixed bytes (tests and fuzzing).
    pub fn from_bytes(bytes: [u8; 32]) -> CookieKey {
        CookieKey(zeroize::Zeroizing::new(bytes))
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        use hmac::Mac;
        // HMAC takes keys of any length: this cannot fail.
        let mut m = <HmacSha256 as Mac>::new_from_slice(&*self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        m.update(signed.as_bytes());
        m
    }

    /// The cookie value of an anonymous session with `csrf` and `lang`,
    /// valid until `expires` (Unix seconds).
    pub fn sign(&self, csrf: &str, expires: i64, lang: Lang) -> String {
        use hmac::Mac;
        let signed = format!("a.{csrf}.{expires}.{}", lang_code(lang));
        let tag = self.mac(&signed).finalize().into_bytes();
        format!("{signed}.{}", csrf::hex(&tag))
    }

    /// The CSRF token and language of a signed anonymous cookie, if its
    /// MAC matches (constant time) and it has not expired at `now`.
    pub fn open(&self, c: &AnonCookie, now: i64) -> Option<(String, Lang)> {
        use hmac::Mac;
        if c.expires <= now {
            return None;
        }
        let signed = format!("a.{}.{}.{}", c.csrf, c.expires, lang_code(c.lang));
        self.mac(&signed).verify_slice(&c.mac).ok()?;
        Some((c.csrf.clone(), c.lang))
    }
}

fn lang_code(l: Lang) -> &'static str {
    match l {
        Lang::Ja => "ja",
        Lang::En => "en",
    }
}

/// A syntactically valid anonymous cookie (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonCookie {
    /// CSRF token (64 lower-case hex).
    pub csrf: String,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Language.
    pub lang: Lang,
    /// HMAC-SHA256 tag (32 bytes).
    pub mac: Vec<u8>,
}

/// What the session cookie holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieValue {
    /// The id of a stored session (64 hex).
    Stored(String),
    /// A signed anonymous session.
    Anonymous(AnonCookie),
}

fn hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Parses the session cookie of a `Cookie` header: the first
/// [`COOKIE`] pair whose value is either a stored id or a well-formed
/// anonymous value (`a.<64 hex>.<digits>.<ja|en>.<64 hex>`). Total on any
/// input; verifies no signature ([`CookieKey::open`] does).
pub fn parse_cookie_header(header: &str) -> Option<CookieValue> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == COOKIE)
        .find_map(|(_, v)| parse_cookie_value(v.trim()))
}

/// Parses one session cookie value (see [`parse_cookie_header`]).
pub fn parse_cookie_value(v: &str) -> Option<CookieValue> {
    if hex64(v) {
        return Some(CookieValue::Stored(v.to_string()));
    }
    let mut parts = v.split('.');
    let (Some("a"), Some(csrf), Some(exp), Some(lang), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !hex64(csrf) || !hex64(mac) || exp.is_empty() || exp.len() > 18 {
        return None;
    }
    if !exp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let lang = match lang {
        "ja" => Lang::Ja,
        "en" => Lang::En,
        _ => return None,
    };
    Some(CookieValue::Anonymous(AnonCookie {
        csrf: csrf.to_ascii_lowercase(),
        expires: exp.parse().ok()?,
        lang,
        mac: unhex(mac)?,
    }))
}

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

impl Flow {
    /// A flow of `procedure` for `customer` just past its 利用者認証 (step 2).
    pub fn opened(procedure: Procedure, customer: String) -> Flow {
        Flow {
            procedure,
            customer,
            step: 2,
            receipt: None,
            typed_serial: None,
        }
    }
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
    /// A validated transaction shown on 確認, not yet sent (not a secret).
    #[serde(default)]
    pub draft: Option<Draft>,
    /// The `txn_id` of the transaction awaiting 取引認証.
    #[serde(default)]
    pub txn: Option<String>,
    /// Wrong passwords typed for this customer since their previous
    /// login, shown once on the account page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_failures: Option<u32>,
}

/// A validated 振込 or 収納サービスへの支払 between 入力 and 確認.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Draft {
    /// 振込.
    Transfer(TransferDetail),
    /// 収納サービスへの支払.
    Payment(PaymentDetail),
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

    /// True when the session holds nothing but its CSRF token and
    /// language: it is kept in the signed cookie, never in the database.
    pub fn is_anonymous(&self) -> bool {
        self.customer.is_none()
            && self.flow.is_none()
            && self.last_receipt.is_none()
            && self.draft.is_none()
            && self.txn.is_none()
            && self.login_failures.is_none()
    }

    /// The flow if it is `procedure`'s.
    pub fn flow_of(&self, procedure: Procedure) -> Option<&Flow> {
        self.flow.as_ref().filter(|f| f.procedure == procedure)
    }
}

/// A session: cookie id, database key and contents. The layer puts the
/// loaded one into the request's extensions; a [`Page`](crate::page::Page)
/// puts the one to store into the response's extensions.
#[derive(Debug, Clone)]
pub struct Session {
    /// Cookie value (never stored).
    pub(crate) id: String,
    /// Database key: SHA-256 of the id.
    pub(crate) key: String,
    /// Contents.
    pub(crate) data: SessionData,
}

impl Session {
    /// A new anonymous session in `lang`.
    pub(crate) fn fresh(lang: Lang) -> Session {
        let id = new_id();
        Session {
            key: key_of(&id),
            id,
            data: SessionData::fresh(lang),
        }
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

/// The stored-session id in a `Cookie` header, if well-formed.
pub fn id_from_cookie_header(header: &str) -> Option<String> {
    match parse_cookie_header(header)? {
        CookieValue::Stored(id) => Some(id),
        CookieValue::Anonymous(_) => None,
    }
}

/// The `Set-Cookie` value for a session cookie value (a stored id or a
/// signed anonymous value). `Secure` is added when the bank's public URL
/// is https (plain http only on loopback tests).
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={IDLE_SECONDS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `?lang=` of a request, if it names a language.
fn query_lang(uri: &Uri) -> Option<Lang> {
    uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::parse(v))
    })
}

/// The session middleware of every page route.
///
/// Contract: before the handler, the session named by the cookie (if it
/// exists and has not expired) or else a fresh anonymous one is put into
/// the request's extensions as a [`Session`], with `?lang=` applied. After
/// the handler, the [`Session`] in the response's extensions (or, if the
/// response carries none, the loaded one) is stored with a new idle expiry
/// — skipped when it is unchanged and was refreshed less than
/// [`REFRESH_SECONDS`] ago — and its cookie is set. A session whose id the
/// handler replaced has its old row deleted. A 500 answer stores nothing
/// and sets no cookie; a failed store turns the answer into a 500.
pub async fn layer(State(state): State<WebState>, mut req: Request, next: Next) -> Response {
    let now = display_clock::system_now();
    let cookie = req
        .headers()
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_cookie_header);
    let mut stored: Option<(SessionData, i64)> = None;
    let mut loaded = None;
    if let Some(CookieValue::Anonymous(c)) = &cookie {
        if let Some((csrf, lang)) = state.cookie_key.open(c, now) {
            let mut s = Session::fresh(lang);
            s.data.csrf = csrf;
            loaded = Some(s);
        }
    }
    if let Some(CookieValue::Stored(id)) = cookie {
        let key = key_of(&id);
        // An unreadable or failed load starts a fresh session; if storage
        // is really down, storing that one fails below.
        if let Ok(Some((json, expires))) = state.db.session(&key, now).await {
            if let Ok(data) = serde_json::from_str::<SessionData>(&json) {
                stored = Some((data.clone(), expires));
                loaded = Some(Session { id, key, data });
            }
        }
    }
    let mut session = loaded.unwrap_or_else(|| Session::fresh(Lang::Ja));
    if let Some(l) = query_lang(req.uri()) {
        session.data.lang = l;
    }
    let loaded_key = session.key.clone();
    req.extensions_mut().insert(session.clone());

    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let out = resp.extensions_mut().remove::<Session>().unwrap_or(session);
    if out.data.is_anonymous() {
        // Nothing to persist: drop a row this session had, sign the cookie.
        if stored.is_some() {
            let _ = state.db.delete_session(&loaded_key, now).await;
        }
        let value = state
            .cookie_key
            .sign(&out.data.csrf, now + IDLE_SECONDS, out.data.lang);
        if let Ok(v) = HeaderValue::from_str(&set_cookie(&value, state.secure)) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
        return resp;
    }
    if out.key != loaded_key && stored.is_some() {
        // Rotated: the old id must not open this session again.
        let _ = state.db.delete_session(&loaded_key, now).await;
        stored = None;
    }
    let unchanged = stored.is_some_and(|(data, expires)| {
        data == out.data && expires - now > IDLE_SECONDS - REFRESH_SECONDS
    });
    if !unchanged {
        let Ok(json) = serde_json::to_string(&out.data) else {
            return PageError::Internal.into_response();
        };
        if let Err(e) = state
            .db
            .save_session(&out.key, json, now + IDLE_SECONDS, now)
            .await
        {
            tracing::error!("session not stored: {e}");
            return PageError::Internal.into_response();
        }
    }
    // Sent on every answer: it refreshes the cookie's Max-Age.
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&out.id, state.secure)) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
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
    fn anonymous_cookie_forgery_and_expiry_are_refused() {
        let key = CookieKey::from_bytes([7; 32]);
        let csrf = crate::csrf::new_token();
        let v = key.sign(&csrf, 1_000, Lang::En);
        let Some(CookieValue::Anonymous(c)) = parse_cookie_value(&v) else {
            panic!("{v}");
        };
        assert_eq!(key.open(&c, 999), Some((csrf.clone(), Lang::En)));
        assert_eq!(key.open(&c, 1_000), None, "expired");
        // Another key, another language, a later expiry or another token:
        assert_eq!(CookieKey::from_bytes([8; 32]).open(&c, 0), None);
        for bad in [
            AnonCookie {
                lang: Lang::Ja,
                ..c.clone()
            },
            AnonCookie {
                expires: 2_000,
                ..c.clone()
            },
            AnonCookie {
                csrf: crate::csrf::new_token(),
                ..c.clone()
            },
        ] {
            assert_eq!(key.open(&bad, 0), None, "{bad:?}");
        }
        assert_eq!(parse_cookie_value("a.x.1.ja.y"), None);
        assert_eq!(parse_cookie_value(&format!("{v}.")), None);
        assert!(format!("{key:?}").contains("redacted"));
    }

    #[test]
    fn session_data_holds_no_code() {
        let mut s = SessionData::fresh(Lang::En);
        s.flow = Some(Flow::opened(Procedure::Exchange, "1000001".into()));
        let json = serde_json::to_string(&s).unwrap();
        let back: SessionData = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.flow_of(Procedure::Exchange).is_some());
        assert!(back.flow_of(Procedure::Stop).is_none());
    }

    #[test]
    fn lang_from_the_query() {
        let u: Uri = "/login?x=1&lang=en".parse().unwrap();
        assert_eq!(query_lang(&u), Some(Lang::En));
        let u: Uri = "/login?lang=fr".parse().unwrap();
        assert_eq!(query_lang(&u), None);
    }
}
