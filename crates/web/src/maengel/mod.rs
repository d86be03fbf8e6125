//! The Mängelmelder's pages for citizens, without JavaScript: where (an address from the
//! authority's list, or coordinates), what (a category, grouped), possible duplicates within
//! 250 m ("Diese Meldung unterstützen" or "Trotzdem neu melden"), then the form (the category's
//! questions, a description, up to three photos, and how to hear back). The public list and
//! detail pages show published reports with their history, never anything of the reporter.
//! The department's pages are in `work.rs`.

mod map;
pub mod setup;
pub mod work;

use crate::error::{AppError, PageError};
use crate::login::pages::{check_page_form_token, page_form_token};
use crate::login::session::{MaybeSession, SessionContext};
use crate::pages::{Layout, render};
use crate::state::AppState;
use amtsweg_app::reports::{Draft, PlaceInput, PublicReport, ReportError, Reports};
use amtsweg_domain::reports::{Category, Datatype, ReportFilter, ReportStatus, Reporter};
use amtsweg_domain::{AuthorityId, Role};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, HashMap};

/// The report form with its photos.
pub const MAX_REPORT_BYTES: usize = amtsweg_app::reports::MAX_PHOTOS * amtsweg_app::reports::MAX_PHOTO_BYTES + 128 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/maengel", get(start))
        .route("/maengel/melden", get(report_form).post(send_report).layer(axum::extract::DefaultBodyLimit::max(MAX_REPORT_BYTES)))
        .route("/maengel/eingegangen/{id}", get(received))
        .route("/maengel/meldungen", get(list))
        .route("/maengel/meldungen/{id}", get(detail))
        .route("/maengel/meldungen/{id}/unterstuetzen", post(support))
        .route("/maengel/fotos/{id}", get(photo))
        .route("/maengel/bestaetigen/{id}/{token}", get(confirm_page).post(confirm))
        .route("/maengel/karte", get(map::click))
        .route("/maengel/karte.png", get(map::picture))
        .merge(work::router())
        .merge(setup::router())
}

fn reports(state: &AppState) -> Reports {
    state.app.reports("/maengel/fotos/")
}

pub(crate) fn report_error(e: ReportError) -> PageError {
    match e {
        ReportError::NotFound(_) => PageError(AppError::NotFound),
        ReportError::Invalid(_, m) => PageError(AppError::BadRequest(m)),
        ReportError::App(e) => PageError(e),
    }
}

/// A field of a submitted form, trimmed (empty when missing).
fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
}

/// A page with a fresh form token (for people without a login).
fn with_form_cookie(mut response: Response, cookie: Option<header::HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

// --- start: where? ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "maengel/start.html")]
struct StartPage {
    layout: Layout,
    address: String,
    lat: String,
    lon: String,
    error: Option<String>,
    choices: Vec<(String, String)>,
    map: Option<map::MapBlock>,
}

async fn start(State(state): State<AppState>, MaybeSession(session): MaybeSession, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let map = map::MapBlock::start(&state, &q).await?;
    Ok(render(StatusCode::OK, &StartPage { layout: Layout::new("Mangel melden", session.as_deref()), address: String::new(), lat: String::new(), lon: String::new(), error: None, choices: vec![], map }))
}

// --- the form ------------------------------------------------------------------------------------

/// One question of a category as the form shows it.
struct Question {
    id: String,
    label: String,
    hint: String,
    required: bool,
    kind: &'static str,
    value: String,
    choices: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "maengel/report.html")]
struct ReportPage {
    layout: Layout,
    form_token: String,
    place: String,
    lat: String,
    lon: String,
    address: String,
    authority_name: String,
    /// Without a category: the categories to choose from, by group.
    groups: Vec<(String, Vec<(String, String, String)>)>,
    category: Option<(String, String)>,
    /// Open reports of the same category nearby (shown before the form, unless `new` is set).
    nearby: Vec<Nearby>,
    show_form: bool,
    questions: Vec<Question>,
    description: String,
    email: String,
    is_citizen: bool,
    errors: Vec<amtsweg_domain::FieldError>,
    query_new: String,
    map: Option<map::MapBlock>,
    /// Whether an e-mail address is confirmed and then written to.
    mail: bool,
}

