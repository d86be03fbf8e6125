//! The Open311 GeoReport v2 server of the Mängelmelder, at `/open311/v2/`: discovery, services,
//! service definitions, requests (read and post), tokens, and FixMyStreet's
//! `servicerequestupdates` (read and post), each as `.xml` and `.json` (`format.rs`).
//!
//! - **Jurisdictions** are the authorities with categories; `jurisdiction_id` is the authority's
//!   id. With more than one on the installation it is required (400 without, 404 for an unknown
//!   one); with one it is ignored, as the spec allows.
//! - **API keys** (only for posting) belong to one authority, are issued by its service admin,
//!   and are throttled per key (10 a second, bursts of 120). Missing or wrong: 403.
//! - **Privacy**: the answers carry nothing of the reporter (name, e-mail, phone, device,
//!   account); only published reports are listed; a post's personal fields go to the report's
//!   personal part, which retention deletes.
//! - **Defaults** of `requests`: the last 90 days and at most 1,000 requests, newest first;
//!   `service_request_id` overrides every other filter; a date range over 90 days is refused;
//!   with only `start_date`, 90 days from it (up to now); with only `end_date`, 90 days up to
//!   it. `page` (from 1) and `page_size` (at most 1,000) page through.

mod format;

pub use format::{Format, item_name, to_xml};

use crate::state::AppState;
use amtsweg_app::reports::{Draft, PlaceInput, PublicReport, ReportError, Reports};
use amtsweg_domain::reports::{ReportFilter, ReportStatus};
use amtsweg_domain::{Authority, AuthorityId};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use format::{Answer, errors};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// When this API last changed (discovery's `changeset`).
const CHANGESET: &str = "2026-12-07T00:00:00+01:00";
const MAX_PAGE_SIZE: i64 = 1000;
const DEFAULT_DAYS: i64 = 90;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(root_get).post(root_post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

/// Query or form parameters in order; an empty value counts as absent (the spec: "a null
/// parameter should be treated as equivalent to a non-declared parameter").
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(text: &str) -> Result<Self, Answer> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(text)
            .map(Params)
            .map_err(|_| errors(StatusCode::BAD_REQUEST, "Die Parameter sind nicht als application/x-www-form-urlencoded in UTF-8 lesbar."))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim()).collect()
    }

    /// `attribute[code]=v` and `attribute[code][]=v`, by code.
    fn attributes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("attribute[") else { continue };
            let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']'));
            if let Some(code) = code.filter(|c| !c.is_empty() && !c.contains(['[', ']'])) {
                out.entry(code.to_owned()).or_default().push(v.clone());
            }
        }
        out
    }
}

/// An error of the application as the spec's error list (nothing internal in the text).
fn from_error(e: ReportError) -> Answer {
    match e {
        ReportError::NotFound(message) => errors(StatusCode::NOT_FOUND, &message),
        ReportError::Invalid(_, message) => errors(StatusCode::BAD_REQUEST, &message),
        ReportError::App(amtsweg_app::AppError::Overloaded { .. }) => errors(StatusCode::SERVICE_UNAVAILABLE, "Der Dienst ist gerade überlastet. Bitte versuchen Sie es gleich noch einmal."),
        ReportError::App(e) => {
            tracing::error!(error = %e, "open311 request failed");
            errors(StatusCode::INTERNAL_SERVER_ERROR, "Ein interner Fehler ist aufgetreten.")
        }
    }
}

fn reports(state: &AppState, headers: &HeaderMap) -> Reports {
    Reports::new(state.app.store.clone(), format!("{}/maengel/fotos/", origin(headers)))
}

/// `http(s)://host` of the request, as the client reached us.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get("x-forwarded-host").or_else(|| headers.get(axum::http::header::HOST)).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']')).collect();
    let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// A time as the spec wants it: W3C with seconds and the offset, in German local time.
pub fn w3c(t: OffsetDateTime) -> String {
    let local = amtsweg_domain::local_time::berlin(t);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]");
    local.format(&f).unwrap_or_default()
}

/// The authority a request is for (see the module's notes on jurisdictions).
async fn jurisdiction(reports: &Reports, params: &Params) -> Result<Option<Authority>, Answer> {
    let all = reports.jurisdictions().await.map_err(from_error)?;
    let given = params.get("jurisdiction_id");
    if all.len() <= 1 {
        return Ok(all.into_iter().next());
    }
    let Some(given) = given else {
        let ids: Vec<&str> = all.iter().map(|a| a.id.as_str()).collect();
        return Err(errors(
            StatusCode::BAD_REQUEST,
            &format!("Der Parameter jurisdiction_id fehlt. Diese Installation bedient mehrere Behörden: {}.", ids.join(", ")),
        ));
    };
    match all.into_iter().find(|a| a.id.as_str() == given) {
        Some(a) => Ok(Some(a)),
        None => Err(errors(StatusCode::NOT_FOUND, "Diese jurisdiction_id gibt es hier nicht.")),
    }
}

