use super::ApiJson;
use crate::auth::ApiCitizen;
use crate::error::{ApiError, AppError, ErrorBody};
use amtsweg_domain::MessageId;
use axum::Json;
use axum::extract::Path;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageView {
    id: String,
    application_id: Option<String>,
    sender: String,
    subject: String,
    body: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    read: bool,
    /// The Bescheid as PDF/A, when the message carries one.
    document_url: Option<String>,
    /// A question of the authority: answer it with `POST /api/v1/mailbox/{id}/answer`.
    question_id: Option<String>,
}

/// My mailbox, newest first.
#[utoipa::path(get, path = "/api/v1/mailbox", tag = "mailbox", security(("bearer" = [])),
    responses((status = 200, body = [MessageView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(ApiCitizen(desk): ApiCitizen) -> Result<Json<Vec<MessageView>>, ApiError> {
    Ok(Json(
        desk.messages()
            .await?
            .into_iter()
            .map(|m| MessageView {
                document_url: m.document_id.as_ref().map(|_| format!("/api/v1/mailbox/{}/document", m.id)),
                id: m.id.to_string(),
                application_id: m.application_id.map(|a| a.to_string()),
                sender: m.sender,
                subject: m.subject,
                body: m.body,
                created_at: m.created_at,
                read: m.read_at.is_some(),
                question_id: m.info_request_id,
            })
            .collect(),
    ))
}

fn message_id(raw: &str) -> Result<MessageId, ApiError> {
    super::parse_id(raw, MessageId::parse)
}

/// The document of a message of mine (the Bescheid as PDF/A).
#[utoipa::path(get, path = "/api/v1/mailbox/{id}/document", tag = "mailbox", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn document(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Response, ApiError> {
    let d = desk.message_document(&message_id(&id)?).await?;
    Ok(super::pdf_response(d))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    answer: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AnswerResult {
    question_id: String,
    case_number: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    answered_at: OffsetDateTime,
}

/// Answers the question a message asks; the answer returns to the case. Once only (409 after).
#[utoipa::path(post, path = "/api/v1/mailbox/{id}/answer", tag = "mailbox", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AnswerInput,
    responses((status = 200, body = AnswerResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>, ApiJson(input): ApiJson<AnswerInput>) -> Result<Json<AnswerResult>, ApiError> {
    let id = message_id(&id)?;
    let request = desk.messages().await?.into_iter().find(|m| m.id == id).and_then(|m| m.info_request_id).ok_or(AppError::NotFound)?;
    let q = desk.answer(&request, input.answer.as_deref().unwrap_or_default()).await?;
    Ok(Json(AnswerResult { question_id: q.id, case_number: q.case_number, answered_at: q.answered_at.unwrap_or(q.asked_at) }))
}