struct Nearby {
    id: i64,
    category_name: String,
    status: &'static str,
    address: String,
    description: String,
    since: String,
    supporters: i64,
}

fn questions_of(category: &Category, answers: &BTreeMap<String, Vec<String>>) -> Vec<Question> {
    let mut attributes = category.attributes.clone();
    attributes.sort_by_key(|a| a.order);
    attributes
        .into_iter()
        .map(|a| {
            let given = answers.get(&a.code).cloned().unwrap_or_default();
            let kind = match a.datatype {
                Datatype::String => "text",
                Datatype::Number => "number",
                Datatype::Datetime => "date",
                Datatype::Text => "textarea",
                Datatype::Singlevaluelist => "radio",
                Datatype::Multivaluelist => "checkbox",
            };
            Question {
                id: format!("frage-{}", a.code),
                label: a.description.clone(),
                hint: a.datatype_description.clone(),
                required: a.required,
                kind,
                value: given.first().cloned().unwrap_or_default(),
                choices: a.values.iter().map(|(k, n)| (k.clone(), n.clone(), given.contains(k))).collect(),
            }
        })
        .collect()
}

/// Where the citizen said the problem is; `Err` with the start page when it cannot be found.
async fn resolve_place(reports: &Reports, q: &HashMap<String, String>, session: Option<&SessionContext>) -> Result<(f64, f64, Option<String>), Response> {
    let text = |k: &str| q.get(k).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let page = |error: String, choices: Vec<(String, String)>| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &StartPage {
                layout: Layout::new("Fehler: Mangel melden", session),
                address: text("adresse").unwrap_or_default(),
                lat: text("lat").unwrap_or_default(),
                lon: text("lon").unwrap_or_default(),
                error: Some(error),
                choices,
                map: None,
            },
        )
    };
    let degree = |s: Option<String>| s.map(|s| s.replace(',', ".").parse::<f64>());
    match (degree(text("lat")), degree(text("lon"))) {
        (Some(Ok(lat)), Some(Ok(lon))) if amtsweg_places::point(lat, lon).is_some() => return Ok((lat, lon, None)),
        (None, None) => {}
        _ => return Err(page("Bitte geben Sie Breite und Länge als Dezimalgrad an, zum Beispiel 51,3397 und 12,3731.".into(), vec![])),
    }
    let Some(address) = text("adresse") else {
        return Err(page("Bitte geben Sie eine Adresse (Straße und Hausnummer) oder Breite und Länge an.".into(), vec![]));
    };
    let found = reports.find_address(None, &address).await.map_err(|e| report_error(e).into_response())?;
    let key = amtsweg_places::normalize(&address);
    match found.iter().find(|a| a.key() == key) {
        Some(exact) => Ok((exact.lat, exact.lon, Some(exact.label()))),
        None if found.is_empty() => Err(page("Diese Adresse steht nicht im Adressverzeichnis. Bitte prüfen Sie Straße und Hausnummer, oder geben Sie Breite und Länge an.".into(), vec![])),
        None => {
            let choices = found.iter().map(|a| (a.label(), format!("/maengel/melden?adresse={}", urlencode(&a.label())))).collect();
            Err(page("Welche Adresse meinen Sie? Bitte wählen Sie eine aus.".into(), choices))
        }
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).map(|e| e.trim_start_matches('=').to_owned()).unwrap_or_default()
}

/// What the form page needs besides the errors.
struct Filled {
    answers: BTreeMap<String, Vec<String>>,
    description: String,
    email: String,
}

async fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<&SessionContext>,
    q: &HashMap<String, String>,
    filled: Filled,
    errors: Vec<amtsweg_domain::FieldError>,
) -> Result<Response, PageError> {
    let reports = reports(state);
    let (lat, lon, address) = match resolve_place(&reports, q, session).await {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let point = amtsweg_places::point(lat, lon).ok_or(AppError::BadRequest("Der Ort liegt außerhalb von WGS 84.".into()))?;
    let map = reports.map().await.map_err(report_error)?;
    let Some(authority) = map.authority_at(reports.place(point).await.map_err(report_error)?) else {
        let page = StartPage {
            layout: Layout::new("Fehler: Mangel melden", session),
            address: address.clone().unwrap_or_default(),
            lat: format!("{lat}"),
            lon: format!("{lon}"),
            error: Some("Für diesen Ort nimmt hier keine Behörde Meldungen an. Bitte wenden Sie sich an die Gemeinde, in der der Ort liegt.".into()),
            choices: vec![],
            map: map::MapBlock::start(state, &HashMap::new()).await?,
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let authority_name = state.app.store.authority(&authority).await?.map(|a| a.name).unwrap_or_default();
    let categories = reports.categories(Some(&authority)).await.map_err(report_error)?;
    let chosen = q.get("kategorie").and_then(|code| categories.iter().find(|c| &c.code == code)).cloned();
    let mut groups: Vec<(String, Vec<(String, String, String)>)> = Vec::new();
    for c in &categories {
        let group = if c.group.is_empty() { "Weitere".to_owned() } else { c.group.clone() };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, items)) => items.push((c.code.clone(), c.name.clone(), c.description.clone())),
            None => groups.push((group, vec![(c.code.clone(), c.name.clone(), c.description.clone())])),
        }
    }
    let new = q.get("neu").is_some_and(|v| v == "1");
    let nearby = match &chosen {
        Some(c) if !new => reports
            .nearby(&authority, &c.code, lat, lon)
            .await
            .map_err(report_error)?
            .into_iter()
            .map(|r| Nearby {
                id: r.id,
                category_name: r.category_name,
                status: r.status.label(),
                address: r.address.unwrap_or_default(),
                description: r.description.unwrap_or_default(),
                since: crate::pages::date_time(r.requested_at),
                supporters: r.supporters,
            })
            .collect(),
        _ => Vec::new(),
    };
    let (form_token, cookie) = page_form_token(state, headers);
    let place = address.clone().unwrap_or_else(|| format!("{lat:.5}, {lon:.5}"));
    let is_citizen = session.is_some_and(|s| s.user.role == Role::Citizen);
    let mut query_new: Vec<(&str, String)> = vec![];
    if let Some(a) = &address {
        query_new.push(("adresse", a.clone()));
    } else {
        query_new.push(("lat", format!("{lat}")));
        query_new.push(("lon", format!("{lon}")));
    }
    if let Some(c) = &chosen {
        query_new.push(("kategorie", c.code.clone()));
    }
    query_new.push(("neu", "1".into()));
    let keep: Vec<(String, String)> = chosen.iter().map(|c| ("kategorie".to_owned(), c.code.clone())).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let title = match (&chosen, errors.is_empty()) {
        (Some(c), true) => format!("{} melden", c.name),
        (Some(c), false) => format!("Fehler: {} melden", c.name),
        (None, _) => "Was möchten Sie melden?".to_owned(),
    };
    let page = ReportPage {
        layout: Layout::new(title, session),
        form_token,
        place,
        lat: format!("{lat}"),
        lon: format!("{lon}"),
        address: address.unwrap_or_default(),
        authority_name,
        groups,
        show_form: chosen.is_some() && nearby.is_empty(),
        questions: chosen.as_ref().map(|c| questions_of(c, &filled.answers)).unwrap_or_default(),
        category: chosen.map(|c| (c.code, c.name)),
        nearby,
        description: filled.description,
        email: filled.email,
        is_citizen,
        errors,
        query_new: serde_urlencoded::to_string(&query_new).unwrap_or_default(),
        map: map::MapBlock::around(state, lat, lon, keep),
        mail: reports.sends_mail(),
    };
    Ok(with_form_cookie(render(status, &page), cookie))
}

async fn report_form(State(state): State<AppState>, MaybeSession(session): MaybeSession, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    form_page(&state, &headers, session.as_deref(), &q, Filled { answers: BTreeMap::new(), description: String::new(), email: String::new() }, vec![]).await
}