fn unknown_extension() -> Response {
    errors(StatusCode::NOT_FOUND, "Unbekanntes Format: Bitte hängen Sie .xml oder .json an die Adresse an.").render(Format::Xml)
}

async fn root_get(State(state): State<AppState>, Path(file): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let (name, Some(format)) = Format::split(&file) else { return unknown_extension() };
    let answer = match Params::parse(query.as_deref().unwrap_or("")) {
        Err(e) => e,
        Ok(params) => {
            let reports = reports(&state, &headers);
            let result = match name {
                "discovery" => Ok(discovery(&headers)),
                "services" => services(&reports, &params).await,
                "requests" => requests(&reports, &params).await,
                "servicerequestupdates" => updates(&reports, &params).await,
                _ => Err(errors(StatusCode::NOT_FOUND, "Diese Ressource gibt es nicht.")),
            };
            result.unwrap_or_else(|e| e)
        }
    };
    answer.render(format)
}

async fn root_post(State(state): State<AppState>, Path(file): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (name, Some(format)) = Format::split(&file) else { return unknown_extension() };
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => return errors(StatusCode::BAD_REQUEST, "Der Inhalt ist kein gültiges UTF-8.").render(format),
    };
    let answer = match Params::parse(text) {
        Err(e) => e,
        Ok(params) => {
            let reports = reports(&state, &headers);
            let result = match name {
                "requests" => post_request(&state, &reports, &params).await,
                "servicerequestupdates" => post_update(&state, &reports, &params).await,
                _ => Err(errors(StatusCode::NOT_FOUND, "Diese Ressource nimmt keine Meldungen an.")),
            };
            result.unwrap_or_else(|e| e)
        }
    };
    answer.render(format)
}

fn discovery(headers: &HeaderMap) -> Answer {
    let url = format!("{}/open311/v2/", origin(headers));
    Answer::ok(
        "discovery",
        json!({
            "changeset": CHANGESET,
            "contact": "Fragen zur Schnittstelle beantwortet die Fachadministration der jeweiligen Behörde.",
            "key_service": "API-Schlüssel zum Melden erteilt die Fachadministration der jeweiligen Behörde.",
            "endpoints": [{
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }],
        }),
    )
}

async fn services(reports: &Reports, params: &Params) -> Result<Answer, Answer> {
    let authority = jurisdiction(reports, params).await?;
    let Some(authority) = authority else { return Ok(Answer::ok("services", json!([]))) };
    let list: Vec<Value> = reports
        .categories(Some(&authority.id))
        .await
        .map_err(from_error)?
        .into_iter()
        .map(|c| {
            let metadata = c.has_questions();
            json!({
                "service_code": c.code,
                "service_name": c.name,
                "description": Some(c.description).filter(|d| !d.is_empty()),
                "metadata": metadata,
                "type": "realtime",
                "keywords": Some(c.keywords.join(",")).filter(|k| !k.is_empty()),
                "group": Some(c.group).filter(|g| !g.is_empty()),
            })
        })
        .collect();
    Ok(Answer::ok("services", Value::Array(list)))
}

async fn service_definition(State(state): State<AppState>, Path(file): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let (code, Some(format)) = Format::split(&file) else { return unknown_extension() };
    let result = async {
        let params = Params::parse(query.as_deref().unwrap_or(""))?;
        if code.trim().is_empty() {
            return Err(errors(StatusCode::BAD_REQUEST, "Der service_code fehlt in der Adresse."));
        }
        let reports = reports(&state, &headers);
        let authority = jurisdiction(&reports, &params).await?.ok_or_else(|| errors(StatusCode::NOT_FOUND, "Diesen service_code gibt es hier nicht."))?;
        let category = reports
            .store()
            .category(&authority.id, code)
            .await
            .map_err(|e| from_error(e.into()))?
            .ok_or_else(|| errors(StatusCode::NOT_FOUND, "Diesen service_code gibt es hier nicht."))?;
        let mut attributes = category.attributes.clone();
        attributes.sort_by_key(|a| a.order);
        let attributes: Vec<Value> = attributes
            .into_iter()
            .map(|a| {
                let mut v = json!({
                    "variable": true,
                    "code": a.code,
                    "datatype": a.datatype.as_str(),
                    "required": a.required,
                    "datatype_description": Some(a.datatype_description).filter(|d| !d.is_empty()),
                    "order": a.order,
                    "description": a.description,
                });
                if a.datatype.is_list() {
                    v["values"] = Value::Array(a.values.into_iter().map(|(key, name)| json!({"key": key, "name": name})).collect());
                }
                v
            })
            .collect();
        Ok(Answer::ok("service_definition", json!({"service_code": category.code, "attributes": attributes})))
    }
    .await;
    result.unwrap_or_else(|e| e).render(format)
}

