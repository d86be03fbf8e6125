//! The platform operator's desk: the person at a data centre who sets up authorities, says which
//! authority is responsible for which service where, brings in services from FIM schemas and
//! invites each authority's staff. Every change is audited (and so in the ledger) with the
//! operator as actor. The operator reads no case and no personal data.
//!
//! The same desk serves the pages under `/betrieb`, the API under `/api/v1/platform/` and the
//! command line (`amtsweg authority …`, `amtsweg responsibility …`), so the three behave alike.

use crate::Platform;
use crate::accounts::{hash_secret, new_secret};
use crate::error::AppError;
use amtsweg_domain::records::Member;
use amtsweg_domain::{AuditKind, Authority, AuthorityId, Contact, FieldError, RegionKey, Resolution, Responsibility, Role, Service, ServiceId, User, UserId};
use amtsweg_store::{Actor, StoreError};
use time::{Duration, OffsetDateTime};

/// How long an invitation link can be taken.
pub const INVITATION_HOURS: i64 = 72;
/// How long a staff API token is valid.
pub const STAFF_TOKEN_DAYS: i64 = 90;
const MAX_NAME_CHARS: usize = 200;
const MAX_LINE_CHARS: usize = 300;
/// Most lines one CSV import takes.
pub const MAX_IMPORT_LINES: usize = 10_000;

/// What an authority is made of, as the operator enters it.
#[derive(Debug, Clone, Default)]
pub struct AuthorityInput {
    pub name: String,
    /// The authority's regional key (ARS), 12 digits or a prefix at a segment end.
    pub ars: String,
    /// The short code in case numbers; derived from the name when empty.
    pub short_code: Option<String>,
    /// The id (2–48 of a–z, 0–9, -); derived from the name when empty.
    pub id: Option<String>,
    pub address: String,
    pub contact: Contact,
    pub letterhead: String,
}

/// A new member of staff.
#[derive(Debug, Clone, Default)]
pub struct StaffInput {
    pub authority_id: String,
    pub name: String,
    pub login: String,
    pub role: String,
    /// A fixed id (the demo, or staff moved from another system); default: a random one.
    pub id: Option<UserId>,
}

/// Changes to an authority; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct AuthorityChanges {
    pub name: Option<String>,
    pub ars: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub opening_hours: Option<String>,
    pub letterhead: Option<String>,
    pub active: Option<bool>,
    /// Only the assignee (or a team lead) may decide the authority's cases.
    pub assignee_decides: Option<bool>,
}

/// One line of a responsibility import that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedLine {
    /// The line in the file (the header is line 1).
    pub line: usize,
    pub message: String,
}

/// What a responsibility import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub added: usize,
    pub refused: Vec<RefusedLine>,
}

/// Who is responsible for a service at a place, and why.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub service: Service,
    pub resolution: Resolution,
    /// The names of the authorities in `resolution.matching`, in the same order.
    pub authority_names: Vec<String>,
}

/// A FIM schema to import, as uploaded.
#[derive(Debug, Clone, Default)]
pub struct FimUpload {
    pub schema: String,
    /// genericode code lists the schema refers to.
    pub code_lists: Vec<String>,
    /// The name citizens see; default: the schema's title.
    pub name: Option<String>,
    /// Decision rules (JSON) for the fields.
    pub rules: Option<String>,
    /// Code lists (by URI) accepted as free text when they are not given.
    pub accept_free_text: Vec<String>,
    /// The topic the portal lists the service under.
    pub category: Option<String>,
}

