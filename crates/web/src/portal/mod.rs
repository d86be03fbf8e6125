//! The citizen portal: services, the application form with check-your-answers, the receipt,
//! my applications, the mailbox; and the login (the persona picker of the demo).

mod login;

use crate::AppState;
use crate::pages::PageForm;
use crate::auth::{MaybeSession, PageCitizen, check_csrf};
use crate::error::{AppError, PageError};
use crate::pages::{self, AnswerView, GroupView, Layout, date, date_time, render};
use amtsweg_domain::records::Application;
use amtsweg_domain::{ApplicationId, ApplicationStatus, FieldError, MessageId, ServiceId};
use askama::Template;
use axum::extract::{Path, State};
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
        .route("/antraege/{id}/formular", get(form).post(save_form))
        .route("/antraege/{id}/pruefen", get(check))
        .route("/antraege/{id}/absenden", post(submit))
        .route("/antraege/{id}/bestaetigung", get(receipt))
        .route("/antraege/{id}/zuruecknehmen", post(withdraw))
        .route("/postfach", get(mailbox))
        .route("/postfach/{id}", get(message))
        .merge(login::router())
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
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    services: Vec<ServiceItem>,
}

async fn home(State(state): State<AppState>, MaybeSession(session): MaybeSession) -> Result<Response, PageError> {
    let services = state.store.services().await?;
    Ok(render(
        StatusCode::OK,
        &HomePage {
            layout: Layout::new("Leistungen", session.as_deref()),
            services: services
                .into_iter()
                .map(|s| ServiceItem { id: s.id.to_string(), name: s.name, summary: s.summary })
                .collect(),
        },
    ))
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    layout: Layout,
    id: String,
    name: String,
    description: Vec<String>,
    legal_basis: String,
}

async fn service(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = ServiceId::parse(&id).ok_or(AppError::NotFound)?;
    let s = state.store.service(&id).await?.ok_or(AppError::NotFound)?;
    Ok(render(
        StatusCode::OK,
        &ServicePage {
            layout: Layout::new(s.name.clone(), session.as_deref()),
            id: s.id.to_string(),
            name: s.name,
            description: pages::paragraphs(&s.description),
            legal_basis: s.legal_basis,
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
#[template(path = "form.html")]
struct FormPage {
    layout: Layout,
    application_id: String,
    service_name: String,
    groups: Vec<GroupView>,
    errors: Vec<FieldError>,
}

fn not_editable(a: &Application) -> Option<Response> {
    (!a.status.is_editable()).then(|| see_other(format!("/antraege/{}", a.id)))
}

async fn form(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let (application, service) = citizen.desk.application_with_service(&app_id(&id)?).await?;
    if let Some(r) = not_editable(&application) {
        return Ok(r);
    }
    Ok(render(
        StatusCode::OK,
        &FormPage {
            layout: Layout::new(format!("Antrag: {}", service.name), Some(&citizen.session)),
            application_id: application.id.to_string(),
            service_name: service.name.clone(),
            groups: pages::form_view(&service.form, &application.data, None, &[]),
            errors: Vec::new(),
        },
    ))
}

async fn save_form(citizen: PageCitizen, Path(id): Path<String>, PageForm(input): PageForm) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &input)?;
    let id = app_id(&id)?;
    match citizen.desk.save_form_input(&id, &input).await {
        Ok(_) => Ok(see_other(format!("/antraege/{id}/pruefen"))),
        Err(AppError::Invalid(errors)) => {
            let (application, service) = citizen.desk.application_with_service(&id).await?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage {
                    layout: Layout::new(format!("Antrag: {}", service.name), Some(&citizen.session)),
                    application_id: application.id.to_string(),
                    service_name: service.name.clone(),
                    groups: pages::form_view(&service.form, &application.data, Some(&input), &errors),
                    errors,
                },
            ))
        }
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/antraege/{id}"))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    layout: Layout,
    application_id: String,
    service_name: String,
    answers: Vec<AnswerView>,
    problem: Option<String>,
}

async fn render_check(citizen: &PageCitizen, id: &ApplicationId, problem: Option<String>) -> Result<Response, PageError> {
    let (application, service) = citizen.desk.application_with_service(id).await?;
    if let Some(r) = not_editable(&application) {
        return Ok(r);
    }
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render(
        status,
        &CheckPage {
            layout: Layout::new("Angaben prüfen", Some(&citizen.session)),
            application_id: application.id.to_string(),
            service_name: service.name.clone(),
            answers: pages::answers(&service.form, &application.data),
            problem,
        },
    ))
}

async fn check(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    render_check(&citizen, &app_id(&id)?, None).await
}

async fn submit(
    State(state): State<AppState>,
    citizen: PageCitizen,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    check_csrf(&citizen.session, &form)?;
    let id = app_id(&id)?;
    match citizen.desk.submit(&id).await {
        Ok(_) => {
            state.metrics.submission();
            Ok(see_other(format!("/antraege/{id}/bestaetigung")))
        }
        // The stored data does not (or no longer) fit the form: back to the form, with errors.
        Err(AppError::Invalid(errors)) => {
            let (application, service) = citizen.desk.application_with_service(&id).await?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage {
                    layout: Layout::new(format!("Antrag: {}", service.name), Some(&citizen.session)),
                    application_id: application.id.to_string(),
                    service_name: service.name.clone(),
                    groups: pages::form_view(&service.form, &application.data, None, &errors),
                    errors,
                },
            ))
        }
        Err(e @ AppError::NoResponsibleAuthority) => render_check(&citizen, &id, Some(e.message())).await,
        Err(AppError::Conflict(_)) => Ok(see_other(format!("/antraege/{id}"))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
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
#[template(path = "applications.html")]
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
#[template(path = "application.html")]
struct ApplicationPage {
    layout: Layout,
    id: String,
    service_name: String,
    status: &'static str,
    case_number: Option<String>,
    authority: Option<String>,
    decision: Option<(&'static str, String)>,
    editable: bool,
    withdrawable: bool,
    answers: Vec<AnswerView>,
}

async fn application(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let (a, service) = citizen.desk.application_with_service(&app_id(&id)?).await?;
    Ok(render(
        StatusCode::OK,
        &ApplicationPage {
            layout: Layout::new(format!("Antrag: {}", a.service_name), Some(&citizen.session)),
            id: a.id.to_string(),
            service_name: a.service_name.clone(),
            status: a.status.label(),
            case_number: a.case_number.clone(),
            authority: a.authority_name.clone(),
            decision: a.decision.as_ref().map(|d| (d.outcome.label(), date(d.decided_at))),
            editable: a.status.is_editable(),
            withdrawable: a.status.transition(ApplicationStatus::Withdrawn).is_ok(),
            answers: pages::answers(&service.form, &a.data),
        },
    ))
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
#[template(path = "mailbox.html")]
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
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    subject: String,
    sender: String,
    received: String,
    paragraphs: Vec<String>,
}

async fn message(citizen: PageCitizen, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = MessageId::parse(&id).ok_or(AppError::NotFound)?;
    let m = citizen.desk.read_message(&id).await?;
    Ok(render(
        StatusCode::OK,
        &MessagePage {
            layout: Layout::new(m.subject.clone(), Some(&citizen.session)),
            subject: m.subject,
            sender: m.sender,
            received: date_time(m.created_at),
            paragraphs: pages::paragraphs(&m.body),
        },
    ))
}