/// One request in the spec's shape.
fn request_json(r: &PublicReport) -> Value {
    json!({
        "service_request_id": r.id.to_string(),
        "status": r.status.open311(),
        "status_notes": r.status_notes,
        "service_name": Some(r.category_name.clone()).filter(|n| !n.is_empty()),
        "service_code": r.category,
        "description": r.description,
        "agency_responsible": Some(r.agency.clone()).filter(|a| !a.is_empty()),
        "service_notice": Value::Null,
        "requested_datetime": w3c(r.requested_at),
        "updated_datetime": w3c(r.closed_at.filter(|_| r.status.is_closed()).unwrap_or(r.updated_at)),
        "expected_datetime": Value::Null,
        "address": r.address,
        "address_id": r.address_id,
        "zipcode": r.postcode,
        "lat": degrees(r.lat),
        "long": degrees(r.lon),
        "media_url": r.media_url,
    })
}

/// Degrees to six decimals (about 10 cm), as clients send them: short enough to read back
/// exactly in every JSON parser.
fn degrees(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn bad(message: &str) -> Answer {
    errors(StatusCode::BAD_REQUEST, message)
}

fn date_param(params: &Params, name: &str) -> Result<Option<OffsetDateTime>, Answer> {
    match params.get(name) {
        None => Ok(None),
        Some(text) => amtsweg_app::reports::parse_w3c(text)
            .map(Some)
            .ok_or_else(|| bad(&format!("{name} ist kein Datum im W3C-Format (zum Beispiel 2026-12-01T00:00:00+01:00)."))),
    }
}

fn number_param(params: &Params, name: &str, min: i64, max: i64) -> Result<Option<i64>, Answer> {
    match params.get(name) {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad(&format!("{name} muss eine ganze Zahl von {min} bis {max} sein."))),
        },
    }
}

/// The filter of `GET requests` (see the module's notes on the defaults).
fn request_filter(params: &Params, authority: &AuthorityId, now: OffsetDateTime) -> Result<ReportFilter, Answer> {
    let mut filter = ReportFilter { authority_id: Some(authority.clone()), published_only: true, limit: MAX_PAGE_SIZE, ..Default::default() };
    let page_size = number_param(params, "page_size", 1, MAX_PAGE_SIZE)?.unwrap_or(MAX_PAGE_SIZE);
    let page = number_param(params, "page", 1, 1_000_000)?.unwrap_or(1);
    filter.limit = page_size;
    filter.offset = (page - 1) * page_size;
    if let Some(ids) = params.get("service_request_id") {
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            filter.ids.push(id.parse::<i64>().map_err(|_| bad("service_request_id muss aus Nummern bestehen, durch Kommas getrennt."))?);
        }
        if !filter.ids.is_empty() {
            // "This overrides all other arguments."
            return Ok(filter);
        }
    }
    if let Some(codes) = params.get("service_code") {
        filter.categories = codes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    }
    if let Some(statuses) = params.get("status") {
        for s in statuses.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match s.to_ascii_lowercase().as_str() {
                "open" => filter.statuses.extend(ReportStatus::ALL.into_iter().filter(|x| !x.is_closed())),
                "closed" => filter.statuses.extend(ReportStatus::ALL.into_iter().filter(|x| x.is_closed())),
                _ => return Err(bad("status darf nur open oder closed sein (auch durch Komma getrennt).")),
            }
        }
    }
    let span = time::Duration::days(DEFAULT_DAYS);
    let (from, to) = match (date_param(params, "start_date")?, date_param(params, "end_date")?) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, (from + span).min(now)),
        (None, Some(to)) => (to - span, to),
        (None, None) => (now - span, now),
    };
    if to < from {
        return Err(bad("end_date liegt vor start_date."));
    }
    if to - from > span {
        return Err(bad("Der Zeitraum von start_date bis end_date darf höchstens 90 Tage umfassen."));
    }
    filter.from = Some(from);
    filter.to = Some(to);
    Ok(filter)
}

