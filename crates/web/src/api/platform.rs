//! The platform operator's API under `/api/v1/platform/`: authorities, responsibilities,
//! services from FIM schemas, and the staff of each authority. The pages under `/betrieb` and
//! the command line do the same through the same desk.

use super::{ApiJson, ApiQuery, parse_id};
use crate::auth::ApiOperator;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::state::AppState;
use amtsweg_app::operator::{AuthorityChanges, AuthorityInput, FimUpload, ServiceChanges, StaffInput};
use amtsweg_domain::{AssuranceLevel, Authority, AuthorityId, Contact, DecisionRules, EvidenceRequirement, ServiceId, UserId};
use axum::Json;
use axum::extract::{FromRequest, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthorityView {
    id: String,
    name: String,
    /// The regional key (ARS), 12 digits.
    ars: String,
    /// The short code in case numbers.
    short_code: String,
    address: String,
    phone: String,
    email: String,
    opening_hours: String,
    letterhead: String,
    active: bool,
    /// Only the person a case is assigned to, or a team lead, may decide it.
    assignee_decides: bool,
}

impl From<Authority> for AuthorityView {
    fn from(a: Authority) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name,
            ars: a.region.to_string(),
            short_code: a.short_code,
            address: a.address,
            phone: a.contact.phone,
            email: a.contact.email,
            opening_hours: a.contact.opening_hours,
            letterhead: a.letterhead,
            active: a.active,
            assignee_decides: a.assignee_decides,
        }
    }
}

/// A new authority. Only `name` and `ars` are required.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthority {
    name: String,
    /// Regional key (ARS): 12 digits, or a prefix at a segment end (2, 3, 5 or 9 digits).
    ars: String,
    /// Short code in case numbers (1–10 of A–Z, 0–9, -); default: from the name.
    short_code: Option<String>,
    /// The id (2–48 of a–z, 0–9, -); default: from the name.
    id: Option<String>,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    opening_hours: String,
    /// The head of the Bescheid; default: the name.
    #[serde(default)]
    letterhead: String,
}

/// Changes to an authority: what is left out stays. `active: false` deactivates it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityPatch {
    name: Option<String>,
    ars: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    opening_hours: Option<String>,
    letterhead: Option<String>,
    active: Option<bool>,
    /// `true`: only the assignee (or a team lead) decides the authority's cases.
    assignee_decides: Option<bool>,
}

/// The authorities on the platform, by name.
#[utoipa::path(get, path = "/api/v1/platform/authorities", tag = "platform", security(("bearer" = [])),
    responses((status = 200, body = [AuthorityView])))]
pub async fn authorities(ApiOperator(desk): ApiOperator) -> Result<Json<Vec<AuthorityView>>, ApiError> {
    Ok(Json(desk.authorities().await?.into_iter().map(AuthorityView::from).collect()))
}

/// Creates an authority; its id is made from the name.
#[utoipa::path(post, path = "/api/v1/platform/authorities", tag = "platform", security(("bearer" = [])), request_body = NewAuthority,
    responses((status = 201, body = AuthorityView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_authority(ApiOperator(desk): ApiOperator, ApiJson(input): ApiJson<NewAuthority>) -> Result<(StatusCode, Json<AuthorityView>), ApiError> {
    let authority = desk
        .create_authority(AuthorityInput {
            name: input.name,
            ars: input.ars,
            short_code: input.short_code,
            id: input.id,
            address: input.address,
            contact: Contact { phone: input.phone, email: input.email, opening_hours: input.opening_hours },
            letterhead: input.letterhead,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(authority.into())))
}

#[utoipa::path(get, path = "/api/v1/platform/authorities/{id}", tag = "platform", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = AuthorityView)))]
pub async fn authority(ApiOperator(desk): ApiOperator, Path(id): Path<String>) -> Result<Json<AuthorityView>, ApiError> {
    let id = parse_id(&id, AuthorityId::parse)?;
    Ok(Json(desk.authority(&id).await?.into()))
}

/// Changes an authority (not its short code: case numbers carry it). Deactivating it ends its
/// staff's access and makes it responsible for nothing new.
#[utoipa::path(patch, path = "/api/v1/platform/authorities/{id}", tag = "platform", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AuthorityPatch,
    responses((status = 200, body = AuthorityView), (status = 422, body = ErrorBody)))]
