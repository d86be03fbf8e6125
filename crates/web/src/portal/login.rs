//! Login and logout. Outside demo mode there is no way in yet (OpenID Connect comes with its own
//! issue); in demo mode a persona picker lists the demo people. Nothing of the picker exists
//! outside demo mode: the page says so and the POST answers 404.

use crate::AppState;
use crate::pages::PageForm;
use crate::auth::{MaybeSession, SESSION_COOKIE, check_csrf, hash_secret, new_secret, session_cookie};
use crate::error::{AppError, PageError};
use crate::pages::{Layout, render};
use amtsweg_domain::records::Session;
use amtsweg_domain::{Role, UserId};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use time::{Duration, OffsetDateTime};

const SESSION_HOURS: i64 = 8;

pub fn router() -> Router<AppState> {
    Router::new().route("/anmelden", get(page).post(login)).route("/abmelden", post(logout))
}

struct Persona {
    id: String,
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    demo: bool,
    personas: Vec<Persona>,
}

async fn page(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    let mut personas = Vec::new();
    if state.config.demo {
        let authorities = state.store.authorities().await?;
        for user in state.store.users_with_role(Role::Citizen).await? {
            let city = user.person.as_ref().map(|p| p.city.clone()).unwrap_or_default();
            personas.push(Persona { id: user.id.to_string(), name: user.display_name, description: format!("Bürger/in, {city}") });
        }
        for role in [Role::Caseworker, Role::TeamLead, Role::DataProtection, Role::Admin] {
            for user in state.store.users_with_role(role).await? {
                let authority = authorities
                    .iter()
                    .find(|a| Some(&a.id) == user.authority_id.as_ref())
                    .map(|a| a.name.clone())
                    .unwrap_or_default();
                personas.push(Persona {
                    id: user.id.to_string(),
                    name: user.display_name,
                    description: format!("{}, {authority}", role.label()),
                });
            }
        }
    }
    Ok(render(StatusCode::OK, &LoginPage { layout: Layout::new("Anmelden", session.as_deref()), demo: state.config.demo, personas }))
}

async fn login(State(state): State<AppState>, PageForm(form): PageForm) -> Result<Response, PageError> {
    if !state.config.demo {
        return Err(AppError::NotFound.into());
    }
    let persona = form.iter().find(|(k, _)| k == "persona").map(|(_, v)| v.as_str()).unwrap_or_default();
    let user_id = UserId::parse(persona).ok_or(AppError::BadRequest("Bitte wählen Sie eine Person aus.".into()))?;
    let user = state
        .store
        .user(&user_id)
        .await?
        .ok_or(AppError::BadRequest("Diese Person gibt es in der Demo nicht.".into()))?;
    // A new session id at every login.
    let id = new_secret();
    state
        .store
        .put_session(&Session {
            id_hash: hash_secret(&id),
            user_id: user.id.clone(),
            csrf_token: new_secret(),
            expires_at: OffsetDateTime::now_utc() + Duration::hours(SESSION_HOURS),
        })
        .await?;
    let target = match user.role {
        Role::Caseworker | Role::TeamLead => "/arbeitsplatz",
        Role::DataProtection => "/datenschutz",
        Role::Admin => "/verwaltung",
        _ => "/",
    };
    let cookie = session_cookie(&id, state.config.secure_cookies, SESSION_HOURS * 3600);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(target)).into_response())
}

async fn logout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    if let Some(session) = session {
        check_csrf(&session, &form)?;
        state.store.delete_session(&session.session.id_hash).await?;
    }
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok(([(header::SET_COOKIE, expired)], Redirect::to("/")).into_response())
}
