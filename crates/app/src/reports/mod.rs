//! The Mängelmelder: citizens (on the portal or through an Open311 client) report what is
//! broken in public space; the rule in `routing.rs` sends each report to the department of the
//! authority responsible at that place; the department works it (`work.rs`); the public sees
//! published reports without anything personal ([`PublicReport`]). The service admin sets it up
//! (`setup.rs`).
//!
//! Every report and every change of one is an audit event and so a ledger entry (in the store,
//! in the same transaction).

pub mod routing;
pub mod setup;
pub mod tiles;
pub mod work;

use crate::AppError;
use amtsweg_domain::AuthorityId;
use amtsweg_domain::reports::{Category, Datatype, Location, MAX_DESCRIPTION_CHARS, NewReport, Report, ReportFilter, ReportStatus, ReportUpdate, Reporter};
use amtsweg_store::{DynStore, ReportActor};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub use routing::{Map, Place, Route};

/// How far the nearest house of the address lists may be for its regional key to count for a
/// point (routing rule 6).
pub const REGION_RADIUS_M: f64 = 100.0;

/// How long a closed report keeps its reporter's personal data, unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// Most photos of one report, and most bytes of each as sent.
pub const MAX_PHOTOS: usize = 3;
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// Why a report (or a query) is refused. The messages are German, for the citizen or the
/// client's user, and never repeat personal data.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Something named does not exist (a category, a report, an authority): HTTP 404.
    #[error("{0}")]
    NotFound(String),
    /// The input is wrong or incomplete: HTTP 400. The first part names the parameter.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<amtsweg_store::StoreError> for ReportError {
    fn from(e: amtsweg_store::StoreError) -> Self {
        Self::App(AppError::from(e))
    }
}

fn invalid(parameter: &'static str, message: impl Into<String>) -> ReportError {
    ReportError::Invalid(parameter, message.into())
}

/// Where the reporter says the problem is: coordinates, an address, or an address id (the
/// search key of the authority's address list).
#[derive(Debug, Clone, Default)]
pub struct PlaceInput {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub postcode: Option<String>,
}

/// A report as it comes in, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The authority (Open311 `jurisdiction_id`); `None`: the one responsible at the place.
    pub authority: Option<AuthorityId>,
    pub category: String,
    pub place: PlaceInput,
    pub description: String,
    /// Answers by attribute code (several for a multivaluelist).
    pub answers: BTreeMap<String, Vec<String>>,
    pub reporter: Reporter,
    /// Media URLs (from Open311 clients).
    pub photos: Vec<String>,
    /// Photos as sent (from the portal): checked, encoded again and encrypted before storing.
    pub uploads: Vec<Vec<u8>>,
    /// `portal` or `open311:<key id>`.
    pub source: String,
}

/// A report as anyone may see it: nothing of the reporter, and the text only once published.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicReport {
    pub id: i64,
    pub authority_id: AuthorityId,
    pub category: String,
    pub category_name: String,
    pub status: ReportStatus,
    /// The latest public note.
    pub status_notes: Option<String>,
    pub description: Option<String>,
    /// The department's name.
    pub agency: String,
    pub requested_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// When it was closed (its last change of state to a closed one).
    pub closed_at: Option<OffsetDateTime>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub postcode: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub media_url: Option<String>,
    pub supporters: i64,
    pub token: String,
}

/// The Mängelmelder's use cases that anyone may call (the portal, Open311 clients).
#[derive(Clone)]
pub struct Reports {
    store: DynStore,
    /// Encrypts photos at rest (without it, photos are refused).
    upload_key: Option<std::sync::Arc<crate::uploads::UploadKey>>,
    /// Where photos are served, for `media_url` (e.g. `https://amtsweg.example/maengel/fotos/`).
    pub photo_base: String,
    /// E-mail to reporters who leave an address (confirmation, then updates).
    mailer: Option<std::sync::Arc<crate::mail::Mailer>>,
}

/// Text that looks like markup: refused in descriptions (Open311: "not html or code").
fn looks_like_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!' || w[1] == b'?'))
}

/// Checks a description: at most 4,000 characters, no markup; line breaks stay.
pub fn check_description(text: &str) -> Result<String, ReportError> {
    let text = text.replace("\r\n", "\n");
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid("description", format!("Die Beschreibung ist länger als {MAX_DESCRIPTION_CHARS} Zeichen.")));
    }
    if looks_like_html(&text) {
        return Err(invalid("description", "Die Beschreibung darf kein HTML und keinen Code enthalten."));
    }
    Ok(text.trim().to_owned())
}