pub async fn edit_authority(ApiOperator(desk): ApiOperator, Path(id): Path<String>, ApiJson(patch): ApiJson<AuthorityPatch>) -> Result<Json<AuthorityView>, ApiError> {
    let id = parse_id(&id, AuthorityId::parse)?;
    let changes = AuthorityChanges {
        name: patch.name,
        ars: patch.ars,
        address: patch.address,
        phone: patch.phone,
        email: patch.email,
        opening_hours: patch.opening_hours,
        letterhead: patch.letterhead,
        active: patch.active,
        assignee_decides: patch.assignee_decides,
    };
    Ok(Json(desk.edit_authority(&id, changes).await?.into()))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsibilityInput {
    authority_id: String,
    service_id: String,
    /// An ARS prefix at a segment end: Land (2 digits), Regierungsbezirk (3), Kreis (5),
    /// Gemeindeverband (9) or Gemeinde (12).
    region: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResponsibilityView {
    authority_id: String,
    service_id: String,
    /// The region's significant prefix (`14612`).
    region: String,
    /// The region as a 12-digit key.
    ars: String,
    /// Land, Regierungsbezirk, Kreis oder kreisfreie Stadt, Gemeindeverband or Gemeinde.
    level: String,
}

impl From<amtsweg_domain::Responsibility> for ResponsibilityView {
    fn from(r: amtsweg_domain::Responsibility) -> Self {
        Self {
            authority_id: r.authority_id.to_string(),
            service_id: r.service_id.to_string(),
            region: r.region.prefix().to_owned(),
            ars: r.region.to_string(),
            level: r.region.level().to_owned(),
        }
    }
}

/// Every responsibility, by service and region.
#[utoipa::path(get, path = "/api/v1/platform/responsibilities", tag = "platform", security(("bearer" = [])),
    responses((status = 200, body = [ResponsibilityView])))]
pub async fn responsibilities(ApiOperator(desk): ApiOperator) -> Result<Json<Vec<ResponsibilityView>>, ApiError> {
    Ok(Json(desk.responsibilities().await?.into_iter().map(ResponsibilityView::from).collect()))
}

