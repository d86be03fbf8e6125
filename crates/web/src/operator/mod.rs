//! The platform operator's pages under `/betrieb`: authorities, their staff, responsibilities
//! and services, with the same use cases as the API. Each form posts back to its page; errors
//! are shown at their field, and secrets (an invitation link, a token) are shown once.
//! The invitation page (`/einladung/<secret>`) is where an invited colleague sets up their
//! login; the secret in the address is what lets them in.

use crate::auth::{PageOperator, check_csrf};
use crate::error::{AppError, PageError};
use crate::pages::{Layout, PageForm, date_time, render};
use crate::state::AppState;
use amtsweg_app::operator::{AuthorityChanges, AuthorityInput, FimUpload, ServiceChanges, StaffInput};
use amtsweg_domain::{AssuranceLevel, AuthorityId, Contact, FieldError, Role, ServiceId, UserId};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    let uploads = axum::extract::DefaultBodyLimit::max(crate::security::MAX_FIM_UPLOAD_BYTES);
    Router::new()
        .route("/betrieb", get(home))
        .route("/betrieb/behoerden", post(create_authority))
        .route("/betrieb/behoerden/{id}", get(authority).post(edit_authority))
        .route("/betrieb/behoerden/{id}/mitarbeitende", post(invite))
        .route("/betrieb/mitarbeitende/{id}/token", post(issue_token))
        .route("/betrieb/mitarbeitende/{id}/zuruecksetzen", post(reset))
        .route("/betrieb/mitarbeitende/{id}/deaktivieren", post(deactivate))
        .route("/betrieb/zustaendigkeiten", get(responsibilities).post(add_responsibility))
        .route("/betrieb/zustaendigkeiten/import", post(import_responsibilities).layer(uploads.clone()))
        .route("/betrieb/leistungen", get(services))
        .route("/betrieb/leistungen/fim", post(import_fim).layer(uploads))
        .route("/betrieb/leistungen/{id}", get(service).post(edit_service))
        .route("/betrieb/sicherheit", get(security))
        .route("/einladung/{secret}", get(invitation).post(accept_invitation))
}

/// One field of a form, as `operator/input.html` draws it.
pub struct Input {
    id: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
    hint: Option<&'static str>,
    /// text, email, tel, password, textarea, select, checkbox, file
    kind: &'static str,
    required: bool,
    options: Vec<(String, String)>,
    multiple: bool,
    autocomplete: Option<&'static str>,
}

impl Input {
    fn new(id: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Self { id, label, value: value.into(), error: None, hint: None, kind: "text", required: false, options: Vec::new(), multiple: false, autocomplete: None }
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }
    fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }
    fn options(mut self, options: Vec<(String, String)>) -> Self {
        self.kind = "select";
        self.options = options;
        self
    }
    fn multiple(mut self) -> Self {
        self.multiple = true;
        self
    }
    fn autocomplete(mut self, a: &'static str) -> Self {
        self.autocomplete = Some(a);
        self
    }
    /// The ids of the hint and the error, for `aria-describedby`.
    pub fn described_by(&self) -> String {
        crate::pages::described_by(self.id, self.hint.is_some(), self.error.is_some())
    }
}

/// Puts each error at its field; errors of fields not on the form stay in the summary only.
fn with_errors(mut inputs: Vec<Input>, errors: &[FieldError]) -> Vec<Input> {
    for i in &mut inputs {
        if let Some(e) = errors.iter().find(|e| e.field == i.id) {
            i.error = Some(e.message.clone());
        }
    }
    inputs
}

/// A success message, with a secret shown once.
pub struct Notice {
    text: String,
    secret: Option<String>,
    secret_hint: &'static str,
}