async fn send_report(State(state): State<AppState>, MaybeSession(session): MaybeSession, headers: HeaderMap, mut form: axum::extract::Multipart) -> Result<Response, PageError> {
    let unreadable = || AppError::BadRequest("Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es noch einmal.".into());
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut uploads: Vec<Vec<u8>> = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "foto" {
            let bytes = field.bytes().await.map_err(|_| unreadable())?;
            if !bytes.is_empty() {
                uploads.push(bytes.to_vec());
            }
        } else {
            fields.push((name, field.text().await.map_err(|_| unreadable())?));
        }
    }
    check_page_form_token(
        &state,
        session.as_deref(),
        &headers,
        &fields,
        "Das Formular wurde von einer anderen Seite gesendet. Bitte melden Sie den Mangel direkt auf dieser Seite.",
        "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und senden Sie Ihre Meldung noch einmal.",
    )?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &fields {
        if let Some(code) = name.strip_prefix("frage-") {
            answers.entry(code.to_owned()).or_default().push(value.clone());
        }
    }
    let mut q: HashMap<String, String> = HashMap::new();
    for k in ["adresse", "lat", "lon", "kategorie"] {
        let v = get(k);
        if !v.is_empty() {
            q.insert(k.to_owned(), v);
        }
    }
    q.insert("neu".into(), "1".into());
    let email = get("email");
    let filled = Filled { answers: answers.clone(), description: get("beschreibung"), email: email.clone() };
    let is_citizen = session.as_ref().is_some_and(|s| s.user.role == Role::Citizen);
    let mut errors = Vec::new();
    if !email.is_empty() && (email.chars().count() > 254 || !email.contains('@') || email.contains(char::is_whitespace)) {
        errors.push(amtsweg_domain::FieldError::new("email", "Bitte geben Sie eine gültige E-Mail-Adresse an, zum Beispiel name@example.org, oder lassen Sie das Feld leer."));
    }
    if get("beschreibung").is_empty() && uploads.is_empty() {
        errors.push(amtsweg_domain::FieldError::new("beschreibung", "Bitte beschreiben Sie den Mangel, oder senden Sie ein Foto."));
    }
    if !errors.is_empty() {
        return form_page(&state, &headers, session.as_deref(), &q, filled, errors).await;
    }
    let reports = reports(&state);
    let (lat, lon) = (get("lat").parse::<f64>().ok(), get("lon").parse::<f64>().ok());
    let draft = Draft {
        authority: None,
        category: get("kategorie"),
        place: PlaceInput { lat, lon, address: Some(get("adresse")).filter(|a| !a.is_empty()), address_id: None, postcode: None },
        description: get("beschreibung"),
        answers,
        reporter: Reporter {
            user_id: session.as_ref().filter(|_| is_citizen).map(|s| s.user.id.to_string()),
            email: Some(email).filter(|e| !e.is_empty()),
            ..Default::default()
        },
        photos: Vec::new(),
        uploads,
        source: "portal".into(),
    };
    let actor = session.as_ref().filter(|_| is_citizen).map(|s| (s.user.id.to_string(), s.user.role.as_str()));
    match reports.submit(draft, actor.as_ref().map(|(id, role)| (id.as_str(), *role))).await {
        Ok(report) => Ok(Redirect::to(&format!("/maengel/eingegangen/{}", report.id)).into_response()),
        Err(ReportError::Invalid(parameter, message)) => {
            let field = match parameter {
                "description" => "beschreibung",
                "media" => "foto",
                "attribute" => "fragen",
                _ => "ort",
            };
            form_page(&state, &headers, session.as_deref(), &q, filled, vec![amtsweg_domain::FieldError::new(field, message)]).await
        }
        Err(e) => Err(report_error(e)),
    }
}

#[derive(Template)]
#[template(path = "maengel/received.html")]
struct ReceivedPage {
    layout: Layout,
    id: i64,
    published: bool,
    is_citizen: bool,
    /// Reporters who left an address get a confirmation link by e-mail.
    mail: bool,
}