impl Explanation {
    /// Why, in German: who is responsible, by which entry, and which less specific ones give way.
    pub fn text(&self) -> String {
        let place = &self.resolution.place;
        match self.resolution.matching.first() {
            None => format!(
                "Für „{}“ ist am Ort {place} keine Behörde zuständig: keine eingetragene Region enthält diesen Ort. Tragen Sie eine Zuständigkeit für die Gemeinde, den Kreis oder das Land ein.",
                self.service.name
            ),
            Some(chosen) => {
                let mut text = format!(
                    "Für „{}“ am Ort {place} ist {} zuständig: eingetragen für die Region {} ({}).",
                    self.service.name,
                    self.authority_names[0],
                    chosen.region.prefix(),
                    chosen.region.level()
                );
                for (r, name) in self.resolution.matching.iter().zip(&self.authority_names).skip(1) {
                    text.push_str(&format!(" Die Zuständigkeit von {name} für die Region {} ({}) tritt zurück, weil die genauere Region vorgeht.", r.region.prefix(), r.region.level()));
                }
                text
            }
        }
    }
}

/// Changes to a service; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct ServiceChanges {
    pub name: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub legal_basis: Option<String>,
    /// The topic the portal lists it under (empty: "Weitere Leistungen").
    pub category: Option<String>,
    /// `Some(None)`: any login.
    pub required_level: Option<Option<amtsweg_domain::AssuranceLevel>>,
    pub evidence: Option<Vec<amtsweg_domain::EvidenceRequirement>>,
    /// Decision rules with the processing deadline (`processing_days`).
    pub rules: Option<amtsweg_domain::DecisionRules>,
}

/// A member of staff just invited: the link to send them (shown once).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub user_id: UserId,
    /// The path of the one-time link, `/einladung/<secret>`; the caller puts its address before it.
    pub path: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Clone)]
pub struct OperatorDesk {
    app: Platform,
    actor: Actor,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid(vec![FieldError::new(field, message.into())])
}

/// Trims a text and checks its length; `required` refuses an empty one.
fn text(field: &str, value: &str, max: usize, required: bool, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if required && value.is_empty() {
        errors.push(FieldError::new(field, "Bitte füllen Sie dieses Feld aus."));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("Höchstens {max} Zeichen.")));
    } else if value.chars().any(|c| c.is_control()) {
        errors.push(FieldError::new(field, "Steuerzeichen sind nicht erlaubt."));
    }
    value.to_owned()
}

/// Like [`text`] for a text of paragraphs: line breaks and tabs are kept.
fn multiline(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, "Bitte füllen Sie dieses Feld aus."));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("Höchstens {max} Zeichen.")));
    } else if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        errors.push(FieldError::new(field, "Steuerzeichen sind nicht erlaubt."));
    }
    value.replace("\r\n", "\n")
}

fn region(field: &str, value: &str, errors: &mut Vec<FieldError>) -> Option<RegionKey> {
    match RegionKey::parse_prefix(value) {
        Ok(r) => Some(r),
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    }
}

fn check_contact(contact: &Contact, errors: &mut Vec<FieldError>) -> Contact {
    let phone = text("phone", &contact.phone, 50, false, errors);
    if !phone.chars().all(|c| c.is_ascii_digit() || " +-/()".contains(c)) {
        errors.push(FieldError::new("phone", "Eine Telefonnummer besteht aus Ziffern, Leerzeichen und + - / ( )."));
    }
    let email = text("email", &contact.email, 254, false, errors);
    if !email.is_empty() && !is_email(&email) {
        errors.push(FieldError::new("email", "Bitte geben Sie eine E-Mail-Adresse der Form name@behoerde.de an."));
    }
    let opening_hours = text("opening_hours", &contact.opening_hours, MAX_LINE_CHARS, false, errors);
    Contact { phone, email, opening_hours }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@') && !s.chars().any(char::is_whitespace)
}

/// A readable id from a name: `Landeshauptstadt Dresden` → `landeshauptstadt-dresden`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        let piece = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        out.push_str(piece);
    }
    let joined: Vec<&str> = out.split('-').filter(|p| !p.is_empty()).collect();
    let mut slug = joined.join("-");
    slug.truncate(48);
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() { "behoerde".into() } else { slug }
}

