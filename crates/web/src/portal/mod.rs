//! The citizen portal: services, the application form with check-your-answers, the receipt,
//! my applications, the mailbox, the Datenschutzcockpit and the assistant.

mod assistant;

use crate::state::AppState;
use crate::pages::PageForm;
use crate::auth::{PageCitizen, check_csrf};
use crate::login::session::MaybeSession;
use crate::error::{AppError, PageError};
use crate::forms::{self, Block, PageAnswers, Source};
use crate::pages::{self, Layout, date, date_time, render};
use amtsweg_domain::records::Application;
use amtsweg_domain::{ApplicationId, ApplicationStatus, FieldError, MessageId, ServiceId};
use askama::Template;
use axum::extract::{Path, Query, State};
use std::collections::HashMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/leistungen/{id}", get(service))
        .route("/leistungen/{id}/antrag", post(start))
        .route("/antraege", get(applications))
        .route("/antraege/{id}", get(application))
        .route("/antraege/{id}/formular", get(first_page).post(save_first_page))
        .route("/antraege/{id}/formular/{page}", get(form_page).post(save_form_page))
        .route("/antraege/{id}/pruefen", get(check))
        .route("/antraege/{id}/absenden", post(submit))
        .route("/antraege/{id}/nachweise", post(fetch_evidence))
        .route("/antraege/{id}/nachweise/{evidence}/{decision}", post(decide_preview))
        .route(
            "/antraege/{id}/nachweise/hochladen",
            post(upload_evidence).layer(axum::extract::DefaultBodyLimit::max(amtsweg_app::uploads::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/antraege/{id}/bestaetigung", get(receipt))
        .route("/antraege/{id}/zuruecknehmen", post(withdraw))
        .route("/postfach", get(mailbox))
        .route("/postfach/{id}", get(message))
        .route("/postfach/{id}/bescheid.pdf", get(message_document))
        .route("/postfach/{id}/antwort", post(answer))
        .route("/meine-daten", get(transfers))
        .merge(assistant::router())
}

fn app_id(raw: &str) -> Result<ApplicationId, PageError> {
    ApplicationId::parse(raw).ok_or(PageError(AppError::NotFound))
}

fn see_other(to: String) -> Response {
    Redirect::to(&to).into_response()
}

struct ServiceItem {
    id: String,
    name: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage {
    layout: Layout,
    /// The services by topic, topics in alphabetical order, "Weitere Leistungen" last.
    groups: Vec<(String, Vec<ServiceItem>)>,
    /// What was searched for.
    query: String,
    /// How many services match.
    found: usize,
}

/// The topic of services without one.
const OTHER_SERVICES: &str = "Weitere Leistungen";

/// Lower case, umlauts and ß spelt out: "Straße" finds "strasse" and the other way round.
fn fold(text: &str) -> String {
    text.to_lowercase().replace('ä', "ae").replace('ö', "oe").replace('ü', "ue").replace('ß', "ss")
}

/// `GET /`: the services, searchable (`?suche=` – every word must occur in the name, the
/// summary, the topic or the description) and grouped by topic.
async fn home(State(state): State<AppState>, MaybeSession(session): MaybeSession, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let query: String = q.get("suche").map(|s| s.trim().chars().take(200).collect()).unwrap_or_default();
    let words: Vec<String> = fold(&query).split_whitespace().map(str::to_owned).collect();
    let mut groups: std::collections::BTreeMap<(bool, String), Vec<ServiceItem>> = Default::default();
    let mut found = 0;
    for s in state.app.catalog().services().await? {
        let haystack = fold(&format!("{} {} {} {}", s.name, s.summary, s.category, s.description));
        if !words.iter().all(|w| haystack.contains(w.as_str())) {
            continue;
        }
        found += 1;
        let topic = if s.category.trim().is_empty() { OTHER_SERVICES.to_owned() } else { s.category.trim().to_owned() };
        groups.entry((topic == OTHER_SERVICES, topic)).or_default().push(ServiceItem { id: s.id.to_string(), name: s.name, summary: s.summary });
    }
    let groups = groups.into_iter().map(|((_, topic), items)| (topic, items)).collect();
    let title = if query.is_empty() { "Leistungen".to_owned() } else { format!("Suche „{query}“ – Leistungen") };
    Ok(render(StatusCode::OK, &HomePage { layout: Layout::new(title, session.as_deref()), groups, query, found }))
}

#[derive(Template)]
#[template(path = "portal/service.html")]
struct ServicePage {
    layout: Layout,
    id: String,
    name: String,
    description: Vec<String>,
    legal_basis: String,
    evidence: Vec<amtsweg_domain::EvidenceRequirement>,
    /// The level of assurance the service needs, if any ("substantiell", "hoch").
    required_level: Option<&'static str>,
    /// The way to log in again when the citizen's login is below that level.
    step_up: Option<String>,
}

async fn service(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = ServiceId::parse(&id).ok_or(AppError::NotFound)?;
    let s = state.app.catalog().service(&id).await?.ok_or(AppError::NotFound)?;
    let step_up = match (s.required_level, session.as_deref()) {
        (Some(required), Some(session)) if session.user.role == amtsweg_domain::Role::Citizen && session.session.level < Some(required) => {
            Some(crate::login::paths::step_up_path(required, &format!("/leistungen/{}", s.id)))
        }
        _ => None,
    };
    Ok(render(
        StatusCode::OK,
        &ServicePage {
            required_level: s.required_level.map(|l| l.as_str()),
            step_up,
            layout: Layout::new(s.name.clone(), session.as_deref()),
            id: s.id.to_string(),
            name: s.name.clone(),
            description: pages::paragraphs(&s.description),
            legal_basis: s.legal_basis.clone(),
            evidence: s.evidence.clone(),
        },
    ))
}

async fn start(citizen: PageCitizen, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = ServiceId::parse(&id).ok_or(AppError::NotFound)?;
    let application = citizen.desk.start(&id).await?;
    Ok(see_other(format!("/antraege/{}/formular", application.id)))
}

#[derive(Template)]
#[template(path = "portal/form.html")]
struct FormPage {
    layout: Layout,
    service_name: String,
    page_number: usize,
    page_count: usize,
    page_title: String,
    action: String,
    back: String,
    blocks: Vec<Block>,
    errors: Vec<FieldError>,
}

fn not_editable(a: &Application) -> Option<Response> {
    (!a.status.is_editable()).then(|| see_other(format!("/antraege/{}", a.id)))
}

fn page_url(id: &ApplicationId, page: usize) -> String {
    if page <= 1 { format!("/antraege/{id}/formular") } else { format!("/antraege/{id}/formular/{page}") }
}

/// Draws page `number` of the application's form from the stored draft, or from what was sent.
async fn render_form(
    citizen: &PageCitizen,
    id: &ApplicationId,
    number: usize,
    raw: Option<&[(String, String)]>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (application, service) = citizen.desk.application_with_service(id).await?;
    if let Some(r) = not_editable(&application) {
        return Ok(r);
    }
    let pages = service.form.pages();
    let page = pages.iter().find(|p| p.number == number).ok_or(AppError::NotFound)?;
    let blocks = forms::page_blocks(page, &Source { data: &application.data, raw, errors: &errors });
    Ok(render(
        status,
        &FormPage {
            layout: Layout::new(
                if pages.len() > 1 { format!("{} – Seite {number} von {}", service.name, pages.len()) } else { format!("Antrag: {}", service.name) },
                Some(&citizen.session),
            ),
            service_name: service.name.clone(),
            page_number: number,
            page_count: pages.len(),
            page_title: page.title.to_owned(),
            action: page_url(id, number),
            back: page_url(id, number.saturating_sub(1)),
            blocks,
            errors,
        },
    ))
}

fn page_number(raw: &str) -> Result<usize, PageError> {
    raw.parse::<usize>().ok().filter(|n| *n >= 1).ok_or(PageError(AppError::NotFound))
}

async fn first_page(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    render_form(&citizen, &app_id(&id)?, 1, None, Vec::new(), StatusCode::OK).await
}

async fn form_page(citizen: PageCitizen, Path((id, page)): Path<(String, String)>) -> Result<Response, PageError> {
    render_form(&citizen, &app_id(&id)?, page_number(&page)?, None, Vec::new(), StatusCode::OK).await
}

async fn save_first_page(citizen: PageCitizen, Path(id): Path<String>, PageForm(input): PageForm) -> Result<Response, PageError> {
    save_page(citizen, app_id(&id)?, 1, input).await
}

async fn save_form_page(citizen: PageCitizen, Path((id, page)): Path<(String, String)>, PageForm(input): PageForm) -> Result<Response, PageError> {
    save_page(citizen, app_id(&id)?, page_number(&page)?, input).await
}

async fn save_page(citizen: PageCitizen, id: ApplicationId, number: usize, input: Vec<(String, String)>) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &input)?;
    // "Add another" and "remove": show the page again with the change, nothing checked yet.
    if let Some((_, action)) = input.iter().find(|(k, _)| k == "_aktion") {
        let changed = forms::apply_action(&input, action);
        return render_form(&citizen, &id, number, Some(&changed), Vec::new(), StatusCode::OK).await;
    }
    match citizen.desk.save_page(&id, number, &input).await {
        Ok(_) => {
            let (_, service) = citizen.desk.application_with_service(&id).await?;
            if number < service.form.pages().len() {
                Ok(see_other(page_url(&id, number + 1)))
            } else {
                Ok(see_other(format!("/antraege/{id}/pruefen")))
            }
        }
        Err(AppError::Invalid(errors)) => render_form(&citizen, &id, number, Some(&input), errors, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/antraege/{id}"))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "portal/check.html")]
struct CheckPage {
    layout: Layout,
    application_id: String,
    service_name: String,
    answer_pages: Vec<PageAnswers>,
    change_base: String,
    problem: Option<String>,
    evidence: Vec<EvidenceRow>,
    evidence_problem: Option<String>,
}

/// One piece of evidence a service needs, and whether it is there.
struct EvidenceRow {
    evidence_type: String,
    purpose: String,
    register: String,
    legal_basis: String,
    /// What the register confirmed, when attached.
    attached: Option<String>,
    /// Evidence held for the citizen's preview: its id and what it says.
    preview: Option<(String, String)>,
    consent_id: String,
    upload_id: String,
}

async fn render_check(citizen: &PageCitizen, id: &ApplicationId, problem: Option<String>) -> Result<Response, PageError> {
    render_check_with(citizen, id, problem, None, StatusCode::OK).await
}

fn summarise_evidence(document: &str) -> String {
    let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(document) else {
        return "Nachweis liegt vor".into();
    };
    let mut parts = Vec::new();
    if let Some(true) = o.get("main_residence").and_then(|v| v.as_bool()) {
        parts.push(format!("Hauptwohnsitz: {} {}", o.get("postal_code").and_then(|v| v.as_str()).unwrap_or(""), o.get("city").and_then(|v| v.as_str()).unwrap_or("")));
    }
    if let Some(vs) = o.get("vehicles").and_then(|v| v.as_array()) {
        let plates: Vec<&str> = vs.iter().filter_map(|v| v.get("plate").and_then(|p| p.as_str())).collect();
        parts.push(format!("Halterin oder Halter von: {}", plates.join(", ")));
    }
    if let Some(e) = o.get("enrolled").and_then(|v| v.as_bool()) {
        parts.push(if e { "Am Stichtag eingeschrieben".to_owned() } else { "Am Stichtag nicht eingeschrieben".to_owned() });
    }
    if parts.is_empty() { "Nachweis liegt vor".into() } else { parts.join("; ") }
}

async fn render_check_with(
    citizen: &PageCitizen,
    id: &ApplicationId,
    problem: Option<String>,
    evidence_problem: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (application, service) = citizen.desk.application_with_service(id).await?;
    if let Some(r) = not_editable(&application) {
        return Ok(r);
    }
    let attached = citizen.desk.evidence(id).await?;
    let evidence = service
        .evidence
        .iter()
        .enumerate()
        .map(|(n, e)| EvidenceRow {
            evidence_type: e.evidence_type.clone(),
            purpose: e.purpose.clone(),
            register: e.register.clone(),
            legal_basis: e.legal_basis.clone(),
            attached: attached.iter().rev().find(|a| a.evidence_type == e.evidence_type && a.status == "attached").map(|a| {
                if a.source == "upload" { "Dokument hochgeladen".to_owned() } else { summarise_evidence(&a.document) }
            }),
            preview: attached
                .iter()
                .rev()
                .find(|a| a.evidence_type == e.evidence_type && a.status == "preview")
                .filter(|_| !attached.iter().any(|a| a.evidence_type == e.evidence_type && a.status == "attached"))
                .map(|a| (a.id.clone(), summarise_evidence(&a.document))),
            consent_id: format!("zustimmung-{}", n + 1),
            upload_id: format!("datei-{}", n + 1),
        })
        .collect();
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { status };
    Ok(render(
        status,
        &CheckPage {
            layout: Layout::new("Angaben prüfen", Some(&citizen.session)),
            application_id: application.id.to_string(),
            service_name: service.name.clone(),
            answer_pages: forms::answers(&service.form, &application.data),
            change_base: format!("/antraege/{}/formular", application.id),
            problem,
            evidence,
            evidence_problem,
        },
    ))
}

async fn check(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    render_check(&citizen, &app_id(&id)?, None).await
}

async fn submit(
    citizen: PageCitizen,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = app_id(&id)?;
    match citizen.desk.submit(&id).await {
        Ok(_) => Ok(see_other(format!("/antraege/{id}/bestaetigung"))),
        // The stored data is incomplete or no longer fits the form: the first page with a problem.
        Err(AppError::Invalid(errors)) => {
            let (_, service) = citizen.desk.application_with_service(&id).await?;
            let first = errors.iter().filter_map(|e| service.form.page_of(&e.field)).min().unwrap_or(1);
            let on_page: Vec<FieldError> = errors.into_iter().filter(|e| service.form.page_of(&e.field) == Some(first)).collect();
            render_form(&citizen, &id, first, None, on_page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e @ AppError::NoResponsibleAuthority { .. }) => render_check(&citizen, &id, Some(e.message())).await,
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/antraege/{id}"))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "portal/receipt.html")]
struct ReceiptPage {
    layout: Layout,
    case_number: String,
    service_name: String,
    authority: String,
    submitted_at: String,
}

async fn receipt(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let a = citizen.desk.application(&app_id(&id)?).await?;
    let (Some(case_number), Some(submitted_at)) = (a.case_number.clone(), a.submitted_at) else {
        return Ok(see_other(format!("/antraege/{}", a.id)));
    };
    Ok(render(
        StatusCode::OK,
        &ReceiptPage {
            layout: Layout::new("Antrag eingegangen", Some(&citizen.session)),
            case_number,
            service_name: a.service_name,
            authority: a.authority_name.unwrap_or_default(),
            submitted_at: date_time(submitted_at),
        },
    ))
}

struct ApplicationRow {
    id: String,
    service_name: String,
    case_number: String,
    status: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "portal/applications.html")]
struct ApplicationsPage {
    layout: Layout,
    applications: Vec<ApplicationRow>,
}

async fn applications(citizen: PageCitizen) -> Result<Response, PageError> {
    let rows = citizen
        .desk
        .applications()
        .await?
        .into_iter()
        .map(|a| ApplicationRow {
            id: a.id.to_string(),
            service_name: a.service_name,
            case_number: a.case_number.unwrap_or_else(|| "–".into()),
            status: a.status.label(),
            created: date(a.created_at),
        })
        .collect();
    Ok(render(StatusCode::OK, &ApplicationsPage { layout: Layout::new("Meine Anträge", Some(&citizen.session)), applications: rows }))
}

#[derive(Template)]
#[template(path = "portal/application.html")]
struct ApplicationPage {
    layout: Layout,
    id: String,
    service_name: String,
    status: &'static str,
    case_number: Option<String>,
    authority: Option<String>,
    decision: Option<(&'static str, String)>,
    automated: bool,
    events: Vec<(String, &'static str, String)>,
    /// Date, what happened, and the role that acted ("Sie" for the citizen's own steps).
    history: Vec<(String, &'static str, &'static str)>,
    editable: bool,
    withdrawable: bool,
    answer_pages: Vec<PageAnswers>,
    change_base: String,
}

async fn application(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let (a, service) = citizen.desk.application_with_service(&app_id(&id)?).await?;
    let events = citizen.desk.events(&a.id).await?.into_iter().map(|e| (date_time(e.at), event_kind(&e.kind), e.note)).collect();
    let history = citizen
        .desk
        .history(&a.id)
        .await?
        .into_iter()
        .map(|e| (date_time(e.at), e.kind.label(), if e.actor_role == "citizen" { "Sie" } else { amtsweg_domain::Role::label_of(&e.actor_role) }))
        .collect();
    Ok(render(
        StatusCode::OK,
        &ApplicationPage {
            events,
            history,
            automated: a.decision.as_ref().is_some_and(|d| d.automated),
            layout: Layout::new(format!("Antrag: {}", a.service_name), Some(&citizen.session)),
            id: a.id.to_string(),
            service_name: a.service_name.clone(),
            status: a.status.label(),
            case_number: a.case_number.clone(),
            authority: a.authority_name.clone(),
            decision: a.decision.as_ref().map(|d| (d.outcome.label(), date(d.decided_at))),
            editable: a.status.is_editable(),
            withdrawable: a.status.transition(ApplicationStatus::Withdrawn).is_ok(),
            answer_pages: forms::answers(&service.form, &a.data),
            change_base: String::new(),
        },
    ))
}

/// A specialist procedure's status event, as the citizen reads it.
fn event_kind(kind: &str) -> &'static str {
    match kind {
        "received" => "Bei der Behörde eingegangen",
        "accepted" => "Zur Bearbeitung angenommen",
        "rejected" => "Von der Behörde zurückgewiesen",
        "decided" => "Entschieden",
        _ => "Statusmeldung",
    }
}

async fn withdraw(citizen: PageCitizen, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = app_id(&id)?;
    citizen.desk.withdraw(&id).await?;
    Ok(see_other(format!("/antraege/{id}")))
}

struct MessageRow {
    id: String,
    subject: String,
    sender: String,
    received: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "portal/mailbox.html")]
struct MailboxPage {
    layout: Layout,
    messages: Vec<MessageRow>,
}

async fn mailbox(citizen: PageCitizen) -> Result<Response, PageError> {
    let messages = citizen
        .desk
        .messages()
        .await?
        .into_iter()
        .map(|m| MessageRow {
            id: m.id.to_string(),
            subject: m.subject,
            sender: m.sender,
            received: date_time(m.created_at),
            read: m.read_at.is_some(),
        })
        .collect();
    Ok(render(StatusCode::OK, &MailboxPage { layout: Layout::new("Postfach", Some(&citizen.session)), messages }))
}

#[derive(Template)]
#[template(path = "portal/message.html")]
struct MessagePage {
    layout: Layout,
    id: String,
    subject: String,
    sender: String,
    received: String,
    paragraphs: Vec<String>,
    has_document: bool,
    /// An open or answered question: (answer, whether it can still be answered).
    question: Option<(Option<String>, bool)>,
    errors: Vec<FieldError>,
    answer_error: Option<String>,
    draft: String,
}

async fn message_page(citizen: &PageCitizen, id: &MessageId, errors: Vec<FieldError>, draft: String) -> Result<MessagePage, AppError> {
    let m = citizen.desk.read_message(id).await?;
    let question = match &m.info_request_id {
        Some(q) => {
            let q = citizen.desk.info_request(q).await?;
            // Only a question of a case still open can be answered.
            let open = match &m.application_id {
                Some(a) => matches!(citizen.desk.application(a).await?.status, ApplicationStatus::Submitted | ApplicationStatus::InReview),
                None => false,
            };
            Some((q.answer.clone(), q.answer.is_none() && open))
        }
        None => None,
    };
    let answer_error = errors.first().map(|e| e.message.clone());
    Ok(MessagePage {
        layout: Layout::new(m.subject.clone(), Some(&citizen.session)),
        id: m.id.to_string(),
        subject: m.subject,
        sender: m.sender,
        received: date_time(m.created_at),
        paragraphs: pages::paragraphs(&m.body),
        has_document: m.document_id.is_some(),
        question,
        errors,
        answer_error,
        draft,
    })
}

async fn message(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = MessageId::parse(&id).ok_or(AppError::NotFound)?;
    let page = message_page(&citizen, &id, Vec::new(), String::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn message_document(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = MessageId::parse(&id).ok_or(AppError::NotFound)?;
    let d = citizen.desk.message_document(&id).await?;
    Ok(crate::api::pdf_response(d))
}

async fn answer(citizen: PageCitizen, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = MessageId::parse(&id).ok_or(AppError::NotFound)?;
    let text = form.iter().rev().find(|(k, _)| k == "answer").map(|(_, v)| v.clone()).unwrap_or_default();
    let m = citizen.desk.read_message(&id).await?;
    let request = m.info_request_id.ok_or(AppError::NotFound)?;
    match citizen.desk.answer(&request, &text).await {
        Ok(_) => Ok(see_other(format!("/postfach/{id}"))),
        Err(AppError::Invalid(errors)) => {
            let page = message_page(&citizen, &id, errors, text).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/postfach/{id}"))),
        Err(e) => Err(e.into()),
    }
}

struct TransferRow {
    at: String,
    authority: String,
    register: String,
    purpose: String,
    procedure: String,
    legal_basis: String,
    idnr_used: bool,
    outcome: &'static str,
    /// The transfer's entry in the tamper-evident ledger.
    ledger_index: Option<u64>,
}

#[derive(Template)]
#[template(path = "portal/transfers.html")]
struct TransfersPage {
    layout: Layout,
    transfers: Vec<TransferRow>,
}

fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "delivered" => "Nachweis übermittelt",
        "not_found" => "Im Register nicht gefunden",
        "unavailable" => "Register nicht erreichbar",
        "untrustworthy" => "Antwort verworfen (nicht vertrauenswürdig)",
        "preview_required" => "Vorschau verlangt",
        _ => "Abgelehnt",
    }
}

/// The Datenschutzcockpit: every exchange with a register about the citizen.
async fn transfers(citizen: PageCitizen) -> Result<Response, PageError> {
    let list = citizen.desk.transfers_in_ledger().await?;
    let transfers = list
        .into_iter()
        .map(|(t, ledger_index)| TransferRow {
            ledger_index,
            at: date_time(t.at),
            authority: t.authority_name,
            register: t.register,
            purpose: t.purpose,
            procedure: t.procedure,
            legal_basis: t.legal_basis,
            idnr_used: t.idnr_used,
            outcome: outcome_label(&t.outcome),
        })
        .collect();
    Ok(render(StatusCode::OK, &TransfersPage { layout: Layout::new("Meine Daten", Some(&citizen.session)), transfers }))
}

/// The citizen's explicit choice to have one piece of evidence fetched from its register.
async fn fetch_evidence(citizen: PageCitizen, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = app_id(&id)?;
    let get = |name: &str| form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let consent = get("zustimmung").map(|v| v == "true");
    match citizen.desk.fetch_evidence(&id, get("nachweis").unwrap_or_default(), "register", consent).await {
        Ok(_) => Ok(see_other(format!("/antraege/{id}/pruefen#nachweise"))),
        Err(AppError::Invalid(errors)) => {
            let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            render_check_with(&citizen, &id, None, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e @ (AppError::NotInRegister | AppError::Unavailable(_) | AppError::Untrustworthy | AppError::NoResponsibleAuthority { .. })) => {
            let status = crate::error::status(&e);
            render_check_with(&citizen, &id, None, Some(e.message()), status).await
        }
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/antraege/{id}"))),
        Err(e) => Err(e.into()),
    }
}

/// Accepting or discarding evidence held for preview.
async fn decide_preview(citizen: PageCitizen, Path((id, evidence, decision)): Path<(String, String, String)>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = app_id(&id)?;
    let accept = match decision.as_str() {
        "uebernehmen" => true,
        "verwerfen" => false,
        _ => return Err(AppError::NotFound.into()),
    };
    citizen.desk.decide_preview(&id, &evidence, accept).await?;
    Ok(see_other(format!("/antraege/{id}/pruefen#nachweise")))
}

/// Evidence uploaded from the check page instead of fetched.
async fn upload_evidence(
    citizen: PageCitizen,
    Path(id): Path<String>,
    mut form: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let id = app_id(&id)?;
    let unreadable = || AppError::BadRequest("Die Datei konnte nicht gelesen werden. Bitte versuchen Sie es noch einmal.".into());
    let (mut csrf, mut evidence_type, mut file) = (String::new(), String::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(|_| unreadable())? {
        match field.name().unwrap_or_default() {
            "_csrf" => csrf = field.text().await.map_err(|_| unreadable())?,
            "nachweis" => evidence_type = field.text().await.map_err(|_| unreadable())?,
            "datei" => file = field.bytes().await.map_err(|_| unreadable())?.to_vec(),
            _ => {}
        }
    }
    check_csrf(&citizen.session, &[("_csrf".to_owned(), csrf)])?;
    match citizen.desk.upload_evidence(&id, &evidence_type, &file).await {
        Ok(_) => Ok(see_other(format!("/antraege/{id}/pruefen#nachweise"))),
        Err(AppError::Invalid(errors)) => {
            let message = errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ");
            render_check_with(&citizen, &id, None, Some(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/antraege/{id}"))),
        Err(e) => Err(e.into()),
    }
}
