//! The service admin's page of the Mängelmelder, `/verwaltung/maengel`: departments,
//! categories (as JSON, the Open311 attribute format), areas (a GeoJSON file), which department
//! handles a category in which area, the address list (a CSV file), and the API keys of Open311
//! clients (shown once, revocable). The same checks and German messages as at the console
//! (`amtsweg_app::reports::setup`); a refused input stores nothing and keeps what was typed.

use super::{field, report_error};
use crate::auth::{PageAdmin, check_csrf};
use crate::error::{AppError, PageError};
use crate::pages::{Layout, PageForm, render};
use crate::state::AppState;
use amtsweg_app::reports::ReportError;
use amtsweg_app::reports::setup::ReportAdmin;
use amtsweg_domain::reports::Publication;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// GeoJSON and address lists may be larger than forms.
pub const MAX_SETUP_UPLOAD_BYTES: usize = crate::security::MAX_FIM_UPLOAD_BYTES;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verwaltung/maengel", get(show))
        .route("/verwaltung/maengel/teams", post(department))
        .route("/verwaltung/maengel/kategorien", post(category))
        .route("/verwaltung/maengel/flaechen", post(areas).layer(axum::extract::DefaultBodyLimit::max(MAX_SETUP_UPLOAD_BYTES)))
        .route("/verwaltung/maengel/regionen", post(region))
        .route("/verwaltung/maengel/zuordnungen", post(assign))
        .route("/verwaltung/maengel/adressen", post(addresses).layer(axum::extract::DefaultBodyLimit::max(MAX_SETUP_UPLOAD_BYTES)))
        .route("/verwaltung/maengel/schluessel", post(key))
        .route("/verwaltung/maengel/schluessel/{id}/widerrufen", post(revoke))
}

fn admin(state: &AppState, a: &PageAdmin) -> Result<ReportAdmin, PageError> {
    ReportAdmin::new(state.app.store.clone(), &a.session.user).ok_or_else(|| AppError::Forbidden("Nur für die Fachadministration.").into())
}

