//! The caseworker workspace: the inbox of the caseworker's own authority, the case file and the
//! decision, which is delivered to the citizen's mailbox.

use crate::state::AppState;
use crate::pages::PageForm;
use crate::auth::{PageStaff, check_csrf};
use amtsweg_app::staff::StaffDesk;
use crate::error::{AppError, PageError};
use crate::forms::{self, AnswerView, PageAnswers};
use crate::pages::{Layout, date, date_time, render};
use amtsweg_domain::form::format_date_german;
use amtsweg_domain::{ApplicationStatus, CaseId, FieldError, RuleResult, UserId};
use askama::Template;
use axum::extract::{Path, Query, State};
use std::collections::HashMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/arbeitsplatz", get(inbox))
        .route("/arbeitsplatz/kennzahlen", get(lead_times))
        .route("/arbeitsplatz/anfragen", get(inquiries))
        .route("/arbeitsplatz/anfragen/{id}/antwort", post(answer_inquiry))
        .route("/arbeitsplatz/vorgaenge/{id}", get(case))
        .route("/arbeitsplatz/vorgaenge/{id}/entscheidung", post(decide))
        .route("/arbeitsplatz/vorgaenge/{id}/uebernehmen", post(claim))
        .route("/arbeitsplatz/vorgaenge/{id}/zurueckgeben", post(release))
        .route("/arbeitsplatz/vorgaenge/{id}/zuweisen", post(assign))
        .route("/arbeitsplatz/vorgaenge/{id}/rueckfrage", post(ask))
        .route("/arbeitsplatz/vorgaenge/{id}/vermerk", get(memo_draft).post(save_memo))
        .route("/arbeitsplatz/vorgaenge/{id}/bescheid.pdf", get(bescheid))
        .route("/arbeitsplatz/vorgaenge/{id}/nachweise/{evidence}", get(uploaded))
}

struct CaseRow {
    id: String,
    case_number: String,
    service_name: String,
    applicant: String,
    status: &'static str,
    received: String,
    due: String,
    overdue: bool,
    assignee: String,
    open_question: bool,
}

#[derive(Template)]
#[template(path = "workspace/inbox.html")]
struct InboxPage {
    layout: Layout,
    authority: String,
    is_lead: bool,
    cases: Vec<CaseRow>,
    errors: Vec<FieldError>,
    statuses: Vec<(&'static str, &'static str)>,
    services: Vec<(String, String)>,
    colleagues: Vec<(String, String)>,
    status: String,
    service: String,
    assignee: String,
    sort: String,
    overdue: bool,
    /// Reports of the Mängelmelder of the member's teams past their deadline.
    overdue_reports: usize,
}

async fn inbox(State(state): State<AppState>, staff: PageStaff, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let (filter, errors) = match crate::api::case_filter(&q, staff.desk.user_id()) {
        Ok(f) => (f, Vec::new()),
        Err(AppError::Invalid(errors)) => (Default::default(), errors),
        Err(e) => return Err(e.into()),
    };
    let now = time::OffsetDateTime::now_utc();
    let cases = staff
        .desk
        .inbox(&filter)
        .await?
        .into_iter()
        .map(|c| CaseRow {
            id: c.id.to_string(),
            case_number: c.case_number,
            service_name: c.service_name,
            applicant: c.applicant_name,
            status: c.status.label(),
            received: date(c.created_at),
            due: c.due_at.map(date).unwrap_or_else(|| "–".into()),
            overdue: c.due_at.is_some_and(|d| d < now) && matches!(c.status, ApplicationStatus::Submitted | ApplicationStatus::InReview),
            assignee: c.assignee_name.unwrap_or_else(|| "nicht zugewiesen".into()),
            open_question: c.open_question,
        })
        .collect();
    let services = state.app.catalog().services().await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    let colleagues = staff.desk.colleagues().await?.into_iter().map(|u| (u.id.to_string(), u.display_name)).collect();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let overdue_reports = match amtsweg_app::reports::work::ReportDesk::new(&state.app, &staff.session.user).await.map_err(crate::maengel::report_error)? {
        Some(desk) => desk.overdue().await.map_err(crate::maengel::report_error)?,
        None => 0,
    };
    let page = InboxPage {
        overdue_reports,
        layout: Layout::new("Posteingang", Some(&staff.session)),
        authority: staff.desk.authority_name().await?,
        is_lead: staff.desk.lead().is_some(),
        cases,
        statuses: ApplicationStatus::ALL.iter().filter(|s| **s != ApplicationStatus::Draft).map(|s| (s.as_str(), s.label())).collect(),
        services,
        colleagues,
        status: get("status"),
        service: get("service"),
        assignee: get("assignee"),
        sort: q.get("sort").cloned().unwrap_or_else(|| "newest".into()),
        overdue: get("overdue") == "true",
        errors,
    };
    Ok(render(if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }, &page))
}