async fn requests(reports: &Reports, params: &Params) -> Result<Answer, Answer> {
    let Some(authority) = jurisdiction(reports, params).await? else { return Ok(Answer::ok("service_requests", json!([]))) };
    let filter = request_filter(params, &authority.id, OffsetDateTime::now_utc())?;
    let list = reports.public_reports(&filter).await.map_err(from_error)?;
    Ok(Answer::ok("service_requests", Value::Array(list.iter().map(request_json).collect())))
}

async fn one_request(State(state): State<AppState>, Path(file): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let (id, Some(format)) = Format::split(&file) else { return unknown_extension() };
    let result = async {
        let params = Params::parse(query.as_deref().unwrap_or(""))?;
        if id.trim().is_empty() {
            return Err(bad("Die service_request_id fehlt in der Adresse."));
        }
        let reports = reports(&state, &headers);
        let authority = jurisdiction(&reports, &params).await?;
        let not_found = || errors(StatusCode::NOT_FOUND, "Diese service_request_id gibt es hier nicht.");
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let report = reports.public_report(id).await.map_err(from_error)?.ok_or_else(not_found)?;
        if authority.is_some_and(|a| a.id != report.authority_id) {
            return Err(not_found());
        }
        // A list of one, as the spec's example and the clients expect.
        Ok(Answer::ok("service_requests", json!([request_json(&report)])))
    }
    .await;
    result.unwrap_or_else(|e| e).render(format)
}

async fn token(State(state): State<AppState>, Path(file): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let (token, Some(format)) = Format::split(&file) else { return unknown_extension() };
    let result = async {
        let params = Params::parse(query.as_deref().unwrap_or(""))?;
        if token.trim().is_empty() {
            return Err(bad("Der token fehlt in der Adresse."));
        }
        let reports = reports(&state, &headers);
        let authority = jurisdiction(&reports, &params).await?;
        let not_found = || errors(StatusCode::NOT_FOUND, "Diesen token gibt es hier nicht.");
        if token.len() > 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let report = reports.store().report_by_token(token).await.map_err(|e| from_error(e.into()))?.ok_or_else(not_found)?;
        if authority.is_some_and(|a| a.id != report.authority_id) {
            return Err(not_found());
        }
        Ok(Answer::ok("service_requests", json!([{"service_request_id": report.id.to_string(), "token": report.token}])))
    }
    .await;
    result.unwrap_or_else(|e| e).render(format)
}

/// The client's key (403 without a valid one), throttled, and the authority it posts for.
async fn client(state: &AppState, reports: &Reports, params: &Params) -> Result<amtsweg_store::Open311Key, Answer> {
    let forbidden = |m: &str| errors(StatusCode::FORBIDDEN, m);
    let Some(key) = params.get("api_key") else { return Err(forbidden("Der Parameter api_key fehlt: Zum Melden braucht es einen API-Schlüssel.")) };
    let found = state
        .app
        .store
        .open311_key(&amtsweg_app::accounts::hash_secret(key))
        .await
        .map_err(|e| from_error(e.into()))?
        .ok_or_else(|| forbidden("Der api_key ist ungültig oder widerrufen."))?;
    if let Some(given) = params.get("jurisdiction_id") {
        let all = reports.jurisdictions().await.map_err(from_error)?;
        if all.len() > 1 && given != found.authority_id.as_str() {
            return Err(forbidden("Der api_key gilt nicht für diese jurisdiction_id."));
        }
    }
    let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    match state.app.store.take_allowance(&format!("open311:{}", found.id), now_ms, 100, 120).await {
        Ok(Ok(())) => Ok(found),
        Ok(Err(_)) => Err(errors(StatusCode::TOO_MANY_REQUESTS, "Zu viele Meldungen mit diesem api_key in kurzer Zeit. Bitte warten Sie einen Moment.")),
        Err(e) => Err(from_error(e.into())),
    }
}

fn personal(params: &Params, name: &str, max: usize) -> Result<Option<String>, Answer> {
    match params.get(name) {
        None => Ok(None),
        Some(v) if v.chars().count() <= max => Ok(Some(v.to_owned())),
        Some(_) => Err(bad(&format!("{name} ist länger als {max} Zeichen."))),
    }
}

fn coordinate(params: &Params, name: &str) -> Result<Option<f64>, Answer> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => v.parse::<f64>().map(Some).map_err(|_| bad(&format!("{name} muss eine Dezimalzahl sein (WGS 84, zum Beispiel 51.3397)."))),
    }
}

