//! The assistant's chat page: works without JavaScript (a form posts the question, the answer
//! comes back as a page). Anyone may ask; sending an unanswered question to an authority needs
//! a login, so that the answer can reach the citizen's mailbox.

use crate::state::AppState;
use amtsweg_app::assistant::{self, Recipient, Source};
use crate::auth::{PageCitizen, check_csrf};
use crate::login::session::{MaybeSession, SessionContext};
use amtsweg_domain::RegionKey;
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
    /// The language of the assistant's own sentences (declines, the note), for `lang`.
    language: String,
    note: Option<String>,
    /// The question's language (asked for, or recognised).
    question_language: String,
    /// The language of the answer's text: the quotes' when it quotes another language.
    text_language: String,
    phrased: bool,
    sources: Vec<Source>,
    recipients: Vec<Recipient>,
    topic: String,
    /// The asker's nearest authority, whose texts were searched first.
    place: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/assistant.html")]
struct AssistantPage {
    layout: Layout,
    question: String,
    /// The answer language asked for ("": recognise it from the question).
    language: String,
    /// The places to choose from (authority name, region) and the chosen region ("": none,
    /// or the logged-in citizen's).
    places: Vec<(String, String)>,
    region: String,
    error: Option<String>,
    turn: Option<Turn>,
    /// Set after a question was sent to an authority.
    sent_to: Option<String>,
    handover_error: Option<String>,
}

impl AssistantPage {
    /// The offered answer languages: code, name in itself, whether chosen.
    fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        LANGUAGES.iter().map(|&(code, name)| (code, name, code == self.language)).collect()
    }

    /// The places to choose from: name, region, whether chosen.
    fn place_options(&self) -> Vec<(&str, &str, bool)> {
        self.places.iter().map(|(name, region)| (name.as_str(), region.as_str(), *region == self.region)).collect()
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The languages the chat offers (those the assistant speaks), each named in itself.
const LANGUAGES: &[(&str, &str)] = &amtsweg_assist::language::SPOKEN;

fn empty(layout: Layout, places: Vec<(String, String)>) -> AssistantPage {
    AssistantPage { layout, question: String::new(), language: String::new(), places, region: String::new(), error: None, turn: None, sent_to: None, handover_error: None }
}

async fn page(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    let places = state.app.assistant_places().await?;
    Ok(render(StatusCode::OK, &empty(Layout::new("Fragen an die Verwaltung", session.as_deref()), places)))
}

/// The answer language and the place the form chose: only offered ones count (a language
/// otherwise is recognised from the question; a place otherwise is not known, "").
fn chosen(form: &[(String, String)], places: &[(String, String)]) -> (Option<String>, String) {
    let language = field(form, "language").filter(|l| LANGUAGES.iter().any(|(code, _)| code == l)).map(str::to_owned);
    let region = field(form, "region").filter(|r| places.iter().any(|(_, key)| key == r)).unwrap_or_default().to_owned();
    (language, region)
}

/// Who asks: the chosen place, else the logged-in citizen's region; a staff member's authority.
fn asker(session: Option<&SessionContext>, chosen: Option<RegionKey>) -> assistant::Asker {
    let user = session.map(|s| &s.user);
    let region = chosen.or_else(|| user.and_then(|u| u.person.as_ref()).map(|p| p.region.clone()));
    assistant::Asker { region, authority: user.and_then(|u| u.authority_id.as_ref()).map(ToString::to_string) }
}

async fn turn(state: &AppState, question: &str, language: Option<&str>, asker: &assistant::Asker) -> Result<Turn, AppError> {
    let reply = state.app.ask(question, language, asker).await?;
    Ok(Turn {
        answered: reply.answer.answered,
        answer: reply.answer.answer,
        question_language: reply.answer.language.clone(),
        text_language: match reply.sources.first() {
            Some(source) if reply.answer.answered && !reply.answer.phrased => source.language.clone(),
            _ if reply.answer.phrased => reply.answer.language.clone(),
            _ => amtsweg_assist::language::spoken(&reply.answer.language).to_owned(),
        },
        language: amtsweg_assist::language::spoken(&reply.answer.language).to_owned(),
        note: reply.answer.note,
        phrased: reply.answer.phrased,
        sources: reply.sources,
        recipients: reply.recipients,
        topic: reply.topic.unwrap_or_default(),
        place: reply.place,
    })
}

async fn ask(State(state): State<AppState>, MaybeSession(session): MaybeSession, PageForm(form): PageForm) -> Result<Response, PageError> {
    // Asking changes nothing; a logged-in user's form still carries the session's token.
    if let Some(s) = &session {
        check_csrf(s, &form)?;
    }
    let layout = Layout::new("Fragen an die Verwaltung", session.as_deref());
    let raw = field(&form, "question").unwrap_or_default().to_owned();
    let places = state.app.assistant_places().await?;
    let (language, region) = chosen(&form, &places);
    let asker = asker(session.as_deref(), RegionKey::parse(&region).ok());
    match assistant::check_question(Some(&raw)) {
        Ok(question) => {
            let turn = turn(&state, &question, language.as_deref(), &asker).await?;
            Ok(render(StatusCode::OK, &AssistantPage { question, language: language.unwrap_or_default(), region, turn: Some(turn), ..empty(layout, places) }))
        }
        Err(AppError::Invalid(errors)) => {
            let error = errors.into_iter().next().map(|e| e.message);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &AssistantPage { question: raw, language: language.unwrap_or_default(), region, error, ..empty(layout, places) }))
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
    let places = state.app.assistant_places().await?;
    match citizen.desk.send_inquiry(authority, &question, topic.as_deref()).await {
        Ok(inquiry) => {
            let name = state.app.catalog().authority_name(&inquiry.authority_id).await?;
            Ok(render(StatusCode::OK, &AssistantPage { sent_to: Some(name), ..empty(layout, places) }))
        }
        Err(AppError::Invalid(errors)) => {
            let message = errors.into_iter().next().map(|e| e.message);
            // Asked again as before: in the chosen language, for the chosen place.
            let (language, region) = chosen(&form, &places);
            let asker = asker(Some(&citizen.session), RegionKey::parse(&region).ok());
            let mut turn = match assistant::check_question(Some(&question)) {
                Ok(q) => Some(turn(&state, &q, language.as_deref(), &asker).await?),
                Err(_) => None,
            };
            if let Some(t) = turn.as_mut() {
                t.answered = false;
            }
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &AssistantPage { question, language: language.unwrap_or_default(), region, turn, handover_error: message, ..empty(layout, places) }))
        }
        Err(e) => Err(e.into()),
    }
}
