//! The browser's session: our cookies, and the session of a request (resolved once per request
//! by `auth::load_session`; the application layer checks and prolongs it).

use amtsweg_domain::User;
use amtsweg_domain::records::Session;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "amtsweg_session";
/// The form field that carries the session's CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// The name of one of our cookies: behind TLS with the `__Host-` prefix, which browsers accept
/// only with `Secure`, `Path=/` and no `Domain`, so that no other host (a sibling subdomain) can
/// plant or overwrite it.
pub fn cookie_name(base: &str, secure: bool) -> String {
    if secure { format!("__Host-{base}") } else { base.to_owned() }
}

/// A `Set-Cookie` value for one of our cookies (HttpOnly, `Path=/`, `Secure` behind TLS).
pub fn set_cookie(base: &str, value: &str, max_age_secs: i64, same_site: &str, secure: bool) -> String {
    let flag = if secure { "; Secure" } else { "" };
    format!("{}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{flag}", cookie_name(base, secure))
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(id: &str, secure: bool, max_age_secs: i64) -> String {
    set_cookie(SESSION_COOKIE, id, max_age_secs, "Lax", secure)
}

/// The logged-in browser session of this request, if any (put there by `auth::load_session`).
#[derive(Clone)]
pub struct SessionContext {
    pub session: Session,
    pub user: User,
}

/// Finds the value of a cookie. (Parsing one request header by hand: see docs/decisions.md.)
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn session_of(parts: &Parts) -> Option<Arc<SessionContext>> {
    parts.extensions.get::<Arc<SessionContext>>().cloned()
}

/// The optional session, for pages that anyone may see.
pub struct MaybeSession(pub Option<Arc<SessionContext>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSession {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeSession(session_of(parts)))
    }
}
