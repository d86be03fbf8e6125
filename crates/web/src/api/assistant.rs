use super::ApiJson;
use crate::state::AppState;
use amtsweg_app::assistant::{self, Recipient, Source};
use crate::auth::{ApiCitizen, ApiStaff};
use crate::error::{ApiError, AppError, ErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskInput {
    /// The question, at most 1000 characters. Identifiers (IdNr, IBAN, phone, e-mail, dates)
    /// are removed before it is searched, logged or sent to a model.
    question: Option<String>,
    /// The language to answer in (ISO 639-1, e.g. `de`, `en`, `fr`, `ar`, `uk`); when absent,
    /// the question's language as recognised, else German.
    language: Option<String>,
    /// The asker's region: the Amtlicher Regionalschlüssel of their municipality (12 digits,
    /// or a prefix at a segment end such as `14` for Sachsen). Texts of the authorities
    /// responsible there, and texts for a region containing it, are searched first, before
    /// other authorities' texts. A municipality or Land named in the question wins.
    region: Option<String>,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct CitationView {
    doc_id: String,
    sentences: Vec<usize>,
    /// The language of the cited version of the document.
    language: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AskResult {
    /// Whether the texts answer the question; when not, `answer` says so and `handover` names
    /// where the question can be sent.
    answered: bool,
    answer: String,
    /// The language the assistant answered in (the question's); quotes keep their own.
    language: String,
    /// Said before the quotes when they are in another language than the question's (the
    /// page is not there in the asker's language), in the asker's language.
    note: Option<String>,
    /// Document ids and line indices of the sentences the answer rests on.
    citations: Vec<CitationView>,
    /// The cited documents with titles, links and the sentences themselves.
    sources: Vec<Source>,
    /// Whether a language model phrased the answer (from the sources only; citations checked).
    phrased: bool,
    /// Authorities the question can be sent to with `POST /api/v1/assistant/handover`.
    handover: Vec<Recipient>,
    /// The region (ARS, 12 digits) whose texts were searched first: named in the question or
    /// given as `region`; absent when neither.
    region: Option<String>,
}

/// Asks the assistant. Open to everyone; answers come only from the authorities' own texts.
#[utoipa::path(post, path = "/api/v1/assistant/ask", tag = "assistant", request_body = AskInput,
    responses((status = 200, body = AskResult), (status = 422, body = ErrorBody)))]
pub async fn ask(State(state): State<AppState>, ApiJson(input): ApiJson<AskInput>) -> Result<Json<AskResult>, ApiError> {
    // Every invalid field at once.
    let mut invalid = Vec::new();
    let question = collect(assistant::check_question(input.question.as_deref()), &mut invalid)?;
    let language = collect(assistant::check_language(input.language.as_deref()), &mut invalid)?;
    let region = collect(assistant::check_region(input.region.as_deref()), &mut invalid)?;
    let (Some(question), Some(language), Some(region)) = (question, language, region) else {
        return Err(AppError::Invalid(invalid).into());
    };
    let reply = state.app.ask(&question, language.as_deref(), &assistant::Asker { region, authority: None }).await?;
    Ok(Json(AskResult {
        answered: reply.answer.answered,
        answer: reply.answer.answer,
        language: reply.answer.language,
        note: reply.answer.note,
        citations: reply.answer.citations.into_iter().map(|c| CitationView { doc_id: c.doc_id, sentences: c.sentences, language: c.language }).collect(),
        sources: reply.sources,
        phrased: reply.answer.phrased,
        handover: reply.recipients,
        region: reply.region,
    }))
}

/// A checked value, or its field errors added to `invalid` (`None`).
fn collect<T>(checked: Result<T, AppError>, invalid: &mut Vec<amtsweg_domain::FieldError>) -> Result<Option<T>, AppError> {
    match checked {
        Ok(value) => Ok(Some(value)),
        Err(AppError::Invalid(fields)) => {
            invalid.extend(fields);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverInput {
    question: Option<String>,
    authority_id: Option<String>,
    /// What the question is about (the title of the closest text), if known.
    topic: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InquiryView {
    id: String,
    authority_id: String,
    question: String,
    topic: Option<String>,
    /// Who asked (staff only see it for their own authority).
    from: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    /// The authority's answer (also sent to the citizen's mailbox), once given.
    answer: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    answered_at: Option<OffsetDateTime>,
}

impl From<amtsweg_domain::records::Inquiry> for InquiryView {
    fn from(q: amtsweg_domain::records::Inquiry) -> Self {
        Self {
            id: q.id,
            authority_id: q.authority_id.to_string(),
            question: q.question,
            topic: q.topic,
            from: q.citizen_name,
            created_at: q.created_at,
            answer: q.answer,
            answered_at: q.answered_at,
        }
    }
}

/// Sends a question the assistant could not answer to an authority; it appears in that
/// authority's inbox. The question is sent as written (the citizen chose to send it there).
#[utoipa::path(post, path = "/api/v1/assistant/handover", tag = "assistant", security(("bearer" = [])), request_body = HandoverInput,
    responses((status = 201, body = InquiryView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn handover(ApiCitizen(desk): ApiCitizen, ApiJson(input): ApiJson<HandoverInput>) -> Result<(StatusCode, Json<InquiryView>), ApiError> {
    let topic = input.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| t.chars().take(200).collect::<String>());
    let q = desk.send_inquiry(input.authority_id.as_deref().unwrap_or_default(), input.question.as_deref().unwrap_or_default(), topic.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(q.into())))
}

/// Questions citizens sent to my authority from the assistant, newest first.
#[utoipa::path(get, path = "/api/v1/inquiries", tag = "assistant", security(("bearer" = [])),
    responses((status = 200, body = [InquiryView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn inquiries(ApiStaff(desk): ApiStaff) -> Result<Json<Vec<InquiryView>>, ApiError> {
    Ok(Json(desk.inquiries().await?.into_iter().map(InquiryView::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryAnswerInput {
    answer: Option<String>,
}

/// Answers a question citizens sent to my authority; the answer goes to the citizen's mailbox.
/// Once only (409 after).
#[utoipa::path(post, path = "/api/v1/inquiries/{id}/answer", tag = "assistant", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = InquiryAnswerInput,
    responses((status = 200, body = InquiryView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer_inquiry(
    ApiStaff(desk): ApiStaff,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(input): ApiJson<InquiryAnswerInput>,
) -> Result<Json<InquiryView>, ApiError> {
    let q = desk.answer_inquiry(&id, input.answer.as_deref().unwrap_or_default()).await?;
    Ok(Json(q.into()))
}
