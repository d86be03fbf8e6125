//! The department's work on reports, and status updates from back-office systems through
//! Open311 (FixMyStreet's `servicerequestupdates`). Each change is one update with a public
//! note (or an internal one), audited.

use super::ReportError;
use amtsweg_domain::reports::{Report, ReportFilter, ReportStatus, ReportUpdate};
use amtsweg_domain::{AuthorityId, User};
use amtsweg_store::{Actor, DynStore, Open311Key, ReportChange};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Most characters of a note on a report.
pub const MAX_NOTE_CHARS: usize = 2000;

/// What a member of a department changes on a report.
#[derive(Debug, Clone)]
pub struct Change {
    pub status: ReportStatus,
    pub note: String,
    /// A note for the department only (not public, changes no status shown).
    pub internal: bool,
    /// Moderation: the public text, and whether the report is published from now on.
    pub public_text: Option<(String, bool)>,
    pub duplicate_of: Option<i64>,
    pub forwarded_to: Option<String>,
}

/// A member of staff of an authority, at the reports of their departments (all of the
/// authority's when they belong to none).
#[derive(Clone)]
pub struct ReportDesk {
    store: DynStore,
    authority: AuthorityId,
    actor: Actor,
    departments: Vec<String>,
    /// Opens and seals the reports' photos.
    upload_key: std::sync::Arc<crate::uploads::UploadKey>,
    /// Whether public updates are e-mailed to reporters who confirmed an address.
    mail: bool,
}

impl ReportDesk {
    pub async fn new(app: &crate::Platform, user: &User) -> Result<Option<Self>, ReportError> {
        if !user.role.is_staff() {
            return Ok(None);
        }
        let Some(authority) = user.authority_id.clone() else { return Ok(None) };
        let store = app.store.clone();
        let departments = store.member_departments(&authority, user.id.as_str()).await?;
        Ok(Some(Self { store, authority, actor: Actor { id: user.id.clone(), role: user.role }, departments, upload_key: app.upload_key.clone(), mail: app.mailer.is_some() }))
    }

    /// A photo of one of the desk's reports, published or not: media type and bytes.
    pub async fn photo(&self, report: i64, photo: &str) -> Result<Option<(String, Vec<u8>)>, ReportError> {
        if !self.report(report).await?.is_some_and(|r| r.photos.iter().any(|p| p == photo)) {
            return Ok(None);
        }
        Ok(super::open_photo(&self.store, &self.upload_key, photo).await?.map(|(_, media_type, bytes)| (media_type, bytes)))
    }

    /// Blacks out a rectangle of a photo of one of the desk's reports (`(left, top, width,
    /// height)` as fractions of its size): a face, a number plate. The stored photo is replaced,
    /// audited; the original is not kept.
    pub async fn black_out(&self, report: i64, photo: &str, rect: (f32, f32, f32, f32)) -> Result<(), ReportError> {
        let Some((media_type, bytes)) = self.photo(report, photo).await? else {
            return Err(ReportError::NotFound("Dieses Foto gibt es hier nicht.".into()));
        };
        let redacted = tokio::task::spawn_blocking(move || amtsweg_documents::black_out(&bytes, &media_type, rect))
            .await
            .map_err(|_| crate::AppError::Internal("black-out failed".into()))?
            .map_err(|r| ReportError::Invalid("photo", r.message()))?;
        let actor = (self.actor.id.as_str(), self.actor.role.as_str());
        Ok(self.store.replace_report_photo(&self.authority, photo, &self.upload_key.seal(&redacted), Some(actor)).await?)
    }

    pub fn authority(&self) -> &AuthorityId {
        &self.authority
    }

    fn mine(&self, r: &Report) -> bool {
        r.authority_id == self.authority && (self.departments.is_empty() || self.departments.contains(&r.department_id))
    }

    /// The reports of the desk's departments by the filter, newest first.
    pub async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>, ReportError> {
        let mut filter = filter.clone();
        filter.authority_id = Some(self.authority.clone());
        let mut out = self.store.reports(&filter).await?;
        out.retain(|r| self.mine(r));
        Ok(out)
    }

    pub async fn report(&self, id: i64) -> Result<Option<Report>, ReportError> {
        Ok(self.store.report(id).await?.filter(|r| self.mine(r)))
    }

    /// How many unfinished reports of the desk's departments are past their deadline (counted
    /// by the database, as for `/metrics`).
    pub async fn overdue(&self) -> Result<usize, ReportError> {
        let backlog = self.store.report_backlog(OffsetDateTime::now_utc()).await?;
        let mine = |authority: &str, department: &String| authority == self.authority.as_str() && (self.departments.is_empty() || self.departments.contains(department));
        Ok(backlog.iter().filter(|(a, _, d, _, _)| mine(a, d)).map(|(_, _, _, _, overdue)| usize::try_from(*overdue).unwrap_or(0)).sum())
    }

