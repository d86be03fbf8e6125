use super::ApiJson;
use crate::auth::{ApiAdmin, ApiPrivacy};
use crate::error::{ApiError, ErrorBody};
use amtsweg_domain::{DecisionRules, ServiceId};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TransferLogView {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
    register: String,
    evidence_type: String,
    procedure: String,
    purpose: String,
    legal_basis: String,
    idnr_used: bool,
    outcome: String,
    request_hash: String,
}

/// The transfers my authority asked registers for, newest first (data protection officer).
/// No names: the person is not part of this view.
#[utoipa::path(get, path = "/api/v1/privacy/transfers", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = [TransferLogView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn transfers(ApiPrivacy(desk): ApiPrivacy) -> Result<Json<Vec<TransferLogView>>, ApiError> {
    Ok(Json(
        desk.transfers()
            .await?
            .into_iter()
            .map(|t| TransferLogView {
                id: t.id,
                at: t.at,
                register: t.register,
                evidence_type: t.evidence_type,
                procedure: t.procedure,
                purpose: t.purpose,
                legal_basis: t.legal_basis,
                idnr_used: t.idnr_used,
                outcome: t.outcome,
                request_hash: t.request_hash,
            })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditView {
    seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
    kind: String,
    actor_role: String,
    subject_kind: String,
    subject_id: String,
}

/// The recorded events of my authority, newest first (data protection officer): kinds, roles
/// and ids, as the ledger holds them.
#[utoipa::path(get, path = "/api/v1/privacy/audit", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = [AuditView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(ApiPrivacy(desk): ApiPrivacy) -> Result<Json<Vec<AuditView>>, ApiError> {
    Ok(Json(
        desk.audit()
            .await?
            .into_iter()
            .map(|e| AuditView { seq: e.seq, at: e.at, kind: e.kind.as_str().to_owned(), actor_role: e.actor_role, subject_kind: e.subject_kind, subject_id: e.subject_id })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceRulesView {
    service_id: String,
    name: String,
    rules: DecisionRules,
}

/// The services my authority is responsible for, with their decision rules (service admin).
#[utoipa::path(get, path = "/api/v1/admin/services", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [ServiceRulesView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn services(ApiAdmin(desk): ApiAdmin) -> Result<Json<Vec<ServiceRulesView>>, ApiError> {
    Ok(Json(desk.services().await?.into_iter().map(|s| ServiceRulesView { service_id: s.id.to_string(), name: s.name, rules: s.decision }).collect()))
}

/// Replaces a service's decision rules (see docs/rules.md); they are checked against the
/// service's form and evidence first (422 naming the rule).
#[utoipa::path(put, path = "/api/v1/admin/services/{id}/rules", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = DecisionRules,
    responses((status = 200, body = ServiceRulesView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_rules(ApiAdmin(desk): ApiAdmin, Path(id): Path<String>, ApiJson(rules): ApiJson<DecisionRules>) -> Result<Json<ServiceRulesView>, ApiError> {
    let id = super::parse_id(&id, ServiceId::parse)?;
    let s = desk.set_rules(&id, rules).await?;
    Ok(Json(ServiceRulesView { service_id: s.id.to_string(), name: s.name, rules: s.decision }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientView {
    client_id: String,
    name: String,
}

/// The API clients of my authority that are not revoked (service admin).
#[utoipa::path(get, path = "/api/v1/admin/clients", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [ClientView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn clients(ApiAdmin(desk): ApiAdmin) -> Result<Json<Vec<ClientView>>, ApiError> {
    Ok(Json(desk.clients().await?.into_iter().map(|c| ClientView { client_id: c.id, name: c.name }).collect()))
}

/// Revokes an API client of my authority; its tokens stop working at once (service admin).
#[utoipa::path(delete, path = "/api/v1/admin/clients/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_client(ApiAdmin(desk): ApiAdmin, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if id.len() > 64 {
        return Err(crate::error::AppError::NotFound.into());
    }
    desk.revoke_client(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientCreated {
    client_id: String,
    /// Shown once; only its hash is stored.
    client_secret: String,
    name: String,
}

/// A new API client for a specialist procedure of my authority (service admin).
#[utoipa::path(post, path = "/api/v1/admin/clients", tag = "admin", security(("bearer" = [])),
    request_body = NewClient,
    responses((status = 201, body = ClientCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_client(ApiAdmin(desk): ApiAdmin, ApiJson(input): ApiJson<NewClient>) -> Result<(StatusCode, Json<ClientCreated>), ApiError> {
    let (client, secret) = desk.create_client(input.name.as_deref().unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(ClientCreated { client_id: client.id, client_secret: secret, name: client.name })))
}
