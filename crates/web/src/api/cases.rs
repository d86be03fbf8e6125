use super::ApiJson;
use super::applications::DecisionView;
use crate::auth::ApiStaff;
use crate::deciding::StaffDesk;
use crate::error::{ApiError, AppError, ErrorBody};
use amtsweg_domain::{ApplicationStatus, CaseId, FormData, Outcome};
use axum::Json;
use axum::extract::Path;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseSummaryView {
    id: String,
    case_number: String,
    status: ApplicationStatus,
    service_id: String,
    service_name: String,
    applicant_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApplicantView {
    given_name: String,
    family_name: String,
    #[schema(value_type = String, format = Date)]
    date_of_birth: time::Date,
    street: String,
    postal_code: String,
    city: String,
    region_key: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseView {
    id: String,
    case_number: String,
    status: ApplicationStatus,
    application_id: String,
    service_id: String,
    service_name: String,
    #[schema(value_type = Object)]
    data: FormData,
    applicant: Option<ApplicantView>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    decision: Option<DecisionView>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `approved` or `rejected`.
    outcome: Option<String>,
    /// The reasons, shown to the citizen.
    reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionResult {
    case_id: String,
    status: ApplicationStatus,
    outcome: Outcome,
    reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    decided_at: OffsetDateTime,
}

fn case_id(raw: &str) -> Result<CaseId, ApiError> {
    super::parse_id(raw, CaseId::parse)
}

/// The cases of my authority, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [CaseSummaryView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(ApiStaff(desk): ApiStaff) -> Result<Json<Vec<CaseSummaryView>>, ApiError> {
    let cases = desk.inbox().await?;
    Ok(Json(
        cases
            .into_iter()
            .map(|c| CaseSummaryView {
                id: c.id.to_string(),
                case_number: c.case_number,
                status: c.status,
                service_id: c.service_id.to_string(),
                service_name: c.service_name,
                applicant_name: c.applicant_name,
                created_at: c.created_at,
            })
            .collect(),
    ))
}

/// A case file of my authority. Reading it is recorded in the audit trail; a submitted case is
/// put in review.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(ApiStaff(desk): ApiStaff, Path(id): Path<String>) -> Result<Json<CaseView>, ApiError> {
    let c = desk.open(&case_id(&id)?).await?;
    Ok(Json(CaseView {
        id: c.id.to_string(),
        case_number: c.case_number,
        status: c.status,
        application_id: c.application_id.to_string(),
        service_id: c.service.id.to_string(),
        service_name: c.service.name,
        data: c.data,
        applicant: c.applicant.map(|p| ApplicantView {
            given_name: p.given_name,
            family_name: p.family_name,
            date_of_birth: p.date_of_birth,
            street: p.street,
            postal_code: p.postal_code,
            city: p.city,
            region_key: p.region.to_string(),
        }),
        created_at: c.created_at,
        decision: c.decision.map(|d| DecisionView { outcome: d.outcome, reason: d.reason, decided_at: d.decided_at }),
    }))
}

/// Decides a case; the decision is delivered to the citizen's mailbox.
#[utoipa::path(post, path = "/api/v1/cases/{id}/decision", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = DecisionInput,
    responses((status = 200, body = DecisionResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn decide(
    ApiStaff(desk): ApiStaff,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<Json<DecisionResult>, ApiError> {
    let id = case_id(&id)?;
    let (outcome, reason) = StaffDesk::check_decision(input.outcome.as_deref(), input.reason.as_deref())
        .map_err(AppError::Invalid)?;
    let d = desk.decide(&id, outcome, &reason).await?;
    Ok(Json(DecisionResult {
        case_id: d.case_id.to_string(),
        status: ApplicationStatus::Decided,
        outcome: d.outcome,
        reason: d.reason,
        decided_at: d.decided_at,
    }))
}
