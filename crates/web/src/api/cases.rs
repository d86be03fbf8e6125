use super::ApiJson;
use super::applications::{DecisionView, HistoryEntryView};
use crate::auth::{ApiLead, ApiStaff};
use amtsweg_app::staff::StaffDesk;
use crate::error::{ApiError, AppError, ErrorBody};
use amtsweg_domain::records::{AssigneeFilter, CaseFilter, CaseSort, InfoRequest, Memo};
use amtsweg_domain::{ApplicationStatus, CaseId, FormData, Outcome, RuleOutcome, ServiceId, UserId};
use axum::Json;
use axum::extract::Path;
use super::ApiQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
    /// Who works on the case (user id), if anyone.
    assignee: Option<String>,
    assignee_name: Option<String>,
    /// The deadline.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    due_at: Option<OffsetDateTime>,
    /// A question to the citizen awaits an answer.
    open_question: bool,
}

impl From<amtsweg_domain::records::CaseSummary> for CaseSummaryView {
    fn from(c: amtsweg_domain::records::CaseSummary) -> Self {
        Self {
            id: c.id.to_string(),
            case_number: c.case_number,
            status: c.status,
            service_id: c.service_id.to_string(),
            service_name: c.service_name,
            applicant_name: c.applicant_name,
            created_at: c.created_at,
            assignee: c.assignee_id.map(|u| u.to_string()),
            assignee_name: c.assignee_name,
            due_at: c.due_at,
            open_question: c.open_question,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QuestionView {
    id: String,
    question: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    asked_at: OffsetDateTime,
    answer: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    answered_at: Option<OffsetDateTime>,
}

impl From<InfoRequest> for QuestionView {
    fn from(q: InfoRequest) -> Self {
        Self { id: q.id, question: q.question, asked_at: q.asked_at, answer: q.answer, answered_at: q.answered_at }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemoView {
    id: String,
    author: String,
    text: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<Memo> for MemoView {
    fn from(m: Memo) -> Self {
        Self { id: m.id, author: m.author_name, text: m.body, created_at: m.created_at }
    }
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
    assignee: Option<String>,
    assignee_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    due_at: Option<OffsetDateTime>,
    /// The decision rules as they ran on submission: each with its result and explanation.
    rules: Vec<RuleOutcome>,
    /// Whether the rules allowed a decision without a person.
    automation_allowed: bool,
    questions: Vec<QuestionView>,
    memos: Vec<MemoView>,
    /// Where the Bescheid (PDF) is, once decided.
    bescheid_url: Option<String>,
    /// Everything recorded about the case, oldest first, each with the acting person and role;
    /// a decision by someone other than the assignee is followed by `decided_for_assignee`.
    history: Vec<HistoryEntryView>,
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
    /// The Bescheid as PDF/A.
    bescheid_url: String,
}

fn case_id(raw: &str) -> Result<CaseId, ApiError> {
    super::parse_id(raw, CaseId::parse)
}

/// Reads the inbox filter from the query string: `status`, `service`, `assignee` (`me`, `none`
/// or a user id), `overdue` (`true`), `sort` (`newest`, `oldest`, `deadline`).
pub fn case_filter(q: &HashMap<String, String>, me: &UserId) -> Result<CaseFilter, AppError> {
    let bad = |field: &str, message: &str| AppError::Invalid(vec![amtsweg_domain::FieldError::new(field, message)]);
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = match get("status") {
        Some(s) => Some(ApplicationStatus::parse(s).ok_or_else(|| bad("status", "Unbekannter Status."))?),
        None => None,
    };
    let service = match get("service") {
        Some(s) => Some(ServiceId::parse(s).ok_or_else(|| bad("service", "Unbekannte Leistung."))?),
        None => None,
    };
    let assignee = match get("assignee") {
        None => None,
        Some("me") => Some(AssigneeFilter::User(me.clone())),
        Some("none") => Some(AssigneeFilter::Nobody),
        Some(u) => Some(AssigneeFilter::User(UserId::parse(u).ok_or_else(|| bad("assignee", "Unbekannte Person."))?)),
    };
    let overdue = match get("overdue") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad("overdue", "Bitte „true“ oder „false“.")),
    };
    let sort = match get("sort") {
        None | Some("newest") => CaseSort::Newest,
        Some("oldest") => CaseSort::Oldest,
        Some("deadline") => CaseSort::Deadline,
        Some(_) => return Err(bad("sort", "Sortierung „newest“, „oldest“ oder „deadline“.")),
    };
    Ok(CaseFilter { status, service, assignee, overdue, sort, limit: Some(500) })
}

/// The cases of my authority (at most 500), filtered and sorted.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])),
    params(("status" = Option<String>, Query, description = "draft, submitted, in_review, decided, withdrawn"),
           ("service" = Option<String>, Query), ("assignee" = Option<String>, Query, description = "me, none or a user id"),
           ("overdue" = Option<bool>, Query), ("sort" = Option<String>, Query, description = "newest, oldest, deadline")),
    responses((status = 200, body = [CaseSummaryView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(ApiStaff(desk): ApiStaff, ApiQuery(q): ApiQuery<HashMap<String, String>>) -> Result<Json<Vec<CaseSummaryView>>, ApiError> {
    let filter = case_filter(&q, desk.user_id())?;
    Ok(Json(desk.inbox(&filter).await?.into_iter().map(CaseSummaryView::from).collect()))
}

/// A case file of my authority. Reading it is recorded in the audit trail and changes nothing
/// else: a submitted case goes into review with the first action on it (claim, assignment,
/// question or memo).
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn show(ApiStaff(desk): ApiStaff, Path(id): Path<String>) -> Result<Json<CaseView>, ApiError> {
    let id = case_id(&id)?;
    let c = desk.open(&id).await?;
    let questions = desk.questions(&id).await?.into_iter().map(QuestionView::from).collect();
    let memos = desk.memos(&id).await?.into_iter().map(MemoView::from).collect();
    let history = desk.history(&id).await?.into_iter().map(HistoryEntryView::from).collect();
    let decided = c.decision.is_some();
    let (rules, automation_allowed) = c.rule_trace.map(|t| (t.outcomes, t.automation_allowed)).unwrap_or_default();
    Ok(Json(CaseView {
        assignee: c.assignee_id.map(|u| u.to_string()),
        assignee_name: c.assignee_name,
        due_at: c.due_at,
        rules,
        automation_allowed,
        questions,
        memos,
        history,
        bescheid_url: decided.then(|| format!("/api/v1/cases/{id}/bescheid")),
        id: c.id.to_string(),
        case_number: c.case_number,
        status: c.status,
        application_id: c.application_id.to_string(),
        service_id: c.service.id.to_string(),
        service_name: c.service.name.clone(),
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
        decision: c.decision.map(|d| DecisionView { outcome: d.outcome, reason: d.reason, decided_at: d.decided_at, automated: d.automated }),
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
        bescheid_url: format!("/api/v1/cases/{id}/bescheid"),
        case_id: d.case_id.to_string(),
        status: ApplicationStatus::Decided,
        outcome: d.outcome,
        reason: d.reason,
        decided_at: d.decided_at,
    }))
}

/// Takes an unassigned case (409 when someone else has it).
#[utoipa::path(post, path = "/api/v1/cases/{id}/claim", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn claim(ApiStaff(desk): ApiStaff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    desk.claim(&case_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives back a case of mine.
#[utoipa::path(post, path = "/api/v1/cases/{id}/release", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn release(ApiStaff(desk): ApiStaff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    desk.release(&case_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssigneeInput {
    /// A caseworker or team lead of the authority; `null` takes the case back.
    user_id: Option<String>,
}

/// Assigns a case to a member of staff (team leads only).
#[utoipa::path(put, path = "/api/v1/cases/{id}/assignee", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AssigneeInput,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign(ApiLead(lead): ApiLead, Path(id): Path<String>, ApiJson(input): ApiJson<AssigneeInput>) -> Result<StatusCode, ApiError> {
    let id = case_id(&id)?;
    let to = match input.user_id.as_deref() {
        Some(u) => Some(UserId::parse(u).ok_or(AppError::NotFound)?),
        None => None,
    };
    lead.assign(&id, to.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    question: Option<String>,
}

/// Asks the citizen for more information; the question arrives in the citizen's mailbox and
/// the answer returns to the case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/questions", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = QuestionInput,
    responses((status = 201, body = QuestionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ask(ApiStaff(desk): ApiStaff, Path(id): Path<String>, ApiJson(input): ApiJson<QuestionInput>) -> Result<(StatusCode, Json<QuestionView>), ApiError> {
    let q = desk.ask(&case_id(&id)?, input.question.as_deref().unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(q.into())))
}

/// A structured Vermerk draft from the case file and the rule trace; every statement cites its
/// sources. With `rephrase=true` and a configured self-hosted model, the model rephrases it and
/// the citations are checked to still point at real sources (else the plain draft comes back
/// with a `notice`). Nothing is saved.
#[utoipa::path(post, path = "/api/v1/cases/{id}/memo-draft", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path), ("rephrase" = Option<bool>, Query)),
    responses((status = 200, body = amtsweg_app::memo::MemoDraft), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn memo_draft(
    ApiStaff(desk): ApiStaff,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Json<amtsweg_app::memo::MemoDraft>, ApiError> {
    let id = case_id(&id)?;
    let c = desk.open(&id).await?;
    let evidence = desk.evidence(&id).await?;
    let rephrase = q.get("rephrase").is_some_and(|v| v == "true");
    Ok(Json(desk.draft_memo(&c, &evidence, rephrase).await))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoInput {
    text: Option<String>,
}

/// Saves a Vermerk to the case file.
#[utoipa::path(post, path = "/api/v1/cases/{id}/memos", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = MemoInput,
    responses((status = 201, body = MemoView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_memo(ApiStaff(desk): ApiStaff, Path(id): Path<String>, ApiJson(input): ApiJson<MemoInput>) -> Result<(StatusCode, Json<MemoView>), ApiError> {
    let m = desk.save_memo(&case_id(&id)?, input.text.as_deref().unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// The Bescheid of a decided case as PDF/A (staff of the case's authority only).
#[utoipa::path(get, path = "/api/v1/cases/{id}/bescheid", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn bescheid(ApiStaff(desk): ApiStaff, Path(id): Path<String>) -> Result<Response, ApiError> {
    let d = desk.bescheid(&case_id(&id)?).await?.ok_or(AppError::NotFound)?;
    Ok(pdf_response(d))
}

/// An uploaded document of a case (staff of the case's authority); the read is recorded.
#[utoipa::path(get, path = "/api/v1/cases/{id}/evidence/{evidence_id}", tag = "cases", security(("bearer" = [])),
    params(("id" = String, Path), ("evidence_id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn uploaded(ApiStaff(desk): ApiStaff, Path((id, evidence)): Path<(String, String)>) -> Result<Response, ApiError> {
    let (media_type, bytes) = desk.uploaded(&case_id(&id)?, &evidence).await?;
    Ok(file_response(&media_type, bytes, &format!("nachweis-{evidence}")))
}

/// A file as a download that the browser does not try to interpret.
pub fn file_response(media_type: &str, bytes: Vec<u8>, name: &str) -> Response {
    use axum::http::header;
    let extension = match media_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "bin",
    };
    let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}.{extension}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// A stored document (the Bescheid) as a download.
pub fn pdf_response(d: amtsweg_domain::records::Document) -> Response {
    file_response(&d.media_type, d.content, &format!("{}-{}", d.kind, d.case_id))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadTimeView {
    service_id: String,
    service_name: String,
    decided: usize,
    automated: usize,
    /// Median time from submission to decision, seconds.
    median_seconds: Option<f64>,
    /// 90th percentile, seconds.
    p90_seconds: Option<f64>,
    open: usize,
    overdue: usize,
}

/// Lead times and backlog per service of my authority (team leads only).
#[utoipa::path(get, path = "/api/v1/lead-times", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [LeadTimeView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn lead_times(ApiLead(lead): ApiLead) -> Result<Json<Vec<LeadTimeView>>, ApiError> {
    Ok(Json(
        amtsweg_app::casework::lead_times(&lead.timings().await?, OffsetDateTime::now_utc())
            .into_iter()
            .map(|l| LeadTimeView {
                service_id: l.service_id,
                service_name: l.service_name,
                decided: l.decided,
                automated: l.automated,
                median_seconds: l.median_seconds,
                p90_seconds: l.p90_seconds,
                open: l.open,
                overdue: l.overdue,
            })
            .collect(),
    ))
}