/// Checks the answers against the category's questions: required ones present, each value of
/// its datatype, list values among the choices. Answers to unknown questions are dropped.
pub fn check_answers(category: &Category, answers: &BTreeMap<String, Vec<String>>) -> Result<BTreeMap<String, Vec<String>>, ReportError> {
    let mut out = BTreeMap::new();
    for a in &category.attributes {
        let values: Vec<String> = answers.get(&a.code).map(|v| v.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        if values.is_empty() {
            if a.required {
                return Err(invalid("attribute", format!("Die Frage „{}“ muss beantwortet werden (attribute[{}]).", a.description, a.code)));
            }
            continue;
        }
        let wrong = |what: &str| invalid("attribute", format!("Die Antwort auf „{}“ (attribute[{}]) {what}", a.description, a.code));
        match a.datatype {
            Datatype::Number => {
                if values.len() > 1 || values[0].replace(',', ".").parse::<f64>().map_or(true, |n| !n.is_finite()) {
                    return Err(wrong("muss eine Zahl sein."));
                }
            }
            Datatype::Datetime => {
                if values.len() > 1 || parse_w3c(&values[0]).is_none() {
                    return Err(wrong("muss ein Datum sein (JJJJ-MM-TT oder JJJJ-MM-TTThh:mm:ss+01:00)."));
                }
            }
            Datatype::String | Datatype::Text => {
                let max = if a.datatype == Datatype::String { 200 } else { MAX_DESCRIPTION_CHARS };
                if values.len() > 1 || values[0].chars().count() > max {
                    return Err(wrong(&format!("darf höchstens {max} Zeichen lang sein.")));
                }
            }
            Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                if a.datatype == Datatype::Singlevaluelist && values.len() > 1 {
                    return Err(wrong("darf nur eine Auswahl enthalten."));
                }
                if values.iter().any(|v| !a.values.iter().any(|(k, _)| k == v)) {
                    return Err(wrong("ist keine der vorgegebenen Auswahlen."));
                }
            }
        }
        out.insert(a.code.clone(), values);
    }
    Ok(out)
}

/// A W3C date or date-time (`2026-12-07`, `2026-12-07T10:00:00Z`, `…+01:00`, with fractions).
pub fn parse_w3c(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    // A `+` in a query string arrives as a space.
    if text.len() > 19 && text.as_bytes().get(19) == Some(&b' ') {
        let fixed = format!("{}+{}", &text[..19], &text[20..]);
        if let Ok(t) = OffsetDateTime::parse(&fixed, &time::format_description::well_known::Rfc3339) {
            return Some(t);
        }
    }
    let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    // Midnight in Germany on that day.
    let midnight = date.midnight();
    Some(midnight.assume_offset(amtsweg_domain::local_time::berlin_offset(midnight.assume_utc())))
}

/// A new photo's id: 32 hex digits.
fn new_photo_id() -> Result<String, AppError> {
    random_token()
}

fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| AppError::Internal("no random source".into()))?;
    Ok(hex::encode(bytes))
}

impl Reports {
    pub fn new(store: DynStore, photo_base: impl Into<String>) -> Self {
        Self { store, upload_key: None, photo_base: photo_base.into(), mailer: None }
    }