/// Makes an authority responsible for a service in a region. The most specific region wins
/// where several contain a place; a second authority for the same service and region is
/// refused (409).
#[utoipa::path(post, path = "/api/v1/platform/responsibilities", tag = "platform", security(("bearer" = [])), request_body = ResponsibilityInput,
    responses((status = 201, body = ResponsibilityView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_responsibility(
    ApiOperator(desk): ApiOperator,
    ApiJson(input): ApiJson<ResponsibilityInput>,
) -> Result<(StatusCode, Json<ResponsibilityView>), ApiError> {
    let r = desk.add_responsibility(&input.authority_id, &input.service_id, &input.region).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefusedLineView {
    /// The line in the file; the header is line 1.
    line: usize,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportReportView {
    added: usize,
    refused: Vec<RefusedLineView>,
}

/// Imports many responsibilities from CSV (`text/csv`): a header naming `authority_id`,
/// `service_id` and `region`, comma or semicolon. Each line is added on its own; every refused
/// line is reported with its reason.
#[utoipa::path(post, path = "/api/v1/platform/responsibilities/import", tag = "platform", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportView), (status = 400, body = ErrorBody)))]
pub async fn import_responsibilities(ApiOperator(desk): ApiOperator, headers: HeaderMap, body: axum::body::Bytes) -> Result<Json<ImportReportView>, ApiError> {
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(content_type.starts_with("text/csv") || content_type.starts_with("text/plain")) {
        return Err(ApiError::Response(crate::error::api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Bitte senden Sie die Zuständigkeiten als CSV (Content-Type: text/csv).",
        )));
    }
    let text = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest("Die CSV-Datei ist nicht in UTF-8 kodiert.".into()))?;
    let report = desk.import_responsibilities(text).await?;
    Ok(Json(ImportReportView {
        added: report.added,
        refused: report.refused.into_iter().map(|r| RefusedLineView { line: r.line, message: r.message }).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ResolveQuery {
    service_id: String,
    /// The place: a 12-digit ARS (or a prefix).
    ars: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReasonView {
    authority_id: String,
    authority_name: String,
    region: String,
    level: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResolutionView {
    service_id: String,
    ars: String,
    /// The responsible authority; null when none is.
    authority_id: Option<String>,
    /// Why, in German.
    explanation: String,
    /// Every responsibility whose region contains the place, most specific (the one that
    /// applies) first.
    matching: Vec<ReasonView>,
}

/// Who is responsible for a service at a place, and why.
#[utoipa::path(get, path = "/api/v1/platform/responsibilities/resolve", tag = "platform", security(("bearer" = [])),
    params(ResolveQuery), responses((status = 200, body = ResolutionView), (status = 422, body = ErrorBody)))]
pub async fn resolve(ApiOperator(desk): ApiOperator, ApiQuery(q): ApiQuery<ResolveQuery>) -> Result<Json<ResolutionView>, ApiError> {
    let e = desk.explain(&q.service_id, &q.ars).await?;
    let matching: Vec<ReasonView> = e
        .resolution
        .matching
        .iter()
        .zip(&e.authority_names)
        .map(|(r, name)| ReasonView { authority_id: r.authority_id.to_string(), authority_name: name.clone(), region: r.region.prefix().to_owned(), level: r.region.level().to_owned() })
        .collect();
    Ok(Json(ResolutionView {
        service_id: e.service.id.to_string(),
        ars: e.resolution.place.to_string(),
        authority_id: e.resolution.chosen().map(|r| r.authority_id.to_string()),
        explanation: e.text(),
        matching,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceCreated {
    id: String,
    /// `false` when the same schema was imported before (nothing changed).
    created: bool,
}

/// The multipart form of a FIM import (for the document only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FimImportForm {
    /// The FIM schema (XDatenfelder 2 or 3), XML.
    schema: Vec<u8>,
    /// genericode code lists the schema refers to; any number.
    codelist: Vec<Vec<u8>>,
    /// The name citizens see; default: the schema's title.
    name: Option<String>,
    /// Decision rules, JSON.
    rules: Option<String>,
    /// Code list URIs accepted as free text when not given; one per field.
    accept_free_text: Vec<String>,
    /// The topic the portal lists the service under.
    category: Option<String>,
}

/// Imports a FIM schema with its code lists as a service. Each problem of the schema is named
/// (422); the same schema again changes nothing (200).
#[utoipa::path(post, path = "/api/v1/platform/services/fim", tag = "platform", security(("bearer" = [])),
    request_body(content = FimImportForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ServiceCreated), (status = 200, body = ServiceCreated), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_fim(State(state): State<AppState>, ApiOperator(desk): ApiOperator, request: axum::extract::Request) -> Result<(StatusCode, Json<ServiceCreated>), ApiError> {
    let unreadable = || AppError::BadRequest("Der Upload konnte nicht gelesen werden (multipart/form-data mit schema, codelist, name, rules, accept_free_text).".into());
    let mut form = axum::extract::Multipart::from_request(request, &state).await.map_err(|_| unreadable())?;
    let mut upload = FimUpload::default();
    let mut errors = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|_| AppError::BadRequest("Eine Datei ist zu groß oder unvollständig.".into()))?;
        let Ok(text) = String::from_utf8(bytes.to_vec()) else {
            errors.push(amtsweg_domain::FieldError::new(name, "Die Datei ist nicht in UTF-8 kodiert."));
            continue;
        };
        match name.as_str() {
            "schema" => upload.schema = text,
            "codelist" => upload.code_lists.push(text),
            "name" => upload.name = Some(text),
            "rules" => upload.rules = Some(text),
            "category" => upload.category = Some(text),
            "accept_free_text" => upload.accept_free_text.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned)),
            _ => errors.push(amtsweg_domain::FieldError::new(name, "Dieses Feld ist hier nicht vorgesehen.")),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors).into());
    }
    let (id, created) = desk.import_fim(upload).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ServiceCreated { id: id.to_string(), created })))
}

/// A field that is present, also as null: `Some(None)`; absent: `None` (with `default`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a service; what is left out stays.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    name: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    legal_basis: Option<String>,
    /// The topic the portal lists it under.
    category: Option<String>,
    /// `substantiell` or `hoch`; null: any login.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    required_level: Option<Option<AssuranceLevel>>,
    evidence: Option<Vec<EvidenceRequirement>>,
    /// Decision rules including `processing_days` (the processing deadline).
    #[schema(value_type = Object)]
    rules: Option<DecisionRules>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceUpdated {
    id: String,
}

/// Changes a service's texts, its level of assurance, its evidence, its deadline and its
/// decision rules; the rules are checked against its form and evidence (422 names the error).
#[utoipa::path(patch, path = "/api/v1/platform/services/{id}", tag = "platform", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ServicePatch,
    responses((status = 200, body = ServiceUpdated), (status = 422, body = ErrorBody)))]