impl Notice {
    fn text(text: impl Into<String>) -> Option<Self> {
        Some(Self { text: text.into(), secret: None, secret_hint: "" })
    }
    fn secret(text: impl Into<String>, secret: String, hint: &'static str) -> Option<Self> {
        Some(Self { text: text.into(), secret: Some(secret), secret_hint: hint })
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

// --- the overview and the authorities ------------------------------------------------------

struct AuthorityRow {
    id: String,
    name: String,
    ars: String,
    short_code: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "operator/home.html")]
struct HomePage {
    layout: Layout,
    authorities: Vec<AuthorityRow>,
    inputs: Vec<Input>,
    errors: Vec<FieldError>,
    notice: Option<Notice>,
}

fn authority_inputs(form: &[(String, String)]) -> Vec<Input> {
    vec![
        Input::new("name", "Name der Behörde", field(form, "name")).required().autocomplete("organization"),
        Input::new("ars", "Regionalschlüssel (ARS)", field(form, "ars")).required().hint("12 Ziffern, zum Beispiel 146120000000 für Dresden; oder sein Anfang (2, 3, 5 oder 9 Ziffern) für ein Land, einen Regierungsbezirk, einen Kreis oder einen Gemeindeverband."),
        Input::new("short_code", "Kürzel in Aktenzeichen", field(form, "short_code")).hint("1 bis 10 Großbuchstaben, Ziffern oder Bindestriche; ohne Angabe aus dem Namen gebildet."),
        Input::new("address", "Postanschrift (eine Zeile)", field(form, "address")).autocomplete("street-address"),
        Input::new("phone", "Telefon", field(form, "phone")).kind("tel").autocomplete("tel"),
        Input::new("email", "E-Mail", field(form, "email")).kind("email").autocomplete("email"),
        Input::new("opening_hours", "Sprechzeiten", field(form, "opening_hours")),
        Input::new("letterhead", "Briefkopf des Bescheids", field(form, "letterhead")).hint("Zum Beispiel „Stadt Leipzig · Ordnungsamt“; ohne Angabe der Name."),
    ]
}

async fn home_page(p: &PageOperator, form: &[(String, String)], errors: Vec<FieldError>, notice: Option<Notice>) -> Result<HomePage, AppError> {
    let authorities = p
        .desk
        .authorities()
        .await?
        .into_iter()
        .map(|a| AuthorityRow { id: a.id.to_string(), name: a.name, ars: a.region.to_string(), short_code: a.short_code, active: a.active })
        .collect();
    Ok(HomePage { layout: Layout::new("Plattformbetrieb", Some(&p.session)), authorities, inputs: with_errors(authority_inputs(form), &errors), errors, notice })
}

async fn home(p: PageOperator) -> Result<Response, PageError> {
    Ok(render(StatusCode::OK, &home_page(&p, &[], Vec::new(), None).await?))
}

async fn create_authority(p: PageOperator, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let input = AuthorityInput {
        name: field(&form, "name").into(),
        ars: field(&form, "ars").into(),
        short_code: Some(field(&form, "short_code").to_owned()),
        id: None,
        address: field(&form, "address").into(),
        contact: Contact { phone: field(&form, "phone").into(), email: field(&form, "email").into(), opening_hours: field(&form, "opening_hours").into() },
        letterhead: field(&form, "letterhead").into(),
    };
    match p.desk.create_authority(input).await {
        Ok(a) => Ok(Redirect::to(&format!("/betrieb/behoerden/{}?angelegt=1", a.id)).into_response()),
        Err(AppError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &home_page(&p, &form, errors, None).await?)),
        Err(AppError::Conflict(message)) => Ok(render(StatusCode::CONFLICT, &home_page(&p, &form, vec![FieldError::new("name", message)], None).await?)),
        Err(e) => Err(e.into()),
    }
}

struct MemberRow {
    id: String,
    name: String,
    role: &'static str,
    login: String,
    state: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "operator/authority.html")]
struct AuthorityPage {
    layout: Layout,
    id: String,
    name: String,
    short_code: String,
    active: bool,
    inputs: Vec<Input>,
    invite_inputs: Vec<Input>,
    members: Vec<MemberRow>,
    errors: Vec<FieldError>,
    notice: Option<Notice>,
}

/// What the authority page shows in its forms: the stored values, or what was sent.
enum Values<'a> {
    Stored,
    Sent(&'a [(String, String)]),
}