#[derive(Template)]
#[template(path = "workspace/lead_times.html")]
struct LeadTimesPage {
    layout: Layout,
    authority: String,
    rows: Vec<(String, usize, usize, String, String, usize, usize)>,
}

/// A duration in German words, rounded: seconds, minutes, hours or days.
fn duration(secs: Option<f64>) -> String {
    match secs {
        None => "–".into(),
        Some(s) if s < 120.0 => format!("{} s", s.round()),
        Some(s) if s < 7200.0 => format!("{} min", (s / 60.0).round()),
        Some(s) if s < 172_800.0 => format!("{} h", (s / 3600.0).round()),
        Some(s) => format!("{} Tage", (s / 86_400.0).round()),
    }
}

struct InquiryRow {
    id: String,
    from: String,
    received: String,
    topic: Option<String>,
    question: String,
    /// The answer given, with when.
    answer: Option<(String, String)>,
    /// The answer being written, and what is wrong with it.
    draft: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "workspace/inquiries.html")]
struct InquiriesPage {
    layout: Layout,
    authority: String,
    rows: Vec<InquiryRow>,
}

async fn inquiries_page(staff: &PageStaff, failed: Option<(&str, String, String)>) -> Result<InquiriesPage, PageError> {
    let rows = staff
        .desk
        .inquiries()
        .await?
        .into_iter()
        .map(|q| {
            let (draft, error) = match &failed {
                Some((id, draft, error)) if *id == q.id => (draft.clone(), Some(error.clone())),
                _ => (String::new(), None),
            };
            InquiryRow {
                answer: q.answer.zip(q.answered_at.map(date_time)),
                id: q.id,
                from: q.citizen_name,
                received: date_time(q.created_at),
                topic: q.topic,
                question: q.question,
                draft,
                error,
            }
        })
        .collect();
    Ok(InquiriesPage { layout: Layout::new("Fragen aus dem Assistenten", Some(&staff.session)), authority: staff.desk.authority_name().await?, rows })
}

async fn inquiries(staff: PageStaff) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, &inquiries_page(&staff, None).await?))
}

