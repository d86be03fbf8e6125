//! Who is asking: API clients by bearer token, browsers by a session cookie. Both resolve to a
//! narrowed handle: a [`CitizenDesk`](crate::applying::CitizenDesk) that only reaches the
//! citizen's own applications, or a [`StaffDesk`](crate::deciding::StaffDesk) that only reaches
//! its authority's cases. A handler that did not extract one cannot name those operations.
//!
//! Tokens and session ids are random 256-bit values; the store keeps only their SHA-256.

use crate::AppState;
use crate::applying::CitizenDesk;
use crate::deciding::StaffDesk;
use crate::error::{ApiError, AppError, PageError};
use amtsweg_domain::{AssuranceLevel, User};
use amtsweg_domain::records::Session;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "amtsweg_session";

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
pub const CSRF_FIELD: &str = "_csrf";
/// A session ends this long after the login at the latest,
pub const SESSION_HOURS: i64 = 8;
/// and this long after its last use.
pub const SESSION_IDLE_MINUTES: i64 = 30;
/// Its end is moved on by use at most this often (not a write per request).
const SESSION_TOUCH_MINUTES: i64 = 5;

/// A fresh random secret, URL-safe.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The logged-in browser session of this request, if any (put there by [`load_session`]).
#[derive(Clone)]
pub struct SessionContext {
    pub session: Session,
    pub user: User,
}

/// Finds the value of a cookie. (Parsing one request header by hand: a cookie crate would add
/// a dependency for three lines.)
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

/// Middleware: resolves the session cookie once per request.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(id) = cookie_value(req.headers(), &cookie_name(SESSION_COOKIE, state.config.secure_cookies)) {
        let hash = hash_secret(id);
        match state.store.session(&hash).await {
            Ok(Some(mut session)) => match state.store.user(&session.user_id).await {
                Ok(Some(user)) => {
                    let now = time::OffsetDateTime::now_utc();
                    let idle = time::Duration::minutes(SESSION_IDLE_MINUTES);
                    if session.expires_at - now < idle - time::Duration::minutes(SESSION_TOUCH_MINUTES) {
                        let end = (now + idle).min(session.created_at + time::Duration::hours(SESSION_HOURS));
                        if end > session.expires_at {
                            match state.store.touch_session(&hash, end).await {
                                Ok(()) => session.expires_at = end,
                                Err(e) => tracing::warn!(error = %e, "session could not be kept alive"),
                            }
                        }
                    }
                    req.extensions_mut().insert(Arc::new(SessionContext { session, user }));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "session user lookup failed"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "session lookup failed"),
        }
    }
    next.run(req).await
}

fn session_of(parts: &Parts) -> Option<Arc<SessionContext>> {
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

fn desk_for_citizen(state: &AppState, user: &User, level: Option<AssuranceLevel>) -> Result<CitizenDesk, AppError> {
    CitizenDesk::new(state.store.clone(), user, level)
        .ok_or(AppError::Forbidden("Dieser Bereich ist Bürgerinnen und Bürgern vorbehalten."))
}

fn desk_for_staff(state: &AppState, user: &User) -> Result<StaffDesk, AppError> {
    StaffDesk::new(state.store.clone(), state.metrics.clone(), user)
        .ok_or(AppError::Forbidden("Dieser Bereich ist der Sachbearbeitung einer Behörde vorbehalten."))
}

/// A page request of a logged-in citizen.
pub struct PageCitizen {
    pub desk: CitizenDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PageCitizen {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = session_of(parts).ok_or(AppError::Unauthenticated)?;
        Ok(PageCitizen { desk: desk_for_citizen(state, &session.user, session.session.level)?, session })
    }
}

/// A page request of logged-in staff.
pub struct PageStaff {
    pub desk: StaffDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PageStaff {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = session_of(parts).ok_or(AppError::Unauthenticated)?;
        Ok(PageStaff { desk: desk_for_staff(state, &session.user)?, session })
    }
}

/// Checks the CSRF token of a submitted form against the session.
pub fn check_csrf(session: &SessionContext, form: &[(String, String)]) -> Result<(), AppError> {
    let sent = form.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
    match sent {
        Some(token) if constant_time_eq(token.as_bytes(), session.session.csrf_token.as_bytes()) => Ok(()),
        _ => Err(AppError::Forbidden(
            "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        )),
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn api_user(parts: &Parts, state: &AppState) -> Result<User, AppError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthenticated)?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or(AppError::Unauthenticated)?;
    state.store.user_by_api_token(&hash_secret(token)).await?.ok_or(AppError::Unauthenticated)
}

/// An API request of a citizen (bearer token).
pub struct ApiCitizen(pub CitizenDesk);

impl FromRequestParts<AppState> for ApiCitizen {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        // Citizen tokens are issued by the operator to an identified person, not by a login
        // (see docs/decisions.md): they count as level "hoch".
        Ok(ApiCitizen(desk_for_citizen(state, &user, Some(AssuranceLevel::Hoch))?))
    }
}

/// An API request of staff (bearer token).
pub struct ApiStaff(pub StaffDesk);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        Ok(ApiStaff(desk_for_staff(state, &user)?))
    }
}

/// An API request of a team lead: refused (403) before anything else is read.
pub struct ApiLead(pub crate::deciding::LeadDesk);

impl FromRequestParts<AppState> for ApiLead {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        let desk = desk_for_staff(state, &user)?;
        Ok(ApiLead(desk.lead().ok_or(AppError::Forbidden("Das dürfen nur Teamleitungen."))?))
    }
}

/// Any authenticated API client (for endpoints open to every role).
pub struct ApiAnyone;

impl FromRequestParts<AppState> for ApiAnyone {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        api_user(parts, state).await?;
        Ok(ApiAnyone)
    }
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(id: &str, secure: bool, max_age_secs: i64) -> String {
    set_cookie(SESSION_COOKIE, id, max_age_secs, "Lax", secure)
}

/// A page request of the data protection officer.
pub struct PagePrivacy {
    pub desk: crate::oversight::PrivacyDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PagePrivacy {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = session_of(parts).ok_or(AppError::Unauthenticated)?;
        let desk = crate::oversight::PrivacyDesk::new(state.store.clone(), &session.user)
            .ok_or(AppError::Forbidden("Dieser Bereich ist dem Datenschutz vorbehalten."))?;
        Ok(PagePrivacy { desk, session })
    }
}

/// An API request of the data protection officer.
pub struct ApiPrivacy(pub crate::oversight::PrivacyDesk);

impl FromRequestParts<AppState> for ApiPrivacy {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        let desk = crate::oversight::PrivacyDesk::new(state.store.clone(), &user)
            .ok_or(AppError::Forbidden("Dieser Bereich ist dem Datenschutz vorbehalten."))?;
        Ok(ApiPrivacy(desk))
    }
}

/// A page request of the service admin.
pub struct PageAdmin {
    pub desk: crate::oversight::AdminDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PageAdmin {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = session_of(parts).ok_or(AppError::Unauthenticated)?;
        let desk = crate::oversight::AdminDesk::new(state.store.clone(), &session.user)
            .ok_or(AppError::Forbidden("Dieser Bereich ist der Fachadministration vorbehalten."))?;
        Ok(PageAdmin { desk, session })
    }
}

/// An API request of the service admin.
pub struct ApiAdmin(pub crate::oversight::AdminDesk);

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        let desk = crate::oversight::AdminDesk::new(state.store.clone(), &user)
            .ok_or(AppError::Forbidden("Dieser Bereich ist der Fachadministration vorbehalten."))?;
        Ok(ApiAdmin(desk))
    }
}
