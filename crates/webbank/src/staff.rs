//! The staff console's plumbing: the staff password set at `serve` time
//! ([`StaffPassword`]), the console's state ([`StaffConsole`]), its own
//! session cookie, the request context ([`StaffCtx`]), the CSRF-checked
//! form ([`StaffForm`]) and the answer type ([`StaffPage`]). The screens
//! are [`crate::pages::staff`].
//!
//! Staff are a separate trust level from customers, so nothing is shared
//! with the customers' session: another cookie ([`COOKIE`], `Path=/staff`),
//! another signing key, another store. An anonymous staff session (only a
//! CSRF token and the language, before login) lives in the cookie, signed
//! with the console's own [`CookieKey`]; a logged-in one is a random
//! 32-byte id whose SHA-256 keys an in-memory store (a restart logs every
//! staff member out, a logout really ends the session). A customer's
//! cookie value is unknown to this store and its signature does not open
//! under the console's key, and the customers' layer never looks at the
//! staff cookie: neither session opens the other's pages.
//!
//! The login has the customers' limits: a [`LoginGuard`] per staff name
//! (one attempt in flight, progressive delay, hard lock), a window of
//! failures per client address, and — because the password is shared by
//! the console's users — a window of failures over all names.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawForm, Request};
use axum::http::header::{COOKIE as COOKIE_HEADER, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;
use serde::de::DeserializeOwned;
use softtoken_core::stk1::api_key::ApiKey;
use zeroize::Zeroizing;

use crate::csrf;
use crate::display_clock;
use crate::i18n::Lang;
use crate::login_limit::{LoginGuard, RateLimiter, Refusal, PER_CLIENT, WINDOW};
use crate::request::{client_ip, decode_csrf_form, FormRefusal};
use crate::session::{self, CookieKey, CookieValue};
use crate::staff_client::StaffClient;
use crate::web_state::WebState;

/// Cookie name of staff sessions (never the customers' cookie).
pub const COOKIE: &str = "stk_staff_session";
/// Idle lifetime of a staff session, seconds.
pub const IDLE_SECONDS: i64 = 15 * 60;
/// Longest life of a staff session from its login, seconds.
pub const MAX_SECONDS: i64 = 8 * 60 * 60;
/// Logged-in staff sessions kept at most (the oldest are dropped).
pub const MAX_SESSIONS: usize = 1_000;
/// Failed staff logins over all names allowed within [`WINDOW`].
pub const ALL_FAILURES: usize = 100;
/// Longest staff name, characters.
pub const MAX_NAME: usize = 32;

/// Why the staff password could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaffError {
    /// The file could not be read.
    #[error("staff password file {}: {source}", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is readable by group or others.
    #[error("staff password file {} is readable by group or others (chmod 600 it)", path.display())]
    Permissions {
        /// File.
        path: PathBuf,
    },
    /// The file holds nothing.
    #[error("staff password file {} is empty", path.display())]
    Empty {
        /// File.
        path: PathBuf,
    },
    /// The file starts like an Argon2 hash but is not a valid one.
    #[error("staff password file {} holds an invalid Argon2 hash", path.display())]
    BadHash {
        /// File.
        path: PathBuf,
    },
    /// Hashing the password failed.
    #[error("staff password could not be hashed")]
    Hashing,
}

/// The staff password as an Argon2 PHC string (a clear password is
/// hashed when it is read and the clear text zeroised). `Debug` shows
/// nothing of it.
pub struct StaffPassword(Zeroizing<String>);

impl std::fmt::Debug for StaffPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPassword([redacted])")
    }
}