async fn received(State(state): State<AppState>, MaybeSession(session): MaybeSession, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let published = reports(&state).public_report(id).await.map_err(report_error)?.is_some();
    let is_citizen = session.as_ref().is_some_and(|s| s.user.role == Role::Citizen);
    let mail = reports(&state).sends_mail() && !is_citizen;
    Ok(render(StatusCode::OK, &ReceivedPage { layout: Layout::new(format!("Meldung Nr. {id} ist eingegangen"), session.as_deref()), id, published, is_citizen, mail }))
}

// --- public list and detail ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "maengel/list.html")]
struct ListPage {
    layout: Layout,
    authorities: Vec<(String, String, bool)>,
    state_filter: String,
    items: Vec<Item>,
    more: Option<String>,
}

struct Item {
    id: i64,
    category_name: String,
    status: &'static str,
    closed: bool,
    address: String,
    since: String,
    authority: String,
}

async fn list(State(state): State<AppState>, MaybeSession(session): MaybeSession, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let reports = reports(&state);
    let jurisdictions = reports.jurisdictions().await.map_err(report_error)?;
    let chosen = q.get("behoerde").and_then(|b| jurisdictions.iter().find(|a| a.id.as_str() == b)).map(|a| a.id.clone());
    let state_filter = q.get("stand").cloned().filter(|s| s == "offen" || s == "erledigt").unwrap_or_default();
    let page: i64 = q.get("seite").and_then(|p| p.parse().ok()).filter(|p| *p >= 1 && *p <= 10_000).unwrap_or(1);
    const PER_PAGE: i64 = 50;
    let statuses = match state_filter.as_str() {
        "offen" => ReportStatus::ALL.into_iter().filter(|s| !s.is_closed()).collect(),
        "erledigt" => ReportStatus::ALL.into_iter().filter(|s| s.is_closed()).collect(),
        _ => vec![],
    };
    let filter = ReportFilter { authority_id: chosen.clone(), statuses, limit: PER_PAGE + 1, offset: (page - 1) * PER_PAGE, ..Default::default() };
    let mut found = reports.public_reports(&filter).await.map_err(report_error)?;
    let more = (found.len() as i64 > PER_PAGE).then(|| {
        let mut query: Vec<(&str, String)> = vec![("seite", (page + 1).to_string())];
        if let Some(a) = &chosen {
            query.push(("behoerde", a.to_string()));
        }
        if !state_filter.is_empty() {
            query.push(("stand", state_filter.clone()));
        }
        format!("/maengel/meldungen?{}", serde_urlencoded::to_string(&query).unwrap_or_default())
    });
    found.truncate(PER_PAGE as usize);
    let names: HashMap<AuthorityId, String> = jurisdictions.iter().map(|a| (a.id.clone(), a.name.clone())).collect();
    let items = found
        .into_iter()
        .map(|r| Item {
            id: r.id,
            category_name: r.category_name,
            status: r.status.label(),
            closed: r.status.is_closed(),
            address: r.address.unwrap_or_else(|| format!("{:.5}, {:.5}", r.lat, r.lon)),
            since: crate::pages::date_time(r.requested_at),
            authority: names.get(&r.authority_id).cloned().unwrap_or_default(),
        })
        .collect();
    let authorities = jurisdictions.iter().map(|a| (a.id.to_string(), a.name.clone(), Some(&a.id) == chosen.as_ref())).collect();
    Ok(render(StatusCode::OK, &ListPage { layout: Layout::new("Gemeldete Mängel", session.as_deref()), authorities, state_filter, items, more }))
}

