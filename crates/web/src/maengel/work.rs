//! The department's pages under `/arbeitsplatz/maengel`: the reports of the member's
//! departments (filters by state and category, sorted by date, deadline or distance from a
//! place; overdue ones marked), a bulk change of status, and per report: moderation (the public
//! text, publishing, blacking out parts of a photo), a status change with a public note (also
//! "bereits gemeldet" with the original's number and "nicht zuständig" with the authority it
//! goes to), internal notes; and the figures per category and department.

use super::{field, report_error};
use crate::pages::date_time;
use crate::auth::{PageStaff, check_csrf};
use crate::error::{AppError, PageError};
use crate::pages::{Layout, render};
use crate::state::AppState;
use amtsweg_app::reports::work::{Change, ReportDesk};
use amtsweg_domain::reports::{Report, ReportFilter, ReportStatus};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/arbeitsplatz/maengel", get(list))
        .route("/arbeitsplatz/maengel/sammel", post(bulk))
        .route("/arbeitsplatz/maengel/kennzahlen", get(figures))
        .route("/arbeitsplatz/maengel/{id}", get(detail))
        .route("/arbeitsplatz/maengel/{id}/status", post(change_status))
        .route("/arbeitsplatz/maengel/{id}/moderation", post(moderate))
        .route("/arbeitsplatz/maengel/{id}/notiz", post(note))
        .route("/arbeitsplatz/maengel/{id}/weiterleiten", post(forward))
        .route("/arbeitsplatz/maengel/{id}/fotos/{photo}", get(photo))
        .route("/arbeitsplatz/maengel/{id}/fotos/{photo}/schwaerzen", post(black_out))
}

async fn desk(state: &AppState, staff: &PageStaff) -> Result<ReportDesk, PageError> {
    ReportDesk::new(&state.app, &staff.session.user).await.map_err(report_error)?.ok_or_else(|| AppError::Forbidden("Nur für Mitarbeitende.").into())
}

fn statuses() -> Vec<(&'static str, &'static str)> {
    ReportStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect()
}

struct Row {
    id: i64,
    category: String,
    place: String,
    status: &'static str,
    received: String,
    due: String,
    overdue: bool,
    published: bool,
    distance: String,
}

#[derive(Template)]
#[template(path = "maengel/work_list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    categories: Vec<(String, String)>,
    category: String,
    state_filter: String,
    sort: String,
    near: String,
    statuses: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    error: Option<String>,
}

async fn list(State(state): State<AppState>, staff: PageStaff, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    render_list(&state, &staff, &q, None).await
}

