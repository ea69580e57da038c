//! The per-request context every page handler receives: the session
//! (loaded or freshly created), the language, the display clock and the
//! `X-Test-Time` to forward. Handlers finish with [`Ctx::page`] or
//! [`Ctx::redirect`], which store the session and set the cookie.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::Markup;

use super::clock;
use super::csrf;
use super::i18n::Lang;
use super::layout;
use super::session::{self, SessionData};
use super::AppState;

/// An unchanged session's expiry is rewritten at most this often.
pub const REFRESH_SECONDS: i64 = 60;

/// The request context.
pub struct Ctx {
    id: String,
    key: String,
    set_cookie: bool,
    /// The session as loaded and its stored expiry (`None`: new session).
    stored: Option<(SessionData, i64)>,
    /// Session contents (saved by `page`/`redirect`).
    pub data: SessionData,
    /// Request path (for the language toggle).
    pub path: String,
    /// Display "now" (the test clock when enabled and given).
    pub now: i64,
    /// `X-Test-Time` to forward to the back-end API.
    pub test_time: Option<String>,
    /// Client address for the rate limit, when the server records it.
    pub client: Option<String>,
}

impl Ctx {
    /// Page language.
    pub fn lang(&self) -> Lang {
        self.data.lang
    }

    /// True iff the form's CSRF field matches this session.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        csrf::matches(&self.data.csrf, sent)
    }

    /// Gives the session a new id and CSRF token (on authentication).
    pub fn rotate(&mut self, state: &AppState) {
        let _ = state.store.delete_session(&self.key, clock::system_now());
        state.pending.forget(&self.key);
        self.id = session::new_id();
        self.key = session::key_of(&self.id);
        self.data.csrf = csrf::new_token();
        self.set_cookie = true;
        self.stored = None;
    }

    /// Ends the session (logout): a fresh anonymous one replaces it.
    pub fn reset(&mut self, state: &AppState) {
        let lang = self.data.lang;
        self.rotate(state);
        self.data = SessionData::fresh(lang);
    }

    /// The session's database key (for pending codes).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Stores the session; false if storage failed. An unchanged session
    /// whose expiry was refreshed less than [`REFRESH_SECONDS`] ago is not
    /// written again (a page view then costs no disk write).
    fn save(&self, state: &AppState) -> bool {
        if let Some((data, expires)) = &self.stored {
            let fresh_enough =
                *expires - clock::system_now() > session::IDLE_SECONDS - REFRESH_SECONDS;
            if *data == self.data && fresh_enough {
                return true;
            }
        }
        let Ok(json) = serde_json::to_string(&self.data) else {
            return false;
        };
        state
            .store
            .save_session(
                &self.key,
                &json,
                clock::system_now() + session::IDLE_SECONDS,
            )
            .is_ok()
    }

    fn finish(&self, state: &AppState, mut resp: Response) -> Response {
        if !self.save(state) {
            return internal(self.lang());
        }
        let h = resp.headers_mut();
        if self.set_cookie {
            if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&self.id, state.secure)) {
                h.append(SET_COOKIE, v);
            }
        }
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
            ),
        );
        resp
    }

    /// A full page with `title` and `body`.
    pub fn page(&self, state: &AppState, title: &str, body: Markup) -> Response {
        self.page_with_status(state, StatusCode::OK, title, body)
    }

    /// A full page with a status code (e.g. 422 for a refused form).
    pub fn page_with_status(
        &self,
        state: &AppState,
        status: StatusCode,
        title: &str,
        body: Markup,
    ) -> Response {
        let markup = layout::page(self.lang(), &state.bank_name, title, &self.path, body);
        self.finish(state, (status, Html(markup.into_string())).into_response())
    }

    /// A 303 redirect to `to`.
    pub fn redirect(&self, state: &AppState, to: &str) -> Response {
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            resp.headers_mut().insert(LOCATION, v);
        }
        self.finish(state, resp)
    }

    /// The page shown for a form whose CSRF token does not match.
    pub fn csrf_failed(&self, state: &AppState) -> Response {
        let l = self.lang();
        let body = maud::html! {
            (layout::error(Some(l.t(
                "画面の有効期限が切れたか、不正な操作が行われました。お手数ですが最初から操作してください。",
                "This page has expired or the request was not sent from this site. Please start again.",
            ))))
            div.buttons { a.button href="/login" { (l.t("ログイン画面", "Login screen")) } }
        };
        self.page_with_status(state, StatusCode::FORBIDDEN, l.t("エラー", "Error"), body)
    }
}

/// A plain 500 page (storage failure); nothing was changed.
pub fn internal(l: Lang) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(format!(
            "<!DOCTYPE html><html lang=\"{}\"><meta charset=\"utf-8\"><p>{}</p></html>",
            l.code(),
            l.t(
                "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                "The service is not available right now. Please try again later."
            )
        )),
    )
        .into_response()
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let now_real = clock::system_now();
        let cookie_id = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session::id_from_cookie_header);
        let mut loaded = None;
        if let Some(id) = cookie_id {
            let key = session::key_of(&id);
            if let Ok(Some((json, expires))) = state.store.session(&key, now_real) {
                if let Ok(data) = serde_json::from_str::<SessionData>(&json) {
                    loaded = Some((id, key, data, Some(expires)));
                }
            }
        }
        let query_lang = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "lang")
                .and_then(|(_, v)| Lang::parse(v))
        });
        let (id, key, mut data, expires) = match loaded {
            Some(found) => found,
            None => {
                let id = session::new_id();
                let key = session::key_of(&id);
                (id, key, SessionData::fresh(Lang::Ja), None)
            }
        };
        let stored = expires.map(|e| (data.clone(), e));
        if let Some(l) = query_lang {
            data.lang = l;
        }
        let test_time = if state.test_clock {
            parts
                .headers
                .get("x-test-time")
                .and_then(|v| v.to_str().ok())
                .and_then(|t| clock::parse_test_time(t).map(|_| t.trim().to_string()))
        } else {
            None
        };
        let now = test_time
            .as_deref()
            .and_then(clock::parse_test_time)
            .unwrap_or(now_real);
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_string());
        Ok(Ctx {
            id,
            key,
            // Sent on every response: it refreshes the cookie's Max-Age.
            set_cookie: true,
            stored,
            data,
            path: parts.uri.path().to_string(),
            now,
            test_time,
            client,
        })
    }
}
