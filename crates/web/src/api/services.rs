use crate::state::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use amtsweg_domain::{Service, ServiceId};
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceSummary {
    id: String,
    name: String,
    summary: String,
    leika_key: Option<String>,
    legal_basis: String,
    /// The topic the portal lists it under (empty: none).
    category: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceDetail {
    #[serde(flatten)]
    summary: ServiceSummary,
    description: String,
    /// The application form as JSON Schema (draft 2020-12): what `PUT …/data` accepts.
    #[schema(value_type = Object)]
    form_schema: serde_json::Value,
    /// The evidence the service needs, each from a register (with consent) or uploaded.
    evidence: Vec<amtsweg_domain::EvidenceRequirement>,
    /// The level of assurance a citizen's login needs to apply (`null`: any login).
    required_level: Option<amtsweg_domain::AssuranceLevel>,
}

fn summary(s: &Service) -> ServiceSummary {
    ServiceSummary {
        id: s.id.to_string(),
        name: s.name.clone(),
        summary: s.summary.clone(),
        leika_key: s.leika_key.clone(),
        legal_basis: s.legal_basis.clone(),
        category: s.category.clone(),
    }
}

/// The services offered (public, no token needed).
#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, body = [ServiceSummary])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ServiceSummary>>, ApiError> {
    Ok(Json(state.app.catalog().services().await?.iter().map(summary).collect()))
}

/// One service with its form as JSON Schema (public).
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services",
    params(("id" = String, Path, description = "Service id")),
    responses((status = 200, body = ServiceDetail), (status = 404, body = ErrorBody)))]
pub async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ServiceDetail>, ApiError> {
    let id = super::parse_id(&id, ServiceId::parse)?;
    let s = state.app.catalog().service(&id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(ServiceDetail { summary: summary(&s), description: s.description.clone(), form_schema: s.form.json_schema(), evidence: s.evidence.clone(), required_level: s.required_level }))
}
