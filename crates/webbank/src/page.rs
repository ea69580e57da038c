//! What a page handler answers: a [`Page`] (a rendered screen or a 303
//! redirect, carrying the session to store) or a [`PageError`].

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::db::DbError;
use crate::session::Session;

/// A finished answer: a whole HTML page with its status, or a redirect.
/// It carries the request's session as the handler left it; the session
/// layer stores it.
pub struct Page {
    status: StatusCode,
    body: Body,
    session: Session,
}

enum Body {
    Html(String),
    Redirect(&'static str),
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Page {
    /// A rendered page (from [`PageCtx::page`](crate::request::PageCtx::page)).
    pub(crate) fn html(status: StatusCode, html: String, session: Session) -> Page {
        Page {
            status,
            body: Body::Html(html),
            session,
        }
    }

    /// A 303 redirect to a path of this site.
    pub(crate) fn redirect(to: &'static str, session: Session) -> Page {
        Page {
            status: StatusCode::SEE_OTHER,
            body: Body::Redirect(to),
            session,
        }
    }

    /// The status the page is answered with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut resp = match self.body {
            Body::Html(html) => (self.status, Html(html)).into_response(),
            Body::Redirect(to) => {
                let mut r = self.status.into_response();
                r.headers_mut()
                    .insert(LOCATION, HeaderValue::from_static(to));
                r
            }
        };
        resp.extensions_mut().insert(self.session);
        resp
    }
}

/// Why a page handler did not produce its page.
#[derive(Debug)]
#[non_exhaustive]
pub enum PageError {
    /// The page needs a logged-in customer and there is none: 303 to
    /// `/login`.
    LoginRequired,
    /// The form's anti-forgery token does not match this session: the
    /// 403 page (already rendered in the session's language).
    Forgery(Box<Page>),
    /// A procedure step reached without its earlier steps, or after the
    /// procedure finished: a 303 to where the flow stands.
    OutOfStep(Box<Page>),
    /// The request body is not a readable form (the status says why).
    Malformed(StatusCode),
    /// Storage or another internal failure: a plain 500 page; nothing was
    /// changed and the session is not stored.
    Internal,
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> Self {
        // The text names no customer, code or password.
        tracing::error!("{e}");
        PageError::Internal
    }
}

/// The 500 page, in both languages (the session may be what failed).
const INTERNAL: &str = "<!DOCTYPE html><html lang=\"ja\"><meta charset=\"utf-8\">\
<title>エラー / Error</title>\
<p>ただいまお取扱いできません。しばらくしてから再度お試しください。</p>\
<p lang=\"en\">The service is not available right now. Please try again later.</p></html>";

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::LoginRequired => {
                (StatusCode::SEE_OTHER, [(LOCATION, "/login")]).into_response()
            }
            PageError::Forgery(page) | PageError::OutOfStep(page) => page.into_response(),
            PageError::Malformed(status) => status.into_response(),
            PageError::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, Html(INTERNAL)).into_response()
            }
        }
    }
}

/// What every page handler returns.
pub type PageResult = Result<Page, PageError>;
