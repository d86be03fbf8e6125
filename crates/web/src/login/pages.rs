//! Login and logout. Citizens log in through OpenID Connect ([`super::oidc`]); staff with a
//! password and a one-time code ([`amtsweg_app::accounts`]). In demo mode a persona picker lists
//! the demo people; nothing of it exists outside demo mode (the POST answers 404).
//!
//! Every login starts a new session with a new id (the old one is deleted), so a session id
//! planted before the login is worth nothing after it.

use crate::state::AppState;
use crate::pages::PageForm;
use super::oidc::LoginError;
use super::paths::step_up_path;
use super::form_token::LIFETIME_SECS;
use super::session::{CSRF_FIELD, MaybeSession, SESSION_COOKIE, SessionContext, cookie_name, cookie_value, session_cookie, set_cookie};
use crate::auth::check_csrf;
use amtsweg_app::accounts::{SESSION_HOURS, StaffLoginError, constant_time_eq};
use crate::error::{AppError, PageError};
use crate::pages::{Layout, render};
use amtsweg_domain::records::PendingLogin;
use amtsweg_domain::{AssuranceLevel, Role, User, UserId};
use axum::extract::Query;
use axum::http::HeaderMap;
use std::collections::HashMap;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use time::{Duration, OffsetDateTime};

/// The cookie of the login forms' CSRF token (before a session exists: double submit).
const FORM_COOKIE: &str = "amtsweg_form";
/// The cookie that binds an OpenID Connect login under way to this browser.
const LOGIN_COOKIE: &str = "amtsweg_login";
/// How long a citizen may take at the provider.
const LOGIN_MINUTES: i64 = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/anmelden", get(page).post(login))
        .route("/anmelden/konto", get(start_account_login))
        .route("/anmelden/mitarbeitende", post(staff_login))
        .route(super::oidc::CALLBACK_PATH, get(finish_account_login))
        .route("/abmelden", post(logout))
}

/// A local path to return to after a login, or `/`: never another site (open redirect).
fn safe_return(target: Option<&str>) -> String {
    match target {
        Some(t)
            if t.starts_with('/')
                && !t.starts_with("//")
                && !t.contains('\\')
                && t.len() <= 512
                && !t.chars().any(char::is_control) =>
        {
            t.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Starts a session for `user` (a new id; the previous session of this browser ends) and
/// answers with its cookie and a redirect to `target`.
pub(crate) async fn begin_session(
    state: &AppState,
    previous: Option<&SessionContext>,
    user: &User,
    level: Option<AssuranceLevel>,
    provider_logout: bool,
    target: &str,
) -> Result<Response, AppError> {
    let id = state.app.accounts().begin_session(previous.map(|p| p.session.id_hash.as_str()), user, level, provider_logout).await?;
    let cookie = session_cookie(&id, state.config.secure_cookies, SESSION_HOURS * 3600);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(target)).into_response())
}

fn login_cookie(value: &str, max_age: i64, secure: bool) -> String {
    set_cookie(LOGIN_COOKIE, value, max_age, "Lax", secure)
}

/// `GET /anmelden/konto?niveau=…&ziel=…`: off to the provider.
async fn start_account_login(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(oidc) = state.oidc.clone() else {
        return Ok(Redirect::to("/anmelden").into_response());
    };
    let level = query.get("niveau").and_then(|l| AssuranceLevel::parse(l)).unwrap_or(AssuranceLevel::Substantiell);
    let return_to = safe_return(query.get("ziel").map(String::as_str));
    let started = oidc.start(level, session.is_some()).await.map_err(|e| {
        tracing::warn!(error = %e, "the login provider could not be reached");
        AppError::Unavailable(e.message())
    })?;
    let id = state
        .app
        .accounts()
        .begin_provider_login(PendingLogin {
            id_hash: String::new(),
            state: started.state,
            nonce: started.nonce,
            pkce_verifier: started.pkce_verifier,
            level,
            return_to,
            expires_at: OffsetDateTime::now_utc() + Duration::minutes(LOGIN_MINUTES),
        })
        .await?;
    let cookie = login_cookie(&id, LOGIN_MINUTES * 60, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&started.url)).into_response())
}