    /// One of the desk's reports, opened to work on it: when it still holds its reporter's
    /// personal data (which the page shows), the reading is audited (`report_viewed`), as a
    /// case file's is.
    pub async fn open(&self, id: i64) -> Result<Option<Report>, ReportError> {
        let Some(report) = self.report(id).await? else { return Ok(None) };
        if !report.reporter.is_empty() {
            let actor = (self.actor.id.as_str(), self.actor.role.as_str());
            self.store.record_action(amtsweg_domain::AuditKind::ReportViewed, Some(actor), Some(self.authority.as_str()), ("report", &id.to_string())).await?;
        }
        Ok(Some(report))
    }

    pub async fn updates(&self, id: i64) -> Result<Vec<ReportUpdate>, ReportError> {
        if self.report(id).await?.is_none() {
            return Err(ReportError::NotFound("Diese Meldung gibt es hier nicht.".into()));
        }
        Ok(self.store.report_updates(id, true).await?)
    }

    /// Changes a report (status, note, moderation).
    pub async fn change(&self, id: i64, change: &Change) -> Result<ReportUpdate, ReportError> {
        let Some(report) = self.report(id).await? else {
            return Err(ReportError::NotFound("Diese Meldung gibt es hier nicht.".into()));
        };
        let note = check_note(&change.note)?;
        let public_text = match &change.public_text {
            Some((text, publish)) => Some((super::check_description(text)?, *publish)),
            None => None,
        };
        if change.status == ReportStatus::Duplicate {
            let Some(original) = change.duplicate_of else {
                return Err(ReportError::Invalid("duplicate_of", "Bitte geben Sie die Nummer der Meldung an, die dasselbe meldet.".into()));
            };
            if original == id || self.store.report(original).await?.is_none_or(|o| o.authority_id != self.authority) {
                return Err(ReportError::Invalid("duplicate_of", "Diese Meldungsnummer gibt es hier nicht.".into()));
            }
        }
        if change.status == ReportStatus::Forwarded && change.forwarded_to.as_deref().is_none_or(|s| s.trim().is_empty()) {
            return Err(ReportError::Invalid("forwarded_to", "Bitte geben Sie an, an welche Behörde die Meldung geht.".into()));
        }
        let status = if change.internal { report.status } else { change.status };
        let c = ReportChange {
            authority: &self.authority,
            report: id,
            status,
            note: &note,
            internal: change.internal,
            public_text: public_text.as_ref().map(|(t, p)| (t.as_str(), *p)),
            duplicate_of: change.duplicate_of,
            forwarded_to: change.forwarded_to.as_deref(),
            external: None,
            at: OffsetDateTime::now_utc(),
        };
        let (update, _) = self.store.change_report(&c, Some((self.actor.id.as_str(), self.actor.role.as_str()))).await?;
        super::queue_update_mail(&self.store, self.mail, &update).await;
        Ok(update)
    }
}

/// Another authority on this installation that a report can be handed over to, with one of
/// its categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    pub authority_id: AuthorityId,
    pub authority_name: String,
    pub category: String,
    pub category_name: String,
}

impl ForwardTarget {
    /// `authority/category`, as a form sends it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.authority_id.as_str(), self.category)
    }
}

impl ReportDesk {
    /// The authorities (and their categories) a report can be handed over to: every other
    /// active authority of the installation that takes reports.
    pub async fn forward_targets(&self) -> Result<Vec<ForwardTarget>, ReportError> {
        let authorities = self.store.authorities().await?;
        let mut out: Vec<ForwardTarget> = self
            .store
            .categories(None)
            .await?
            .into_iter()
            .filter(|c| c.authority_id != self.authority)
            .filter_map(|c| {
                let a = authorities.iter().find(|a| a.id == c.authority_id && a.active)?;
                Some(ForwardTarget { authority_id: a.id.clone(), authority_name: a.name.clone(), category: c.code, category_name: c.name })
            })
            .collect();
        out.sort_by(|a, b| (&a.authority_name, &a.category_name).cmp(&(&b.authority_name, &b.category_name)));
        Ok(out)
    }

