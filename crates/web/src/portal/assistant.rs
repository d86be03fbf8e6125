//! The assistant's chat page: works without JavaScript (a form posts the question, the answer
//! comes back as a page). Anyone may ask; sending an unanswered question to an authority needs
//! a login, so that the answer can reach the citizen's mailbox.

use crate::state::AppState;
use amtsweg_app::assistant::{self, Recipient, Source};
use crate::auth::{PageCitizen, check_csrf};
use crate::login::session::MaybeSession;
use crate::error::{AppError, PageError};
use crate::pages::{Layout, PageForm, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/assistent", get(page).post(ask)).route("/assistent/weitergeben", axum::routing::post(handover))
}

struct Turn {
    answered: bool,
    answer: String,
    phrased: bool,
    sources: Vec<Source>,
    recipients: Vec<Recipient>,
    topic: String,
}

#[derive(Template)]
#[template(path = "portal/assistant.html")]
struct AssistantPage {
    layout: Layout,
    question: String,
    error: Option<String>,
    turn: Option<Turn>,
    /// Set after a question was sent to an authority.
    sent_to: Option<String>,
    handover_error: Option<String>,
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn empty(layout: Layout) -> AssistantPage {
    AssistantPage { layout, question: String::new(), error: None, turn: None, sent_to: None, handover_error: None }
}

async fn page(MaybeSession(session): MaybeSession) -> Response {
    render(StatusCode::OK, &empty(Layout::new("Fragen an die Verwaltung", session.as_deref())))
}

async fn turn(state: &AppState, question: &str) -> Result<Turn, AppError> {
    let reply = state.app.ask(question).await?;
    Ok(Turn {
        answered: reply.answer.answered,
        answer: reply.answer.answer,
        phrased: reply.answer.phrased,
        sources: reply.sources,
        recipients: reply.recipients,
        topic: reply.topic.unwrap_or_default(),
    })
}

async fn ask(State(state): State<AppState>, MaybeSession(session): MaybeSession, PageForm(form): PageForm) -> Result<Response, PageError> {
    // Asking changes nothing; a logged-in user's form still carries the session's token.
    if let Some(s) = &session {
        check_csrf(s, &form)?;
    }
    let layout = Layout::new("Fragen an die Verwaltung", session.as_deref());
    let raw = field(&form, "question").unwrap_or_default().to_owned();
    match assistant::check_question(Some(&raw)) {
        Ok(question) => {
            let turn = turn(&state, &question).await?;
            Ok(render(StatusCode::OK, &AssistantPage { question, turn: Some(turn), ..empty(layout) }))
        }
        Err(AppError::Invalid(errors)) => {
            let error = errors.into_iter().next().map(|e| e.message);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &AssistantPage { question: raw, error, ..empty(layout) }))
        }
        Err(e) => Err(e.into()),
    }
}

async fn handover(State(state): State<AppState>, citizen: PageCitizen, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let layout = Layout::new("Fragen an die Verwaltung", Some(&citizen.session));
    let question = field(&form, "question").unwrap_or_default().to_owned();
    let authority = field(&form, "authority_id").unwrap_or_default();
    let topic = field(&form, "topic").map(str::trim).filter(|t| !t.is_empty()).map(|t| t.chars().take(200).collect::<String>());
    match citizen.desk.send_inquiry(authority, &question, topic.as_deref()).await {
        Ok(inquiry) => {
            let name = state.app.catalog().authority_name(&inquiry.authority_id).await?;
            Ok(render(StatusCode::OK, &AssistantPage { sent_to: Some(name), ..empty(layout) }))
        }
        Err(AppError::Invalid(errors)) => {
            let message = errors.into_iter().next().map(|e| e.message);
            let mut turn = match assistant::check_question(Some(&question)) {
                Ok(q) => Some(turn(&state, &q).await?),
                Err(_) => None,
            };
            if let Some(t) = turn.as_mut() {
                t.answered = false;
            }
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &AssistantPage { question, turn, handover_error: message, ..empty(layout) }))
        }
        Err(e) => Err(e.into()),
    }
}