impl StaffPassword {
    /// Reads `--staff-password-file`: its first line is either an Argon2
    /// PHC hash (`$argon2…`, e.g. from `argon2` or a previous run) or a
    /// password, hashed here (Argon2id, default parameters). The file must
    /// not be readable by group or others (a hash can be guessed at
    /// offline). Trailing whitespace of the line is not part of it.
    pub fn from_file(path: &Path) -> Result<StaffPassword, StaffError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path).map_err(|source| StaffError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(StaffError::Permissions {
                    path: path.to_path_buf(),
                });
            }
        }
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| StaffError::Read {
                    path: path.to_path_buf(),
                    source,
                })?,
            );
        StaffPassword::from_text(&text).map_err(|e| match e {
            StaffError::Empty { .. } => StaffError::Empty {
                path: path.to_path_buf(),
            },
            StaffError::BadHash { .. } => StaffError::BadHash {
                path: path.to_path_buf(),
            },
            e => e,
        })
    }

    /// The same from the file's text (see [`StaffPassword::from_file`]).
    pub fn from_text(text: &str) -> Result<StaffPassword, StaffError> {
        let line = text.lines().next().unwrap_or("").trim_end();
        if line.is_empty() {
            return Err(StaffError::Empty {
                path: PathBuf::new(),
            });
        }
        if line.starts_with("$argon2") {
            let valid = PasswordHash::new(line)
                .is_ok_and(|h| h.salt.is_some() && h.hash.is_some_and(|o| o.len() >= 16));
            if !valid {
                return Err(StaffError::BadHash {
                    path: PathBuf::new(),
                });
            }
            return Ok(StaffPassword(Zeroizing::new(line.to_string())));
        }
        let hash = crate::credentials::hash_password(line).map_err(|_| StaffError::Hashing)?;
        Ok(StaffPassword(Zeroizing::new(hash)))
    }

    /// True iff `password` matches (Argon2, constant time in the hash
    /// comparison). Blocking: run it on the blocking pool.
    pub fn verify(&self, password: &str) -> bool {
        PasswordHash::new(&self.0)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

/// What web banking needs to run the staff console (`serve
/// --staff-password-file`). `Debug` shows no key or hash.
#[derive(Debug, Clone)]
pub struct StaffConfig {
    /// The staff password.
    pub password: Arc<StaffPassword>,
    /// Base URL of the token service's admin listener (`/v1/admin/*`).
    pub admin_url: String,
    /// Bearer key of the operations scope (redacted in `Debug`).
    pub ops_key: ApiKey,
}

/// A logged-in staff session (memory only).
#[derive(Debug, Clone)]
struct StoredStaff {
    name: String,
    csrf: String,
    lang: Lang,
    started: i64,
    expires: i64,
}

/// The console's state, next to web banking's [`WebState`].
pub struct StaffConsole {
    password: Arc<StaffPassword>,
    /// Client of the admin listener (and the token status).
    pub client: StaffClient,
    key: CookieKey,
    sessions: Mutex<HashMap<String, StoredStaff>>,
    guard: LoginGuard,
    limit_client: RateLimiter,
    limit_all: RateLimiter,
}

impl std::fmt::Debug for StaffConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffConsole").finish_non_exhaustive()
    }
}

/// The handlers' state: web banking's and the console's.
#[derive(Clone, Debug)]
pub struct StaffApp {
    /// Web banking (database, bank identity, test clock, Argon2 permits).
    pub web: WebState,
    /// The console.
    pub console: Arc<StaffConsole>,
}

impl StaffConsole {
    /// The console for `cfg`; `token_service_url` is the public base URL
    /// (token status).
    pub fn new(
        cfg: &StaffConfig,
        token_service_url: &str,
    ) -> Result<StaffConsole, crate::token_service_client::TokenServiceError> {
        Ok(StaffConsole {
            password: cfg.password.clone(),
            client: StaffClient::new(&cfg.admin_url, token_service_url, &cfg.ops_key)?,
            key: CookieKey::random(),
            sessions: Mutex::new(HashMap::new()),
            guard: LoginGuard::default(),
            limit_client: RateLimiter::new(PER_CLIENT, WINDOW),
            limit_all: RateLimiter::new(ALL_FAILURES, WINDOW),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredStaff>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(&self, id: &str, now: i64) -> Option<StoredStaff> {
        let key = session::key_of(id);
        let mut map = self.sessions();
        match map.get(&key) {
            Some(s) if s.expires > now && now - s.started < MAX_SECONDS => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    fn store(&self, id: &str, s: StoredStaff, now: i64) {
        let mut map = self.sessions();
        map.retain(|_, v| v.expires > now && now - v.started < MAX_SECONDS);
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, v)| v.started)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(session::key_of(id), s);
    }

    fn forget(&self, id: &str) {
        self.sessions().remove(&session::key_of(id));
    }

    /// The per-client and all-names failure windows (tests only).
    #[cfg(test)]
    pub(crate) fn limits_for_tests(&self) -> (&RateLimiter, &RateLimiter) {
        (&self.limit_client, &self.limit_all)
    }
}

/// Why a staff login was refused (no detail that tells which field was
/// wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StaffLoginError {
    /// A field is empty.
    #[error("missing field")]
    Missing,
    /// The name is too long or has control characters.
    #[error("staff name format")]
    Format,
    /// Wrong password.
    #[error("wrong credentials")]
    Wrong,
    /// Too many failures from this client or over all names.
    #[error("rate limited")]
    Limited,
    /// Another login for this name is being checked.
    #[error("attempt in flight")]
    Busy,
    /// The progressive delay of this name has not passed (seconds left).
    #[error("wait before the next attempt")]
    Wait(u64),
    /// The name is locked after many failures.
    #[error("locked")]
    Locked,
    /// Hashing could not run.
    #[error("internal")]
    Internal,
}

impl StaffLoginError {
    /// A plain message.
    pub fn message(self, l: Lang) -> String {
        match self {
            StaffLoginError::Missing => l
                .t(
                    "職員名とパスワードを入力してください。",
                    "Enter the staff name and the password.",
                )
                .into(),
            StaffLoginError::Format => l
                .t(
                    "職員名は32文字以内で入力してください。",
                    "The staff name is at most 32 characters.",
                )
                .into(),
            StaffLoginError::Wrong => l
                .t(
                    "職員名またはパスワードが正しくありません。",
                    "The staff name or the password is not correct.",
                )
                .into(),
            StaffLoginError::Wait(s) => match l {
                Lang::Ja => format!("ログインに続けて失敗したため、{s} 秒後に再度お試しください。"),
                Lang::En => format!("Too many failed logins. Please try again in {s} s."),
            },
            StaffLoginError::Busy => l
                .t(
                    "この職員名のログインを処理中です。しばらくしてから再度お試しください。",
                    "A login for this staff name is being processed. Try again in a moment.",
                )
                .into(),
            StaffLoginError::Limited | StaffLoginError::Locked => l
                .t(
                    "ログインに続けて失敗したため、しばらくの間ご利用いただけません。システム管理者に連絡してください。",
                    "Too many failed logins: the console is closed for now. Contact the system administrator.",
                )
                .into(),
            StaffLoginError::Internal => l
                .t(
                    "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                    "The service is not available right now. Please try again later.",
                )
                .into(),
        }
    }
}

/// A typed staff name, trimmed: 1–[`MAX_NAME`] characters, none a control
/// character.
pub fn normalise_name(text: &str) -> Result<String, StaffLoginError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(StaffLoginError::Missing);
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(StaffLoginError::Format);
    }
    Ok(name.to_string())
}

