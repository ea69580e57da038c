//! What a page handler takes from the request: [`PageCtx`] (session, language,
//! clock), [`LoggedIn`] (the logged-in customer) and [`CsrfForm`] (a form
//! body whose anti-forgery token matched).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawForm, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use maud::Markup;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::csrf;
use crate::db::Customer;
use crate::display_clock;
use crate::i18n::Lang;
use crate::layout;
use crate::page::{Page, PageError};
use crate::session::{self, Session, SessionData};
use crate::web_state::WebState;

/// The per-request context: the session (as the session layer loaded it),
/// the display clock, the `X-Test-Time` to forward and the client
/// address. Pages are built from it ([`PageCtx::page`], [`PageCtx::redirect`]) and
/// carry its session back to the layer, which stores it.
pub struct PageCtx {
    id: String,
    key: String,
    /// Session contents (stored with the page this context builds).
    pub data: SessionData,
    /// Request path (for the language toggle).
    pub path: String,
    /// Display "now" (the test clock when enabled and given).
    pub now: i64,
    /// `X-Test-Time` to forward to the back-end API.
    pub test_time: Option<String>,
    /// Client address for the rate limit, when the server records it.
    pub client: Option<String>,
    bank_name: Arc<str>,
}

impl std::fmt::Debug for PageCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCtx")
            .field("path", &self.path)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl PageCtx {
    /// Page language.
    pub fn lang(&self) -> Lang {
        self.data.lang
    }

    /// The session's database key (for pending codes).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Gives the session a new id and CSRF token (on authentication); the
    /// code pending for the old id is dropped, and the session layer
    /// deletes the old row.
    pub fn rotate(&mut self, state: &WebState) {
        state.pending.forget(&self.key);
        self.id = session::new_id();
        self.key = session::key_of(&self.id);
        self.data.csrf = csrf::new_token();
    }

    /// Ends the session (logout): a fresh anonymous one replaces it.
    pub fn reset(&mut self, state: &WebState) {
        let lang = self.data.lang;
        self.rotate(state);
        self.data = SessionData::fresh(lang);
    }

    fn session(&self) -> Session {
        Session {
            id: self.id.clone(),
            key: self.key.clone(),
            data: self.data.clone(),
        }
    }

    /// A full page with `title` and `body`, status 200.
    pub fn page(&self, title: &str, body: Markup) -> Page {
        self.page_with_status(StatusCode::OK, title, body)
    }

    /// The same screen again after a refused input: status 422.
    pub fn refused(&self, title: &str, body: Markup) -> Page {
        self.page_with_status(StatusCode::UNPROCESSABLE_ENTITY, title, body)
    }

    /// A full page with a status code.
    pub fn page_with_status(&self, status: StatusCode, title: &str, body: Markup) -> Page {
        let markup = layout::page(self.lang(), &self.bank_name, title, &self.path, body);
        Page::html(status, markup.into_string(), self.session())
    }

    /// A 303 redirect to `to`.
    pub fn redirect(&self, to: &'static str) -> Page {
        Page::redirect(to, self.session())
    }

    /// The 403 page for a form whose CSRF token does not match.
    pub fn forgery(&self) -> PageError {
        let l = self.lang();
        let body = maud::html! {
            (layout::error(Some(l.t(
                "画面の有効期限が切れたか、不正な操作が行われました。お手数ですが最初から操作してください。",
                "This page has expired or the request was not sent from this site. Please start again.",
            ))))
            div.buttons { a.button #to-login href="/login" { (l.t("ログイン画面", "Login screen")) } }
        };
        PageError::Forgery(Box::new(self.page_with_status(
            StatusCode::FORBIDDEN,
            l.t("エラー", "Error"),
            body,
        )))
    }
}

/// The client address of a request from `peer`: the peer itself, or
/// when the peer is a trusted proxy the right-most `X-Forwarded-For`
/// address that is not a trusted proxy (a malformed entry stops the walk
/// at the last address believed).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
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
            if !is_trusted(&ip) {
                return ip;
            }
        }
    }
    client
}

fn loaded_session(parts: &Parts) -> Result<&Session, PageError> {
    parts.extensions.get::<Session>().ok_or_else(|| {
        tracing::error!("page route without the session layer");
        PageError::Internal
    })
}

impl FromRequestParts<WebState> for PageCtx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        let session = loaded_session(parts)?.clone();
        let test_time = if state.test_clock {
            parts
                .headers
                .get("x-test-time")
                .and_then(|v| v.to_str().ok())
                .and_then(|t| display_clock::parse_test_time(t).map(|_| t.trim().to_string()))
        } else {
            None
        };
        let now = test_time
            .as_deref()
            .and_then(display_clock::parse_test_time)
            .unwrap_or_else(display_clock::system_now);
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| client_ip(ci.0.ip(), &parts.headers, &state.trusted_proxies).to_string());
        Ok(PageCtx {
            id: session.id,
            key: session.key,
            data: session.data,
            path: parts.uri.path().to_string(),
            now,
            test_time,
            client,
            bank_name: state.bank_name.clone(),
        })
    }
}

/// The logged-in customer. A request without one (no login in the
/// session, or a customer that no longer exists) is answered with a 303
/// to `/login` before the handler runs.
#[derive(Debug, Clone)]
pub struct LoggedIn(pub Customer);

impl FromRequestParts<WebState> for LoggedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        let Some(id) = loaded_session(parts)?.data.customer.clone() else {
            return Err(PageError::LoginRequired);
        };
        match state.db.customer(&id).await? {
            Some(c) => Ok(LoggedIn(c)),
            None => Err(PageError::LoginRequired),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`) whose hidden
/// [`csrf::FIELD`] matched this session's token (constant time) before
/// anything else of it was read. A missing or wrong token is answered with
/// the 403 page; `T` never sees the token.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<WebState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let ctx = PageCtx::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let RawForm(bytes) = RawForm::from_request(req, state)
            .await
            .map_err(|r| PageError::Malformed(r.into_response().status()))?;
        match decode_csrf_form::<T>(&ctx.data.csrf, &bytes) {
            Ok(f) => Ok(CsrfForm(f)),
            Err(FormRefusal::Forgery) => Err(ctx.forgery()),
            Err(_) => Err(PageError::Malformed(StatusCode::UNPROCESSABLE_ENTITY)),
        }
    }
}

/// Why a form body was refused by [`decode_csrf_form`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormRefusal {
    /// The anti-forgery token is missing or does not match.
    #[error("anti-forgery token does not match")]
    Forgery,
    /// The fields do not decode into the form.
    #[error("malformed form")]
    Malformed,
}

/// The form decoder of every POST: the `application/x-www-form-urlencoded`
/// `body`'s [`csrf::FIELD`] is compared with `expected` (constant time)
/// before anything else of it is decoded into `T`. Total on any input.
pub fn decode_csrf_form<T: DeserializeOwned>(
    expected: &str,
    body: &[u8],
) -> Result<T, FormRefusal> {
    let sent = serde_urlencoded::from_bytes::<Token>(body)
        .map(|t| t.csrf)
        .unwrap_or_default();
    if !csrf::matches(expected, &sent) {
        return Err(FormRefusal::Forgery);
    }
    serde_urlencoded::from_bytes::<T>(body).map_err(|_| FormRefusal::Malformed)
}