#[derive(Template)]
#[template(path = "maengel/detail.html")]
struct DetailPage {
    layout: Layout,
    report: PublicReport,
    status: &'static str,
    requested: String,
    history: Vec<(String, &'static str, String)>,
    photos: Vec<String>,
    form_token: String,
    supported: bool,
}

async fn detail(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let reports = reports(&state);
    let report = reports.public_report(id).await.map_err(report_error)?.ok_or(AppError::NotFound)?;
    let history = reports
        .public_updates(id)
        .await
        .map_err(report_error)?
        .into_iter()
        .map(|u| (crate::pages::date_time(u.at), u.status.label(), u.note))
        .collect();
    let photos = state
        .app
        .store
        .report(id)
        .await?
        .map(|r| r.photos.into_iter().filter(|p| !p.contains('/')).map(|p| format!("/maengel/fotos/{p}")).collect())
        .unwrap_or_default();
    let (form_token, cookie) = page_form_token(&state, &headers);
    let page = DetailPage {
        layout: Layout::new(format!("Meldung Nr. {id}: {}", report.category_name), session.as_deref()),
        status: report.status.label(),
        requested: crate::pages::date_time(report.requested_at),
        report,
        history,
        photos,
        form_token,
        supported: q.contains_key("unterstuetzt"),
    };
    Ok(with_form_cookie(render(StatusCode::OK, &page), cookie))
}

async fn support(State(state): State<AppState>, MaybeSession(session): MaybeSession, headers: HeaderMap, Path(id): Path<String>, crate::pages::PageForm(form): crate::pages::PageForm) -> Result<Response, PageError> {
    check_page_form_token(
        &state,
        session.as_deref(),
        &headers,
        &form,
        "Das Formular wurde von einer anderen Seite gesendet.",
        "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
    )?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let reports = reports(&state);
    if reports.public_report(id).await.map_err(report_error)?.is_none() {
        return Err(AppError::NotFound.into());
    }
    let actor = session.as_ref().map(|s| (s.user.id.to_string(), s.user.role.as_str()));
    state.app.store.support_report(id, actor.as_ref().map(|(a, r)| (a.as_str(), *r))).await?;
    Ok(Redirect::to(&format!("/maengel/meldungen/{id}?unterstuetzt=1")).into_response())
}

#[derive(Template)]
#[template(path = "maengel/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    id: i64,
    token: String,
    form_token: String,
    done: bool,
    error: Option<String>,
}

/// The link of the confirmation mail: a page with a button (a link alone is opened by mail
/// scanners, which must not confirm anything).
async fn confirm_page(State(state): State<AppState>, MaybeSession(session): MaybeSession, headers: HeaderMap, Path((id, token)): Path<(String, String)>) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (form_token, cookie) = page_form_token(&state, &headers);
    let page = ConfirmPage { layout: Layout::new("E-Mail-Adresse bestätigen", session.as_deref()), id, token: urlencode(&token), form_token, done: false, error: None };
    let mut response = with_form_cookie(render(StatusCode::OK, &page), cookie);
    // The token is in the address: it must not travel on in a Referer.
    response.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    Ok(response)
}

async fn confirm(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    Path((id, token)): Path<(String, String)>,
    crate::pages::PageForm(form): crate::pages::PageForm,
) -> Result<Response, PageError> {
    check_page_form_token(
        &state,
        session.as_deref(),
        &headers,
        &form,
        "Das Formular wurde von einer anderen Seite gesendet.",
        "Das Formular ist abgelaufen. Bitte öffnen Sie den Link aus der E-Mail noch einmal.",
    )?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let done = reports(&state).confirm_email(id, &token).await.map_err(report_error)?;
    let error = (!done).then(|| "Dieser Link ist falsch oder schon benutzt worden, oder die Kontaktdaten der Meldung sind nach Ablauf der Aufbewahrungsfrist gelöscht.".to_owned());
    let status = if done { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let title = if done { "E-Mail-Adresse bestätigt" } else { "Fehler: E-Mail-Adresse bestätigen" };
    Ok(render(status, &ConfirmPage { layout: Layout::new(title, session.as_deref()), id, token: String::new(), form_token: String::new(), done, error }))
}

async fn photo(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let (media_type, bytes) = reports(&state).public_photo(&id).await.map_err(report_error)?.ok_or(AppError::NotFound)?;
    Ok(image(&media_type, bytes, "public, max-age=300"))
}

/// A stored photo as an answer, with its media type and how long it may be cached.
fn image(media_type: &str, bytes: Vec<u8>, cache: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_str(media_type).unwrap_or(header::HeaderValue::from_static("application/octet-stream")));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static(cache));
    response
}