/// The per-request context of a staff page: the staff session (anonymous
/// or logged in), the display clock, the `X-Test-Time` to forward and the
/// client address.
pub struct StaffCtx {
    console: Arc<StaffConsole>,
    /// Stored-session id when logged in (never shown, never logged).
    id: Option<String>,
    started: i64,
    /// The logged-in staff member's name.
    pub staff: Option<String>,
    /// CSRF token of this session.
    pub csrf: String,
    /// Page language.
    pub lang: Lang,
    /// Request path (for the language toggle).
    pub path: String,
    /// Display "now" (the test clock when enabled and given).
    pub now: i64,
    /// `X-Test-Time` to forward to the token service.
    pub test_time: Option<String>,
    /// Client address (login limit).
    pub client: Option<String>,
    secure: bool,
    bank_name: Arc<str>,
}

impl std::fmt::Debug for StaffCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCtx")
            .field("staff", &self.staff)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn staff_cookie(parts: &Parts) -> Option<CookieValue> {
    parts
        .headers
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == COOKIE)
        .find_map(|(_, v)| session::parse_cookie_value(v.trim()))
}

fn query_lang(parts: &Parts) -> Option<Lang> {
    parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::parse(v))
    })
}

impl FromRequestParts<StaffApp> for StaffCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &StaffApp,
    ) -> Result<Self, Self::Rejection> {
        let real_now = display_clock::system_now();
        let console = app.console.clone();
        let mut ctx = StaffCtx {
            console: console.clone(),
            id: None,
            started: real_now,
            staff: None,
            csrf: String::new(),
            lang: Lang::Ja,
            path: parts.uri.path().to_string(),
            now: real_now,
            test_time: None,
            client: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| {
                client_ip(ci.0.ip(), &parts.headers, &app.web.trusted_proxies).to_string()
            }),
            secure: app.web.secure,
            bank_name: app.web.bank_name.clone(),
        };
        match staff_cookie(parts) {
            Some(CookieValue::Stored(id)) => {
                if let Some(s) = console.lookup(&id, real_now) {
                    ctx.id = Some(id);
                    ctx.staff = Some(s.name);
                    ctx.csrf = s.csrf;
                    ctx.lang = s.lang;
                    ctx.started = s.started;
                }
            }
            Some(CookieValue::Anonymous(c)) => {
                if let Some((csrf, lang)) = console.key.open(&c, real_now) {
                    ctx.csrf = csrf;
                    ctx.lang = lang;
                }
            }
            None => {}
        }
        if ctx.csrf.is_empty() {
            ctx.csrf = csrf::new_token();
        }
        if let Some(l) = query_lang(parts) {
            ctx.lang = l;
        }
        if app.web.test_clock {
            ctx.test_time = parts
                .headers
                .get("x-test-time")
                .and_then(|v| v.to_str().ok())
                .and_then(|t| display_clock::parse_test_time(t).map(|_| t.trim().to_string()));
        }
        if let Some(t) = ctx
            .test_time
            .as_deref()
            .and_then(display_clock::parse_test_time)
        {
            ctx.now = t;
        }
        Ok(ctx)
    }
}