/// A short code from a name: the last word's first letters, upper case (`Stadt Leipzig` → `LEI`).
fn short_code_from(name: &str) -> String {
    let word = name.split_whitespace().rev().find(|w| w.chars().any(char::is_alphabetic)).unwrap_or("B");
    let code: String = slug(word).chars().filter(char::is_ascii_alphanumeric).take(3).collect::<String>().to_ascii_uppercase();
    if code.is_empty() { "B".into() } else { code }
}

fn valid_short_code(code: &str) -> bool {
    (1..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

impl OperatorDesk {
    pub(crate) fn new(app: Platform, user: &User) -> Option<Self> {
        (user.role == Role::Operator).then_some(())?;
        Some(Self { app, actor: Actor { id: user.id.clone(), role: user.role } })
    }

    /// The operator at the server's console (the command line): recorded as `console`.
    pub fn console(app: Platform) -> Self {
        Self { app, actor: Actor { id: UserId::from_stored("console".into()), role: Role::Operator } }
    }

    // --- authorities ---------------------------------------------------------------------

    pub async fn authorities(&self) -> Result<Vec<Authority>, AppError> {
        Ok(self.app.store.authorities().await?)
    }

    pub async fn authority(&self, id: &AuthorityId) -> Result<Authority, AppError> {
        self.app.store.authority(id).await?.ok_or(AppError::NotFound)
    }

    /// Creates an authority. Its id is made from the name (with a number when taken); its short
    /// code too, unless given.
    pub async fn create_authority(&self, input: AuthorityInput) -> Result<Authority, AppError> {
        let mut errors = Vec::new();
        let name = text("name", &input.name, MAX_NAME_CHARS, true, &mut errors);
        let region = region("ars", &input.ars, &mut errors);
        let address = text("address", &input.address, MAX_LINE_CHARS, false, &mut errors);
        let letterhead = text("letterhead", &input.letterhead, MAX_LINE_CHARS, false, &mut errors);
        let contact = check_contact(&input.contact, &mut errors);
        let given_code = input.short_code.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_ascii_uppercase);
        if let Some(code) = &given_code {
            if !valid_short_code(code) {
                errors.push(FieldError::new("short_code", "Das Kürzel hat 1 bis 10 Zeichen: Großbuchstaben, Ziffern, Bindestrich."));
            }
        }
        let given_id = input.id.as_deref().map(str::trim).filter(|i| !i.is_empty()).map(str::to_owned);
        if let Some(id) = &given_id {
            if !(2..=48).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                errors.push(FieldError::new("id", "Die Kennung hat 2 bis 48 Zeichen: Kleinbuchstaben, Ziffern, Bindestrich."));
            }
        }
        let (Some(region), true) = (region, errors.is_empty()) else { return Err(AppError::Invalid(errors)) };
        let existing = self.app.store.authorities().await?;
        let id = match given_id {
            Some(id) if existing.iter().any(|a| a.id.as_str() == id) => return Err(invalid("id", format!("Die Kennung {id} hat schon eine andere Behörde."))),
            Some(id) => id,
            None => {
                let base = slug(&name);
                (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|id| existing.iter().all(|a| a.id.as_str() != id)).expect("a free id")
            }
        };
        let short_code = match given_code {
            Some(code) => code,
            None => {
                let base = short_code_from(&name);
                (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}{n}") }).find(|c| existing.iter().all(|a| &a.short_code != c)).expect("a free code")
            }
        };
        let authority = Authority {
            id: AuthorityId::parse(&id).ok_or_else(|| invalid("name", "Aus diesem Namen lässt sich keine Kennung bilden."))?,
            name,
            short_code,
            region,
            address,
            contact,
            letterhead,
            active: true,
            assignee_decides: false,
        };
        match self.app.store.create_authority(&authority, &self.actor).await {
            Ok(()) => Ok(authority),
            Err(StoreError::Exists("short_code")) => Err(invalid("short_code", format!("Das Kürzel {} hat schon eine andere Behörde.", authority.short_code))),
            Err(StoreError::Exists(_)) => Err(AppError::Conflict("Diese Behörde wurde gerade schon angelegt.".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes an authority; `active: Some(false)` deactivates it (its staff lose access, it is
    /// responsible for nothing new), `Some(true)` activates it again.
    pub async fn edit_authority(&self, id: &AuthorityId, changes: AuthorityChanges) -> Result<Authority, AppError> {
        let mut authority = self.authority(id).await?;
        let mut errors = Vec::new();
        if let Some(name) = &changes.name {
            authority.name = text("name", name, MAX_NAME_CHARS, true, &mut errors);
        }
        if let Some(ars) = &changes.ars {
            if let Some(r) = region("ars", ars, &mut errors) {
                authority.region = r;
            }
        }
        if let Some(address) = &changes.address {
            authority.address = text("address", address, MAX_LINE_CHARS, false, &mut errors);
        }
        if let Some(letterhead) = &changes.letterhead {
            authority.letterhead = text("letterhead", letterhead, MAX_LINE_CHARS, false, &mut errors);
        }
        let mut contact = authority.contact.clone();
        if let Some(phone) = &changes.phone {
            contact.phone = phone.clone();
        }
        if let Some(email) = &changes.email {
            contact.email = email.clone();
        }
        if let Some(hours) = &changes.opening_hours {
            contact.opening_hours = hours.clone();
        }
        authority.contact = check_contact(&contact, &mut errors);
        if let Some(active) = changes.active {
            authority.active = active;
        }
        if let Some(required) = changes.assignee_decides {
            authority.assignee_decides = required;
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.app.store.update_authority(&authority, &self.actor).await?;
        Ok(authority)
    }

    // --- responsibilities -------------------------------------------------------------------

    pub async fn responsibilities(&self) -> Result<Vec<Responsibility>, AppError> {
        Ok(self.app.store.all_responsibilities().await?)
    }

    /// The authority a form names, when it exists and is active; otherwise an error at
    /// `authority_id`.
    async fn active_authority(&self, authority_id: &str, errors: &mut Vec<FieldError>) -> Result<Option<Authority>, AppError> {
        let authority = match AuthorityId::parse(authority_id.trim()) {
            Some(id) => self.app.store.authority(&id).await?,
            None => None,
        };
        match &authority {
            None => errors.push(FieldError::new("authority_id", format!("Die Behörde „{}“ gibt es nicht.", shorten(authority_id)))),
            Some(a) if !a.active => errors.push(FieldError::new("authority_id", format!("Die Behörde {} ist deaktiviert.", a.name))),
            Some(_) => {}
        }
        Ok(authority.filter(|a| a.active))
    }

    /// Makes an authority responsible for a service in a region (an ARS or its prefix).
    pub async fn add_responsibility(&self, authority_id: &str, service_id: &str, region_text: &str) -> Result<Responsibility, AppError> {
        let mut errors = Vec::new();
        let authority = self.active_authority(authority_id, &mut errors).await?;
        let service = match ServiceId::parse(service_id.trim()) {
            Some(id) => self.app.store.service(&id).await?.map(std::sync::Arc::unwrap_or_clone),
            None => None,
        };
        if service.is_none() {
            errors.push(FieldError::new("service_id", format!("Die Leistung „{}“ gibt es nicht.", shorten(service_id))));
        }
        let region = region("region", region_text, &mut errors);
        let (Some(authority), Some(service), Some(region), true) = (authority, service, region, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let responsibility = Responsibility { service_id: service.id.clone(), region: region.clone(), authority_id: authority.id.clone() };
        match self.app.store.add_responsibility(&responsibility, &self.actor).await {
            Ok(()) => Ok(responsibility),
            Err(StoreError::Exists(_)) => {
                let holder = self
                    .app
                    .store
                    .all_responsibilities()
                    .await?
                    .into_iter()
                    .find(|r| r.service_id == service.id && r.region == region)
                    .map(|r| r.authority_id);
                let holder = match holder {
                    Some(id) => self.app.store.authority(&id).await?.map(|a| a.name).unwrap_or_else(|| id.to_string()),
                    None => "eine andere Behörde".into(),
                };
                Err(AppError::Conflict(format!(
                    "Für „{}“ in der Region {} ({}) ist bereits {holder} zuständig. Eine Region hat für eine Leistung genau eine zuständige Behörde.",
                    service.name,
                    region.prefix(),
                    region.level()
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Imports responsibilities from CSV: a header line naming `authority_id`, `service_id` and
    /// `region` (in any order; comma or semicolon), then one per line. Every line is checked
    /// and added on its own; the report names each refused line and why.
    pub async fn import_responsibilities(&self, csv_text: &str) -> Result<ImportReport, AppError> {
        use amtsweg_domain::responsibility_csv::{CsvLine, read};
        let lines = read(csv_text, MAX_IMPORT_LINES).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let mut report = ImportReport::default();
        for entry in lines {
            let (line, authority_id, service_id, region) = match entry {
                CsvLine::Row { line, authority_id, service_id, region } => (line, authority_id, service_id, region),
                CsvLine::Unreadable { line } => {
                    report.refused.push(RefusedLine { line, message: "Die Zeile ist nicht lesbar (Anführungszeichen oder Zeichenkodierung).".into() });
                    continue;
                }
                CsvLine::TooMany { line } => {
                    report.refused.push(RefusedLine { line, message: format!("Eine Datei hat höchstens {MAX_IMPORT_LINES} Zeilen; der Rest wurde nicht gelesen.") });
                    break;
                }
            };
            match self.add_responsibility(&authority_id, &service_id, &region).await {
                Ok(_) => report.added += 1,
                Err(AppError::Invalid(fields)) => {
                    let message = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
                    report.refused.push(RefusedLine { line, message });
                }
                Err(AppError::Conflict(message)) => report.refused.push(RefusedLine { line, message }),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Who is responsible for a service at a place (a 12-digit ARS or a prefix), and why.
    pub async fn explain(&self, service_id: &str, place: &str) -> Result<Explanation, AppError> {
        let mut errors = Vec::new();
        let service = match ServiceId::parse(service_id.trim()) {
            Some(id) => self.app.store.service(&id).await?.map(std::sync::Arc::unwrap_or_clone),
            None => None,
        };
        if service.is_none() {
            errors.push(FieldError::new("service_id", format!("Die Leistung „{}“ gibt es nicht.", shorten(service_id))));
        }
        let place = region("ars", place, &mut errors);
        let (Some(service), Some(place), true) = (service, place, errors.is_empty()) else { return Err(AppError::Invalid(errors)) };
        let responsibilities = self.app.store.responsibilities(&service.id).await?;
        let resolution = Resolution::new(&responsibilities, &place);
        let mut authority_names = Vec::new();
        for r in &resolution.matching {
            authority_names.push(self.app.store.authority(&r.authority_id).await?.map(|a| a.name).unwrap_or_else(|| r.authority_id.to_string()));
        }
        Ok(Explanation { service, resolution, authority_names })
    }

    // --- services ---------------------------------------------------------------------------

    pub async fn services(&self) -> Result<Vec<Service>, AppError> {
        Ok(self.app.store.services().await?)
    }

    /// Imports a FIM schema with its code lists (genericode texts) as a service, with the same
    /// checks and messages as `amtsweg fim import`. Returns the service id and whether it is new
    /// (`false`: the same schema was imported before, nothing changed).
    pub async fn import_fim(&self, mut request: FimUpload) -> Result<(ServiceId, bool), AppError> {
        use crate::catalog::{ImportError, ImportOutcome, ImportRequest, import, parse_rules};
        // What the operator typed is free text (the files are not): cleaned here, for the page
        // and the API alike (issue 22, finding 5).
        for text in [&mut request.name, &mut request.category, &mut request.rules].into_iter().flatten() {
            amtsweg_domain::text::clean_in_place(text);
        }
        request.accept_free_text.iter_mut().for_each(amtsweg_domain::text::clean_in_place);
        if request.schema.trim().is_empty() {
            return Err(invalid("schema", "Bitte wählen Sie die Schema-Datei (XML) aus."));
        }
        let mut lists = amtsweg_fim::codelist::CodeLists::default();
        let mut errors = Vec::new();
        for (n, text) in request.code_lists.iter().enumerate() {
            match amtsweg_fim::codelist::parse_genericode(text) {
                Ok(list) => lists.add(list),
                Err(e) => errors.push(FieldError::new("codelist", format!("Codeliste {}: {e}", n + 1))),
            }
        }
        let rules = match request.rules.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(json) => match parse_rules(json) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(FieldError::new("rules", e.to_string()));
                    None
                }
            },
            None => None,
        };
        let name = request.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = name {
            if n.chars().count() > MAX_NAME_CHARS {
                errors.push(FieldError::new("name", format!("Höchstens {MAX_NAME_CHARS} Zeichen.")));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let outcome = import(
            &self.app.store,
            ImportRequest {
                xml: &request.schema,
                code_lists: &lists,
                rules: rules.as_ref(),
                service_name: name,
                accept_free_text: &request.accept_free_text,
                category: request.category.as_deref().map(str::trim).filter(|c| !c.is_empty()),
            },
        )
        .await;
        let (id, new) = match outcome {
            Ok(ImportOutcome::Imported { service_id, .. }) => (service_id, true),
            Ok(ImportOutcome::Unchanged { service_id }) => (service_id, false),
            Err(ImportError::Parse(e)) => return Err(invalid("schema", e.to_string())),
            Err(ImportError::Problems(problems)) => {
                return Err(AppError::Invalid(problems.into_iter().map(|p| FieldError::new(format!("schema: {}", p.element), p.message)).collect()));
            }
            Err(e @ ImportError::Conflict { .. }) => return Err(AppError::Conflict(e.to_string())),
            Err(ImportError::Rules(e)) => return Err(invalid("rules", format!("Die Regeldatei ist ungültig: {e}"))),
            Err(ImportError::Store(e)) => return Err(e.into()),
        };
        let id = ServiceId::parse(&id).ok_or_else(|| AppError::Internal("imported service id".into()))?;
        if new {
            let actor = Some((self.actor.id.as_str(), Role::Operator.as_str()));
            self.app.store.record_action(AuditKind::ServiceChanged, actor, None, ("service", id.as_str())).await?;
        }
        Ok((id, new))
    }

    /// Changes a service after checking the texts and its decision rules against its form and
    /// evidence (the error names the rule).
    pub async fn edit_service(&self, id: &ServiceId, changes: ServiceChanges) -> Result<Service, AppError> {
        let mut service = std::sync::Arc::unwrap_or_clone(self.app.store.service(id).await?.ok_or(AppError::NotFound)?);
        let mut errors = Vec::new();
        if let Some(name) = &changes.name {
            service.name = text("name", name, MAX_NAME_CHARS, true, &mut errors);
        }
        if let Some(summary) = &changes.summary {
            service.summary = text("summary", summary, 500, true, &mut errors);
        }
        if let Some(description) = &changes.description {
            service.description = multiline("description", description, 20_000, &mut errors);
        }
        if let Some(basis) = &changes.legal_basis {
            service.legal_basis = text("legal_basis", basis, 1000, true, &mut errors);
        }
        if let Some(category) = &changes.category {
            service.category = text("category", category, 100, false, &mut errors);
        }
        if let Some(level) = changes.required_level {
            service.required_level = level;
        }
        if let Some(evidence) = changes.evidence {
            for (n, e) in evidence.iter().enumerate() {
                if e.evidence_type.trim().is_empty() || e.register.trim().is_empty() || e.purpose.trim().is_empty() || e.legal_basis.trim().is_empty() {
                    errors.push(FieldError::new(format!("evidence/{n}"), "Ein Nachweis braucht Typ, Register, Zweck und Rechtsgrundlage."));
                }
            }
            service.evidence = evidence;
        }
        if let Some(rules) = changes.rules {
            service.decision = rules;
        }
        if let Err(e) = service.check_decision_rules() {
            errors.push(FieldError::new("rules", e.to_string()));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.app.store.update_service(&service, &self.actor).await?;
        Ok(service)
    }

    // --- security events ----------------------------------------------------------------------

    /// The latest security events (ECS documents), newest first, and the counts of the last
    /// 24 hours by action and outcome.
    pub async fn security_events(&self, limit: i64) -> Result<(Vec<serde_json::Value>, Vec<(String, String, i64)>), AppError> {
        let events = self.app.store.security_events(limit.clamp(1, 1000)).await?.iter().filter_map(|e| serde_json::from_str(e).ok()).collect();
        let counts = self.app.store.security_event_counts(OffsetDateTime::now_utc() - Duration::hours(24)).await?;
        Ok((events, counts))
    }

    // --- staff ------------------------------------------------------------------------------

    pub async fn members(&self, authority: &AuthorityId) -> Result<Vec<Member>, AppError> {
        self.authority(authority).await?;
        Ok(self.app.store.members(authority).await?)
    }

    /// Invites a colleague of an authority with a role: their account waits for a one-time link
    /// (valid [`INVITATION_HOURS`]) where they choose a password and set up the second factor.
    pub async fn invite(&self, input: StaffInput) -> Result<Invitation, AppError> {
        let StaffInput { authority_id, name, login, role, id } = input;
        let (authority_id, name, login, role) = (authority_id.as_str(), name.as_str(), login.as_str(), role.as_str());
        let mut errors = Vec::new();
        let authority = self.active_authority(authority_id, &mut errors).await?;
        let name = text("name", name, MAX_NAME_CHARS, true, &mut errors);
        let login = checked_login(login, &mut errors);
        let role = Role::parse(role.trim()).filter(|r| r.is_authority_member());
        if role.is_none() {
            errors.push(FieldError::new("role", "Die Rolle ist caseworker, team_lead, admin oder data_protection."));
        }
        let (Some(authority), Some(role), true) = (authority, role, errors.is_empty()) else { return Err(AppError::Invalid(errors)) };
        let user = User {
            id: id.unwrap_or_else(|| UserId::from_stored(uuid::Uuid::new_v4().to_string())),
            role,
            display_name: name,
            authority_id: Some(authority.id.clone()),
            person: None,
        };
        self.send_invitation(&user, &login).await
    }

    /// A member of staff of any authority (the operator looks across authorities), or another
    /// platform operator.
    pub async fn member(&self, user: &UserId) -> Result<User, AppError> {
        self.app.store.user(user).await?.filter(|u| u.role.is_authority_member() || u.role == Role::Operator).ok_or(AppError::NotFound)
    }

    /// Invites another platform operator (the first comes from the console): the same one-time
    /// link as for staff.
    pub async fn invite_operator(&self, name: &str, login: &str) -> Result<Invitation, AppError> {
        let mut errors = Vec::new();
        let name = text("name", name, MAX_NAME_CHARS, true, &mut errors);
        let login = checked_login(login, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let user = User { id: UserId::from_stored(uuid::Uuid::new_v4().to_string()), role: Role::Operator, display_name: name, authority_id: None, person: None };
        self.send_invitation(&user, &login).await
    }

    /// Creates the account with its login waiting for a one-time link, and returns the link.
    async fn send_invitation(&self, user: &User, login: &str) -> Result<Invitation, AppError> {
        let (secret, expires_at) = new_link();
        match self.app.store.invite_staff(user, login, &hash_secret(&secret), expires_at, &self.actor).await {
            Ok(()) => Ok(Invitation { user_id: user.id.clone(), path: format!("/einladung/{secret}"), expires_at }),
            Err(StoreError::Exists("login")) => Err(invalid("login", format!("Den Benutzernamen „{login}“ gibt es schon."))),
            Err(StoreError::Exists(_)) => Err(AppError::Conflict("Diese Kennung gibt es schon.".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Resets a member's password and second factor: a new one-time link replaces them.
    pub async fn reset_access(&self, user: &UserId) -> Result<Invitation, AppError> {
        self.member(user).await?;
        if !self.app.store.user_active(user).await? {
            return Err(AppError::Conflict("Der Zugang ist deaktiviert; ein neuer Link könnte ihn nicht öffnen. Laden Sie die Person neu ein.".into()));
        }
        let (secret, expires_at) = new_link();
        self.app.store.reset_staff_access(user, &hash_secret(&secret), expires_at, &self.actor).await?;
        Ok(Invitation { user_id: user.clone(), path: format!("/einladung/{secret}"), expires_at })
    }

    pub async fn deactivate(&self, user: &UserId) -> Result<(), AppError> {
        self.member(user).await?;
        Ok(self.app.store.deactivate_user(user, &self.actor).await?)
    }

    /// An API token for a member's integrations (valid [`STAFF_TOKEN_DAYS`]); shown once.
    pub async fn issue_token(&self, user: &UserId) -> Result<(String, OffsetDateTime), AppError> {
        let member = self.member(user).await?;
        if !self.app.store.user_active(user).await? {
            return Err(AppError::Conflict("Der Zugang ist deaktiviert.".into()));
        }
        let token = new_secret();
        let expires = OffsetDateTime::now_utc() + Duration::days(STAFF_TOKEN_DAYS);
        self.app.store.put_api_token(&hash_secret(&token), user, expires).await?;
        let authority = member.authority_id.as_ref().map(|a| a.as_str());
        self.app.store.record_action(AuditKind::ApiTokenIssued, Some((self.actor.id.as_str(), Role::Operator.as_str())), authority, ("user", user.as_str())).await?;
        Ok((token, expires))
    }
}

/// The secret of a one-time link and until when it holds.
fn new_link() -> (String, OffsetDateTime) {
    (new_secret(), OffsetDateTime::now_utc() + Duration::hours(INVITATION_HOURS))
}

/// A login name as typed, trimmed; an error when it is empty, long or has other characters.
fn checked_login(login: &str, errors: &mut Vec<FieldError>) -> String {
    let login = login.trim().to_owned();
    if login.is_empty() || login.chars().count() > 100 || !login.chars().all(|c| c.is_alphanumeric() || ".-_@".contains(c)) {
        errors.push(FieldError::new("login", "Der Benutzername hat 1 bis 100 Zeichen: Buchstaben, Ziffern und . - _ @."));
    }
    login
}

/// At most 60 characters of something a person typed, for a message.
fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 60 { format!("{}…", s.chars().take(60).collect::<String>()) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_codes_from_names() {
        assert_eq!(slug("Landeshauptstadt Dresden"), "landeshauptstadt-dresden");
        assert_eq!(slug("Stadt Halle (Saale)"), "stadt-halle-saale");
        assert_eq!(slug("Landkreis Görlitz – Straßenverkehrsamt"), "landkreis-goerlitz-strassenverkehrsamt");
        assert_eq!(slug("§§§"), "behoerde");
        assert_eq!(short_code_from("Landeshauptstadt Dresden"), "DRE");
        assert_eq!(short_code_from("Stadt Halle (Saale)"), "SAA");
        assert!(valid_short_code("DD") && valid_short_code("HAL-2") && !valid_short_code("dd") && !valid_short_code(""));
    }

    #[test]
    fn emails_need_a_domain() {
        assert!(is_email("buergerbuero@dresden.de"));
        for bad in ["", "a", "a@b", "@dresden.de", "a@.de", "a@de.", "a@b@c.de"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
