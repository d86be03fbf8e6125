//! The Mängelmelder's storage: its setup (`setup.rs`) and the reports with their updates
//! (here). A report's personal part lives in `reporter_*` columns that only the department's
//! reads return and that retention empties; every report and every change of one is audited
//! (and so in the ledger) like any other action.

mod setup;

pub use setup::Open311Key;

use crate::audit::audit;
use crate::sql::{Arg, Dialect, SqlStore, args, corrupt, row};
use crate::{Result, StoreError};
use amtsweg_domain::reports::{Area, Assignment, Category, Department, Location, NewReport, Report, ReportFilter, ReportStatus, ReportUpdate, Reporter};
use amtsweg_domain::{AuditKind, AuthorityId};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Who acts on a report, for the audit trail: a person (id, role) or an Open311 client
/// (`("open311:<key id>", "procedure")`), or nobody (an anonymous citizen).
pub type ReportActor<'a> = Option<(&'a str, &'a str)>;

/// The Mängelmelder's part of the [`Store`](crate::Store).
#[async_trait]
pub trait ReportStore: Send + Sync {
    // --- setup (service admin) ----------------------------------------------------------------
    /// Creates or renames a department; `Exists("department")` when the id belongs to another
    /// authority.
    async fn put_department(&self, department: &Department, actor: &crate::Actor) -> Result<()>;
    async fn departments(&self, authority: Option<&AuthorityId>) -> Result<Vec<Department>>;
    /// Adds a member of staff of the authority to one of its departments (others: nothing).
    async fn add_department_member(&self, authority: &AuthorityId, department: &str, user: &str, actor: &crate::Actor) -> Result<()>;
    /// The departments a member of staff belongs to.
    async fn member_departments(&self, authority: &AuthorityId, user: &str) -> Result<Vec<String>>;
    async fn put_category(&self, category: &Category, actor: &crate::Actor) -> Result<()>;
    /// The categories of one authority, or of all with `None`.
    async fn categories(&self, authority: Option<&AuthorityId>) -> Result<Vec<Category>>;
    async fn category(&self, authority: &AuthorityId, code: &str) -> Result<Option<Category>>;
    /// Adds checked areas, all or none; `Exists("area")` for a taken id.
    async fn add_areas(&self, authority: &AuthorityId, areas: &[Area], actor: &crate::Actor) -> Result<()>;
    async fn areas(&self, authority: Option<&AuthorityId>) -> Result<Vec<Area>>;
    /// `Exists("assignment")` when the category has a department in that area already.
    async fn add_assignment(&self, assignment: &Assignment, actor: &crate::Actor) -> Result<()>;
    async fn assignments(&self, authority: Option<&AuthorityId>) -> Result<Vec<Assignment>>;
    /// Replaces the authority's address list; returns how many addresses it holds now.
    async fn replace_addresses(&self, authority: &AuthorityId, list: &[amtsweg_places::Address], actor: &crate::Actor) -> Result<u64>;
    /// Addresses of any authority whose normalised street and number start with `prefix`.
    async fn find_addresses(&self, prefix: &str, limit: i64) -> Result<Vec<(AuthorityId, amtsweg_places::Address)>>;
    /// Addresses of any authority in the box `(west, south, east, north)` (at most `limit`).
    async fn addresses_in(&self, bounds: (f64, f64, f64, f64), limit: i64) -> Result<Vec<(AuthorityId, amtsweg_places::Address)>>;
    /// Keeps an Open311 client's key (its hash); returns the key's id.
    async fn create_open311_key(&self, authority: &AuthorityId, name: &str, key_hash: &str, actor: &crate::Actor) -> Result<String>;
    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>>;
    async fn open311_keys(&self, authority: &AuthorityId) -> Result<Vec<Open311Key>>;
    async fn revoke_open311_key(&self, authority: &AuthorityId, id: &str, actor: &crate::Actor) -> Result<()>;

