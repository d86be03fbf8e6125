use super::ApiJson;
use crate::state::AppState;
use crate::auth::ApiCitizen;
use crate::error::{ApiError, ErrorBody};
use amtsweg_app::evidence::Fetched;
use amtsweg_domain::ApplicationId;
use amtsweg_domain::records::{EvidenceRecord, Transfer};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceInput {
    /// The evidence type, as the service lists it.
    #[serde(rename = "type")]
    evidence_type: String,
    /// `register` (fetched with consent) or `upload`.
    source: String,
    /// The citizen's explicit consent to the register query; without it nothing is fetched.
    consent: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EvidenceView {
    id: String,
    #[serde(rename = "type")]
    evidence_type: String,
    source: String,
    status: String,
    register: Option<String>,
    media_type: String,
    /// What the register confirmed (JSON), for the citizen to see; for uploads `null` (the
    /// document is stored encrypted).
    #[schema(value_type = Object)]
    content: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<EvidenceRecord> for EvidenceView {
    fn from(e: EvidenceRecord) -> Self {
        let content = if e.source == "upload" { serde_json::Value::Null } else { serde_json::from_str(&e.document).unwrap_or(serde_json::Value::Null) };
        Self {
            id: e.id,
            evidence_type: e.evidence_type,
            source: e.source,
            status: e.status,
            register: e.register,
            content,
            media_type: e.media_type,
            created_at: e.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransferView {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
    authority: String,
    register: String,
    evidence_type: String,
    procedure: String,
    purpose: String,
    legal_basis: String,
    idnr_used: bool,
    consent: String,
    outcome: String,
    request_hash: String,
    /// The index of this transfer's entry in the ledger, once integrated.
    ledger_index: Option<u64>,
}

impl From<Transfer> for TransferView {
    fn from(t: Transfer) -> Self {
        Self {
            id: t.id,
            at: t.at,
            authority: t.authority_name,
            register: t.register,
            evidence_type: t.evidence_type,
            procedure: t.procedure,
            purpose: t.purpose,
            legal_basis: t.legal_basis,
            idnr_used: t.idnr_used,
            consent: t.consent_ref,
            outcome: t.outcome,
            request_hash: t.request_hash,
            ledger_index: None,
        }
    }
}

fn app_id(raw: &str) -> Result<ApplicationId, ApiError> {
    super::parse_id(raw, ApplicationId::parse)
}

/// Fetches a piece of evidence from its register, with the citizen's explicit consent
/// (`{"type", "source": "register", "consent": true}`), or takes an upload instead
/// (multipart/form-data with `type` and `file`: PDF, PNG or JPEG, at most 5 MiB). Every
/// exchange with a register is logged in the transfer log (`GET /api/v1/me/transfers`).
#[utoipa::path(post, path = "/api/v1/applications/{id}/evidence", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = EvidenceInput,
    responses((status = 201, body = EvidenceView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = PreviewRequired), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn fetch(
    State(state): State<AppState>,
    ApiCitizen(desk): ApiCitizen,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, ApiError> {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    let id = app_id(&id)?;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let mut form = axum::extract::Multipart::from_request(request, &state)
            .await
            .map_err(|_| crate::error::AppError::BadRequest("Der Upload konnte nicht gelesen werden (multipart/form-data).".into()))?;
        let (mut evidence_type, mut file) = (String::new(), None::<Vec<u8>>);
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|_| crate::error::AppError::BadRequest("Der Upload konnte nicht gelesen werden (multipart/form-data).".into()))?
        {
            match field.name().unwrap_or_default() {
                "type" => evidence_type = field.text().await.unwrap_or_default(),
                "file" => {
                    file = Some(
                        field
                            .bytes()
                            .await
                            .map_err(|_| crate::error::AppError::BadRequest("Die Datei ist zu groß oder unvollständig.".into()))?
                            .to_vec(),
                    )
                }
                _ => {}
            }
        }
        let record = desk.upload_evidence(&id, &evidence_type, file.as_deref().unwrap_or_default()).await?;
        return Ok((StatusCode::CREATED, Json(EvidenceView::from(record))).into_response());
    }
    let ApiJson(input) = ApiJson::<EvidenceInput>::from_request(request, &state).await.map_err(|r| ApiError::Response(r))?;
    match desk.fetch_evidence(&id, &input.evidence_type, &input.source, input.consent).await? {
        Fetched::Attached(record) => Ok((StatusCode::CREATED, Json(EvidenceView::from(record))).into_response()),
        Fetched::Preview(record) => {
            let view = EvidenceView::from(record);
            let body = PreviewRequired {
                error: "preview_required".into(),
                message: "Das Register möchte, dass Sie den Nachweis zuerst ansehen. Bitte übernehmen oder verwerfen Sie ihn.".into(),
                fields: Vec::new(),
                evidence_id: view.id.clone(),
                preview: view.content,
            };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

/// The answer when a register asks for a preview: the evidence is held until the citizen
/// accepts or discards it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreviewRequired {
    error: String,
    message: String,
    fields: Vec<amtsweg_domain::FieldError>,
    evidence_id: String,
    /// What the register would give, for the citizen to see.
    #[schema(value_type = Object)]
    preview: serde_json::Value,
}

/// Accepts evidence held for preview: it is attached to the application.
#[utoipa::path(post, path = "/api/v1/applications/{id}/evidence/{evidence_id}/accept", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path), ("evidence_id" = String, Path)),
    responses((status = 200, body = EvidenceView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn accept(ApiCitizen(desk): ApiCitizen, Path((id, evidence)): Path<(String, String)>) -> Result<Json<EvidenceView>, ApiError> {
    Ok(Json(desk.decide_preview(&app_id(&id)?, &evidence, true).await?.into()))
}

/// Discards evidence held for preview: it is not attached and its content is forgotten.
#[utoipa::path(post, path = "/api/v1/applications/{id}/evidence/{evidence_id}/discard", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path), ("evidence_id" = String, Path)),
    responses((status = 200, body = EvidenceView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn discard(ApiCitizen(desk): ApiCitizen, Path((id, evidence)): Path<(String, String)>) -> Result<Json<EvidenceView>, ApiError> {
    Ok(Json(desk.decide_preview(&app_id(&id)?, &evidence, false).await?.into()))
}

/// The evidence attached to one of my applications.
#[utoipa::path(get, path = "/api/v1/applications/{id}/evidence", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [EvidenceView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Json<Vec<EvidenceView>>, ApiError> {
    let id = app_id(&id)?;
    desk.application(&id).await?;
    Ok(Json(desk.evidence(&id).await?.into_iter().map(Into::into).collect()))
}

/// Every exchange with a register about me (Datenschutzcockpit), newest first.
#[utoipa::path(get, path = "/api/v1/me/transfers", tag = "mailbox", security(("bearer" = [])),
    responses((status = 200, body = [TransferView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn transfers(ApiCitizen(desk): ApiCitizen) -> Result<Json<Vec<TransferView>>, ApiError> {
    let transfers = desk.transfers_in_ledger().await?;
    Ok(Json(transfers.into_iter().map(|(t, index)| TransferView { ledger_index: index, ..t.into() }).collect()))
}

/// The ledger receipt of one of my transfers: the entry, its index, a signed checkpoint and the
/// inclusion proof, to check offline with the log's key.
#[utoipa::path(get, path = "/api/v1/me/transfers/{id}/receipt", tag = "mailbox", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn transfer_receipt(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Json<amtsweg_ledger::Receipt>, ApiError> {
    Ok(Json(desk.transfer_receipt(&id).await?))
}