async fn authority_page(p: &PageOperator, id: &AuthorityId, edit: Values<'_>, invite: &[(String, String)], errors: Vec<FieldError>, notice: Option<Notice>) -> Result<AuthorityPage, AppError> {
    let a = p.desk.authority(id).await?;
    let stored: Vec<(String, String)> = vec![
        ("name".into(), a.name.clone()),
        ("ars".into(), a.region.to_string()),
        ("address".into(), a.address.clone()),
        ("phone".into(), a.contact.phone.clone()),
        ("email".into(), a.contact.email.clone()),
        ("opening_hours".into(), a.contact.opening_hours.clone()),
        ("letterhead".into(), a.letterhead.clone()),
        ("active".into(), if a.active { "ja".into() } else { String::new() }),
        ("assignee_decides".into(), if a.assignee_decides { "ja".into() } else { String::new() }),
    ];
    let values = match edit {
        Values::Stored => stored.as_slice(),
        Values::Sent(form) => form,
    };
    let mut inputs: Vec<Input> = authority_inputs(values).into_iter().filter(|i| i.id != "short_code").collect();
    inputs.push(Input::new("active", "Die Behörde ist aktiv (ohne Haken: deaktiviert; ihre Mitarbeitenden verlieren den Zugang)", field(values, "active")).kind("checkbox"));
    inputs.push(Input::new("assignee_decides", "Nur die zugewiesene Person oder die Teamleitung darf einen Fall entscheiden", field(values, "assignee_decides")).kind("checkbox"));
    let roles = [Role::Caseworker, Role::TeamLead, Role::Admin, Role::DataProtection].into_iter().map(|r| (r.as_str().to_owned(), r.label().to_owned())).collect();
    let invite_inputs = vec![
        Input::new("staff_name", "Name", field(invite, "staff_name")).required().autocomplete("off"),
        Input::new("login", "Benutzername", field(invite, "login")).required().hint("Buchstaben, Ziffern und . - _ @").autocomplete("off"),
        Input::new("role", "Rolle", field(invite, "role")).required().options(roles),
    ];
    let members = p
        .desk
        .members(id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            id: m.user.id.to_string(),
            name: m.user.display_name,
            role: m.user.role.label(),
            login: m.login.unwrap_or_default(),
            state: match (m.active, m.invitation_until) {
                (false, _) => "deaktiviert".into(),
                (true, Some(until)) => format!("eingeladen, Link gültig bis {}", date_time(until)),
                (true, None) => "aktiv".into(),
            },
            active: m.active,
        })
        .collect();
    let errors_for_invite: Vec<FieldError> = errors.iter().map(|e| if e.field == "name" && !invite.is_empty() { FieldError::new("staff_name", e.message.clone()) } else { e.clone() }).collect();
    Ok(AuthorityPage {
        layout: Layout::new(a.name.clone(), Some(&p.session)),
        id: a.id.to_string(),
        name: a.name,
        short_code: a.short_code,
        active: a.active,
        inputs: with_errors(inputs, if invite.is_empty() { &errors } else { &[] }),
        invite_inputs: with_errors(invite_inputs, &errors_for_invite),
        members,
        errors: errors_for_invite,
        notice,
    })
}

fn authority_id(raw: &str) -> Result<AuthorityId, AppError> {
    AuthorityId::parse(raw).ok_or(AppError::NotFound)
}

async fn authority(p: PageOperator, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let id = authority_id(&id)?;
    let notice = if q.contains_key("angelegt") { Notice::text("Die Behörde ist angelegt. Tragen Sie jetzt ihre Zuständigkeiten ein und laden Sie Mitarbeitende ein.") } else if q.contains_key("gespeichert") { Notice::text("Die Änderungen sind gespeichert.") } else if q.contains_key("deaktiviert") { Notice::text("Der Zugang ist deaktiviert.") } else { None };
    Ok(render(StatusCode::OK, &authority_page(&p, &id, Values::Stored, &[], Vec::new(), notice).await?))
}

async fn edit_authority(p: PageOperator, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let id = authority_id(&id)?;
    let changes = AuthorityChanges {
        name: Some(field(&form, "name").into()),
        ars: Some(field(&form, "ars").into()),
        address: Some(field(&form, "address").into()),
        phone: Some(field(&form, "phone").into()),
        email: Some(field(&form, "email").into()),
        opening_hours: Some(field(&form, "opening_hours").into()),
        letterhead: Some(field(&form, "letterhead").into()),
        active: Some(field(&form, "active") == "ja"),
        assignee_decides: Some(field(&form, "assignee_decides") == "ja"),
    };
    match p.desk.edit_authority(&id, changes).await {
        Ok(_) => Ok(Redirect::to(&format!("/betrieb/behoerden/{id}?gespeichert=1")).into_response()),
        Err(AppError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &authority_page(&p, &id, Values::Sent(&form), &[], errors, None).await?)),
        Err(e) => Err(e.into()),
    }
}

async fn invite(State(state): State<AppState>, p: PageOperator, headers: HeaderMap, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let id = authority_id(&id)?;
    p.desk.authority(&id).await?;
    let input = StaffInput { authority_id: id.to_string(), name: field(&form, "staff_name").into(), login: field(&form, "login").into(), role: field(&form, "role").into(), id: None };
    match p.desk.invite(input).await {
        Ok(invitation) => {
            let notice = Notice::secret(
                format!("{} ist eingeladen. Geben Sie der Person diesen Link auf einem sicheren Weg; er gilt bis {} und nur einmal:", field(&form, "staff_name").trim(), date_time(invitation.expires_at)),
                state.invitation_link(&headers, &invitation),
                "Der Link wird nur jetzt angezeigt; gespeichert ist nur sein Hashwert.",
            );
            Ok(render(StatusCode::CREATED, &authority_page(&p, &id, Values::Stored, &[], Vec::new(), notice).await?))
        }
        Err(AppError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &authority_page(&p, &id, Values::Stored, &form, errors, None).await?)),
        Err(e) => Err(e.into()),
    }
}

async fn member_of(p: &PageOperator, raw: &str) -> Result<(UserId, AuthorityId, String), AppError> {
    let id = UserId::parse(raw).ok_or(AppError::NotFound)?;
    let user = p.desk.member(&id).await?;
    let authority = user.authority_id.ok_or(AppError::NotFound)?;
    Ok((id, authority, user.display_name))
}

