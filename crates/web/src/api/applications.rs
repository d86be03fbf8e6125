use super::ApiJson;
use crate::auth::ApiCitizen;
use crate::error::{ApiError, AppError, ErrorBody};

use amtsweg_domain::records::Application;
use amtsweg_domain::{ApplicationId, ApplicationStatus, FormData, Outcome, ServiceId};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    pub outcome: Outcome,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: OffsetDateTime,
    /// Decided by the rules alone.
    pub automated: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    id: String,
    service_id: String,
    service_name: String,
    status: ApplicationStatus,
    /// The form values entered so far.
    #[schema(value_type = Object)]
    data: FormData,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    submitted_at: Option<OffsetDateTime>,
    case_number: Option<String>,
    /// The authority the application was routed to.
    authority: Option<String>,
    decision: Option<DecisionView>,
    /// Status events reported by the authority's specialist procedure.
    events: Vec<StatusEventView>,
    /// Everything that happened to the application and its case, oldest first, with the role
    /// that acted (never a name).
    history: Vec<HistoryEntryView>,
}

/// One entry of a case's history: what happened, when, and who acted.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HistoryEntryView {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
    /// The kind of event, e.g. `decision_issued`, `decided_for_assignee`, `case_viewed`.
    kind: String,
    /// The event in German.
    label: String,
    /// The acting role: `citizen`, `caseworker`, `team_lead`, `system`, `procedure`, …
    actor_role: String,
    /// The acting role in German.
    actor_role_label: String,
    /// The acting person (staff only; never in a citizen's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_name: Option<String>,
}