pub async fn edit_service(ApiOperator(desk): ApiOperator, Path(id): Path<String>, ApiJson(patch): ApiJson<ServicePatch>) -> Result<Json<ServiceUpdated>, ApiError> {
    let id = parse_id(&id, ServiceId::parse)?;
    let changes = ServiceChanges {
        name: patch.name,
        summary: patch.summary,
        description: patch.description,
        legal_basis: patch.legal_basis,
        category: patch.category,
        required_level: patch.required_level,
        evidence: patch.evidence,
        rules: patch.rules,
    };
    let service = desk.edit_service(&id, changes).await?;
    Ok(Json(ServiceUpdated { id: service.id.to_string() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    authority_id: String,
    name: String,
    login: String,
    /// caseworker, team_lead, admin or data_protection.
    role: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffInvited {
    id: String,
    /// The one-time link where they choose a password and set up the second factor; shown
    /// only now.
    invitation_url: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires: OffsetDateTime,
}

/// Invites a colleague of an authority with a role: the answer carries the one-time link
/// (valid 72 hours) where they choose a password and set up the second factor.
#[utoipa::path(post, path = "/api/v1/platform/staff", tag = "platform", security(("bearer" = [])), request_body = NewStaff,
    responses((status = 201, body = StaffInvited), (status = 422, body = ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    ApiOperator(desk): ApiOperator,
    headers: HeaderMap,
    ApiJson(input): ApiJson<NewStaff>,
) -> Result<(StatusCode, Json<StaffInvited>), ApiError> {
    let invitation = desk.invite(StaffInput { authority_id: input.authority_id, name: input.name, login: input.login, role: input.role, id: None }).await?;
    let url = state.invitation_link(&headers, &invitation);
    Ok((StatusCode::CREATED, Json(StaffInvited { id: invitation.user_id.to_string(), invitation_url: url, expires: invitation.expires_at })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StaffQuery {
    authority_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberView {
    id: String,
    name: String,
    role: String,
    login: Option<String>,
    active: bool,
    /// Until when an invitation waits to be taken.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    invitation_until: Option<OffsetDateTime>,
}

/// The staff of an authority.
#[utoipa::path(get, path = "/api/v1/platform/staff", tag = "platform", security(("bearer" = [])),
    params(StaffQuery), responses((status = 200, body = [MemberView])))]
pub async fn staff(ApiOperator(desk): ApiOperator, ApiQuery(q): ApiQuery<StaffQuery>) -> Result<Json<Vec<MemberView>>, ApiError> {
    let id = parse_id(&q.authority_id, AuthorityId::parse)?;
    Ok(Json(
        desk.members(&id)
            .await?
            .into_iter()
            .map(|m| MemberView {
                id: m.user.id.to_string(),
                name: m.user.display_name,
                role: m.user.role.as_str().to_owned(),
                login: m.login,
                active: m.active,
                invitation_until: m.invitation_until,
            })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenIssued {
    /// Shown only now.
    token: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires: OffsetDateTime,
}

/// An API token for a member of staff's integrations (valid 90 days).
#[utoipa::path(post, path = "/api/v1/platform/staff/{id}/tokens", tag = "platform", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 201, body = TokenIssued), (status = 409, body = ErrorBody)))]
pub async fn issue_token(ApiOperator(desk): ApiOperator, Path(id): Path<String>) -> Result<(StatusCode, Json<TokenIssued>), ApiError> {
    let id = parse_id(&id, UserId::parse)?;
    let (token, expires) = desk.issue_token(&id).await?;
    Ok((StatusCode::CREATED, Json(TokenIssued { token, expires })))
}

/// Deactivates a member of staff: sessions end and tokens stop at once.
#[utoipa::path(post, path = "/api/v1/platform/staff/{id}/deactivate", tag = "platform", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204)))]
pub async fn deactivate(ApiOperator(desk): ApiOperator, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, UserId::parse)?;
    desk.deactivate(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets a member's password and second factor: a new one-time link replaces them.
#[utoipa::path(post, path = "/api/v1/platform/staff/{id}/reset", tag = "platform", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 201, body = StaffInvited)))]
pub async fn reset(State(state): State<AppState>, ApiOperator(desk): ApiOperator, headers: HeaderMap, Path(id): Path<String>) -> Result<(StatusCode, Json<StaffInvited>), ApiError> {
    let id = parse_id(&id, UserId::parse)?;
    let invitation = desk.reset_access(&id).await?;
    let url = state.invitation_link(&headers, &invitation);
    Ok((StatusCode::CREATED, Json(StaffInvited { id: id.to_string(), invitation_url: url, expires: invitation.expires_at })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// How many of the latest events (1–1000, default 100).
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventCount {
    action: String,
    outcome: String,
    count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SecurityEventsView {
    /// The last 24 hours, by action and outcome.
    counts: Vec<EventCount>,
    /// The latest events, newest first: ECS documents as the SIEM receives them.
    #[schema(value_type = Vec<Object>)]
    events: Vec<serde_json::Value>,
}

/// The security events: the latest, and the counts of the last 24 hours.
#[utoipa::path(get, path = "/api/v1/platform/security-events", tag = "platform", security(("bearer" = [])),
    params(EventsQuery), responses((status = 200, body = SecurityEventsView)))]
pub async fn security_events(ApiOperator(desk): ApiOperator, ApiQuery(q): ApiQuery<EventsQuery>) -> Result<Json<SecurityEventsView>, ApiError> {
    let (events, counts) = desk.security_events(q.limit.unwrap_or(100)).await?;
    let counts = counts.into_iter().map(|(action, outcome, count)| EventCount { action, outcome, count }).collect();
    Ok(Json(SecurityEventsView { counts, events }))
}