async fn issue_token(p: PageOperator, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let (id, authority, name) = member_of(&p, &id).await?;
    let (token, expires) = p.desk.issue_token(&id).await?;
    let notice = Notice::secret(format!("Das API-Token für {name} gilt bis {}:", date_time(expires)), token, "Das Token wird nur jetzt angezeigt; gespeichert ist nur sein Hashwert.");
    Ok(render(StatusCode::CREATED, &authority_page(&p, &authority, Values::Stored, &[], Vec::new(), notice).await?))
}

async fn reset(State(state): State<AppState>, p: PageOperator, headers: HeaderMap, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let (id, authority, name) = member_of(&p, &id).await?;
    let invitation = p.desk.reset_access(&id).await?;
    let notice = Notice::secret(
        format!("Passwort und zweiter Faktor von {name} sind zurückgesetzt; angemeldete Sitzungen sind beendet. Mit diesem Link richtet die Person beides neu ein (gültig bis {}):", date_time(invitation.expires_at)),
        state.invitation_link(&headers, &invitation),
        "Der Link wird nur jetzt angezeigt.",
    );
    Ok(render(StatusCode::CREATED, &authority_page(&p, &authority, Values::Stored, &[], Vec::new(), notice).await?))
}

async fn deactivate(p: PageOperator, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let (id, authority, _) = member_of(&p, &id).await?;
    p.desk.deactivate(&id).await?;
    Ok(Redirect::to(&format!("/betrieb/behoerden/{authority}?deaktiviert=1")).into_response())
}

// --- responsibilities ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "operator/responsibilities.html")]
struct ResponsibilitiesPage {
    layout: Layout,
    rows: Vec<(String, String, &'static str, String)>,
    resolve_inputs: Vec<Input>,
    add_inputs: Vec<Input>,
    import_inputs: Vec<Input>,
    explanation: Option<String>,
    refused: Vec<amtsweg_app::operator::RefusedLine>,
    errors: Vec<FieldError>,
    notice: Option<Notice>,
}

struct ResponsibilitiesView<'a> {
    query: &'a HashMap<String, String>,
    form: &'a [(String, String)],
    errors: Vec<FieldError>,
    refused: Vec<amtsweg_app::operator::RefusedLine>,
    notice: Option<Notice>,
}

async fn responsibilities_page(p: &PageOperator, view: ResponsibilitiesView<'_>) -> Result<(StatusCode, ResponsibilitiesPage), AppError> {
    let services = p.desk.services().await?;
    let authorities = p.desk.authorities().await?;
    let service_name = |id: &ServiceId| services.iter().find(|s| &s.id == id).map(|s| s.name.clone()).unwrap_or_else(|| id.to_string());
    let authority_name = |id: &AuthorityId| authorities.iter().find(|a| &a.id == id).map(|a| a.name.clone()).unwrap_or_else(|| id.to_string());
    let rows = p
        .desk
        .responsibilities()
        .await?
        .into_iter()
        .map(|r| (service_name(&r.service_id), r.region.prefix().to_owned(), r.region.level(), authority_name(&r.authority_id)))
        .collect();
    let service_options = |none: &str| std::iter::once((String::new(), none.to_owned())).chain(services.iter().map(|s| (s.id.to_string(), s.name.clone()))).collect::<Vec<_>>();
    let authority_options = std::iter::once((String::new(), "Bitte wählen".to_owned())).chain(authorities.iter().filter(|a| a.active).map(|a| (a.id.to_string(), a.name.clone()))).collect();
    let q = |k: &str| view.query.get(k).cloned().unwrap_or_default();
    let mut errors = view.errors;
    let mut status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut explanation = None;
    let mut resolve_errors = Vec::new();
    if view.query.contains_key("wo") {
        match p.desk.explain(&q("leistung"), &q("wo")).await {
            Ok(e) => explanation = Some(e.text()),
            Err(AppError::Invalid(fields)) => {
                status = StatusCode::UNPROCESSABLE_ENTITY;
                resolve_errors = fields.into_iter().map(|f| FieldError::new(if f.field == "service_id" { "leistung" } else { "wo" }, f.message)).collect();
            }
            Err(e) => return Err(e),
        }
    }
    let resolve_inputs = with_errors(
        vec![
            Input::new("leistung", "Leistung", q("leistung")).required().options(service_options("Bitte wählen")),
            Input::new("wo", "Ort (Regionalschlüssel)", q("wo")).required().hint("12 Ziffern, zum Beispiel 146120000000 für Dresden."),
        ],
        &resolve_errors,
    );
    errors.extend(resolve_errors);
    let f = view.form;
    let add_inputs = with_errors(
        vec![
            Input::new("authority_id", "Behörde", field(f, "authority_id")).required().options(authority_options),
            Input::new("service_id", "Leistung", field(f, "service_id")).required().options(service_options("Bitte wählen")),
            Input::new("region", "Region", field(f, "region")).required().hint("Der Anfang eines Regionalschlüssels: 2 Ziffern (Land), 3 (Regierungsbezirk), 5 (Kreis), 9 (Gemeindeverband) oder 12 (Gemeinde)."),
        ],
        &errors,
    );
    let import_inputs = with_errors(
        vec![
            Input::new("file", "CSV-Datei", "").kind("file"),
            Input::new("csv", "Oder den Inhalt hier einfügen", field(f, "csv")).kind("textarea"),
        ],
        &errors,
    );
    let page = ResponsibilitiesPage {
        layout: Layout::new("Zuständigkeiten", Some(&p.session)),
        rows,
        resolve_inputs,
        add_inputs,
        import_inputs,
        explanation,
        refused: view.refused,
        errors,
        notice: view.notice,
    };
    Ok((status, page))
}