    /// The same, sending e-mail to reporters who leave an address.
    pub fn with_mailer(mut self, mailer: std::sync::Arc<crate::mail::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Whether reporters who leave an e-mail address hear back by e-mail.
    pub fn sends_mail(&self) -> bool {
        self.mailer.is_some()
    }

    /// Confirms a report's e-mail address with the token from the mail.
    pub async fn confirm_email(&self, id: i64, token: &str) -> Result<bool, ReportError> {
        if token.is_empty() || token.len() > 100 {
            return Ok(false);
        }
        Ok(self.store.confirm_report_email(id, &crate::accounts::hash_secret(token), OffsetDateTime::now_utc()).await?)
    }

    /// The same, able to keep photos (encrypted with the installation's upload key).
    pub fn with_photos(mut self, key: std::sync::Arc<crate::uploads::UploadKey>) -> Self {
        self.upload_key = Some(key);
        self
    }

    /// Checks photos (by content; HEIC refused with a way out; EXIF and GPS removed, upright, at
    /// most 2048 pixels) and encrypts them. Nothing is stored here.
    pub async fn check_photos(&self, uploads: &[Vec<u8>]) -> Result<Vec<amtsweg_domain::reports::PhotoFile>, ReportError> {
        let uploads: Vec<&Vec<u8>> = uploads.iter().filter(|u| !u.is_empty()).collect();
        if uploads.len() > MAX_PHOTOS {
            return Err(invalid("media", format!("Bitte senden Sie höchstens {MAX_PHOTOS} Fotos.")));
        }
        let mut out = Vec::new();
        for (i, bytes) in uploads.into_iter().enumerate() {
            let n = i + 1;
            if bytes.len() > MAX_PHOTO_BYTES {
                return Err(invalid("media", format!("Foto {n} ist zu groß (höchstens {} MiB). Bitte verkleinern Sie es.", MAX_PHOTO_BYTES / 1024 / 1024)));
            }
            let key = self.upload_key.clone().ok_or_else(|| AppError::Internal("no upload key for photos".into()))?;
            // At most two at a time: decoding a photo of 40 megapixels takes a few hundred MB.
            static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
            let _permit = CHECKS.acquire().await.map_err(|_| AppError::Internal("photo checks closed".into()))?;
            let owned = bytes.clone();
            let checked = tokio::task::spawn_blocking(move || amtsweg_documents::photo(&owned))
                .await
                .map_err(|_| AppError::Internal("photo check failed".into()))?
                .map_err(|refusal| {
                    tracing::info!(reason = %refusal, "photo refused");
                    invalid("media", format!("Foto {n}: {}", refusal.message()))
                })?;
            out.push(amtsweg_domain::reports::PhotoFile { id: new_photo_id()?, media_type: checked.media_type.to_owned(), sealed: key.seal(&checked.bytes) });
        }
        Ok(out)
    }

    /// A photo of a published report: media type and bytes.
    pub async fn public_photo(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, ReportError> {
        let key = self.upload_key.clone().ok_or_else(|| AppError::Internal("no upload key for photos".into()))?;
        let Some((report, media_type, bytes)) = open_photo(&self.store, &key, id).await? else { return Ok(None) };
        if !self.store.report(report).await?.is_some_and(|r| r.published) {
            return Ok(None);
        }
        Ok(Some((media_type, bytes)))
    }

    pub fn store(&self) -> &DynStore {
        &self.store
    }

    /// The routing map of every authority.
    pub async fn map(&self) -> Result<Map, ReportError> {
        Ok(Map::new(self.store.areas(None).await?, self.store.assignments(None).await?))
    }

    /// A point with its regional key, ready to route (see [`place`]).
    pub async fn place(&self, point: amtsweg_places::GeoPoint) -> Result<Place, ReportError> {
        place(&self.store, point).await
    }

    /// The authorities that have categories (the Open311 jurisdictions).
    pub async fn jurisdictions(&self) -> Result<Vec<amtsweg_domain::Authority>, ReportError> {
        let with: std::collections::BTreeSet<AuthorityId> = self.store.categories(None).await?.into_iter().map(|c| c.authority_id).collect();
        Ok(self.store.authorities().await?.into_iter().filter(|a| a.active && with.contains(&a.id)).collect())
    }

    pub async fn categories(&self, authority: Option<&AuthorityId>) -> Result<Vec<Category>, ReportError> {
        Ok(self.store.categories(authority).await?)
    }

    /// Where the place is: coordinates as given, or looked up in the address list.
    pub async fn locate(&self, authority: Option<&AuthorityId>, place: &PlaceInput) -> Result<Location, ReportError> {
        let blank = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let address = blank(&place.address);
        let address_id = blank(&place.address_id);
        let postcode = blank(&place.postcode);
        match (place.lat, place.lon) {
            (Some(lat), Some(lon)) => {
                if amtsweg_places::point(lat, lon).is_none() {
                    return Err(invalid("lat", "Breite und Länge müssen Dezimalgrad in WGS 84 sein (Breite −90 bis 90, Länge −180 bis 180)."));
                }
                return Ok(Location { lat, lon, address, address_id, postcode });
            }
            (Some(_), None) | (None, Some(_)) => return Err(invalid("long", "Breite (lat) und Länge (long) müssen zusammen angegeben werden.")),
            (None, None) => {}
        }
        let Some(query) = address.clone().or_else(|| address_id.clone()) else {
            return Err(invalid("lat", "Bitte geben Sie den Ort an: Breite und Länge (lat und long), eine Adresse (address_string) oder eine Adressnummer (address_id)."));
        };
        let found = self.find_address(authority, &query).await?;
        let Some(found) = found.into_iter().next() else {
            return Err(invalid(
                if address.is_some() { "address_string" } else { "address_id" },
                "Diese Adresse steht nicht im Adressverzeichnis. Bitte prüfen Sie Straße und Hausnummer, oder geben Sie Breite und Länge an.",
            ));
        };
        Ok(Location { lat: found.lat, lon: found.lon, address: Some(found.label()), address_id: Some(found.key()), postcode: postcode.or(Some(found.postcode).filter(|p| !p.is_empty())) })
    }

    /// Addresses matching what a citizen typed: the exact street and number first, then those
    /// that begin with it (at most 10).
    pub async fn find_address(&self, authority: Option<&AuthorityId>, query: &str) -> Result<Vec<amtsweg_places::Address>, ReportError> {
        let key = amtsweg_places::normalize(query);
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: Vec<(AuthorityId, amtsweg_places::Address)> = self.store.find_addresses(&key, 50).await?;
        found.retain(|(a, _)| authority.is_none_or(|want| want == a));
        found.sort_by_key(|(_, a)| (a.key() != key, a.key().len()));
        Ok(found.into_iter().map(|(_, a)| a).take(10).collect())
    }

    /// Open reports of the same category within 250 m: shown before a new one is sent.
    pub async fn nearby(&self, authority: &AuthorityId, category: &str, lat: f64, lon: f64) -> Result<Vec<PublicReport>, ReportError> {
        let Some(here) = amtsweg_places::point(lat, lon) else { return Ok(Vec::new()) };
        let radius = amtsweg_domain::reports::DUPLICATE_RADIUS_M;
        let candidates = self.store.open_reports_in(authority, category, amtsweg_places::box_around(here, radius)).await?;
        let mut out = Vec::new();
        for r in candidates.into_iter().filter(|r| r.published) {
            if amtsweg_places::point(r.location.lat, r.location.lon).is_some_and(|p| amtsweg_places::distance_m(here, p) <= radius) {
                out.push(self.public(&r).await?);
            }
        }
        Ok(out)
    }

    /// Checks, routes and stores a report.
    pub async fn submit(&self, draft: Draft, actor: ReportActor<'_>) -> Result<Report, ReportError> {
        if draft.category.trim().is_empty() {
            return Err(invalid("service_code", "Bitte wählen Sie eine Kategorie (service_code)."));
        }
        let description = check_description(&draft.description)?;
        let location = self.locate(draft.authority.as_ref(), &draft.place).await?;
        let point = amtsweg_places::point(location.lat, location.lon).ok_or_else(|| invalid("lat", "Der Ort liegt außerhalb von WGS 84."))?;
        let map = self.map().await?;
        let point = self.place(point).await?;
        let authority = match &draft.authority {
            Some(a) => a.clone(),
            None => map.authority_at(point.clone()).ok_or_else(|| invalid("lat", "Für diesen Ort ist hier keine Behörde zuständig."))?,
        };
        let category = self
            .store
            .category(&authority, &draft.category)
            .await?
            .ok_or_else(|| ReportError::NotFound(format!("Die Kategorie „{}“ (service_code) gibt es hier nicht.", short(&draft.category))))?;
        let answers = check_answers(&category, &draft.answers)?;
        let photo_files = self.check_photos(&draft.uploads).await?;
        let Some(route) = map.route(&authority, &category.code, point.clone()) else {
            let own = self.store.authority(&authority).await?.map(|a| a.name).unwrap_or_default();
            let other = match map.nearest_other(&authority, point) {
                Some(id) => self.store.authority(&id).await?.map(|a| a.name),
                None => None,
            };
            let message = match other {
                Some(name) => format!("Dieser Ort liegt nicht im Zuständigkeitsgebiet von {own} für „{}“. Zuständig ist voraussichtlich: {name}.", category.name),
                None => format!("Dieser Ort liegt nicht im Zuständigkeitsgebiet von {own} für „{}“.", category.name),
            };
            return Err(invalid("lat", message));
        };
        let now = OffsetDateTime::now_utc();
        let report = NewReport {
            authority_id: authority,
            category: category.code.clone(),
            department_id: route.department_id,
            area_id: route.area_id,
            location,
            description,
            answers,
            published: category.publication == amtsweg_domain::reports::Publication::Immediate,
            deadline_at: now + time::Duration::days(i64::from(category.deadline_days)),
            token: random_token()?,
            source: draft.source,
            reporter: draft.reporter,
            photos: draft.photos,
            photo_files,
        };
        let stored = self.store.create_report(&report, actor, now).await?;
        if self.mailer.is_some() && stored.reporter.email.is_some() {
            // The link goes out from the jobs worker: a slow relay never holds the citizen's
            // request, and a failure to queue it loses no report.
            if crate::jobs::enqueue_on(&self.store, &crate::jobs::JobKind::ReportConfirm { report: stored.id }).await.is_err() {
                tracing::warn!(report = stored.id, "confirmation mail not queued");
            }
        }
        Ok(stored)
    }

    /// A published report, for anyone.
    pub async fn public_report(&self, id: i64) -> Result<Option<PublicReport>, ReportError> {
        match self.store.report(id).await? {
            Some(r) if r.published => Ok(Some(self.public(&r).await?)),
            _ => Ok(None),
        }
    }

    /// Published reports by the filter (`published_only` is forced).
    pub async fn public_reports(&self, filter: &ReportFilter) -> Result<Vec<PublicReport>, ReportError> {
        let mut filter = filter.clone();
        filter.published_only = true;
        let reports = self.store.reports(&filter).await?;
        let departments = self.store.departments(filter.authority_id.as_ref()).await?;
        let categories = self.store.categories(filter.authority_id.as_ref()).await?;
        let mut out = Vec::with_capacity(reports.len());
        for r in &reports {
            out.push(self.public_with(r, &departments, &categories, None));
        }
        Ok(out)
    }

    /// A report's public updates, oldest first.
    pub async fn public_updates(&self, id: i64) -> Result<Vec<ReportUpdate>, ReportError> {
        Ok(self.store.report_updates(id, false).await?)
    }

    async fn public(&self, r: &Report) -> Result<PublicReport, ReportError> {
        let departments = self.store.departments(Some(&r.authority_id)).await?;
        let categories = self.store.categories(Some(&r.authority_id)).await?;
        let note = self.store.report_updates(r.id, false).await?.into_iter().rev().map(|u| u.note).find(|n| !n.is_empty());
        Ok(self.public_with(r, &departments, &categories, note))
    }

    fn public_with(&self, r: &Report, departments: &[amtsweg_domain::reports::Department], categories: &[Category], note: Option<String>) -> PublicReport {
        let media_url = r.photos.first().map(|p| if p.starts_with("http://") || p.starts_with("https://") { p.clone() } else { format!("{}{p}", self.photo_base) });
        PublicReport {
            id: r.id,
            authority_id: r.authority_id.clone(),
            category: r.category.clone(),
            category_name: categories.iter().find(|c| c.code == r.category && c.authority_id == r.authority_id).map(|c| c.name.clone()).unwrap_or_default(),
            status: r.status,
            status_notes: note,
            description: Some(r.public_description.clone()).filter(|d| !d.is_empty()),
            agency: departments.iter().find(|d| d.id == r.department_id).map(|d| d.name.clone()).unwrap_or_default(),
            requested_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
            address: r.location.address.clone(),
            address_id: r.location.address_id.clone(),
            postcode: r.location.postcode.clone(),
            lat: r.location.lat,
            lon: r.location.lon,
            media_url,
            supporters: r.supporters,
            token: r.token.clone(),
        }
    }
}

/// Queues the e-mail of a public update to a reporter who confirmed an address (sent by the
/// jobs worker, which looks the address up then; nothing personal is in the queue). A failure
/// to queue loses that mail only (logged), never the change, which is stored already.
pub(crate) async fn queue_update_mail(store: &DynStore, mail: bool, update: &ReportUpdate) {
    if mail && !update.internal {
        let kind = crate::jobs::JobKind::ReportMail { report: update.report_id, update: update.id };
        if crate::jobs::enqueue_on(store, &kind).await.is_err() {
            tracing::warn!(report = update.report_id, "update mail not queued");
        }
    }
}

/// Sends the link that confirms a report's e-mail address (the job of a new report with one):
/// a new token each time, kept only as its hash (so no link waits anywhere in plain text). Not
/// to an address confirmed already or deleted.
pub async fn send_confirmation(app: &crate::Platform, report: i64) -> Result<(), String> {
    let Some(mailer) = &app.mailer else { return Ok(()) };
    let Some(r) = app.store.report(report).await.map_err(|e| e.to_string())? else { return Ok(()) };
    let Some(to) = &r.reporter.email else { return Ok(()) };
    if r.email_confirmed_at.is_some() || r.personal_deleted_at.is_some() {
        return Ok(());
    }
    let token = crate::accounts::new_secret();
    app.store.set_report_email_token(report, &crate::accounts::hash_secret(&token)).await.map_err(|e| e.to_string())?;
    let link = mailer.link(&format!("/maengel/bestaetigen/{report}/{token}"));
    let body = format!(
        "Guten Tag,\n\nvielen Dank für Ihre Meldung Nr. {report}. Bitte bestätigen Sie Ihre E-Mail-Adresse mit diesem Link; danach schicken wir Ihnen Nachrichten zum Stand der Meldung:\n\n{link}\n\nWenn Sie nichts gemeldet haben, ignorieren Sie diese E-Mail bitte. Ohne Bestätigung erhalten Sie keine weiteren Nachrichten.\n\nStand und Verlauf: {status}\n",
        status = mailer.link(&format!("/maengel/meldungen/{report}")),
    );
    mailer.send(to, &format!("Bitte bestätigen Sie Ihre Meldung Nr. {report}"), &body).await
}

/// Sends the e-mail of one update (the job of [`queue_update_mail`]): only to an address
/// confirmed and not yet deleted.
pub async fn send_update_mail(app: &crate::Platform, report: i64, update: i64) -> Result<(), String> {
    let Some(mailer) = &app.mailer else { return Ok(()) };
    let Some(r) = app.store.report(report).await.map_err(|e| e.to_string())? else { return Ok(()) };
    let (Some(to), Some(_)) = (&r.reporter.email, r.email_confirmed_at) else { return Ok(()) };
    if r.personal_deleted_at.is_some() {
        return Ok(());
    }
    let Some(u) = app.store.report_updates(report, false).await.map_err(|e| e.to_string())?.into_iter().find(|u| u.id == update) else { return Ok(()) };
    let (subject, body) = amtsweg_domain::reports::update_message(report, u.status, &u.note, &mailer.link(&format!("/maengel/meldungen/{report}")));
    mailer.send(to, &subject, &format!("Guten Tag,\n\n{body}\n")).await
}

/// A point with its regional key (routing rule 6): that of the nearest house of any address
/// list within [`REGION_RADIUS_M`] that carries one.
pub(crate) async fn place(store: &DynStore, point: amtsweg_places::GeoPoint) -> Result<Place, ReportError> {
    let near = store.addresses_in(amtsweg_places::box_around(point, REGION_RADIUS_M), 500).await?;
    let region = near
        .into_iter()
        .filter_map(|(_, a)| Some((amtsweg_places::distance_m(point, a.point()), amtsweg_domain::RegionKey::parse(a.ars.as_deref()?).ok()?)))
        .filter(|(d, _)| *d <= REGION_RADIUS_M)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, key)| key);
    Ok(Place { point, region })
}

