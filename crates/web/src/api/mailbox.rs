use crate::auth::ApiCitizen;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use serde::Serialize;
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
                id: m.id.to_string(),
                application_id: m.application_id.map(|a| a.to_string()),
                sender: m.sender,
                subject: m.subject,
                body: m.body,
                created_at: m.created_at,
                read: m.read_at.is_some(),
            })
            .collect(),
    ))
}