async fn answer_inquiry(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let text = field(&form, "answer").unwrap_or_default().to_owned();
    match staff.desk.answer_inquiry(&id, &text).await {
        Ok(_) | Err(AppError::Conflict(_)) => Ok(Redirect::to(&format!("/arbeitsplatz/anfragen#anfrage-{id}")).into_response()),
        Err(AppError::Invalid(errors)) => {
            let message = errors.into_iter().next().map(|e| e.message).unwrap_or_default();
            let page = inquiries_page(&staff, Some((&id, text, message))).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn lead_times(staff: PageStaff) -> Result<Response, PageError> {
    let lead = staff.desk.lead().ok_or(AppError::Forbidden("Durchlaufzeiten sehen Teamleitungen."))?;
    let rows = amtsweg_app::casework::lead_times(&lead.timings().await?, time::OffsetDateTime::now_utc())
        .into_iter()
        .map(|l| (l.service_name, l.decided, l.automated, duration(l.median_seconds), duration(l.p90_seconds), l.open, l.overdue))
        .collect();
    Ok(render(
        StatusCode::OK,
        &LeadTimesPage { layout: Layout::new("Durchlaufzeiten und Rückstand", Some(&staff.session)), authority: staff.desk.authority_name().await?, rows },
    ))
}

#[derive(Template)]
#[template(path = "workspace/case.html")]
struct CasePage {
    layout: Layout,
    id: String,
    case_number: String,
    service_name: String,
    status: &'static str,
    received: String,
    due: String,
    assignee: String,
    mine: bool,
    unassigned: bool,
    open: bool,
    is_lead: bool,
    colleagues: Vec<(String, String)>,
    rules: Vec<(String, &'static str, bool, String)>,
    automation_allowed: bool,
    applicant: Vec<AnswerView>,
    answer_pages: Vec<PageAnswers>,
    change_base: String,
    evidence: Vec<(AnswerView, Option<String>)>,
    questions: Vec<(String, String, Option<String>)>,
    memos: Vec<(String, String, String)>,
    decision: Option<(&'static str, String, String)>,
    automated: bool,
    has_bescheid: bool,
    decidable: bool,
    /// Date, what happened, and who acted (name and role).
    history: Vec<(String, &'static str, String)>,
    /// Why this person may not decide the case (the authority lets only the assignee decide).
    decision_barrier: Option<&'static str>,
    errors: Vec<FieldError>,
    outcome: String,
    reason: String,
    outcome_error: Option<String>,
    reason_error: Option<String>,
    question_error: Option<String>,
}

fn answer(id: &str, label: &str, value: String) -> AnswerView {
    AnswerView { id: id.into(), label: label.into(), value }
}

fn evidence_rows(case: &CaseId, records: Vec<amtsweg_domain::records::EvidenceRecord>) -> Vec<(AnswerView, Option<String>)> {
    records
        .into_iter()
        .map(|e| {
            let (value, link) = match (e.source.as_str(), &e.register) {
                ("register", Some(r)) => (format!("abgerufen aus dem {r} mit Zustimmung: {}", e.document), None),
                _ => (
                    format!("hochgeladenes Dokument ({}), verschlüsselt gespeichert", e.media_type),
                    Some(format!("/arbeitsplatz/vorgaenge/{case}/nachweise/{}", e.id)),
                ),
            };
            (AnswerView { id: e.id, label: e.evidence_type, value }, link)
        })
        .collect()
}

struct CaseInput {
    errors: Vec<FieldError>,
    outcome: String,
    reason: String,
}

async fn case_page(staff: &PageStaff, id: &CaseId, input: CaseInput) -> Result<CasePage, AppError> {
    let desk = &staff.desk;
    let c = desk.open(id).await?;
    let evidence = evidence_rows(id, desk.evidence(id).await?);
    let questions = desk.questions(id).await?.into_iter().map(|q| (date_time(q.asked_at), q.question, q.answer)).collect();
    let memos = desk.memos(id).await?.into_iter().map(|m| (m.author_name, date_time(m.created_at), m.body)).collect();
    let has_bescheid = desk.bescheid(id).await?.is_some();
    let history = desk.history(id).await?.into_iter().map(|e| (date_time(e.at), e.kind.label(), acting(&e))).collect();
    let decision_barrier = desk.decision_barrier(&desk.authority().await?, &c);
    let colleagues = if desk.lead().is_some() { desk.colleagues().await?.into_iter().map(|u| (u.id.to_string(), u.display_name)).collect() } else { Vec::new() };
    let applicant = c
        .applicant
        .as_ref()
        .map(|p| {
            vec![
                answer("name", "Name", p.full_name()),
                answer("birth", "Geburtsdatum", format_date_german(p.date_of_birth)),
                answer("address", "Anschrift", format!("{}, {} {}", p.street, p.postal_code, p.city)),
            ]
        })
        .unwrap_or_default();
    let errors = input.errors;
    let field_error = |f: &str| errors.iter().find(|e| e.field == f).map(|e| e.message.clone());
    let open = matches!(c.status, ApplicationStatus::Submitted | ApplicationStatus::InReview);
    let (rules, automation_allowed) = c
        .rule_trace
        .as_ref()
        .map(|t| (t.outcomes.iter().map(|o| (o.label.clone(), o.result.label(), o.result == RuleResult::Passed, o.explanation.clone())).collect(), t.automation_allowed))
        .unwrap_or_default();
    Ok(CasePage {
        layout: Layout::new(format!("Vorgang {}", c.case_number), Some(&staff.session)),
        id: c.id.to_string(),
        case_number: c.case_number.clone(),
        service_name: c.service.name.clone(),
        status: c.status.label(),
        received: date_time(c.created_at),
        due: c.due_at.map(date).unwrap_or_else(|| "–".into()),
        assignee: c.assignee_name.clone().unwrap_or_else(|| "nicht zugewiesen".into()),
        mine: c.assignee_id.as_ref() == Some(desk.user_id()),
        unassigned: c.assignee_id.is_none(),
        open,
        is_lead: desk.lead().is_some(),
        colleagues,
        rules,
        automation_allowed,
        applicant,
        answer_pages: forms::answers(&c.service.form, &c.data),
        change_base: String::new(),
        evidence,
        questions,
        memos,
        decision: c.decision.as_ref().map(|d| (d.outcome.label(), date(d.decided_at), d.reason.clone())),
        automated: c.decision.as_ref().is_some_and(|d| d.automated),
        has_bescheid,
        decidable: c.status.transition(ApplicationStatus::Decided).is_ok(),
        history,
        decision_barrier,
        outcome_error: field_error("outcome"),
        reason_error: field_error("reason"),
        question_error: field_error("question"),
        errors,
        outcome: input.outcome,
        reason: input.reason,
    })
}

/// Who acted on a history entry: the person and their role, or the role alone (the platform, a
/// procedure).
fn acting(e: &amtsweg_domain::records::AuditEvent) -> String {
    let role = amtsweg_domain::Role::label_of(&e.actor_role);
    match &e.actor_name {
        Some(name) => format!("{name} ({role})"),
        None => role.to_owned(),
    }
}

fn case_id(raw: &str) -> Result<CaseId, PageError> {
    CaseId::parse(raw).ok_or(PageError(AppError::NotFound))
}

fn no_input() -> CaseInput {
    CaseInput { errors: Vec::new(), outcome: String::new(), reason: String::new() }
}

async fn case(staff: PageStaff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = case_id(&id)?;
    let page = case_page(&staff, &id, no_input()).await?;
    Ok(render(StatusCode::OK, &page))
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn back_to(id: &CaseId) -> Response {
    Redirect::to(&format!("/arbeitsplatz/vorgaenge/{id}")).into_response()
}

async fn decide(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let id = case_id(&id)?;
    match StaffDesk::check_decision(field(&form, "outcome"), field(&form, "reason")) {
        Ok((outcome, reason)) => {
            staff.desk.decide(&id, outcome, &reason).await?;
            Ok(back_to(&id))
        }
        Err(errors) => {
            let input = CaseInput {
                errors,
                outcome: field(&form, "outcome").unwrap_or_default().to_owned(),
                reason: field(&form, "reason").unwrap_or_default().to_owned(),
            };
            let page = case_page(&staff, &id, input).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn claim(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let id = case_id(&id)?;
    staff.desk.claim(&id).await?;
    Ok(back_to(&id))
}

async fn release(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let id = case_id(&id)?;
    staff.desk.release(&id).await?;
    Ok(back_to(&id))
}

async fn assign(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let lead = staff.desk.lead().ok_or(AppError::Forbidden("Zuweisen dürfen nur Teamleitungen."))?;
    let id = case_id(&id)?;
    let to = match field(&form, "user_id").map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) => Some(UserId::parse(u).ok_or(AppError::NotFound)?),
        None => None,
    };
    lead.assign(&id, to.as_ref()).await?;
    Ok(back_to(&id))
}

async fn ask(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let id = case_id(&id)?;
    match staff.desk.ask(&id, field(&form, "question").unwrap_or_default()).await {
        Ok(_) => Ok(back_to(&id)),
        Err(AppError::Invalid(errors)) => {
            let page = case_page(&staff, &id, CaseInput { errors, outcome: String::new(), reason: String::new() }).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "workspace/memo.html")]
struct MemoPage {
    layout: Layout,
    id: String,
    case_number: String,
    text: String,
    errors: Vec<FieldError>,
    memo_error: Option<String>,
    notice: Option<String>,
    rephrased: bool,
    can_rephrase: bool,
}

async fn memo_draft(staff: PageStaff, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let id = case_id(&id)?;
    let c = staff.desk.open(&id).await?;
    let evidence = staff.desk.evidence(&id).await?;
    let rephrase = q.get("ueberarbeiten").is_some_and(|v| v == "ja");
    let draft = staff.desk.draft_memo(&c, &evidence, rephrase).await;
    let page = MemoPage {
        layout: Layout::new(format!("Vermerk zu {}", c.case_number), Some(&staff.session)),
        id: id.to_string(),
        case_number: c.case_number,
        text: draft.text,
        errors: Vec::new(),
        memo_error: None,
        notice: draft.notice,
        rephrased: draft.rephrased,
        can_rephrase: staff.desk.can_rephrase() && !rephrase,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn save_memo(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let id = case_id(&id)?;
    let text = field(&form, "memo").unwrap_or_default();
    match staff.desk.save_memo(&id, text).await {
        Ok(_) => Ok(back_to(&id)),
        Err(AppError::Invalid(errors)) => {
            let c = staff.desk.open(&id).await?;
            let memo_error = errors.first().map(|e| e.message.clone());
            let page = MemoPage {
                layout: Layout::new(format!("Vermerk zu {}", c.case_number), Some(&staff.session)),
                id: id.to_string(),
                case_number: c.case_number,
                text: text.to_owned(),
                errors,
                memo_error,
                notice: None,
                rephrased: false,
                can_rephrase: false,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn uploaded(staff: PageStaff, Path((id, evidence)): Path<(String, String)>) -> Result<Response, PageError> {
    let id = case_id(&id)?;
    let (media_type, bytes) = staff.desk.uploaded(&id, &evidence).await?;
    Ok(crate::api::file_response(&media_type, bytes, &format!("nachweis-{evidence}")))
}

async fn bescheid(staff: PageStaff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = case_id(&id)?;
    let d = staff.desk.bescheid(&id).await?.ok_or(AppError::NotFound)?;
    Ok(crate::api::pdf_response(d))
}

pub fn oversight_router() -> Router<AppState> {
    Router::new()
        .route("/datenschutz", get(privacy))
        .route("/verwaltung", get(admin))
        .route("/verwaltung/clients", post(create_client))
        .route("/verwaltung/clients/{id}/widerrufen", post(revoke_client))
}

#[derive(Template)]
#[template(path = "workspace/privacy.html")]
struct PrivacyPage {
    layout: Layout,
    authority: String,
    transfers: Vec<(String, String, String, String, String, String)>,
    audit: Vec<(String, String, String, String)>,
}

async fn privacy(p: crate::auth::PagePrivacy) -> Result<Response, PageError> {
    let transfers = p.desk.transfers().await?.into_iter().map(|t| (date_time(t.at), t.register, t.evidence_type, t.purpose, t.legal_basis, t.outcome)).collect();
    let audit = p.desk.audit().await?.into_iter().map(|e| (date_time(e.at), e.kind.as_str().to_owned(), e.actor_role, format!("{} {}", e.subject_kind, e.subject_id))).collect();
    Ok(render(StatusCode::OK, &PrivacyPage { layout: Layout::new("Datenschutz", Some(&p.session)), authority: p.desk.authority_name().await?, transfers, audit }))
}

#[derive(Template)]
#[template(path = "workspace/admin.html")]
struct AdminPage {
    layout: Layout,
    authority: String,
    services: Vec<(String, &'static str, usize, u32)>,
    clients: Vec<(String, String)>,
    created: Option<(String, String, String)>,
    errors: Vec<FieldError>,
    name_error: Option<String>,
}

async fn admin_page(a: &crate::auth::PageAdmin, created: Option<(String, String, String)>, errors: Vec<FieldError>) -> Result<AdminPage, AppError> {
    let services = a
        .desk
        .services()
        .await?
        .into_iter()
        .map(|s| (s.name, if s.decision.automation { "erlaubt" } else { "nein" }, s.decision.rules.len(), s.decision.processing_days))
        .collect();
    let name_error = errors.first().map(|e| e.message.clone());
    let clients = a.desk.clients().await?.into_iter().map(|c| (c.id, c.name)).collect();
    Ok(AdminPage { layout: Layout::new("Fachadministration", Some(&a.session)), authority: a.desk.authority_name().await?, services, clients, created, errors, name_error })
}

async fn admin(a: crate::auth::PageAdmin) -> Result<Response, PageError> {
    let page = admin_page(&a, None, Vec::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn revoke_client(a: crate::auth::PageAdmin, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    if id.len() > 64 {
        return Err(AppError::NotFound.into());
    }
    a.desk.revoke_client(&id).await?;
    Ok(Redirect::to("/verwaltung").into_response())
}

async fn create_client(a: crate::auth::PageAdmin, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    match a.desk.create_client(field(&form, "name").unwrap_or_default()).await {
        Ok((client, secret)) => {
            let page = admin_page(&a, Some((client.name, client.id, secret)), Vec::new()).await?;
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(AppError::Invalid(errors)) => {
            let page = admin_page(&a, None, errors).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}