/// `GET /anmelden/rueckkehr?code=…&state=…`: back from the provider.
async fn finish_account_login(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let clear = login_cookie("", 0, state.config.secure_cookies);
    let outcome = account_login(&state, session.as_deref(), &headers, &query).await;
    use amtsweg_app::security::{Action, SecurityEvent};
    let mut response = match outcome {
        Ok(response) => response,
        Err(e) => {
            let mut response = PageError(e).into_response();
            crate::marks::mark(&mut response, SecurityEvent::new(Action::Login, false).reason("provider-login-refused"));
            response
        }
    };
    if let Ok(value) = header::HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn account_login(
    state: &AppState,
    session: Option<&SessionContext>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Response, AppError> {
    let oidc = state.oidc.clone().ok_or(AppError::NotFound)?;
    let again = "Die Anmeldung ist abgelaufen, wurde bereits abgeschlossen oder stammt nicht aus diesem Browser. Bitte beginnen Sie die Anmeldung noch einmal.";
    // Taken once: a second use of the same answer finds nothing.
    let pending = match cookie_value(headers, &cookie_name(LOGIN_COOKIE, state.config.secure_cookies)) {
        Some(id) if !id.is_empty() => state.app.accounts().take_provider_login(id).await?,
        _ => None,
    };
    let Some(pending) = pending else {
        tracing::warn!("login answer without a login under way in this browser");
        return Err(AppError::BadRequest(again.into()));
    };
    if let Some(error) = query.get("error") {
        tracing::info!(error = %error.chars().filter(char::is_ascii_alphanumeric).take(40).collect::<String>(), "the provider ended the login");
        return Err(AppError::BadRequest(if error == "access_denied" {
            "Sie haben die Anmeldung abgebrochen. Sie können sie jederzeit neu beginnen.".into()
        } else {
            "Der Anmeldedienst hat die Anmeldung nicht abgeschlossen. Bitte beginnen Sie sie noch einmal.".into()
        }));
    }
    let sent_state = query.get("state").map(String::as_str).unwrap_or_default();
    if !constant_time_eq(sent_state.as_bytes(), pending.state.as_bytes()) {
        tracing::warn!("login answer with a wrong state refused");
        return Err(AppError::BadRequest(again.into()));
    }
    let code = query.get("code").filter(|c| !c.is_empty() && c.len() <= 2048).ok_or(AppError::BadRequest(again.into()))?;
    let identity = oidc.finish(code, &pending.nonce, &pending.pkce_verifier).await.map_err(|e| {
        tracing::warn!(error = %e, "login refused");
        match e {
            LoginError::Provider(_) => AppError::Unavailable(e.message()),
            LoginError::MissingClaims(_) => AppError::Conflict(e.message()),
            _ => AppError::BadRequest(e.message()),
        }
    })?;
    let user = state.app.accounts().citizen_login(&identity.issuer, &identity.subject, &identity.person).await?;
    tracing::info!(level = identity.level.map(|l| l.as_str()).unwrap_or("none"), "citizen logged in");
    // A login of the same person at a higher level than their session had is a step-up.
    let step_up = session.is_some_and(|s| s.user.id == user.id && identity.level > s.session.level);
    let mut response = begin_session(state, session, &user, identity.level, true, &pending.return_to).await?;
    use amtsweg_app::security::{Action, SecurityEvent};
    crate::marks::mark(&mut response, SecurityEvent::new(Action::Login, true).reason("openid-connect").by(&user));
    if step_up {
        crate::marks::mark(&mut response, SecurityEvent::new(Action::StepUp, true).reason(identity.level.map(|l| l.as_str()).unwrap_or("none")).by(&user));
    }
    Ok(response)
}

struct Persona {
    id: String,
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "login/login.html")]
struct LoginPage {
    layout: Layout,
    demo: bool,
    personas: Vec<Persona>,
    /// Citizens can log in with their account (OpenID Connect is configured).
    account_login: bool,
    /// The start of the account login, coming back to where the citizen was.
    account_href: String,
    /// The CSRF token of the login forms.
    form_token: String,
}

async fn page(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let mut personas = Vec::new();
    if state.config.demo {
        for (user, authority) in state.app.accounts().personas().await? {
            let description = match (user.role, &user.person) {
                (Role::Citizen, person) => format!("Bürger/in, {}", person.as_ref().map(|p| p.city.as_str()).unwrap_or_default()),
                (role, _) => match authority {
                    Some(authority) => format!("{}, {authority}", role.label()),
                    None => role.label().to_owned(),
                },
            };
            personas.push(Persona { id: user.id.to_string(), name: user.display_name, description });
        }
    }
    let return_to = safe_return(query.get("ziel").map(String::as_str));
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (form_token, set) = state.form_tokens.for_page(cookie_value(&headers, &cookie_name(FORM_COOKIE, state.config.secure_cookies)), now);
    let mut response = render(
        StatusCode::OK,
        &LoginPage {
            layout: Layout::new("Anmelden", session.as_deref()),
            demo: state.config.demo,
            personas,
            account_login: state.oidc.is_some(),
            account_href: step_up_path(AssuranceLevel::Substantiell, &return_to),
            form_token: form_token.clone(),
        },
    );
    if set {
        let cookie = set_cookie(FORM_COOKIE, &form_token, LIFETIME_SECS, "Strict", state.config.secure_cookies);
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The login forms carry a token that the server signed (see [`super::form_token`]) and that
/// matches the browser's cookie (a site that forges the form can neither read nor make one).
/// Someone logged in may also send their session's token (the login page while logged in,
/// switching persona in the demo).
fn check_form_token(state: &AppState, session: Option<&SessionContext>, headers: &HeaderMap, form: &[(String, String)]) -> Result<(), AppError> {
    check_page_form_token(
        state,
        session,
        headers,
        form,
        "Das Anmeldeformular wurde von einer anderen Seite gesendet. Bitte melden Sie sich direkt auf dieser Seite an.",
        "Das Anmeldeformular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
    )
}

/// A form that people without a login send (the login, a report to the Mängelmelder): its
/// signed token and, when the browser needs a new one, the cookie to set.
pub(crate) fn page_form_token(state: &AppState, headers: &HeaderMap) -> (String, Option<header::HeaderValue>) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (token, set) = state.form_tokens.for_page(cookie_value(headers, &cookie_name(FORM_COOKIE, state.config.secure_cookies)), now);
    let cookie = set.then(|| header::HeaderValue::from_str(&set_cookie(FORM_COOKIE, &token, LIFETIME_SECS, "Strict", state.config.secure_cookies)).ok()).flatten();
    (token, cookie)
}

/// Checks the token of such a form (or, for someone logged in, their session's token);
/// `foreign` and `expired` are the messages for a form from elsewhere and an old one.
pub(crate) fn check_page_form_token(
    state: &AppState,
    session: Option<&SessionContext>,
    headers: &HeaderMap,
    form: &[(String, String)],
    foreign: &'static str,
    expired: &'static str,
) -> Result<(), AppError> {
    // A signed token can still be fetched by someone else and planted (over plain HTTP, from a
    // sibling subdomain, where `__Host-` is off); the browser says where a form was sent from,
    // and such a form is only taken from this site.
    if !sent_from_this_site(headers) {
        return Err(AppError::CsrfRefused(foreign));
    }
    if session.is_some_and(|s| check_csrf(s, form).is_ok()) {
        return Ok(());
    }
    let sent = form.iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.as_str()).unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match cookie_value(headers, &cookie_name(FORM_COOKIE, state.config.secure_cookies)) {
        Some(cookie) if constant_time_eq(cookie.as_bytes(), sent.as_bytes()) && state.form_tokens.remaining(cookie, now).is_some() => Ok(()),
        _ => Err(AppError::CsrfRefused(expired)),
    }
}

/// Whether a form post came from this site, as far as the browser tells: `Sec-Fetch-Site`
/// (`same-origin`, or `none` for what the person did themselves) and `Origin` (this host).
/// Clients that send neither (scripts, older browsers) are judged by the token alone.
fn sent_from_this_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return false;
        }
    }
    match (header("origin"), header("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

fn start_page(role: Role) -> &'static str {
    match role {
        Role::Caseworker | Role::TeamLead => "/arbeitsplatz",
        Role::DataProtection => "/datenschutz",
        Role::Admin => "/verwaltung",
        Role::Operator => "/betrieb",
        _ => "/",
    }
}

/// `POST /anmelden/mitarbeitende`: login name, password and one-time code.
async fn staff_login(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    check_form_token(&state, session.as_deref(), &headers, &form)?;
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    let outcome = state.app.accounts().staff_login(field("benutzername"), field("passwort"), field("code")).await;
    let back = Some(("/anmelden".to_owned(), "Zurück zur Anmeldung".to_owned()));
    use amtsweg_app::security::{Action, SecurityEvent};
    let refused = |reason: &'static str, locked: bool| {
        let mut page = crate::pages::error_page_with_link(StatusCode::UNAUTHORIZED, &StaffLoginError::Invalid.message(), back.clone());
        crate::marks::mark(&mut page, SecurityEvent::new(Action::Login, false).reason(reason));
        if locked {
            crate::marks::mark(&mut page, SecurityEvent::new(Action::Lockout, false).reason("failed-attempts"));
        }
        page
    };
    match outcome {
        Ok(user) if user.role.is_authority_member() || user.role == Role::Operator => {
            tracing::info!(role = user.role.as_str(), "staff logged in");
            let mut response = begin_session(&state, session.as_deref(), &user, None, false, start_page(user.role)).await?;
            crate::marks::mark(&mut response, SecurityEvent::new(Action::Login, true).reason("password-and-totp").by(&user));
            Ok(response)
        }
        Ok(_) => Ok(refused("role", false)),
        Err(StaffLoginError::Invalid) => Ok(refused("invalid-credentials", false)),
        Err(StaffLoginError::Locked) => Ok(refused("invalid-credentials", true)),
        Err(StaffLoginError::Store(e)) => Err(AppError::from(e).into()),
    }
}

