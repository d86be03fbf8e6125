//! The caseworker workspace: the inbox of the caseworker's own authority, the case file and the
//! decision, which is delivered to the citizen's mailbox.

use crate::AppState;
use crate::pages::PageForm;
use crate::auth::{PageStaff, check_csrf};
use crate::deciding::StaffDesk;
use crate::error::{AppError, PageError};
use crate::forms::{self, AnswerView, PageAnswers};
use crate::pages::{Layout, date, date_time, render};
use amtsweg_domain::form::format_date_german;
use amtsweg_domain::records::CaseFile;
use amtsweg_domain::{CaseId, FieldError};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/arbeitsplatz", get(inbox))
        .route("/arbeitsplatz/vorgaenge/{id}", get(case))
        .route("/arbeitsplatz/vorgaenge/{id}/entscheidung", post(decide))
}

struct CaseRow {
    id: String,
    case_number: String,
    service_name: String,
    applicant: String,
    status: &'static str,
    received: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    authority: String,
    cases: Vec<CaseRow>,
}

async fn inbox(staff: PageStaff) -> Result<Response, PageError> {
    let cases = staff
        .desk
        .inbox()
        .await?
        .into_iter()
        .map(|c| CaseRow {
            id: c.id.to_string(),
            case_number: c.case_number,
            service_name: c.service_name,
            applicant: c.applicant_name,
            status: c.status.label(),
            received: date(c.created_at),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &InboxPage { layout: Layout::new("Posteingang", Some(&staff.session)), authority: staff.desk.authority_name().await?, cases },
    ))
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    id: String,
    case_number: String,
    service_name: String,
    status: &'static str,
    received: String,
    applicant: Vec<AnswerView>,
    answer_pages: Vec<PageAnswers>,
    change_base: String,
    evidence: Vec<AnswerView>,
    decision: Option<(&'static str, String, String)>,
    decidable: bool,
    errors: Vec<FieldError>,
    outcome: String,
    reason: String,
    outcome_error: Option<String>,
    reason_error: Option<String>,
}

fn answer(id: &str, label: &str, value: String) -> AnswerView {
    AnswerView { id: id.into(), label: label.into(), value }
}

fn evidence_rows(records: Vec<amtsweg_domain::records::EvidenceRecord>) -> Vec<AnswerView> {
    records
        .into_iter()
        .map(|e| {
            let value = match (e.source.as_str(), &e.register) {
                ("register", Some(r)) => format!("abgerufen aus dem {r} mit Zustimmung: {}", e.document),
                _ => format!("hochgeladenes Dokument ({}), verschlüsselt gespeichert", e.media_type),
            };
            AnswerView { id: e.id, label: e.evidence_type, value }
        })
        .collect()
}

fn case_page(staff: &PageStaff, c: CaseFile, evidence: Vec<AnswerView>, errors: Vec<FieldError>, outcome: String, reason: String) -> CasePage {
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
    let field_error = |f: &str| errors.iter().find(|e| e.field == f).map(|e| e.message.clone());
    CasePage {
        layout: Layout::new(format!("Vorgang {}", c.case_number), Some(&staff.session)),
        id: c.id.to_string(),
        case_number: c.case_number.clone(),
        service_name: c.service.name.clone(),
        status: c.status.label(),
        received: date_time(c.created_at),
        applicant,
        answer_pages: forms::answers(&c.service.form, &c.data),
        change_base: String::new(),
        evidence,
        decision: c.decision.as_ref().map(|d| (d.outcome.label(), date(d.decided_at), d.reason.clone())),
        decidable: c.status.transition(amtsweg_domain::ApplicationStatus::Decided).is_ok(),
        outcome_error: field_error("outcome"),
        reason_error: field_error("reason"),
        errors,
        outcome,
        reason,
    }
}

fn case_id(raw: &str) -> Result<CaseId, PageError> {
    CaseId::parse(raw).ok_or(PageError(AppError::NotFound))
}

async fn case(staff: PageStaff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = case_id(&id)?;
    let c = staff.desk.open(&id).await?;
    let evidence = evidence_rows(staff.desk.evidence(&id).await?);
    let page = case_page(&staff, c, evidence, Vec::new(), String::new(), String::new());
    Ok(render(StatusCode::OK, &page))
}

async fn decide(staff: PageStaff, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let id = case_id(&id)?;
    let get = |name: &str| form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match StaffDesk::check_decision(get("outcome"), get("reason")) {
        Ok((outcome, reason)) => {
            staff.desk.decide(&id, outcome, &reason).await?;
            Ok(Redirect::to(&format!("/arbeitsplatz/vorgaenge/{id}")).into_response())
        }
        Err(errors) => {
            let c = staff.desk.open(&id).await?;
            let evidence = evidence_rows(staff.desk.evidence(&id).await?);
            let page = case_page(
                &staff,
                c,
                evidence,
                errors,
                get("outcome").unwrap_or_default().to_owned(),
                get("reason").unwrap_or_default().to_owned(),
            );
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
