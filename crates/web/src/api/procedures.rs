//! The interface for specialist procedures (Fachverfahren) of one authority, in the manner of
//! FIT-Connect: an API client gets an access token with its client credentials (OAuth 2.0
//! client-credentials grant; the secret is stored as a hash), pulls new submissions of its
//! authority, fetches one with its data and evidence, and reports status events that the
//! citizen sees. An event carries an `Idempotency-Key`: a retry returns the stored event.

use super::ApiJson;
use crate::state::AppState;
pub use crate::auth::ApiProcedure;
use crate::error::{ApiError, AppError, ErrorBody, api_error};
use amtsweg_app::procedures::{TOKEN_SECONDS, TokenRefused};
use amtsweg_domain::{ApplicationStatus, CaseId, FormData, RuleOutcome};
use axum::Json;
use axum::extract::{Path, State};
use super::ApiQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Other parameters (e.g. `scope`) are ignored, as OAuth 2.0 servers do.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    expires_in: i64,
}

/// An access token for a specialist procedure (OAuth 2.0 client credentials). The body is
/// form-encoded (`grant_type=client_credentials&client_id=…&client_secret=…`) or JSON.
#[utoipa::path(post, path = "/api/v1/procedures/token", tag = "procedures",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let json = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    let request: TokenRequest = if json {
        serde_json::from_slice(&body).map_err(|_| AppError::BadRequest("Die Anfrage ist kein gültiges JSON.".into()))?
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|_| AppError::BadRequest("Die Anfrage ist nicht form-kodiert lesbar.".into()))?
    };
    if request.grant_type.as_deref() != Some("client_credentials") {
        return Ok(api_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Nur „client_credentials“ wird unterstützt."));
    }
    let (Some(id), Some(secret)) = (request.client_id, request.client_secret) else {
        return Ok(api_error(StatusCode::UNAUTHORIZED, "invalid_client", "Kennung oder Geheimnis des Clients fehlt."));
    };
    let token = match state.app.procedures().issue_token(&id, &secret).await {
        Ok(token) => token,
        Err(TokenRefused::InvalidClient) => {
            return Ok(api_error(StatusCode::UNAUTHORIZED, "invalid_client", "Kennung oder Geheimnis des Clients ist falsch."));
        }
        Err(TokenRefused::App(e)) => return Err(e.into()),
    };
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(TokenResponse { access_token: token, token_type: "Bearer", expires_in: TOKEN_SECONDS })).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmissionSummary {
    id: String,
    case_number: String,
    service_id: String,
    service_name: String,
    status: ApplicationStatus,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    submitted_at: OffsetDateTime,
    url: String,
}

/// New submissions of my authority that I have not yet confirmed with a `received` event,
/// oldest first (`limit` 1–100, default 50).
#[utoipa::path(get, path = "/api/v1/procedures/submissions", tag = "procedures", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query)),
    responses((status = 200, body = [SubmissionSummary]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submissions(ApiProcedure(desk): ApiProcedure, ApiQuery(q): ApiQuery<HashMap<String, String>>) -> Result<Json<Vec<SubmissionSummary>>, ApiError> {
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| AppError::Invalid(vec![amtsweg_domain::FieldError::new("limit", "Bitte eine Zahl von 1 bis 100.")]))?,
    };
    let cases = desk.new_submissions(limit).await?;
    Ok(Json(
        cases
            .into_iter()
            .map(|c| SubmissionSummary {
                url: format!("/api/v1/procedures/submissions/{}", c.id),
                id: c.id.to_string(),
                case_number: c.case_number,
                service_id: c.service_id.to_string(),
                service_name: c.service_name,
                status: c.status,
                submitted_at: c.created_at,
            })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EvidenceView {
    #[serde(rename = "type")]
    evidence_type: String,
    /// `register` or `upload`.
    source: String,
    register: Option<String>,
    media_type: String,
    /// The register's evidence (JSON), for evidence from a register.
    #[schema(value_type = Option<Object>)]
    document: Option<serde_json::Value>,
    /// The uploaded file, base64, for an upload.
    content_base64: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmissionView {
    id: String,
    case_number: String,
    service_id: String,
    service_name: String,
    status: ApplicationStatus,
    #[schema(value_type = Object)]
    data: FormData,
    #[schema(value_type = Option<Object>)]
    applicant: Option<serde_json::Value>,
    evidence: Vec<EvidenceView>,
    rules: Vec<RuleOutcome>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    submitted_at: OffsetDateTime,
}

/// One submission of my authority with its data and evidence. The read is recorded.
#[utoipa::path(get, path = "/api/v1/procedures/submissions/{id}", tag = "procedures", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = SubmissionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn submission(ApiProcedure(desk): ApiProcedure, Path(id): Path<String>) -> Result<Json<SubmissionView>, ApiError> {
    let id = super::parse_id(&id, CaseId::parse)?;
    let (c, evidence) = desk.submission(&id).await?;
    let evidence = evidence
        .into_iter()
        .map(|delivered| {
            let e = delivered.record;
            let upload = e.source == "upload";
            EvidenceView {
                document: (!upload).then(|| serde_json::from_str(&e.document).unwrap_or(serde_json::Value::Null)),
                content_base64: delivered.upload.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                evidence_type: e.evidence_type,
                source: e.source,
                register: e.register,
                media_type: e.media_type,
            }
        })
        .collect();
    Ok(Json(SubmissionView {
        id: c.id.to_string(),
        case_number: c.case_number,
        service_id: c.service.id.to_string(),
        service_name: c.service.name.clone(),
        status: c.status,
        data: c.data,
        applicant: c.applicant.map(|p| {
            serde_json::json!({
                "given_name": p.given_name, "family_name": p.family_name, "date_of_birth": p.date_of_birth.to_string(),
                "street": p.street, "postal_code": p.postal_code, "city": p.city, "region_key": p.region.to_string(),
            })
        }),
        evidence,
        rules: c.rule_trace.map(|t| t.outcomes).unwrap_or_default(),
        submitted_at: c.created_at,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// `received`, `accepted`, `rejected` or `decided`.
    kind: Option<String>,
    /// A note for the citizen, in German (at most 2000 characters).
    note: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    id: String,
    kind: String,
    note: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
}


/// Reports a status event the citizen sees. Needs an `Idempotency-Key` header: the same key
/// again returns the stored event (200) instead of a second one (201); the same key for
/// another event is refused (409).
#[utoipa::path(post, path = "/api/v1/procedures/submissions/{id}/events", tag = "procedures", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = String, Header)), request_body = EventInput,
    responses((status = 201, body = EventView), (status = 200, body = EventView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn event(
    ApiProcedure(desk): ApiProcedure,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<EventInput>,
) -> Result<(StatusCode, Json<EventView>), ApiError> {
    let id = super::parse_id(&id, CaseId::parse)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| AppError::BadRequest("Bitte senden Sie einen Idempotency-Key (1 bis 200 Zeichen).".into()))?;
    let kind = input.kind.as_deref().unwrap_or_default();
    let note = input.note.as_deref().unwrap_or_default();
    let (e, new) = desk.report(&id, key, kind, note).await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(EventView { id: e.id, kind: e.kind, note: e.note, at: e.at })))
}