async fn responsibilities(p: PageOperator, Query(query): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let notice = if query.contains_key("eingetragen") { Notice::text("Die Zuständigkeit ist eingetragen.") } else { None };
    let (status, page) = responsibilities_page(&p, ResponsibilitiesView { query: &query, form: &[], errors: Vec::new(), refused: Vec::new(), notice }).await?;
    Ok(render(status, &page))
}

async fn add_responsibility(p: PageOperator, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let none = HashMap::new();
    match p.desk.add_responsibility(field(&form, "authority_id"), field(&form, "service_id"), field(&form, "region")).await {
        Ok(_) => Ok(Redirect::to("/betrieb/zustaendigkeiten?eingetragen=1").into_response()),
        Err(AppError::Invalid(errors)) => {
            let (_, page) = responsibilities_page(&p, ResponsibilitiesView { query: &none, form: &form, errors, refused: Vec::new(), notice: None }).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(AppError::Conflict(message)) => {
            let errors = vec![FieldError::new("region", message)];
            let (_, page) = responsibilities_page(&p, ResponsibilitiesView { query: &none, form: &form, errors, refused: Vec::new(), notice: None }).await?;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// The fields of a multipart form: texts, and files as bytes.
async fn multipart(state: &AppState, request: Request) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    let unreadable = || AppError::BadRequest("Das Formular konnte nicht gelesen werden. Bitte senden Sie es erneut.".into());
    let mut form = axum::extract::Multipart::from_request(request, state).await.map_err(|_| unreadable())?;
    let mut out = Vec::new();
    while let Some(f) = form.next_field().await.map_err(|_| unreadable())? {
        let name = f.name().unwrap_or_default().to_owned();
        let bytes = f.bytes().await.map_err(|_| AppError::BadRequest("Eine Datei ist zu groß oder unvollständig.".into()))?;
        out.push((name, bytes.to_vec()));
    }
    Ok(out)
}

/// The text fields of a multipart form, for the CSRF check and the form values.
fn texts(parts: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    parts.iter().filter_map(|(k, v)| std::str::from_utf8(v).ok().map(|t| (k.clone(), t.to_owned()))).collect()
}

async fn import_responsibilities(State(state): State<AppState>, p: PageOperator, request: Request) -> Result<Response, PageError> {
    let parts = multipart(&state, request).await?;
    let form = texts(&parts);
    check_csrf(&p.session, &form)?;
    let file = parts.iter().find(|(k, v)| k == "file" && !v.is_empty()).map(|(_, v)| v.clone());
    let none = HashMap::new();
    let text = match file {
        Some(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                let errors = vec![FieldError::new("file", "Die CSV-Datei ist nicht in UTF-8 kodiert. Bitte speichern Sie sie als „CSV UTF-8“.")];
                let (_, page) = responsibilities_page(&p, ResponsibilitiesView { query: &none, form: &form, errors, refused: Vec::new(), notice: None }).await?;
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
            }
        },
        None => field(&form, "csv").to_owned(),
    };
    if text.trim().is_empty() {
        let errors = vec![FieldError::new("file", "Bitte wählen Sie eine CSV-Datei aus oder fügen Sie ihren Inhalt ein.")];
        let (_, page) = responsibilities_page(&p, ResponsibilitiesView { query: &none, form: &form, errors, refused: Vec::new(), notice: None }).await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    match p.desk.import_responsibilities(&text).await {
        Ok(report) => {
            let text = format!("{} Zuständigkeiten eingetragen, {} Zeilen abgelehnt.", report.added, report.refused.len());
            // Something added is a change (and a security event); only a file of which nothing
            // could be taken is refused as a whole.
            let status = if report.added == 0 && !report.refused.is_empty() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            let (_, page) = responsibilities_page(&p, ResponsibilitiesView { query: &none, form: &[], errors: Vec::new(), refused: report.refused, notice: Notice::text(text) }).await?;
            Ok(render(status, &page))
        }
        Err(AppError::BadRequest(message)) => {
            let errors = vec![FieldError::new("file", message)];
            let (_, page) = responsibilities_page(&p, ResponsibilitiesView { query: &none, form: &form, errors, refused: Vec::new(), notice: None }).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// --- services ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "operator/services.html")]
struct ServicesPage {
    layout: Layout,
    services: Vec<(String, String)>,
    inputs: Vec<Input>,
    errors: Vec<FieldError>,
    notice: Option<Notice>,
}

async fn services_page(p: &PageOperator, form: &[(String, String)], errors: Vec<FieldError>, notice: Option<Notice>) -> Result<ServicesPage, AppError> {
    let services = p.desk.services().await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    let inputs = vec![
        Input::new("schema", "Stammdatenschema (XML)", "").kind("file").required(),
        Input::new("codelist", "Codelisten (genericode, mehrere möglich)", "").kind("file").multiple(),
        Input::new("name", "Name für Bürgerinnen und Bürger", field(form, "name")).hint("Ohne Angabe der Titel des Schemas."),
        Input::new("category", "Themenbereich im Portal", field(form, "category")).hint("Zum Beispiel „Verkehr und Mobilität“; ohne Angabe unter „Weitere Leistungen“."),
        Input::new("rules", "Entscheidungsregeln (JSON)", field(form, "rules")).kind("textarea"),
        Input::new("accept_free_text", "Codelisten, die als Freitext gelten dürfen (eine Adresse je Zeile)", field(form, "accept_free_text")).kind("textarea"),
    ];
    // Problems inside the schema name their element (`schema: …`): they belong to the schema.
    let placed: Vec<FieldError> = errors.iter().map(|e| if e.field.starts_with("schema") { FieldError::new("schema", e.message.clone()) } else { e.clone() }).collect();
    let mut inputs = with_errors(inputs, &placed);
    if let Some(first) = inputs.iter_mut().find(|i| i.id == "schema") {
        let all: Vec<String> = errors.iter().filter(|e| e.field.starts_with("schema")).map(|e| if e.field == "schema" { e.message.clone() } else { format!("{}: {}", e.field.trim_start_matches("schema: "), e.message) }).collect();
        if !all.is_empty() {
            first.error = Some(all.join(" · "));
        }
    }
    let errors = errors.into_iter().map(|e| if e.field.starts_with("schema: ") { FieldError::new("schema", format!("{}: {}", e.field.trim_start_matches("schema: "), e.message)) } else { e }).collect();
    Ok(ServicesPage { layout: Layout::new("Leistungen", Some(&p.session)), services, inputs, errors, notice })
}

async fn services(p: PageOperator, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let notice = q.get("importiert").map(|id| format!("Die Leistung {id} ist importiert. Tragen Sie jetzt ein, welche Behörde sie wo anbietet.")).and_then(Notice::text);
    Ok(render(StatusCode::OK, &services_page(&p, &[], Vec::new(), notice).await?))
}

async fn import_fim(State(state): State<AppState>, p: PageOperator, request: Request) -> Result<Response, PageError> {
    let parts = multipart(&state, request).await?;
    let form = texts(&parts);
    check_csrf(&p.session, &form)?;
    let mut upload = FimUpload::default();
    let mut errors = Vec::new();
    for (name, bytes) in &parts {
        let text = || String::from_utf8(bytes.clone());
        match name.as_str() {
            "schema" => match text() {
                Ok(t) => upload.schema = t,
                Err(_) => errors.push(FieldError::new("schema", "Das Schema ist nicht in UTF-8 kodiert.")),
            },
            "codelist" if !bytes.is_empty() => match text() {
                Ok(t) => upload.code_lists.push(t),
                Err(_) => errors.push(FieldError::new("codelist", "Eine Codeliste ist nicht in UTF-8 kodiert.")),
            },
            "name" => upload.name = text().ok(),
            "category" => upload.category = text().ok(),
            "rules" => upload.rules = text().ok(),
            "accept_free_text" => upload.accept_free_text = text().unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            _ => {}
        }
    }
    let outcome = if errors.is_empty() { p.desk.import_fim(upload).await } else { Err(AppError::Invalid(errors)) };
    match outcome {
        Ok((id, _)) => Ok(Redirect::to(&format!("/betrieb/leistungen?importiert={id}")).into_response()),
        Err(AppError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &services_page(&p, &form, errors, None).await?)),
        Err(AppError::Conflict(message)) => Ok(render(StatusCode::CONFLICT, &services_page(&p, &form, vec![FieldError::new("schema", message)], None).await?)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "operator/service.html")]
struct ServicePage {
    layout: Layout,
    id: String,
    name: String,
    inputs: Vec<Input>,
    errors: Vec<FieldError>,
    notice: Option<Notice>,
}

async fn service_page(p: &PageOperator, id: &ServiceId, sent: Option<&[(String, String)]>, errors: Vec<FieldError>, notice: Option<Notice>) -> Result<ServicePage, AppError> {
    let s = p.desk.services().await?.into_iter().find(|s| &s.id == id).ok_or(AppError::NotFound)?;
    let stored: Vec<(String, String)> = vec![
        ("name".into(), s.name.clone()),
        ("summary".into(), s.summary.clone()),
        ("description".into(), s.description.clone()),
        ("legal_basis".into(), s.legal_basis.clone()),
        ("category".into(), s.category.clone()),
        ("required_level".into(), s.required_level.map(|l| l.as_str().to_owned()).unwrap_or_default()),
        ("rules".into(), serde_json::to_string_pretty(&s.decision).unwrap_or_default()),
        ("evidence".into(), serde_json::to_string_pretty(&s.evidence).unwrap_or_default()),
    ];
    let v = sent.unwrap_or(&stored);
    let levels = vec![(String::new(), "jede Anmeldung".into()), ("substantiell".into(), "substantiell (z. B. ELSTER-Zertifikat)".into()), ("hoch".into(), "hoch (Online-Ausweis)".into())];
    let inputs = vec![
        Input::new("name", "Name", field(v, "name")).required(),
        Input::new("summary", "Kurzbeschreibung (ein Satz)", field(v, "summary")).required(),
        Input::new("description", "Beschreibung", field(v, "description")).kind("textarea").required().hint("Absätze durch eine Leerzeile trennen."),
        Input::new("legal_basis", "Rechtsgrundlage", field(v, "legal_basis")).required(),
        Input::new("category", "Themenbereich im Portal", field(v, "category")),
        Input::new("required_level", "Nötiges Vertrauensniveau der Anmeldung", field(v, "required_level")).options(levels),
        Input::new("rules", "Entscheidungsregeln mit Bearbeitungsfrist (JSON)", field(v, "rules")).kind("textarea").hint("processing_days ist die Bearbeitungsfrist in Tagen. Die Regeln werden vor dem Speichern gegen Formular und Nachweise geprüft."),
        Input::new("evidence", "Nachweise (JSON)", field(v, "evidence")).kind("textarea"),
    ];
    Ok(ServicePage { layout: Layout::new(s.name.clone(), Some(&p.session)), id: s.id.to_string(), name: s.name, inputs: with_errors(inputs, &errors), errors, notice })
}

async fn service(p: PageOperator, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Result<Response, PageError> {
    let id = ServiceId::parse(&id).ok_or(AppError::NotFound)?;
    let notice = if q.contains_key("gespeichert") { Notice::text("Die Änderungen sind gespeichert.") } else { None };
    Ok(render(StatusCode::OK, &service_page(&p, &id, None, Vec::new(), notice).await?))
}

async fn edit_service(p: PageOperator, Path(id): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    check_csrf(&p.session, &form)?;
    let id = ServiceId::parse(&id).ok_or(AppError::NotFound)?;
    let mut errors = Vec::new();
    let rules = match serde_json::from_str(field(&form, "rules")) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(FieldError::new("rules", format!("Die Regeln sind kein gültiges JSON der erwarteten Form (Zeile {}, Spalte {}).", e.line(), e.column())));
            None
        }
    };
    let evidence = match serde_json::from_str(field(&form, "evidence")) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(FieldError::new("evidence", format!("Die Nachweise sind kein gültiges JSON der erwarteten Form (Zeile {}, Spalte {}).", e.line(), e.column())));
            None
        }
    };
    let level = match field(&form, "required_level") {
        "" => None,
        l => match AssuranceLevel::parse(l) {
            Some(l) => Some(l),
            None => {
                errors.push(FieldError::new("required_level", "Bitte wählen Sie ein Vertrauensniveau aus der Liste."));
                None
            }
        },
    };
    let outcome = if errors.is_empty() {
        let changes = ServiceChanges {
            name: Some(field(&form, "name").into()),
            summary: Some(field(&form, "summary").into()),
            description: Some(field(&form, "description").into()),
            legal_basis: Some(field(&form, "legal_basis").into()),
            category: Some(field(&form, "category").into()),
            required_level: Some(level),
            evidence,
            rules,
        };
        p.desk.edit_service(&id, changes).await.map(|_| ())
    } else {
        Err(AppError::Invalid(errors))
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/betrieb/leistungen/{id}?gespeichert=1")).into_response()),
        Err(AppError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &service_page(&p, &id, Some(&form), errors, None).await?)),
        Err(e) => Err(e.into()),
    }
}

// --- security events -----------------------------------------------------------------------

struct EventRow {
    at: String,
    action: String,
    outcome: &'static str,
    role: String,
    route: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "operator/security.html")]
struct SecurityPage {
    layout: Layout,
    counts: Vec<(String, &'static str, i64)>,
    events: Vec<EventRow>,
}

fn outcome_label(outcome: &str) -> &'static str {
    if outcome == "success" { "erfolgreich" } else { "abgelehnt" }
}

fn action_label(action: &str) -> String {
    amtsweg_app::security::Action::parse(action).map(|a| a.label().to_owned()).unwrap_or_else(|| action.to_owned())
}

async fn security(p: PageOperator) -> Result<Response, PageError> {
    let (events, counts) = p.desk.security_events(100).await?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let events = events
        .iter()
        .map(|e| EventRow {
            at: time::OffsetDateTime::parse(e["@timestamp"].as_str().unwrap_or(""), &time::format_description::well_known::Rfc3339).map(date_time).unwrap_or_default(),
            action: action_label(e["event"]["action"].as_str().unwrap_or("")),
            outcome: outcome_label(e["event"]["outcome"].as_str().unwrap_or("")),
            role: e["user"]["roles"][0].as_str().and_then(Role::parse).map(|r| r.label().to_owned()).unwrap_or_default(),
            route: text(&e["url"]["path"]),
            reason: text(&e["event"]["reason"]),
        })
        .collect();
    let counts = counts.into_iter().map(|(action, outcome, n)| (action_label(&action), outcome_label(&outcome), n)).collect();
    Ok(render(StatusCode::OK, &SecurityPage { layout: Layout::new("Sicherheitsereignisse", Some(&p.session)), counts, events }))
}

// --- the invitation ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "operator/invitation.html")]
struct InvitationPage {
    layout: Layout,
    secret: String,
    login: String,
    until: String,
    totp_secret: String,
    totp_uri: String,
    inputs: Vec<Input>,
    errors: Vec<FieldError>,
}

const INVITATION_GONE: &str = "Dieser Link ist unbekannt, schon verwendet oder abgelaufen. Bitte bitten Sie den Plattformbetrieb um eine neue Einladung.";

/// The invitation's secret is in its address: no request from its page names it as referrer.
fn no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(axum::http::header::REFERRER_POLICY, axum::http::HeaderValue::from_static("no-referrer"));
    response
}