async fn render_list(state: &AppState, staff: &PageStaff, q: &HashMap<String, String>, error: Option<String>) -> Result<Response, PageError> {
    let desk = desk(state, staff).await?;
    let categories = state.app.store.categories(Some(desk.authority())).await?;
    let category = q.get("kategorie").cloned().filter(|c| categories.iter().any(|x| &x.code == c)).unwrap_or_default();
    let state_filter = q.get("stand").cloned().filter(|s| ["offen", "erledigt", "alle", "ungeprueft", "ueberfaellig"].contains(&s.as_str())).unwrap_or_else(|| "offen".into());
    let sort = q.get("sortierung").cloned().filter(|s| ["eingang", "frist", "entfernung"].contains(&s.as_str())).unwrap_or_else(|| "eingang".into());
    let near = q.get("nahe").map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut filter = ReportFilter { limit: 500, ..Default::default() };
    if !category.is_empty() {
        filter.categories.push(category.clone());
    }
    match state_filter.as_str() {
        "offen" | "ungeprueft" | "ueberfaellig" => filter.statuses = ReportStatus::ALL.into_iter().filter(|s| !s.is_closed()).collect(),
        "erledigt" => filter.statuses = ReportStatus::ALL.into_iter().filter(|s| s.is_closed()).collect(),
        _ => {}
    }
    if state_filter == "ueberfaellig" {
        filter.deadline_before = Some(time::OffsetDateTime::now_utc());
    }
    let mut reports = desk.reports(&filter).await.map_err(report_error)?;
    if state_filter == "ungeprueft" {
        reports.retain(|r| !r.published);
    }
    // The place to sort by: an address of the list, or "lat, lon".
    let mut error = error;
    let origin = if sort == "entfernung" && !near.is_empty() {
        let parts: Vec<f64> = near.split(',').filter_map(|p| p.trim().parse().ok()).collect();
        match parts[..] {
            [lat, lon] => amtsweg_places::point(lat, lon),
            _ => {
                let found = state.app.reports("").find_address(Some(desk.authority()), &near).await.map_err(report_error)?;
                match found.first() {
                    Some(a) => Some(a.point()),
                    None => {
                        error = Some("Diese Adresse steht nicht im Adressverzeichnis; die Liste ist nach Eingang sortiert.".into());
                        None
                    }
                }
            }
        }
    } else {
        None
    };
    let distance = |r: &Report| origin.and_then(|o| amtsweg_places::point(r.location.lat, r.location.lon).map(|p| amtsweg_places::distance_m(o, p)));
    match (sort.as_str(), origin) {
        ("frist", _) => reports.sort_by_key(|r| r.deadline_at),
        ("entfernung", Some(_)) => reports.sort_by(|a, b| distance(a).unwrap_or(f64::MAX).total_cmp(&distance(b).unwrap_or(f64::MAX))),
        _ => {}
    }
    let now = time::OffsetDateTime::now_utc();
    let names: HashMap<String, String> = categories.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
    let rows = reports
        .iter()
        .map(|r| Row {
            id: r.id,
            category: names.get(&r.category).cloned().unwrap_or_else(|| r.category.clone()),
            place: r.location.address.clone().unwrap_or_else(|| format!("{:.5}, {:.5}", r.location.lat, r.location.lon)),
            status: r.status.label(),
            received: date_time(r.created_at),
            due: date_time(r.deadline_at),
            overdue: !r.status.is_closed() && r.deadline_at < now,
            published: r.published,
            distance: distance(r).map(|d| if d < 1000.0 { format!("{d:.0} m") } else { format!("{:.1} km", d / 1000.0) }).unwrap_or_default(),
        })
        .collect();
    let notice = q.get("geaendert").map(|n| format!("{n} Meldungen geändert."));
    let page = ListPage {
        layout: Layout::new(if error.is_some() { "Fehler: Meldungen" } else { "Meldungen" }, Some(&staff.session)),
        rows,
        categories: categories.into_iter().map(|c| (c.code, c.name)).collect(),
        category,
        state_filter,
        sort,
        near,
        statuses: statuses(),
        notice,
        error,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn bulk(State(state): State<AppState>, staff: PageStaff, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let desk = desk(&state, &staff).await?;
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let ids: Vec<i64> = form.iter().filter(|(k, _)| k == "nr").filter_map(|(_, v)| v.parse().ok()).collect();
    let back = |message: &str| {
        let mut q = HashMap::new();
        q.insert("stand".to_owned(), "offen".to_owned());
        (q, message.to_owned())
    };
    let Some(status) = ReportStatus::parse(&get("status")).filter(|s| !matches!(s, ReportStatus::Duplicate | ReportStatus::Forwarded)) else {
        let (q, m) = back("Bitte wählen Sie einen Stand (für „bereits gemeldet“ und „weitergeleitet“ öffnen Sie die Meldung).");
        return render_list(&state, &staff, &q, Some(m)).await;
    };
    if ids.is_empty() {
        let (q, m) = back("Bitte wählen Sie mindestens eine Meldung aus.");
        return render_list(&state, &staff, &q, Some(m)).await;
    }
    let change = Change { status, note: get("notiz"), internal: false, public_text: None, duplicate_of: None, forwarded_to: None };
    let mut changed = 0;
    for id in ids {
        desk.change(id, &change).await.map_err(report_error)?;
        changed += 1;
    }
    Ok(Redirect::to(&format!("/arbeitsplatz/maengel?geaendert={changed}")).into_response())
}

#[derive(Template)]
#[template(path = "maengel/work_detail.html")]
struct DetailPage {
    layout: Layout,
    report: Report,
    category_name: String,
    department: String,
    status: &'static str,
    answers: Vec<(String, String)>,
    history: Vec<(String, &'static str, String, bool)>,
    photos: Vec<String>,
    statuses: Vec<(&'static str, &'static str)>,
    received: String,
    due: String,
    overdue: bool,
    error: Option<String>,
    notice: Option<String>,
    /// Authorities and categories to hand the report over to: (key, label).
    targets: Vec<(String, String)>,
    closed: bool,
}

async fn detail(State(state): State<AppState>, staff: PageStaff, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let notice = match q.get("ok").map(String::as_str) {
        Some("status") => Some("Der Stand ist geändert.".to_owned()),
        Some("moderation") => Some("Der öffentliche Text ist gespeichert.".to_owned()),
        Some("notiz") => Some("Die Notiz ist gespeichert.".to_owned()),
        Some("foto") => Some("Der Bereich des Fotos ist geschwärzt.".to_owned()),
        Some("weitergeleitet") => Some(match q.get("neu").and_then(|n| n.parse::<i64>().ok()) {
            Some(n) => format!("Die Meldung ist übergeben; dort hat sie die Nummer {n}."),
            None => "Die Meldung ist übergeben.".to_owned(),
        }),
        _ => None,
    };
    render_detail(&state, &staff, &id, None, notice).await
}

async fn render_detail(state: &AppState, staff: &PageStaff, id: &str, error: Option<String>, notice: Option<String>) -> Result<Response, PageError> {
    let desk = desk(state, staff).await?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let report = desk.open(id).await.map_err(report_error)?.ok_or(AppError::NotFound)?;
    let category = state.app.store.category(desk.authority(), &report.category).await?;
    let department = state.app.store.departments(Some(desk.authority())).await?.into_iter().find(|d| d.id == report.department_id).map(|d| d.name).unwrap_or_default();
    let answers = category
        .as_ref()
        .map(|c| {
            c.attributes
                .iter()
                .filter_map(|a| {
                    let given = report.answers.get(&a.code)?;
                    let text: Vec<String> = given.iter().map(|v| a.values.iter().find(|(k, _)| k == v).map(|(_, n)| n.clone()).unwrap_or_else(|| v.clone())).collect();
                    Some((a.description.clone(), text.join(", ")))
                })
                .collect()
        })
        .unwrap_or_default();
    let history = desk.updates(id).await.map_err(report_error)?.into_iter().map(|u| (date_time(u.at), u.status.label(), u.note, u.internal)).collect();
    let photos = report.photos.iter().filter(|p| !p.contains('/')).cloned().collect();
    let now = time::OffsetDateTime::now_utc();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let targets = desk.forward_targets().await.map_err(report_error)?.into_iter().map(|t| (t.key(), format!("{} – {}", t.authority_name, t.category_name))).collect();
    let page = DetailPage {
        layout: Layout::new(format!("{}Meldung Nr. {id}", if error.is_some() { "Fehler: " } else { "" }), Some(&staff.session)),
        category_name: category.map(|c| c.name).unwrap_or_else(|| report.category.clone()),
        department,
        status: report.status.label(),
        answers,
        history,
        photos,
        statuses: statuses(),
        received: date_time(report.created_at),
        due: date_time(report.deadline_at),
        overdue: !report.status.is_closed() && report.deadline_at < now,
        error,
        notice,
        targets,
        closed: report.status.is_closed(),
        report,
    };
    Ok(render(status, &page))
}


async fn apply(state: &AppState, staff: &PageStaff, id: &str, change: Change, ok: &str) -> Result<Response, PageError> {
    let desk = desk(state, staff).await?;
    let n: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    match desk.change(n, &change).await {
        Ok(_) => Ok(Redirect::to(&format!("/arbeitsplatz/maengel/{n}?ok={ok}")).into_response()),
        Err(amtsweg_app::reports::ReportError::Invalid(_, message)) => render_detail(state, staff, id, Some(message), None).await,
        Err(e) => Err(report_error(e)),
    }
}

async fn change_status(State(state): State<AppState>, staff: PageStaff, Path(id): Path<String>, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let Some(status) = ReportStatus::parse(field(&form, "status")) else {
        return render_detail(&state, &staff, &id, Some("Bitte wählen Sie einen Stand.".into()), None).await;
    };
    let duplicate_of = match field(&form, "duplikat_von") {
        "" => None,
        n => match n.trim_start_matches("Nr.").trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return render_detail(&state, &staff, &id, Some("Die Nummer der ursprünglichen Meldung muss eine Zahl sein.".into()), None).await,
        },
    };
    let forwarded_to = Some(field(&form, "weiter_an").to_owned()).filter(|s| !s.is_empty());
    let change = Change { status, note: field(&form, "notiz").to_owned(), internal: false, public_text: None, duplicate_of, forwarded_to };
    apply(&state, &staff, &id, change, "status").await
}

async fn moderate(State(state): State<AppState>, staff: PageStaff, Path(id): Path<String>, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let desk = desk(&state, &staff).await?;
    let n: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let report = desk.report(n).await.map_err(report_error)?.ok_or(AppError::NotFound)?;
    let publish = field(&form, "veroeffentlichen") == "true";
    let change = Change {
        status: report.status,
        note: String::new(),
        internal: false,
        public_text: Some((field(&form, "oeffentlicher_text").to_owned(), publish)),
        duplicate_of: None,
        forwarded_to: None,
    };
    apply(&state, &staff, &id, change, "moderation").await
}

async fn note(State(state): State<AppState>, staff: PageStaff, Path(id): Path<String>, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let text = field(&form, "notiz").to_owned();
    if text.is_empty() {
        return render_detail(&state, &staff, &id, Some("Bitte schreiben Sie eine Notiz.".into()), None).await;
    }
    let change = Change { status: ReportStatus::Open, note: text, internal: true, public_text: None, duplicate_of: None, forwarded_to: None };
    apply(&state, &staff, &id, change, "notiz").await
}

/// Hands the report over to another authority on this installation.
async fn forward(State(state): State<AppState>, staff: PageStaff, Path(id): Path<String>, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let desk = desk(&state, &staff).await?;
    let n: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let Some((authority, category)) = field(&form, "ziel").split_once('/').and_then(|(a, c)| Some((amtsweg_domain::AuthorityId::parse(a)?, c))) else {
        return render_detail(&state, &staff, &id, Some("Bitte wählen Sie eine Behörde und Kategorie aus der Liste.".into()), None).await;
    };
    match desk.forward(n, &authority, category, field(&form, "notiz")).await {
        Ok(new) => Ok(Redirect::to(&format!("/arbeitsplatz/maengel/{n}?ok=weitergeleitet&neu={new}")).into_response()),
        Err(amtsweg_app::reports::ReportError::Invalid(_, message)) => render_detail(&state, &staff, &id, Some(message), None).await,
        Err(e) => Err(report_error(e)),
    }
}

/// A photo of one of the desk's reports (published or not).
async fn photo(State(state): State<AppState>, staff: PageStaff, Path((id, photo)): Path<(String, String)>) -> Result<Response, PageError> {
    let desk = desk(&state, &staff).await?;
    let n: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (media_type, bytes) = desk.photo(n, &photo).await.map_err(report_error)?.ok_or(AppError::NotFound)?;
    Ok(super::image(&media_type, bytes, "private, no-store"))
}

/// Blacks out a rectangle of a photo (given in percent of its width and height).
async fn black_out(State(state): State<AppState>, staff: PageStaff, Path((id, photo)): Path<(String, String)>, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_csrf(&staff.session, &form)?;
    let desk = desk(&state, &staff).await?;
    let n: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let percent = |k: &str| field(&form, k).replace(',', ".").parse::<f32>().ok().filter(|v| (0.0..=100.0).contains(v));
    let (Some(x), Some(y), Some(w), Some(h)) = (percent("links"), percent("oben"), percent("breite"), percent("hoehe")) else {
        return render_detail(&state, &staff, &id, Some("Bitte geben Sie den Bereich in Prozent an: links, oben, Breite und Höhe, jeweils von 0 bis 100.".into()), None).await;
    };
    if w <= 0.0 || h <= 0.0 {
        return render_detail(&state, &staff, &id, Some("Breite und Höhe des Bereichs müssen größer als 0 sein.".into()), None).await;
    }
    match desk.black_out(n, &photo, (x / 100.0, y / 100.0, w / 100.0, h / 100.0)).await {
        Ok(()) => Ok(Redirect::to(&format!("/arbeitsplatz/maengel/{n}?ok=foto")).into_response()),
        Err(amtsweg_app::reports::ReportError::Invalid(_, message)) => render_detail(&state, &staff, &id, Some(message), None).await,
        Err(e) => Err(report_error(e)),
    }
}

struct Figure {
    name: String,
    open: usize,
    closed: usize,
    overdue: usize,
    median_days: String,
}

#[derive(Template)]
#[template(path = "maengel/work_figures.html")]
struct FiguresPage {
    layout: Layout,
    by_category: Vec<Figure>,
    by_department: Vec<Figure>,
}

fn figure(name: String, reports: &[&Report], now: time::OffsetDateTime) -> Figure {
    let mut days: Vec<f64> = reports.iter().filter_map(|r| r.closed_at.map(|c| (c - r.created_at).as_seconds_f64() / 86_400.0)).collect();
    days.sort_by(f64::total_cmp);
    let median_days = if days.is_empty() { "–".into() } else { format!("{:.1}", days[days.len() / 2]).replace('.', ",") };
    Figure {
        name,
        open: reports.iter().filter(|r| !r.status.is_closed()).count(),
        closed: reports.iter().filter(|r| r.status.is_closed()).count(),
        overdue: reports.iter().filter(|r| !r.status.is_closed() && r.deadline_at < now).count(),
        median_days,
    }
}

async fn figures(State(state): State<AppState>, staff: PageStaff) -> Result<Response, PageError> {
    let desk = desk(&state, &staff).await?;
    let reports = desk.reports(&ReportFilter { limit: 100_000, ..Default::default() }).await.map_err(report_error)?;
    let now = time::OffsetDateTime::now_utc();
    let categories = state.app.store.categories(Some(desk.authority())).await?;
    let departments = state.app.store.departments(Some(desk.authority())).await?;
    let by_category = categories
        .iter()
        .map(|c| figure(c.name.clone(), &reports.iter().filter(|r| r.category == c.code).collect::<Vec<_>>(), now))
        .filter(|f| f.open + f.closed > 0)
        .collect();
    let by_department = departments
        .iter()
        .map(|d| figure(d.name.clone(), &reports.iter().filter(|r| r.department_id == d.id).collect::<Vec<_>>(), now))
        .filter(|f| f.open + f.closed > 0)
        .collect();
    Ok(render(StatusCode::OK, &FiguresPage { layout: Layout::new("Kennzahlen des Mängelmelders", Some(&staff.session)), by_category, by_department }))
}