async fn post_request(state: &AppState, reports: &Reports, params: &Params) -> Result<Answer, Answer> {
    let key = client(state, reports, params).await?;
    let Some(code) = params.get("service_code") else { return Err(bad("Der Parameter service_code fehlt.")) };
    let media: Vec<String> = params.all("media_url").into_iter().filter(|u| u.starts_with("https://") || u.starts_with("http://")).map(str::to_owned).take(3).collect();
    let draft = Draft {
        authority: Some(key.authority_id.clone()),
        category: code.to_owned(),
        place: PlaceInput {
            lat: coordinate(params, "lat")?,
            lon: coordinate(params, "long")?,
            address: personal(params, "address_string", 300)?,
            address_id: personal(params, "address_id", 200)?,
            postcode: personal(params, "zipcode", 20)?,
        },
        description: params.get("description").unwrap_or("").to_owned(),
        answers: params.attributes(),
        reporter: amtsweg_domain::reports::Reporter {
            user_id: None,
            email: personal(params, "email", 254)?,
            first_name: personal(params, "first_name", 100)?,
            last_name: personal(params, "last_name", 100)?,
            phone: personal(params, "phone", 40)?,
            device_id: personal(params, "device_id", 200)?,
            account_id: personal(params, "account_id", 200)?,
        },
        photos: media,
        uploads: Vec::new(),
        source: format!("open311:{}", key.id),
    };
    let client_id = format!("open311:{}", key.id);
    let report = reports.submit(draft, Some((&client_id, "procedure"))).await.map_err(from_error)?;
    let notice = if report.published { "Ihre Meldung ist eingegangen und veröffentlicht." } else { "Ihre Meldung ist eingegangen. Sie wird geprüft und dann veröffentlicht." };
    Ok(Answer::ok("service_requests", json!([{"service_request_id": report.id.to_string(), "service_notice": notice, "account_id": Value::Null}])))
}

async fn updates(reports: &Reports, params: &Params) -> Result<Answer, Answer> {
    let authority = jurisdiction(reports, params).await?;
    let now = OffsetDateTime::now_utc();
    let to = date_param(params, "end_date")?.unwrap_or(now);
    let from = date_param(params, "start_date")?.unwrap_or(to - time::Duration::days(1));
    if to < from {
        return Err(bad("end_date liegt vor start_date."));
    }
    let Some(authority) = authority else { return Ok(Answer::ok("service_request_updates", json!([]))) };
    let list = reports.store().updates_between(Some(&authority.id), from, to, MAX_PAGE_SIZE).await.map_err(|e| from_error(e.into()))?;
    let items: Vec<Value> = list
        .into_iter()
        .map(|u| {
            json!({
                "update_id": u.id.to_string(),
                "service_request_id": u.report_id.to_string(),
                "status": u.status.fixmystreet(),
                "description": if u.note.is_empty() { format!("Status: {}", u.status.label()) } else { u.note },
                "media_url": Value::Null,
                "updated_datetime": w3c(u.at),
            })
        })
        .collect();
    Ok(Answer::ok("service_request_updates", Value::Array(items)))
}

async fn post_update(state: &AppState, reports: &Reports, params: &Params) -> Result<Answer, Answer> {
    let key = client(state, reports, params).await?;
    let Some(id) = params.get("service_request_id") else { return Err(bad("Der Parameter service_request_id fehlt.")) };
    let id: i64 = id.parse().map_err(|_| errors(StatusCode::NOT_FOUND, "Diese service_request_id gibt es hier nicht."))?;
    let Some(external) = params.get("update_id") else { return Err(bad("Der Parameter update_id fehlt.")) };
    if external.chars().count() > 100 {
        return Err(bad("update_id ist länger als 100 Zeichen."));
    }
    let Some(status) = params.get("status") else { return Err(bad("Der Parameter status fehlt.")) };
    let status = if status.eq_ignore_ascii_case("unchanged") {
        None
    } else {
        Some(ReportStatus::from_fixmystreet(status).ok_or_else(|| bad("status ist keiner der bekannten Werte (OPEN, CLOSED, FIXED, IN_PROGRESS, …)."))?)
    };
    let at = date_param(params, "updated_datetime")?.unwrap_or_else(OffsetDateTime::now_utc);
    let note = params.0.iter().find(|(k, _)| k == "description").map(|(_, v)| v.as_str()).unwrap_or("");
    let (update, _) = amtsweg_app::reports::work::client_update(&state.app, &key, id, status, note, external, at).await.map_err(from_error)?;
    Ok(Answer::ok("service_request_updates", json!([{"update_id": update.id.to_string()}])))
}