impl From<amtsweg_domain::records::AuditEvent> for HistoryEntryView {
    fn from(e: amtsweg_domain::records::AuditEvent) -> Self {
        Self {
            at: e.at,
            kind: e.kind.as_str().to_owned(),
            label: e.kind.label().to_owned(),
            actor_role_label: amtsweg_domain::Role::label_of(&e.actor_role).to_owned(),
            actor_role: e.actor_role,
            actor_name: e.actor_name,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusEventView {
    /// `received`, `accepted`, `rejected` or `decided`.
    kind: String,
    note: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: OffsetDateTime,
}

impl From<Application> for ApplicationView {
    fn from(a: Application) -> Self {
        Self {
            id: a.id.to_string(),
            service_id: a.service_id.to_string(),
            service_name: a.service_name,
            status: a.status,
            data: a.data,
            created_at: a.created_at,
            updated_at: a.updated_at,
            submitted_at: a.submitted_at,
            case_number: a.case_number,
            authority: a.authority_name,
            decision: a.decision.map(|d| DecisionView { outcome: d.outcome, reason: d.reason, decided_at: d.decided_at, automated: d.automated }),
            events: Vec::new(),
            history: Vec::new(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    service_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Submitted {
    id: String,
    status: ApplicationStatus,
    case_number: String,
    authority: String,
    /// Present when the rules decided at once (§ 35a VwVfG); the Bescheid is in the mailbox.
    decision: Option<DecisionView>,
    /// The decision rules as they ran on the submission.
    rules: Vec<amtsweg_domain::RuleOutcome>,
    /// Proof that the submission is in the ledger: the entry, its index, a signed checkpoint
    /// and the inclusion proof (check offline with `amtsweg ledger verify-receipt`).
    #[schema(value_type = Option<Object>)]
    receipt: Option<amtsweg_ledger::Receipt>,
}

fn app_id(raw: &str) -> Result<ApplicationId, ApiError> {
    super::parse_id(raw, ApplicationId::parse)
}

/// My applications, newest first.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", security(("bearer" = [])),
    responses((status = 200, body = [ApplicationView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(ApiCitizen(desk): ApiCitizen) -> Result<Json<Vec<ApplicationView>>, ApiError> {
    Ok(Json(desk.applications().await?.into_iter().map(Into::into).collect()))
}

/// Starts an application (a draft) for a service.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", security(("bearer" = [])),
    request_body = NewApplication,
    responses((status = 201, body = ApplicationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    ApiCitizen(desk): ApiCitizen,
    ApiJson(body): ApiJson<NewApplication>,
) -> Result<(StatusCode, Json<ApplicationView>), ApiError> {
    let unknown = || {
        AppError::Invalid(vec![amtsweg_domain::FieldError::new("service_id", "Diese Leistung gibt es nicht.")])
    };
    let service = ServiceId::parse(&body.service_id).ok_or_else(unknown)?;
    let application = desk.start(&service).await.map_err(|e| match e {
        AppError::NotFound => unknown(),
        other => other,
    })?;
    Ok((StatusCode::CREATED, Json(application.into())))
}

/// One of my applications.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Json<ApplicationView>, ApiError> {
    let id = app_id(&id)?;
    let mut view: ApplicationView = desk.application(&id).await?.into();
    view.events = desk.events(&id).await?.into_iter().map(|e| StatusEventView { kind: e.kind, note: e.note, at: e.at }).collect();
    view.history = desk.history(&id).await?.into_iter().map(HistoryEntryView::from).collect();
    Ok(Json(view))
}

/// Replaces the form values of a draft. The body is an object of field id → value (see the
/// service's `form_schema`); `{"data": {...}}` is accepted too.
#[utoipa::path(put, path = "/api/v1/applications/{id}/data", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = Object),
    responses((status = 200, body = ApplicationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_data(
    ApiCitizen(desk): ApiCitizen,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<ApplicationView>, ApiError> {
    let id = app_id(&id)?;
    let serde_json::Value::Object(mut data) = body else {
        return Err(AppError::BadRequest("Bitte senden Sie die Formularwerte als JSON-Objekt.".into()).into());
    };
    if data.len() == 1 {
        if let Some(serde_json::Value::Object(inner)) = data.get("data") {
            let (_, service) = desk.application_with_service(&id).await?;
            if service.form.field_at("data").is_none() {
                data = inner.clone();
            }
        }
    }
    Ok(Json(desk.save(&id, &data).await?.into()))
}

/// Submits a draft: validates it completely and routes it to the responsible authority.
#[utoipa::path(post, path = "/api/v1/applications/{id}/submit", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Submitted), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Json<Submitted>, ApiError> {
    let id = app_id(&id)?;
    let (submission, decision) = desk.submit(&id).await?;
    let receipt = desk.submission_receipt(&submission).await;
    Ok(Json(Submitted {
        id: id.to_string(),
        status: if decision.is_some() { ApplicationStatus::Decided } else { ApplicationStatus::Submitted },
        case_number: submission.case.case_number,
        authority: submission.authority.name,
        decision: decision.map(|d| DecisionView { outcome: d.outcome, reason: d.reason, decided_at: d.decided_at, automated: true }),
        rules: submission.trace.map(|t| t.outcomes).unwrap_or_default(),
        receipt,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    /// `submitted` or `decision_delivered`.
    event: &'static str,
    #[schema(value_type = Object)]
    receipt: amtsweg_ledger::Receipt,
}

/// The ledger receipts of my application: its submission and the delivery of its decision, each
/// with the entry, its index, a signed checkpoint and the inclusion proof (check them offline
/// with `amtsweg ledger verify-receipt`).
#[utoipa::path(get, path = "/api/v1/applications/{id}/receipts", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [ReceiptView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn receipts(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Json<Vec<ReceiptView>>, ApiError> {
    let receipts = desk.receipts(&app_id(&id)?).await?;
    Ok(Json(receipts.into_iter().map(|(event, receipt)| ReceiptView { event, receipt }).collect()))
}

/// Withdraws an application that is not decided yet.
#[utoipa::path(post, path = "/api/v1/applications/{id}/withdraw", tag = "applications", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn withdraw(ApiCitizen(desk): ApiCitizen, Path(id): Path<String>) -> Result<Json<ApplicationView>, ApiError> {
    Ok(Json(desk.withdraw(&app_id(&id)?).await?.into()))
}