fn gone() -> Response {
    crate::pages::error_page(StatusCode::NOT_FOUND, INVITATION_GONE)
}

fn invitation_page(secret: &str, open: &amtsweg_domain::records::OpenInvitation, totp_secret: String, errors: Vec<FieldError>) -> InvitationPage {
    let inputs = vec![
        Input::new("password", "Neues Passwort", "").kind("password").required().hint("Mindestens 12 Zeichen; ein langer Satz ist gut.").autocomplete("new-password"),
        Input::new("password_repeat", "Passwort wiederholen", "").kind("password").required().autocomplete("new-password"),
        Input::new("code", "Einmalcode aus der App", "").required().hint("Sechs Ziffern, wie die App sie gerade anzeigt.").autocomplete("one-time-code"),
    ];
    InvitationPage {
        layout: Layout::new("Zugang einrichten", None),
        secret: secret.to_owned(),
        login: open.login.clone(),
        until: date_time(open.expires_at),
        totp_uri: amtsweg_app::accounts::totp_uri(&totp_secret, &open.login),
        totp_secret,
        inputs: with_errors(inputs, &errors),
        errors,
    }
}

async fn invitation(State(state): State<AppState>, Path(secret): Path<String>) -> Result<Response, PageError> {
    let Some(open) = state.app.accounts().invitation(&secret).await? else { return Ok(gone()) };
    let page = invitation_page(&secret, &open, amtsweg_app::accounts::new_totp_secret(), Vec::new());
    Ok(no_referrer(render(StatusCode::OK, &page)))
}

async fn accept_invitation(State(state): State<AppState>, Path(secret): Path<String>, PageForm(form): PageForm) -> Result<Response, PageError> {
    let accounts = state.app.accounts();
    let Some(open) = accounts.invitation(&secret).await? else { return Ok(gone()) };
    let totp_secret = field(&form, "totp_secret");
    match accounts.accept_invitation(&secret, field(&form, "password"), field(&form, "password_repeat"), totp_secret, field(&form, "code")).await {
        Ok(_) => Ok(Redirect::to("/anmelden?eingerichtet=1").into_response()),
        Err(AppError::Invalid(errors)) => {
            // A secret that was tampered with is replaced by a fresh one.
            let totp_secret = if totp_secret.len() == 32 { totp_secret.to_owned() } else { amtsweg_app::accounts::new_totp_secret() };
            Ok(no_referrer(render(StatusCode::UNPROCESSABLE_ENTITY, &invitation_page(&secret, &open, totp_secret, errors))))
        }
        Err(AppError::NotFound) => Ok(gone()),
        Err(e) => Err(e.into()),
    }
}