    // --- reports -------------------------------------------------------------------------------
    /// Stores a checked, routed report with its first update (`open`), audited.
    async fn create_report(&self, report: &NewReport, actor: ReportActor<'_>, at: OffsetDateTime) -> Result<Report>;
    async fn report(&self, id: i64) -> Result<Option<Report>>;
    async fn report_by_token(&self, token: &str) -> Result<Option<Report>>;
    /// Reports by the filter, newest first.
    async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>>;
    /// Open reports of a category whose point lies in the box `(west, south, east, north)`.
    async fn open_reports_in(&self, authority: &AuthorityId, category: &str, bounds: (f64, f64, f64, f64)) -> Result<Vec<Report>>;
    /// Changes a report's status (and, with `public_text`, its public description and
    /// publication) with a note, audited. With `external` (client, its own update id), a second
    /// call with the same pair changes nothing and returns the first update (`false`).
    async fn change_report(&self, change: &ReportChange<'_>, actor: ReportActor<'_>) -> Result<(ReportUpdate, bool)>;
    /// Hands a report over to another authority on this installation: stores `new` (there) and
    /// changes the original by `change` (to forwarded), whose note `note` makes from the new
    /// report's number, all in one transaction. Returns the original's update and the new number;
    /// `None` (and nothing stored) when the original is no longer open.
    async fn forward_report(&self, change: &ReportChange<'_>, new: &NewReport, note: &(dyn Fn(i64) -> String + Sync), actor: ReportActor<'_>) -> Result<Option<(ReportUpdate, i64)>>;
    /// The updates of a report, oldest first (with the internal notes only when asked).
    async fn report_updates(&self, report: i64, internal: bool) -> Result<Vec<ReportUpdate>>;
    /// Public updates made in `from..=to`, of one authority or all, oldest first.
    async fn updates_between(&self, authority: Option<&AuthorityId>, from: OffsetDateTime, to: OffsetDateTime, limit: i64) -> Result<Vec<ReportUpdate>>;
    /// One more citizen reports the same; returns the new count.
    async fn support_report(&self, id: i64, actor: ReportActor<'_>) -> Result<i64>;
    /// Deletes the personal data of reports closed before `before`; returns how many. Each
    /// deletion is audited (`data_deleted`).
    async fn forget_reporters(&self, before: OffsetDateTime) -> Result<u64>;
    /// Keeps the hash of the token that confirms the reporter's e-mail address.
    async fn set_report_email_token(&self, id: i64, token_hash: &str) -> Result<()>;
    /// Confirms the reporter's e-mail address with the token's hash (once: the token is used
    /// up), audited; `false` for a wrong or used token.
    async fn confirm_report_email(&self, id: i64, token_hash: &str, at: OffsetDateTime) -> Result<bool>;
    /// Notes, once per report, that an unfinished report passed its deadline before `now`: an
    /// internal update ("Frist überschritten") for its department, audited. Returns how many.
    async fn note_overdue_reports(&self, now: OffsetDateTime) -> Result<u64>;
    /// Open reports per (authority, category, department), with how many are past their
    /// deadline at `now`.
    async fn report_backlog(&self, now: OffsetDateTime) -> Result<Vec<(String, String, String, i64, i64)>>;
    /// A photo: its report, media type and encrypted bytes.
    async fn report_photo(&self, id: &str) -> Result<Option<(i64, String, String)>>;
    /// Replaces a photo of a report of the authority (its redacted version), audited.
    async fn replace_report_photo(&self, authority: &AuthorityId, id: &str, sealed: &str, actor: ReportActor<'_>) -> Result<()>;
}

/// A change of a report.
#[derive(Debug, Clone)]
pub struct ReportChange<'a> {
    pub authority: &'a AuthorityId,
    pub report: i64,
    pub status: ReportStatus,
    pub note: &'a str,
    pub internal: bool,
    /// New public description, and whether the report is published from now on.
    pub public_text: Option<(&'a str, bool)>,
    pub duplicate_of: Option<i64>,
    pub forwarded_to: Option<&'a str>,
    /// The client and its own id for this update (idempotency).
    pub external: Option<(&'a str, &'a str)>,
    pub at: OffsetDateTime,
}

macro_rules! report_select {
    () => {
        "SELECT id, authority_id, category, department_id, area_id, lat, lon, address, address_id, postcode, description, public_description, \
         answers, status, published, created_at, updated_at, deadline_at, closed_at, supporters, duplicate_of, forwarded_to, token, photos, source, \
         reporter_user_id, reporter_email, reporter_first_name, reporter_last_name, reporter_phone, reporter_device_id, reporter_account_id, \
         email_confirmed_at, personal_deleted_at FROM reports"
    };
}
const REPORT: &str = concat!(report_select!(), " WHERE id = $1");
const REPORT_BY_TOKEN: &str = concat!(report_select!(), " WHERE token = $1");
const OPEN_IN: &str = concat!(
    report_select!(),
    " WHERE authority_id = $1 AND category = $2 AND lon >= $3 AND lat >= $4 AND lon <= $5 AND lat <= $6 \
      AND status IN ('open', 'in_progress', 'scheduled') ORDER BY id DESC LIMIT 50"
);
const INSERT: &str = "INSERT INTO reports (authority_id, category, department_id, area_id, lat, lon, address, address_id, postcode, description, \
     public_description, answers, status, published, created_at, updated_at, deadline_at, token, photos, source, reporter_user_id, reporter_email, \
     reporter_first_name, reporter_last_name, reporter_phone, reporter_device_id, reporter_account_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25) RETURNING id";
const INSERT_UPDATE: &str = "INSERT INTO report_updates (report_id, at, status, note, internal, actor_id, client_id, external_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
macro_rules! update_select {
    () => {
        "SELECT u.id, u.report_id, u.at, u.status, u.note, u.internal, u.external_id FROM report_updates u"
    };
}
const UPDATES: &str = concat!(update_select!(), " WHERE u.report_id = $1 AND (u.internal = $2 OR u.internal = FALSE) ORDER BY u.id");
const UPDATE_BY_EXTERNAL: &str = concat!(update_select!(), " WHERE u.client_id = $1 AND u.external_id = $2");
const UPDATES_BETWEEN: &str = concat!(
    update_select!(),
    " JOIN reports r ON r.id = u.report_id WHERE u.internal = FALSE AND r.published = TRUE AND u.at >= $1 AND u.at <= $2 \
      AND NOT (u.status = 'open' AND u.note = '' AND u.at = r.created_at) \
      AND ($3 IS NULL OR r.authority_id = $3) ORDER BY u.id LIMIT $4"
);
/// An internal note changes nothing the public sees, not even the time of the last change.
const CHANGE: &str = "UPDATE reports SET status = $1, updated_at = CASE WHEN $11 THEN updated_at ELSE $2 END, \
     closed_at = CASE WHEN $3 THEN COALESCE(closed_at, $2) ELSE NULL END, \
     public_description = COALESCE($4, public_description), published = CASE WHEN $5 THEN $10 ELSE published END, \
     duplicate_of = COALESCE($6, duplicate_of), forwarded_to = COALESCE($7, forwarded_to) \
     WHERE id = $8 AND authority_id = $9";
const INSERT_PHOTO: &str = "INSERT INTO report_photos (id, report_id, position, media_type, content, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
const PHOTO: &str = "SELECT report_id, media_type, content FROM report_photos WHERE id = $1";
const REPLACE_PHOTO: &str = "UPDATE report_photos SET content = $1 WHERE id = $2 AND report_id IN (SELECT id FROM reports WHERE authority_id = $3) RETURNING report_id";
const REPORTER_OF: &str = "SELECT reporter_user_id FROM reports WHERE id = $1";
const DELIVER: &str = "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at) VALUES ($1, $2, NULL, $3, $4, $5, $6)";
const AUTHORITY_NAME: &str = "SELECT name FROM authorities WHERE id = $1";
const BACKLOG: &str = "SELECT authority_id, category, department_id, COUNT(*) AS open, SUM(CASE WHEN deadline_at < $1 THEN 1 ELSE 0 END) AS overdue \
     FROM reports WHERE status IN ('open', 'in_progress', 'scheduled') GROUP BY authority_id, category, department_id ORDER BY authority_id, category, department_id";
const NEWLY_OVERDUE: &str = "SELECT id, authority_id, status FROM reports WHERE deadline_at < $1 AND overdue_noted_at IS NULL \
     AND status IN ('open', 'in_progress', 'scheduled') ORDER BY deadline_at LIMIT 500";
const NOTE_OVERDUE: &str = "UPDATE reports SET overdue_noted_at = $1 WHERE id = $2 AND overdue_noted_at IS NULL AND status IN ('open', 'in_progress', 'scheduled')";
/// The note an overdue report gets (internal, for the department).
pub const OVERDUE_NOTE: &str = "Frist überschritten: Die Meldung ist noch nicht erledigt.";
const CLAIM_OPEN: &str = "UPDATE reports SET status = status WHERE id = $1 AND authority_id = $2 AND status IN ('open', 'in_progress', 'scheduled')";
const CARRY_CONFIRMATION: &str = "UPDATE reports SET email_confirmed_at = (SELECT o.email_confirmed_at FROM reports o WHERE o.id = $2) WHERE id = $1";
const SET_EMAIL_TOKEN: &str = "UPDATE reports SET reporter_email_token = $1 WHERE id = $2 AND reporter_email IS NOT NULL AND personal_deleted_at IS NULL";
const CONFIRM_EMAIL: &str = "UPDATE reports SET email_confirmed_at = $1, reporter_email_token = NULL \
     WHERE id = $2 AND reporter_email_token = $3 AND personal_deleted_at IS NULL RETURNING authority_id";
const SUPPORT: &str = "UPDATE reports SET supporters = supporters + 1 WHERE id = $1 RETURNING supporters, authority_id";
const CLOSED_WITH_PERSONAL: &str = "SELECT id, authority_id FROM reports WHERE closed_at < $1 AND personal_deleted_at IS NULL LIMIT 500";
const FORGET: &str = "UPDATE reports SET reporter_user_id = NULL, reporter_email = NULL, reporter_first_name = NULL, reporter_last_name = NULL, \
     reporter_phone = NULL, reporter_device_id = NULL, reporter_account_id = NULL, reporter_email_token = NULL, email_confirmed_at = NULL, description = public_description, personal_deleted_at = $1 \
     WHERE id = $2 AND personal_deleted_at IS NULL";

row!(ReportRow {
    id: i64,
    authority_id: String,
    category: String,
    department_id: String,
    area_id: String,
    lat: f64,
    lon: f64,
    address: Option<String>,
    address_id: Option<String>,
    postcode: Option<String>,
    description: String,
    public_description: String,
    answers: String,
    status: String,
    published: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    deadline_at: OffsetDateTime,
    closed_at: Option<OffsetDateTime>,
    supporters: i64,
    duplicate_of: Option<i64>,
    forwarded_to: Option<String>,
    token: String,
    photos: String,
    source: String,
    reporter_user_id: Option<String>,
    reporter_email: Option<String>,
    reporter_first_name: Option<String>,
    reporter_last_name: Option<String>,
    reporter_phone: Option<String>,
    reporter_device_id: Option<String>,
    reporter_account_id: Option<String>,
    email_confirmed_at: Option<OffsetDateTime>,
    personal_deleted_at: Option<OffsetDateTime>,
});

impl ReportRow {
    fn into_domain(self) -> Result<Report> {
        Ok(Report {
            id: self.id,
            authority_id: AuthorityId::from_stored(self.authority_id),
            category: self.category,
            department_id: self.department_id,
            area_id: self.area_id,
            location: Location { lat: self.lat, lon: self.lon, address: self.address, address_id: self.address_id, postcode: self.postcode },
            description: self.description,
            public_description: self.public_description,
            answers: serde_json::from_str(&self.answers).map_err(|_| corrupt("report answers"))?,
            status: ReportStatus::parse(&self.status).ok_or_else(|| corrupt("report status"))?,
            published: self.published,
            created_at: self.created_at,
            updated_at: self.updated_at,
            deadline_at: self.deadline_at,
            closed_at: self.closed_at,
            supporters: self.supporters,
            duplicate_of: self.duplicate_of,
            forwarded_to: self.forwarded_to,
            token: self.token,
            photos: serde_json::from_str(&self.photos).map_err(|_| corrupt("report photos"))?,
            source: self.source,
            reporter: Reporter {
                user_id: self.reporter_user_id,
                email: self.reporter_email,
                first_name: self.reporter_first_name,
                last_name: self.reporter_last_name,
                phone: self.reporter_phone,
                device_id: self.reporter_device_id,
                account_id: self.reporter_account_id,
            },
            email_confirmed_at: self.email_confirmed_at,
            personal_deleted_at: self.personal_deleted_at,
        })
    }
}

row!(BacklogRow { authority_id: String, category: String, department_id: String, open: i64, overdue: Option<i64> });

row!(UpdateRow { id: i64, report_id: i64, at: OffsetDateTime, status: String, note: String, internal: bool, external_id: Option<String> });

impl UpdateRow {
    fn into_domain(self) -> Result<ReportUpdate> {
        Ok(ReportUpdate {
            id: self.id,
            report_id: self.report_id,
            at: self.at,
            status: ReportStatus::parse(&self.status).ok_or_else(|| corrupt("report update status"))?,
            note: self.note,
            internal: self.internal,
            external_id: self.external_id,
        })
    }
}

fn subject(id: i64) -> String {
    id.to_string()
}

async fn create_report<DB: Dialect>(store: &SqlStore<DB>, r: &NewReport, actor: ReportActor<'_>, at: OffsetDateTime) -> Result<Report> {
    let mut tx = store.write().await?;
    let id = insert_report(&mut tx, r, actor, at).await?;
    tx.commit().await?;
    store.optional::<ReportRow>(REPORT, args![id]).await?.ok_or(StoreError::NotFound)?.into_domain()
}

/// Inserts a report with its first update, photos, the reporter's message and the audit event,
/// in the caller's transaction; returns its number.
async fn insert_report<DB: Dialect>(tx: &mut crate::sql::Write<DB>, r: &NewReport, actor: ReportActor<'_>, at: OffsetDateTime) -> Result<i64> {
    let answers = serde_json::to_string(&r.answers).map_err(|_| corrupt("answers"))?;
    let all_photos: Vec<&str> = r.photo_files.iter().map(|p| p.id.as_str()).chain(r.photos.iter().map(String::as_str)).collect();
    let photos = serde_json::to_string(&all_photos).map_err(|_| corrupt("photos"))?;
    let l = &r.location;
    let p = &r.reporter;
    let public = if r.published { r.description.as_str() } else { "" };
    let (id,): (i64,) = tx
        .one(
            INSERT,
            args![
                r.authority_id.as_str(),
                &r.category,
                &r.department_id,
                &r.area_id,
                l.lat,
                l.lon,
                &l.address,
                &l.address_id,
                &l.postcode,
                &r.description,
                public,
                answers,
                r.published,
                at,
                r.deadline_at,
                &r.token,
                photos,
                &r.source,
                &p.user_id,
                &p.email,
                &p.first_name,
                &p.last_name,
                &p.phone,
                &p.device_id,
                &p.account_id,
            ],
        )
        .await?;
    let client = actor.filter(|a| a.0.starts_with("open311:")).map(|a| a.0);
    tx.execute(INSERT_UPDATE, args![id, at, "open", "", false, actor.map(|a| a.0), client, None::<&str>]).await?;
    for (position, photo) in r.photo_files.iter().enumerate() {
        tx.execute(INSERT_PHOTO, args![&photo.id, id, position as i64, &photo.media_type, &photo.sealed, at]).await?;
    }
    if let Some(citizen) = &r.reporter.user_id {
        let body = format!(
            "Vielen Dank für Ihre Meldung. Sie hat die Nummer {id}. Wir benachrichtigen Sie hier, sobald sich ihr Stand ändert.\n\nStand und Verlauf: /maengel/meldungen/{id}"
        );
        deliver(tx, citizen, r.authority_id.as_str(), &format!("Ihre Meldung Nr. {id} ist eingegangen"), &body, at).await?;
    }
    audit(tx, AuditKind::ReportReceived, actor, Some(r.authority_id.as_str()), ("report", &subject(id))).await?;
    Ok(id)
}

/// A message to the reporter's mailbox, from the authority, in the caller's transaction.
async fn deliver<DB: Dialect>(tx: &mut crate::sql::Write<DB>, citizen: &str, authority: &str, subject: &str, body: &str, at: OffsetDateTime) -> Result<()> {
    let sender = tx.optional::<(String,)>(AUTHORITY_NAME, args![authority]).await?.map(|(n,)| n).unwrap_or_default();
    tx.execute(DELIVER, args![crate::sql::new_id(), citizen, sender, subject, body, at]).await?;
    Ok(())
}

async fn reports<DB: Dialect>(store: &SqlStore<DB>, f: &ReportFilter) -> Result<Vec<Report>> {
    let mut sql = String::from(concat!(report_select!(), " WHERE 1 = 1"));
    let mut values: Vec<Arg> = Vec::new();
    let next = |values: &mut Vec<Arg>, v: Arg<'static>| {
        values.push(v);
        format!("${}", values.len())
    };
    if let Some(a) = &f.authority_id {
        let p = next(&mut values, Arg::from(a.as_str().to_owned()));
        sql.push_str(&format!(" AND authority_id = {p}"));
    }
    if !f.ids.is_empty() {
        let ps: Vec<String> = f.ids.iter().map(|id| next(&mut values, Arg::from(*id))).collect();
        sql.push_str(&format!(" AND id IN ({})", ps.join(",")));
    }
    if !f.categories.is_empty() {
        let ps: Vec<String> = f.categories.iter().map(|c| next(&mut values, Arg::from(c.clone()))).collect();
        sql.push_str(&format!(" AND category IN ({})", ps.join(",")));
    }
    if !f.statuses.is_empty() {
        let ps: Vec<String> = f.statuses.iter().map(|s| next(&mut values, Arg::from(s.as_str()))).collect();
        sql.push_str(&format!(" AND status IN ({})", ps.join(",")));
    }
    if let Some(d) = &f.department_id {
        let p = next(&mut values, Arg::from(d.clone()));
        sql.push_str(&format!(" AND department_id = {p}"));
    }
    if let Some(from) = f.from {
        let p = next(&mut values, Arg::from(from));
        sql.push_str(&format!(" AND created_at >= {p}"));
    }
    if let Some(to) = f.to {
        let p = next(&mut values, Arg::from(to));
        sql.push_str(&format!(" AND created_at <= {p}"));
    }
    if let Some(due) = f.deadline_before {
        let p = next(&mut values, Arg::from(due));
        sql.push_str(&format!(" AND deadline_at < {p}"));
    }
    if f.published_only {
        sql.push_str(" AND published = TRUE");
    }
    let limit = next(&mut values, Arg::from(if f.limit > 0 { f.limit } else { 1000 }));
    let offset = next(&mut values, Arg::from(f.offset.max(0)));
    sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET {offset}"));
    let rows: Vec<ReportRow> = store.all(&sql, &values).await?;
    rows.into_iter().map(ReportRow::into_domain).collect()
}

async fn change_report<DB: Dialect>(store: &SqlStore<DB>, c: &ReportChange<'_>, actor: ReportActor<'_>) -> Result<(ReportUpdate, bool)> {
    let mut tx = store.write().await?;
    if let Some((client, external)) = c.external {
        if let Some(found) = tx.optional::<UpdateRow>(UPDATE_BY_EXTERNAL, args![client, external]).await? {
            tx.rollback().await?;
            return Ok((found.into_domain()?, false));
        }
    }
    let Some(update) = apply_change(&mut tx, c, actor).await? else {
        tx.rollback().await?;
        return Err(StoreError::NotFound);
    };
    tx.commit().await?;
    Ok((update, true))
}

/// Applies a change in the caller's transaction: the report, its update, the reporter's
/// message, the audit event. `None` when the authority has no such report.
async fn apply_change<DB: Dialect>(tx: &mut crate::sql::Write<DB>, c: &ReportChange<'_>, actor: ReportActor<'_>) -> Result<Option<ReportUpdate>> {
    let (text, published) = match c.public_text {
        Some((text, published)) => (Some(text), Some(published)),
        None => (None, None),
    };
    let changed = tx
        .execute(
            CHANGE,
            args![c.status.as_str(), c.at, c.status.is_closed(), text, published.is_some(), c.duplicate_of, c.forwarded_to, c.report, c.authority.as_str(), published.unwrap_or(false), c.internal],
        )
        .await?;
    if changed == 0 {
        return Ok(None);
    }
    let client = c.external.map(|e| e.0);
    let (id,): (i64,) = tx
        .one(INSERT_UPDATE, args![c.report, c.at, c.status.as_str(), c.note, c.internal, actor.map(|a| a.0), client, c.external.map(|e| e.1)])
        .await?;
    if !c.internal {
        if let Some((Some(citizen),)) = tx.optional::<(Option<String>,)>(REPORTER_OF, args![c.report]).await? {
            let (subject, body) = amtsweg_domain::reports::update_message(c.report, c.status, c.note, &format!("/maengel/meldungen/{}", c.report));
            deliver(tx, &citizen, c.authority.as_str(), &subject, &body, c.at).await?;
        }
    }
    audit(tx, AuditKind::ReportStatusChanged, actor, Some(c.authority.as_str()), ("report", &subject(c.report))).await?;
    Ok(Some(ReportUpdate {
        id,
        report_id: c.report,
        at: c.at,
        status: c.status,
        note: c.note.to_owned(),
        internal: c.internal,
        external_id: c.external.map(|e| e.1.to_owned()),
    }))
}

/// Hands a report over to another authority: the new report there and the original's change
/// to "forwarded" (its note made by `note` from the new report's number), in one transaction.
/// `None` when the original is no longer open (handed over or closed meanwhile: a second click,
/// a colleague): nothing is stored then.
async fn forward_report<DB: Dialect>(
    store: &SqlStore<DB>,
    c: &ReportChange<'_>,
    new: &NewReport,
    note: &(dyn Fn(i64) -> String + Sync),
    actor: ReportActor<'_>,
) -> Result<Option<(ReportUpdate, i64)>> {
    let mut tx = store.write().await?;
    // Claims the open original first: on PostgreSQL the row stays locked to the end, and a
    // concurrent hand-over finds it no longer open.
    if tx.execute(CLAIM_OPEN, args![c.report, c.authority.as_str()]).await? == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let id = insert_report(&mut tx, new, actor, c.at).await?;
    // A confirmed e-mail address stays confirmed: the reporter hears about the new report too.
    tx.execute(CARRY_CONFIRMATION, args![id, c.report]).await?;
    let text = note(id);
    let c = ReportChange { note: &text, ..c.clone() };
    let Some(update) = apply_change(&mut tx, &c, actor).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    tx.commit().await?;
    Ok(Some((update, id)))
}

async fn forget_reporters<DB: Dialect>(store: &SqlStore<DB>, before: OffsetDateTime) -> Result<u64> {
    let mut done = 0u64;
    loop {
        let due: Vec<(i64, String)> = store.all(CLOSED_WITH_PERSONAL, args![before]).await?;
        if due.is_empty() {
            return Ok(done);
        }
        let now = OffsetDateTime::now_utc();
        for (id, authority) in due {
            let mut tx = store.write().await?;
            if tx.execute(FORGET, args![now, id]).await? > 0 {
                audit(&mut tx, AuditKind::DataDeleted, None, Some(&authority), ("report", &subject(id))).await?;
                done += 1;
            }
            tx.commit().await?;
        }
    }
}

async fn note_overdue_reports<DB: Dialect>(store: &SqlStore<DB>, now: OffsetDateTime) -> Result<u64> {
    let mut noted = 0;
    loop {
        let due: Vec<(i64, String, String)> = store.all(NEWLY_OVERDUE, args![now]).await?;
        if due.is_empty() {
            return Ok(noted);
        }
        for (id, authority, status) in due {
            let mut tx = store.write().await?;
            if tx.execute(NOTE_OVERDUE, args![now, id]).await? > 0 {
                tx.execute(INSERT_UPDATE, args![id, now, status, OVERDUE_NOTE, true, None::<&str>, None::<&str>, None::<&str>]).await?;
                audit(&mut tx, AuditKind::ReportChanged, None, Some(&authority), ("report", &subject(id))).await?;
                noted += 1;
            }
            tx.commit().await?;
        }
    }
}

#[async_trait]
impl<DB: Dialect> ReportStore for SqlStore<DB> {
    async fn put_department(&self, department: &Department, actor: &crate::Actor) -> Result<()> {
        setup::put_department(self, department, actor).await
    }
    async fn departments(&self, authority: Option<&AuthorityId>) -> Result<Vec<Department>> {
        setup::departments(self, authority).await
    }
    async fn add_department_member(&self, authority: &AuthorityId, department: &str, user: &str, actor: &crate::Actor) -> Result<()> {
        setup::add_department_member(self, authority, department, user, actor).await
    }
    async fn member_departments(&self, authority: &AuthorityId, user: &str) -> Result<Vec<String>> {
        setup::member_departments(self, authority, user).await
    }
    async fn put_category(&self, category: &Category, actor: &crate::Actor) -> Result<()> {
        setup::put_category(self, category, actor).await
    }
    async fn categories(&self, authority: Option<&AuthorityId>) -> Result<Vec<Category>> {
        setup::categories(self, authority).await
    }
    async fn category(&self, authority: &AuthorityId, code: &str) -> Result<Option<Category>> {
        setup::category(self, authority, code).await
    }
    async fn add_areas(&self, authority: &AuthorityId, areas: &[Area], actor: &crate::Actor) -> Result<()> {
        setup::add_areas(self, authority, areas, actor).await
    }
    async fn areas(&self, authority: Option<&AuthorityId>) -> Result<Vec<Area>> {
        setup::areas(self, authority).await
    }
    async fn add_assignment(&self, assignment: &Assignment, actor: &crate::Actor) -> Result<()> {
        setup::add_assignment(self, assignment, actor).await
    }
    async fn assignments(&self, authority: Option<&AuthorityId>) -> Result<Vec<Assignment>> {
        setup::assignments(self, authority).await
    }
    async fn replace_addresses(&self, authority: &AuthorityId, list: &[amtsweg_places::Address], actor: &crate::Actor) -> Result<u64> {
        setup::replace_addresses(self, authority, list, actor).await
    }
    async fn find_addresses(&self, prefix: &str, limit: i64) -> Result<Vec<(AuthorityId, amtsweg_places::Address)>> {
        setup::find_addresses(self, prefix, limit).await
    }
    async fn addresses_in(&self, bounds: (f64, f64, f64, f64), limit: i64) -> Result<Vec<(AuthorityId, amtsweg_places::Address)>> {
        setup::addresses_in(self, bounds, limit).await
    }
    async fn create_open311_key(&self, authority: &AuthorityId, name: &str, key_hash: &str, actor: &crate::Actor) -> Result<String> {
        setup::create_open311_key(self, authority, name, key_hash, actor).await
    }
    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>> {
        setup::open311_key(self, key_hash).await
    }
    async fn open311_keys(&self, authority: &AuthorityId) -> Result<Vec<Open311Key>> {
        setup::open311_keys(self, authority).await
    }
    async fn revoke_open311_key(&self, authority: &AuthorityId, id: &str, actor: &crate::Actor) -> Result<()> {
        setup::revoke_open311_key(self, authority, id, actor).await
    }

    async fn create_report(&self, report: &NewReport, actor: ReportActor<'_>, at: OffsetDateTime) -> Result<Report> {
        create_report(self, report, actor, at).await
    }
    async fn report(&self, id: i64) -> Result<Option<Report>> {
        self.optional::<ReportRow>(REPORT, args![id]).await?.map(ReportRow::into_domain).transpose()
    }
    async fn report_by_token(&self, token: &str) -> Result<Option<Report>> {
        self.optional::<ReportRow>(REPORT_BY_TOKEN, args![token]).await?.map(ReportRow::into_domain).transpose()
    }
    async fn reports(&self, filter: &ReportFilter) -> Result<Vec<Report>> {
        reports(self, filter).await
    }
    async fn open_reports_in(&self, authority: &AuthorityId, category: &str, bounds: (f64, f64, f64, f64)) -> Result<Vec<Report>> {
        let (w, s, e, n) = bounds;
        let rows: Vec<ReportRow> = self.all(OPEN_IN, args![authority.as_str(), category, w, s, e, n]).await?;
        rows.into_iter().map(ReportRow::into_domain).collect()
    }
    async fn change_report(&self, change: &ReportChange<'_>, actor: ReportActor<'_>) -> Result<(ReportUpdate, bool)> {
        change_report(self, change, actor).await
    }
    async fn forward_report(&self, change: &ReportChange<'_>, new: &NewReport, note: &(dyn Fn(i64) -> String + Sync), actor: ReportActor<'_>) -> Result<Option<(ReportUpdate, i64)>> {
        forward_report(self, change, new, note, actor).await
    }
    async fn report_updates(&self, report: i64, internal: bool) -> Result<Vec<ReportUpdate>> {
        let rows: Vec<UpdateRow> = self.all(UPDATES, args![report, internal]).await?;
        rows.into_iter().map(UpdateRow::into_domain).collect()
    }
    async fn updates_between(&self, authority: Option<&AuthorityId>, from: OffsetDateTime, to: OffsetDateTime, limit: i64) -> Result<Vec<ReportUpdate>> {
        let rows: Vec<UpdateRow> = self.all(UPDATES_BETWEEN, args![from, to, authority.map(|a| a.as_str()), limit]).await?;
        rows.into_iter().map(UpdateRow::into_domain).collect()
    }
    async fn support_report(&self, id: i64, actor: ReportActor<'_>) -> Result<i64> {
        let mut tx = self.write().await?;
        let Some((count, authority)): Option<(i64, String)> = tx.optional(SUPPORT, args![id]).await? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        };
        audit(&mut tx, AuditKind::ReportSupported, actor, Some(&authority), ("report", &subject(id))).await?;
        tx.commit().await?;
        Ok(count)
    }
    async fn forget_reporters(&self, before: OffsetDateTime) -> Result<u64> {
        forget_reporters(self, before).await
    }
    async fn note_overdue_reports(&self, now: OffsetDateTime) -> Result<u64> {
        note_overdue_reports(self, now).await
    }
    async fn set_report_email_token(&self, id: i64, token_hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        tx.execute(SET_EMAIL_TOKEN, args![token_hash, id]).await?;
        tx.commit().await
    }
    async fn confirm_report_email(&self, id: i64, token_hash: &str, at: OffsetDateTime) -> Result<bool> {
        let mut tx = self.write().await?;
        let Some((authority,)): Option<(String,)> = tx.optional(CONFIRM_EMAIL, args![at, id, token_hash]).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        audit(&mut tx, AuditKind::ReportChanged, None, Some(&authority), ("report", &subject(id))).await?;
        tx.commit().await?;
        Ok(true)
    }
    async fn report_backlog(&self, now: OffsetDateTime) -> Result<Vec<(String, String, String, i64, i64)>> {
        let rows: Vec<BacklogRow> = self.all(BACKLOG, args![now]).await?;
        Ok(rows.into_iter().map(|r| (r.authority_id, r.category, r.department_id, r.open, r.overdue.unwrap_or(0))).collect())
    }
    async fn report_photo(&self, id: &str) -> Result<Option<(i64, String, String)>> {
        self.optional(PHOTO, args![id]).await
    }
    async fn replace_report_photo(&self, authority: &AuthorityId, id: &str, sealed: &str, actor: ReportActor<'_>) -> Result<()> {
        let mut tx = self.write().await?;
        let Some((report,)): Option<(i64,)> = tx.optional(REPLACE_PHOTO, args![sealed, id, authority.as_str()]).await? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        };
        audit(&mut tx, AuditKind::ReportChanged, actor, Some(authority.as_str()), ("report", &subject(report))).await?;
        tx.commit().await
    }
}