impl StaffCtx {
    /// Checks the staff password for `name` under the login limits and, on
    /// success, starts a logged-in session (new id, new CSRF token).
    ///
    /// Contract: the client-address window, the all-names window and the
    /// name's [`LoginGuard`] reservation are decided before any hash is
    /// computed; the Argon2 check runs on the blocking pool under web
    /// banking's core-sized semaphore. The password is zeroised after the
    /// check and never logged.
    pub async fn log_in(
        &mut self,
        app: &StaffApp,
        name: &str,
        password: String,
    ) -> Result<(), StaffLoginError> {
        let password = Zeroizing::new(password);
        let name = normalise_name(name)?;
        if password.is_empty() {
            return Err(StaffLoginError::Missing);
        }
        let c = &self.console;
        let now = Instant::now();
        let client_key = self.client.as_ref().map(|a| format!("client:{a}"));
        if client_key
            .as_ref()
            .is_some_and(|k| !c.limit_client.allowed(k, now))
            || !c.limit_all.allowed("all", now)
        {
            return Err(StaffLoginError::Limited);
        }
        let reservation = c
            .guard
            .reserve(&name.to_lowercase(), now)
            .map_err(|r| match r {
                Refusal::Busy => StaffLoginError::Busy,
                Refusal::Wait(d) => StaffLoginError::Wait(d.as_secs_f64().ceil() as u64),
                Refusal::Locked => StaffLoginError::Locked,
                _ => StaffLoginError::Limited,
            })?;
        let permit = app
            .web
            .argon2_permits
            .acquire()
            .await
            .map_err(|_| StaffLoginError::Internal)?;
        let hash = c.password.clone();
        let ok = tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false);
        drop(permit);
        if !ok {
            if let Some(k) = client_key {
                c.limit_client.fail(&k, now);
            }
            c.limit_all.fail("all", now);
            return Err(StaffLoginError::Wrong);
        }
        reservation.succeeded();
        if let Some(old) = self.id.take() {
            c.forget(&old);
        }
        let id = session::new_id();
        let real_now = display_clock::system_now();
        self.started = real_now;
        self.csrf = csrf::new_token();
        self.staff = Some(name);
        self.id = Some(id);
        Ok(())
    }

    /// Ends the session: its stored row is forgotten, a fresh anonymous
    /// session replaces it.
    pub fn log_out(&mut self) {
        if let Some(id) = self.id.take() {
            self.console.forget(&id);
        }
        self.staff = None;
        self.csrf = csrf::new_token();
    }

    /// The `Set-Cookie` value for the session as it is now (a logged-in
    /// one is stored with a new idle expiry).
    fn cookie(&self) -> String {
        let now = display_clock::system_now();
        let value = match (&self.id, &self.staff) {
            (Some(id), Some(name)) => {
                self.console.store(
                    id,
                    StoredStaff {
                        name: name.clone(),
                        csrf: self.csrf.clone(),
                        lang: self.lang,
                        started: self.started,
                        expires: now + IDLE_SECONDS,
                    },
                    now,
                );
                id.clone()
            }
            _ => self
                .console
                .key
                .sign(&self.csrf, now + IDLE_SECONDS, self.lang),
        };
        format!(
            "{COOKIE}={value}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age={IDLE_SECONDS}{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// A full staff page, status 200.
    pub fn page(&self, title: &str, body: Markup) -> StaffPage {
        self.page_with_status(StatusCode::OK, title, body)
    }

    /// The same screen after a refused input: status 422.
    pub fn refused(&self, title: &str, body: Markup) -> StaffPage {
        self.page_with_status(StatusCode::UNPROCESSABLE_ENTITY, title, body)
    }

    /// A full staff page with a status.
    pub fn page_with_status(&self, status: StatusCode, title: &str, body: Markup) -> StaffPage {
        let html = crate::pages::staff::shell(self, &self.bank_name, title, body);
        StaffPage {
            status,
            body: StaffBody::Html(html.into_string()),
            cookie: self.cookie(),
        }
    }

    /// A 303 redirect to a path of the console.
    pub fn redirect(&self, to: &'static str) -> StaffPage {
        StaffPage {
            status: StatusCode::SEE_OTHER,
            body: StaffBody::Redirect(to),
            cookie: self.cookie(),
        }
    }
}

/// An answer of the console: a page or a redirect, with the staff
/// session's cookie.
pub struct StaffPage {
    status: StatusCode,
    body: StaffBody,
    cookie: String,
}

enum StaffBody {
    Html(String),
    Redirect(&'static str),
}

impl std::fmt::Debug for StaffPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffPage")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl StaffPage {
    /// The status the page is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for StaffPage {
    fn into_response(self) -> Response {
        let mut resp = match self.body {
            StaffBody::Html(html) => (self.status, Html(html)).into_response(),
            StaffBody::Redirect(to) => {
                let mut r = self.status.into_response();
                r.headers_mut()
                    .insert(LOCATION, HeaderValue::from_static(to));
                r
            }
        };
        if let Ok(v) = HeaderValue::from_str(&self.cookie) {
            resp.headers_mut().append(SET_COOKIE, v);
        }
        resp
    }
}

/// A form body whose CSRF field matched the staff session's token
/// (constant time) before anything else of it was read, with the context
/// it was checked against. A missing or wrong token is answered with the
/// console's 403 page; a body that is not a form with 422.
pub struct StaffForm<T>(pub StaffCtx, pub T);

impl<T: DeserializeOwned> FromRequest<StaffApp> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &StaffApp) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Ok(ctx) = StaffCtx::from_request_parts(&mut parts, app).await;
        let req = Request::from_parts(parts, body);
        let RawForm(bytes) = RawForm::from_request(req, app)
            .await
            .map_err(|r| r.into_response().status().into_response())?;
        match decode_csrf_form::<T>(&ctx.csrf, &bytes) {
            Ok(f) => Ok(StaffForm(ctx, f)),
            Err(FormRefusal::Forgery) => Err(crate::pages::staff::forgery(&ctx).into_response()),
            Err(_) => Err(StatusCode::UNPROCESSABLE_ENTITY.into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_from_text_hashes_or_keeps_a_hash() {
        let p = StaffPassword::from_text("s3cret staff pw\n").unwrap();
        assert!(p.verify("s3cret staff pw"));
        assert!(!p.verify("s3cret staff pw\n"));
        assert!(!p.verify("wrong"));
        assert!(!format!("{p:?}").contains("s3cret"));
        let hash = crate::credentials::hash_password("from a hash").unwrap();
        let h = StaffPassword::from_text(&format!("{hash}\n")).unwrap();
        assert!(h.verify("from a hash"));
        assert!(matches!(
            StaffPassword::from_text("\n"),
            Err(StaffError::Empty { .. })
        ));
        assert!(matches!(
            StaffPassword::from_text("$argon2id$nonsense"),
            Err(StaffError::BadHash { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn password_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("staff-password");
        std::fs::write(&f, "pw-in-a-file\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = StaffPassword::from_file(&f).unwrap_err();
        assert!(matches!(e, StaffError::Permissions { .. }));
        assert!(!e.to_string().contains("pw-in-a-file"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(StaffPassword::from_file(&f).unwrap().verify("pw-in-a-file"));
        let missing = StaffPassword::from_file(&dir.path().join("none")).unwrap_err();
        assert!(matches!(missing, StaffError::Read { .. }));
    }

    #[test]
    fn config_debug_shows_no_key_or_hash() {
        let password = StaffPassword::from_text("debug-check-pw").unwrap();
        let hash = password.0.to_string();
        let cfg = StaffConfig {
            password: Arc::new(password),
            admin_url: "http://127.0.0.1:1".into(),
            ops_key: ApiKey::new("ops-key-secret-value".into()).unwrap(),
        };
        let text = format!("{cfg:?}");
        assert!(!text.contains("ops-key-secret-value"), "{text}");
        assert!(
            !text.contains(&hash) && !text.contains("debug-check-pw"),
            "{text}"
        );
        assert!(text.contains("redacted"));
    }

    #[test]
    fn staff_names() {
        assert_eq!(normalise_name("  山田 ").unwrap(), "山田");
        assert_eq!(normalise_name(" "), Err(StaffLoginError::Missing));
        assert_eq!(
            normalise_name(&"x".repeat(MAX_NAME + 1)),
            Err(StaffLoginError::Format)
        );
        assert_eq!(normalise_name("a\u{7}b"), Err(StaffLoginError::Format));
    }
}