/// A stored photo, decrypted: its report, media type and bytes (`None` for an id that is not
/// one of ours).
pub(crate) async fn open_photo(store: &DynStore, key: &crate::uploads::UploadKey, id: &str) -> Result<Option<(i64, String, Vec<u8>)>, ReportError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some((report, media_type, sealed)) = store.report_photo(id).await? else { return Ok(None) };
    let bytes = key.open(&sealed).ok_or_else(|| AppError::Internal("a stored photo does not open".into()))?;
    Ok(Some((report, media_type, bytes)))
}

/// A name from the input, cut for a message.
fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_line_breaks_and_refuse_markup() {
        assert_eq!(check_description("Loch\r\nsehr tief ").unwrap(), "Loch\nsehr tief");
        assert!(check_description("a < b und 3<4").is_ok());
        assert!(matches!(check_description("<script>x</script>"), Err(ReportError::Invalid("description", _))));
        assert!(check_description(&"ä".repeat(4000)).is_ok(), "4,000 characters, not bytes");
        assert!(check_description(&"a".repeat(4001)).is_err());
    }

    #[test]
    fn w3c_dates_read_in_every_form_clients_send() {
        let t = parse_w3c("2026-12-07T10:00:00Z").unwrap();
        assert_eq!(parse_w3c("2026-12-07T11:00:00+01:00"), Some(t));
        assert_eq!(parse_w3c("2026-12-07T11:00:00 01:00"), Some(t), "a + decoded as a space");
        assert_eq!(parse_w3c("2026-12-07T10:00:00.000Z"), Some(t));
        assert!(parse_w3c("2026-12-07").is_some());
        assert!(parse_w3c("gestern").is_none());
    }
}
