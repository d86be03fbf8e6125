//! The department's work on reports, and status updates from back-office systems through
//! Open311 (FixMyStreet's `servicerequestupdates`). Each change is one update with a public
//! note (or an internal one), audited.

use super::ReportError;
use amtsweg_domain::reports::{Report, ReportFilter, ReportStatus, ReportUpdate};
use amtsweg_domain::{AuthorityId, User};
use amtsweg_store::{Actor, DynStore, Open311Key, ReportChange};
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
}

impl ReportDesk {
    pub async fn new(app: &crate::Platform, user: &User) -> Result<Option<Self>, ReportError> {
        if !user.role.is_staff() {
            return Ok(None);
        }
        let Some(authority) = user.authority_id.clone() else { return Ok(None) };
        let store = app.store.clone();
        let departments = store.member_departments(&authority, user.id.as_str()).await?;
        Ok(Some(Self { store, authority, actor: Actor { id: user.id.clone(), role: user.role }, departments, upload_key: app.upload_key.clone() }))
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
        Ok(update)
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
    store: &DynStore,
    key: &Open311Key,
    report: i64,
    status: Option<ReportStatus>,
    note: &str,
    external_id: &str,
    at: OffsetDateTime,
) -> Result<(ReportUpdate, bool), ReportError> {
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
    Ok(store.change_report(&c, Some((&client, "procedure"))).await?)
}
