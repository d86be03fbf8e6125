//! Who is asking: API clients by bearer token, browsers by their session. Each resolves to a
//! narrowed handle of the application layer: a citizen's desk that only reaches the citizen's
//! own applications, a staff desk that only reaches its authority's cases, and so on. A handler
//! that did not extract one cannot name those operations.

use crate::state::AppState;
use crate::error::{ApiError, AppError, PageError};
use crate::login::session::{CSRF_FIELD, SESSION_COOKIE, SessionContext, cookie_name, cookie_value, session_of};
use amtsweg_app::citizen::CitizenDesk;
use amtsweg_app::operator::OperatorDesk;
use amtsweg_app::oversight::{AdminDesk, PrivacyDesk};
use amtsweg_app::procedures::ProcedureDesk;
use amtsweg_app::staff::{LeadDesk, StaffDesk};
use amtsweg_domain::{AssuranceLevel, User};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::http::request::Parts;
use std::sync::Arc;

/// Middleware: resolves the session cookie once per request.
pub async fn load_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(id) = cookie_value(req.headers(), &cookie_name(SESSION_COOKIE, state.config.secure_cookies)) {
        match state.app.accounts().session(id).await {
            Ok(Some((session, user))) => {
                req.extensions_mut().insert(Arc::new(SessionContext { session, user }));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = e.code(), "session lookup failed"),
        }
    }
    next.run(req).await
}

const CITIZENS_ONLY: &str = "Dieser Bereich ist Bürgerinnen und Bürgern vorbehalten.";
const STAFF_ONLY: &str = "Dieser Bereich ist der Sachbearbeitung einer Behörde vorbehalten.";
const PRIVACY_ONLY: &str = "Dieser Bereich ist dem Datenschutz vorbehalten.";
const ADMIN_ONLY: &str = "Dieser Bereich ist der Fachadministration vorbehalten.";
const OPERATOR_ONLY: &str = "Dieser Bereich ist dem Plattformbetrieb vorbehalten.";

/// Checks the CSRF token of a submitted form against the session.
pub fn check_csrf(session: &SessionContext, form: &[(String, String)]) -> Result<(), AppError> {
    let sent = form.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str());
    match sent {
        Some(token) if amtsweg_app::accounts::constant_time_eq(token.as_bytes(), session.session.csrf_token.as_bytes()) => Ok(()),
        _ => Err(AppError::CsrfRefused(
            "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        )),
    }
}

/// The bearer token of a request (RFC 6750), read in this one place.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    bearer_of(headers.get(axum::http::header::AUTHORIZATION)?)
}

/// The bearer token in an `Authorization` header's value.
pub fn bearer_of(value: &axum::http::HeaderValue) -> Option<&str> {
    let header = value.to_str().ok()?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

async fn api_user(parts: &Parts, state: &AppState) -> Result<User, AppError> {
    let token = bearer_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
    state.app.accounts().user_by_token(token).await?.ok_or(AppError::Unauthenticated)
}

fn page_session(parts: &Parts) -> Result<Arc<SessionContext>, AppError> {
    session_of(parts).ok_or(AppError::Unauthenticated)
}

/// A page request of a logged-in citizen.
pub struct PageCitizen {
    pub desk: CitizenDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PageCitizen {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = page_session(parts)?;
        let desk = state.app.citizen(&session.user, session.session.level).ok_or(AppError::Forbidden(CITIZENS_ONLY))?;
        Ok(PageCitizen { desk, session })
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
        let session = page_session(parts)?;
        let desk = state.app.staff(&session.user).ok_or(AppError::Forbidden(STAFF_ONLY))?;
        Ok(PageStaff { desk, session })
    }
}

/// An API request of a citizen (bearer token).
pub struct ApiCitizen(pub CitizenDesk);

impl FromRequestParts<AppState> for ApiCitizen {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        // Citizen tokens are issued by the operator to an identified person, not by a login
        // (see docs/decisions.md): they count as level "hoch".
        Ok(ApiCitizen(state.app.citizen(&user, Some(AssuranceLevel::Hoch)).ok_or(AppError::Forbidden(CITIZENS_ONLY))?))
    }
}

/// An API request of staff (bearer token).
pub struct ApiStaff(pub StaffDesk);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        Ok(ApiStaff(state.app.staff(&user).ok_or(AppError::Forbidden(STAFF_ONLY))?))
    }
}

/// An API request of a team lead: refused (403) before anything else is read.
pub struct ApiLead(pub LeadDesk);

impl FromRequestParts<AppState> for ApiLead {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        let desk = state.app.staff(&user).ok_or(AppError::Forbidden(STAFF_ONLY))?;
        Ok(ApiLead(desk.lead().ok_or(AppError::Forbidden("Das dürfen nur Teamleitungen."))?))
    }
}

/// A page request of the data protection officer.
pub struct PagePrivacy {
    pub desk: PrivacyDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PagePrivacy {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = page_session(parts)?;
        let desk = state.app.privacy(&session.user).ok_or(AppError::Forbidden(PRIVACY_ONLY))?;
        Ok(PagePrivacy { desk, session })
    }
}

/// An API request of the data protection officer.
pub struct ApiPrivacy(pub PrivacyDesk);

impl FromRequestParts<AppState> for ApiPrivacy {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        Ok(ApiPrivacy(state.app.privacy(&user).ok_or(AppError::Forbidden(PRIVACY_ONLY))?))
    }
}

/// A page request of the service admin.
pub struct PageAdmin {
    pub desk: AdminDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PageAdmin {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = page_session(parts)?;
        let desk = state.app.admin(&session.user).ok_or(AppError::Forbidden(ADMIN_ONLY))?;
        Ok(PageAdmin { desk, session })
    }
}

/// An API request of the service admin.
pub struct ApiAdmin(pub AdminDesk);

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        Ok(ApiAdmin(state.app.admin(&user).ok_or(AppError::Forbidden(ADMIN_ONLY))?))
    }
}

/// A request of a specialist procedure (bearer access token from `/api/v1/procedures/token`).
pub struct ApiProcedure(pub ProcedureDesk);

impl FromRequestParts<AppState> for ApiProcedure {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
        Ok(ApiProcedure(state.app.procedures().desk(token).await?.ok_or(AppError::Unauthenticated)?))
    }
}

/// A page request of the platform operator.
pub struct PageOperator {
    pub desk: OperatorDesk,
    pub session: Arc<SessionContext>,
}

impl FromRequestParts<AppState> for PageOperator {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = page_session(parts)?;
        let desk = state.app.operator(&session.user).ok_or(AppError::Forbidden(OPERATOR_ONLY))?;
        Ok(PageOperator { desk, session })
    }
}

/// An API request of the platform operator.
pub struct ApiOperator(pub OperatorDesk);

impl FromRequestParts<AppState> for ApiOperator {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = api_user(parts, state).await?;
        Ok(ApiOperator(state.app.operator(&user).ok_or(AppError::Forbidden(OPERATOR_ONLY))?))
    }
}