    /// Hands a report over to another authority on this installation ("nicht zuständig"): a
    /// new report there, in the category chosen, with the place, the description, the answers
    /// that fit its questions, the photos and the reporter (who is told in the mailbox). The
    /// rule of `routing.rs` picks the department there; where the place lies in none of its
    /// areas for that category (a road the Land looks after inside a city), the department of
    /// its largest area for it. The new report waits for that department's check before it is
    /// published. The original is closed as "weitergeleitet" with a note naming the
    /// authority and the new number. Returns the new report's number.
    pub async fn forward(&self, id: i64, target: &AuthorityId, category: &str, note: &str) -> Result<i64, ReportError> {
        let Some(report) = self.report(id).await? else {
            return Err(ReportError::NotFound("Diese Meldung gibt es hier nicht.".into()));
        };
        if report.status.is_closed() {
            return Err(ReportError::Invalid("forwarded_to", "Diese Meldung ist schon erledigt; sie kann nicht mehr weitergeleitet werden.".into()));
        }
        let note = check_note(note)?;
        let unknown = || ReportError::Invalid("forwarded_to", "Bitte wählen Sie eine Behörde und Kategorie aus der Liste.".into());
        if target == &self.authority {
            return Err(unknown());
        }
        let authority = self.store.authority(target).await?.filter(|a| a.active).ok_or_else(unknown)?;
        let category = self.store.category(target, category).await?.ok_or_else(unknown)?;
        let map = super::Map::new(self.store.areas(Some(target)).await?, self.store.assignments(Some(target)).await?);
        let point = amtsweg_places::point(report.location.lat, report.location.lon).ok_or_else(unknown)?;
        let (department_id, area_id) = match map.route(target, &category.code, super::place(&self.store, point).await?) {
            Some(route) => (route.department_id, route.area_id),
            None => map.largest_for(target, &category.code).ok_or_else(|| {
                ReportError::Invalid("forwarded_to", format!("{} hat für „{}“ noch keine zuständige Stelle eingetragen.", authority.name, category.name))
            })?,
        };
        // The answers that fit the new category's questions, each checked on its own (answers to
        // questions it does not have are dropped); none is required of the citizen now.
        let mut lenient = category.clone();
        lenient.attributes.iter_mut().for_each(|a| a.required = false);
        let answers = report.answers.iter().filter_map(|(code, values)| super::check_answers(&lenient, &BTreeMap::from([(code.clone(), values.clone())])).ok()).flatten().collect();
        let mut photo_files = Vec::new();
        let mut media_urls = Vec::new();
        for p in &report.photos {
            if p.contains('/') {
                media_urls.push(p.clone());
            } else if let Some((_, media_type, sealed)) = self.store.report_photo(p).await? {
                photo_files.push(amtsweg_domain::reports::PhotoFile { id: super::new_photo_id()?, media_type, sealed });
            }
        }
        let now = OffsetDateTime::now_utc();
        let new = amtsweg_domain::reports::NewReport {
            authority_id: target.clone(),
            category: category.code.clone(),
            department_id,
            area_id,
            location: report.location.clone(),
            description: report.description.clone(),
            answers,
            published: false,
            deadline_at: now + time::Duration::days(i64::from(category.deadline_days)),
            token: super::random_token()?,
            source: format!("forwarded:{id}"),
            reporter: report.reporter.clone(),
            photos: media_urls,
            photo_files,
        };
        let change = ReportChange {
            authority: &self.authority,
            report: id,
            status: ReportStatus::Forwarded,
            note: "",
            internal: false,
            public_text: None,
            duplicate_of: None,
            forwarded_to: Some(&authority.name),
            external: None,
            at: now,
        };
        let name = authority.name.clone();
        let make_note = move |n: i64| {
            let handed = format!("Weitergeleitet an {name}, dort Meldung Nr. {n}.");
            if note.is_empty() { handed } else { format!("{note}\n\n{handed}") }
        };
        let actor = (self.actor.id.as_str(), self.actor.role.as_str());
        let Some((update, new_id)) = self.store.forward_report(&change, &new, &make_note, Some(actor)).await? else {
            return Err(ReportError::Invalid("forwarded_to", "Diese Meldung ist schon erledigt; sie kann nicht mehr weitergeleitet werden.".into()));
        };
        super::queue_update_mail(&self.store, self.mail, &update).await;
        Ok(new_id)
    }
}

fn check_note(note: &str) -> Result<String, ReportError> {
    let note = note.replace("\r\n", "\n").trim().to_owned();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ReportError::Invalid("description", format!("Die Notiz ist länger als {MAX_NOTE_CHARS} Zeichen.")));
    }
    Ok(note)
}

/// A status update from a back-office system (Open311 `servicerequestupdates`): idempotent by
/// the client's own update id; `status` `None` keeps the report's. Returns the update and
/// whether it is new.
pub async fn client_update(
    app: &crate::Platform,
    key: &Open311Key,
    report: i64,
    status: Option<ReportStatus>,
    note: &str,
    external_id: &str,
    at: OffsetDateTime,
) -> Result<(ReportUpdate, bool), ReportError> {
    let store = &app.store;
    let Some(found) = store.report(report).await? else {
        return Err(ReportError::NotFound("Die Meldung (service_request_id) gibt es nicht.".into()));
    };
    if found.authority_id != key.authority_id {
        return Err(ReportError::NotFound("Die Meldung (service_request_id) gibt es nicht.".into()));
    }
    let note = check_note(note)?;
    if super::looks_like_html(&note) {
        return Err(ReportError::Invalid("description", "Die Beschreibung darf kein HTML und keinen Code enthalten.".into()));
    }
    let client = format!("open311:{}", key.id);
    let c = ReportChange {
        authority: &key.authority_id,
        report,
        // FixMyStreet's `UNCHANGED`: a note without a change of status.
        status: status.unwrap_or(found.status),
        note: &note,
        internal: false,
        public_text: None,
        duplicate_of: None,
        forwarded_to: None,
        external: Some((&client, external_id)),
        at,
    };
    let (update, new) = store.change_report(&c, Some((&client, "procedure"))).await?;
    if new {
        super::queue_update_mail(store, app.mailer.is_some(), &update).await;
    }
    Ok((update, new))
}