async fn login(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    if !state.config.demo {
        return Err(AppError::NotFound.into());
    }
    check_form_token(&state, session.as_deref(), &headers, &form)?;
    let persona = form.iter().find(|(k, _)| k == "persona").map(|(_, v)| v.as_str()).unwrap_or_default();
    let user_id = UserId::parse(persona).ok_or(AppError::BadRequest("Bitte wählen Sie eine Person aus.".into()))?;
    let user = state
        .app
        .accounts()
        .user(&user_id)
        .await?
        .ok_or(AppError::BadRequest("Diese Person gibt es in der Demo nicht.".into()))?;
    let target = start_page(user.role);
    // The demo's people count as logged in with the online ID card.
    let level = (user.role == Role::Citizen).then_some(AssuranceLevel::Hoch);
    let mut response = begin_session(&state, session.as_deref(), &user, level, false, target).await?;
    let event = amtsweg_app::security::SecurityEvent::new(amtsweg_app::security::Action::Login, true).reason("demo-persona").by(&user);
    crate::marks::mark(&mut response, event);
    Ok(response)
}

async fn logout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let mut target = "/".to_owned();
    if let Some(session) = session {
        check_csrf(&session, &form)?;
        state.app.accounts().end_session(&session.session.id_hash).await?;
        // End the provider's session too, where it supports that (RP-initiated logout).
        if session.session.provider_logout {
            if let Some(url) = match &state.oidc {
                Some(oidc) => oidc.logout_url().await,
                None => None,
            } {
                target = url;
            }
        }
    }
    let expired = set_cookie(SESSION_COOKIE, "", 0, "Lax", state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, expired)], Redirect::to(&target)).into_response())
}