#[derive(Template)]
#[template(path = "maengel/setup.html")]
struct SetupPage {
    layout: Layout,
    departments: Vec<(String, String)>,
    categories: Vec<(String, String, String, usize, &'static str, u32)>,
    areas: Vec<(String, String, String)>,
    assignments: Vec<(String, String, String)>,
    keys: Vec<(String, String)>,
    /// A message about what was just done, or a refusal (`true`).
    message: Option<(String, bool)>,
    /// A key just issued: shown once.
    new_key: Option<String>,
    category_json: String,
}

async fn page(state: &AppState, a: &PageAdmin, message: Option<(String, bool)>, new_key: Option<String>, category_json: String) -> Result<Response, PageError> {
    let admin = admin(state, a)?;
    let departments = admin.departments().await.map_err(report_error)?;
    let categories = admin.categories().await.map_err(report_error)?;
    let areas = admin.areas().await.map_err(report_error)?;
    let assignments = admin.assignments().await.map_err(report_error)?;
    let name = |list: &[(String, String)], id: &str| list.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone()).unwrap_or_else(|| id.to_owned());
    let department_names: Vec<(String, String)> = departments.iter().map(|d| (d.id.clone(), d.name.clone())).collect();
    let category_names: Vec<(String, String)> = categories.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
    let area_names: Vec<(String, String)> = areas.iter().map(|a| (a.id.clone(), a.name.clone())).collect();
    let status = match &message {
        Some((_, true)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let title = if matches!(message, Some((_, true))) { "Fehler: Mängelmelder einrichten" } else { "Mängelmelder einrichten" };
    let page = SetupPage {
        layout: Layout::new(title, Some(&a.session)),
        assignments: assignments
            .iter()
            .map(|x| (name(&category_names, &x.category), name(&area_names, &x.area_id), name(&department_names, &x.department_id)))
            .collect(),
        departments: department_names,
        categories: categories
            .iter()
            .map(|c| {
                let publication = match c.publication {
                    Publication::Moderated => "nach Prüfung",
                    Publication::Immediate => "sofort",
                };
                (c.code.clone(), c.name.clone(), c.group.clone(), c.attributes.len(), publication, c.deadline_days)
            })
            .collect(),
        areas: areas
            .iter()
            .map(|x| {
                let extent = match &x.ars {
                    Some(key) => format!("Regionalschlüssel {key}"),
                    None => format!("{} km²", format!("{:.2}", x.area_m2 / 1e6).replace('.', ",")),
                };
                (x.id.clone(), x.name.clone(), extent)
            })
            .collect(),
        keys: admin.keys().await.map_err(report_error)?.into_iter().map(|k| (k.id, k.name)).collect(),
        message,
        new_key,
        category_json,
    };
    Ok(render(status, &page))
}

/// What happened, as the page shows it: done (a redirect with a notice) or refused.
async fn outcome(state: &AppState, a: &PageAdmin, result: Result<String, ReportError>, category_json: String) -> Result<Response, PageError> {
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/verwaltung/maengel?erledigt={}", super::urlencode(&done))).into_response()),
        Err(ReportError::Invalid(_, m) | ReportError::NotFound(m)) => page(state, a, Some((m, true)), None, category_json).await,
        Err(ReportError::App(e)) => Err(e.into()),
    }
}

async fn show(State(state): State<AppState>, a: PageAdmin, axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>) -> Result<Response, PageError> {
    let message = q.get("erledigt").map(|m| (m.chars().take(200).collect::<String>(), false));
    page(&state, &a, message, None, String::new()).await
}


async fn department(State(state): State<AppState>, a: PageAdmin, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    let admin = admin(&state, &a)?;
    let result = admin.put_department(field(&form, "kurzname"), field(&form, "name")).await.map(|d| format!("Das Team „{}“ ist gespeichert.", d.name));
    outcome(&state, &a, result, String::new()).await
}

async fn category(State(state): State<AppState>, a: PageAdmin, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    let admin = admin(&state, &a)?;
    let text = field(&form, "kategorie").to_owned();
    let result = admin.put_category_json(&text).await.map(|c| format!("Die Kategorie „{}“ ist gespeichert.", c.name));
    outcome(&state, &a, result, text).await
}

/// A multipart form with one file: the text fields and the file's text.
async fn upload(mut form: axum::extract::Multipart) -> Result<(Vec<(String, String)>, String), PageError> {
    let unreadable = || AppError::BadRequest("Die Datei konnte nicht gelesen werden. Bitte versuchen Sie es noch einmal.".into());
    let (mut fields, mut file) = (Vec::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "datei" {
            file = field.bytes().await.map_err(|_| unreadable())?.to_vec();
        } else {
            fields.push((name, field.text().await.map_err(|_| unreadable())?));
        }
    }
    let text = String::from_utf8(file).map_err(|_| AppError::BadRequest("Die Datei ist nicht in UTF-8 kodiert. Bitte speichern Sie sie als UTF-8.".into()))?;
    Ok((fields, text))
}

async fn areas(State(state): State<AppState>, a: PageAdmin, form: axum::extract::Multipart) -> Result<Response, PageError> {
    let (fields, text) = upload(form).await?;
    check_csrf(&a.session, &fields)?;
    let admin = admin(&state, &a)?;
    let property = Some(field(&fields, "namensfeld")).filter(|p| !p.is_empty()).unwrap_or("name");
    let result = admin.import_areas(&text, Some(property), field(&fields, "kurzname")).await.map(|areas| format!("{} Flächen sind eingelesen.", areas.len()));
    outcome(&state, &a, result, String::new()).await
}

async fn region(State(state): State<AppState>, a: PageAdmin, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    let admin = admin(&state, &a)?;
    let result = admin.add_region(field(&form, "kurzname"), field(&form, "name"), field(&form, "ars")).await.map(|r| format!("Die Region „{}“ ist eingetragen.", r.name));
    outcome(&state, &a, result, String::new()).await
}

async fn assign(State(state): State<AppState>, a: PageAdmin, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    let admin = admin(&state, &a)?;
    let result = admin.assign(field(&form, "kategorie"), field(&form, "flaeche"), field(&form, "team")).await.map(|()| "Die Zuordnung ist eingetragen.".to_owned());
    outcome(&state, &a, result, String::new()).await
}

async fn addresses(State(state): State<AppState>, a: PageAdmin, form: axum::extract::Multipart) -> Result<Response, PageError> {
    let (fields, text) = upload(form).await?;
    check_csrf(&a.session, &fields)?;
    let admin = admin(&state, &a)?;
    let result = admin.import_addresses(&text).await.map(|n| format!("Das Adressverzeichnis hat jetzt {n} Adressen."));
    outcome(&state, &a, result, String::new()).await
}

async fn key(State(state): State<AppState>, a: PageAdmin, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    let admin = admin(&state, &a)?;
    match admin.issue_key(field(&form, "name")).await {
        Ok((_, key)) => page(&state, &a, Some(("Der Schlüssel ist ausgestellt.".into(), false)), Some(key), String::new()).await,
        Err(e) => outcome(&state, &a, Err(e), String::new()).await,
    }
}

async fn revoke(State(state): State<AppState>, a: PageAdmin, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&a.session, &form)?;
    let admin = admin(&state, &a)?;
    let result = admin.revoke_key(&id).await.map(|()| "Der Schlüssel ist widerrufen.".to_owned());
    outcome(&state, &a, result, String::new()).await
}
