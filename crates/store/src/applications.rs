//! The citizen's side: applications from draft to submission (which opens a case at the
//! responsible authority) or withdrawal, and the mailbox.

use amtsweg_domain::AuditKind;
use crate::audit::audit;
use crate::sql::{Dialect, SqlStore, args, corrupt, new_id, row, status_sources};
use crate::{Result, StoreError};
use amtsweg_domain::records::{Application, CaseRef, DecisionInfo, Message};
use amtsweg_domain::{
    ApplicationId, ApplicationStatus, Authority, CaseId, CaseNumber, FormData, MessageId, Outcome, RuleTrace, ServiceId, UserId,
};
use time::OffsetDateTime;

/// A stored status.
pub(crate) fn status(s: &str) -> Result<ApplicationStatus> {
    ApplicationStatus::parse(s).ok_or_else(|| corrupt("status"))
}

/// The decision of a case from the columns of `LEFT JOIN decisions d`: none without an outcome.
pub(crate) fn decision_info(
    outcome: Option<String>,
    reason: Option<String>,
    decided_at: Option<OffsetDateTime>,
    automated: Option<bool>,
) -> Result<Option<DecisionInfo>> {
    let Some(outcome) = outcome else { return Ok(None) };
    Ok(Some(DecisionInfo {
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt("outcome"))?,
        reason: reason.ok_or_else(|| corrupt("decision reason"))?,
        decided_at: decided_at.ok_or_else(|| corrupt("decision time"))?,
        automated: automated.unwrap_or(false),
    }))
}

// --- applications ----------------------------------------------------------------------------

macro_rules! application_select {
    () => {
        "SELECT a.id, a.citizen_id, a.service_id, s.name AS service_name, a.status, a.data, \
                a.created_at, a.updated_at, a.submitted_at, c.case_number, au.name AS authority_name, \
                d.outcome, d.reason, d.decided_at, d.automated \
         FROM applications a \
         JOIN services s ON s.id = a.service_id \
         LEFT JOIN cases c ON c.application_id = a.id \
         LEFT JOIN authorities au ON au.id = c.authority_id \
         LEFT JOIN decisions d ON d.case_id = c.id"
    };
}
const APPLICATION: &str = concat!(application_select!(), " WHERE a.id = $1 AND a.citizen_id = $2");
const APPLICATIONS: &str = concat!(application_select!(), " WHERE a.citizen_id = $1 ORDER BY a.created_at DESC, a.id");
const STATUS: &str = "SELECT status FROM applications WHERE id = $1 AND citizen_id = $2";
const CREATE: &str = "INSERT INTO applications (id, citizen_id, service_id, status, data, created_at, updated_at) \
     SELECT $1, $2, id, $3, '{}', $4, $4 FROM services WHERE id = $5";
const SAVE_DATA: &str = "UPDATE applications SET data = $1, updated_at = $2 WHERE id = $3 AND citizen_id = $4 AND status = $5 \
     RETURNING service_id, created_at";
const NEXT_CASE_NUMBER: &str = "INSERT INTO case_counters (authority_id, year, next_value) VALUES ($1, $2, 1) \
     ON CONFLICT (authority_id, year) DO UPDATE SET next_value = case_counters.next_value + 1 \
     RETURNING next_value";
const OPEN_CASE: &str = "INSERT INTO cases (id, application_id, authority_id, case_number, created_at, due_at, rule_trace) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

row!(ApplicationRow {
    id: String,
    citizen_id: String,
    service_id: String,
    service_name: String,
    status: String,
    data: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    submitted_at: Option<OffsetDateTime>,
    case_number: Option<String>,
    authority_name: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
    decided_at: Option<OffsetDateTime>,
    automated: Option<bool>,
});

impl ApplicationRow {
    fn into_domain(self) -> Result<Application> {
        Ok(Application {
            id: ApplicationId::from_stored(self.id),
            citizen_id: UserId::from_stored(self.citizen_id),
            service_id: ServiceId::from_stored(self.service_id),
            service_name: self.service_name,
            status: status(&self.status)?,
            data: serde_json::from_str(&self.data).map_err(|_| corrupt("application data"))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            submitted_at: self.submitted_at,
            case_number: self.case_number,
            authority_name: self.authority_name,
            decision: decision_info(self.outcome, self.reason, self.decided_at, self.automated)?,
        })
    }
}

pub(crate) async fn application<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &ApplicationId) -> Result<Option<Application>> {
    let row = store.optional::<ApplicationRow>(APPLICATION, args![id.as_str(), citizen.as_str()]).await?;
    row.map(ApplicationRow::into_domain).transpose()
}

async fn require<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &ApplicationId) -> Result<Application> {
    application(store, citizen, id).await?.ok_or(StoreError::NotFound)
}

/// After an update guarded by status found no row: was it missing, or in the wrong state?
async fn explain_miss<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &ApplicationId) -> StoreError {
    match store.optional::<(String,)>(STATUS, args![id.as_str(), citizen.as_str()]).await {
        Ok(Some((current,))) => match status(&current) {
            Ok(current) => StoreError::Conflict { current },
            Err(e) => e,
        },
        Ok(None) => StoreError::NotFound,
        Err(e) => e,
    }
}

pub(crate) async fn applications<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId) -> Result<Vec<Application>> {
    let rows = store.all::<ApplicationRow>(APPLICATIONS, args![citizen.as_str()]).await?;
    rows.into_iter().map(ApplicationRow::into_domain).collect()
}

pub(crate) async fn create_application<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, service: &ServiceId) -> Result<Application> {
    let id = new_id();
    let now = stored_time(OffsetDateTime::now_utc());
    let mut tx = store.write().await?;
    let inserted = tx.execute(CREATE, args![&id, citizen.as_str(), ApplicationStatus::Draft.as_str(), now, service.as_str()]).await?;
    if inserted == 0 {
        return Err(StoreError::NotFound);
    }
    audit(&mut tx, AuditKind::ApplicationCreated, Some((citizen.as_str(), "citizen")), None, ("application", &id)).await?;
    tx.commit().await?;
    let id = ApplicationId::from_stored(id);
    draft(store, citizen, id, service.clone(), FormData::default(), now, now).await
}

/// A draft as just written, without reading it back: a draft has no case or decision, and its
/// service's name comes from the kept catalog (read back only if the service is gone since).
async fn draft<DB: Dialect>(
    store: &SqlStore<DB>,
    citizen: &UserId,
    id: ApplicationId,
    service_id: ServiceId,
    data: FormData,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
) -> Result<Application> {
    let Some(service) = crate::Store::service(store, &service_id).await? else { return require(store, citizen, &id).await };
    Ok(Application {
        id,
        citizen_id: citizen.clone(),
        service_id,
        service_name: service.name.clone(),
        status: ApplicationStatus::Draft,
        data,
        created_at,
        updated_at,
        submitted_at: None,
        case_number: None,
        authority_name: None,
        decision: None,
    })
}

pub(crate) async fn save_application_data<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &ApplicationId, data: &FormData) -> Result<Application> {
    let json = serde_json::to_string(data).map_err(|_| corrupt("application data"))?;
    let now = stored_time(OffsetDateTime::now_utc());
    let mut tx = store.write().await?;
    let args = args![json, now, id.as_str(), citizen.as_str(), ApplicationStatus::Draft.as_str()];
    let Some((service_id, created_at)) = tx.optional::<(String, OffsetDateTime)>(SAVE_DATA, args).await? else {
        drop(tx);
        return Err(explain_miss(store, citizen, id).await);
    };
    audit(&mut tx, AuditKind::ApplicationDataChanged, Some((citizen.as_str(), "citizen")), None, ("application", id.as_str())).await?;
    tx.commit().await?;
    draft(store, citizen, id.clone(), ServiceId::from_stored(service_id), data.clone(), created_at, now).await
}

/// A time as the databases keep it (PostgreSQL to the microsecond), so that what is answered
/// equals what is read later.
fn stored_time(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
}

pub(crate) async fn submit_application<DB: Dialect>(
    store: &SqlStore<DB>,
    citizen: &UserId,
    id: &ApplicationId,
    data: &FormData,
    authority: &Authority,
    trace: Option<&RuleTrace>,
    processing_days: u32,
) -> Result<CaseRef> {
    let json = serde_json::to_string(data).map_err(|_| corrupt("application data"))?;
    let trace = trace.map(serde_json::to_string).transpose().map_err(|_| corrupt("rule trace"))?;
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    let submit = format!(
        "UPDATE applications SET status = $1, data = $2, submitted_at = $3, updated_at = $3 \
         WHERE id = $4 AND citizen_id = $5 AND status IN {}",
        status_sources(ApplicationStatus::Submitted)
    );
    let submitted = ApplicationStatus::Submitted.as_str();
    if tx.execute(&submit, args![submitted, json, now, id.as_str(), citizen.as_str()]).await? == 0 {
        drop(tx);
        return Err(explain_miss(store, citizen, id).await);
    }
    let case_id = new_id();
    let who = Some((citizen.as_str(), "citizen"));
    audit(&mut tx, AuditKind::ApplicationSubmitted, who, Some(authority.id.as_str()), ("application", id.as_str())).await?;
    audit(&mut tx, AuditKind::CaseCreated, who, Some(authority.id.as_str()), ("case", &case_id)).await?;
    // The authority's counter last: its row stays locked until the commit, and every other
    // submission to the authority waits for it (on PostgreSQL; SQLite writes one at a time).
    // The year of the case number is the German one (New Year's night counts to the new year).
    let year = amtsweg_domain::local_time::berlin(now).year();
    let (sequence,) = tx.one::<(i64,)>(NEXT_CASE_NUMBER, args![authority.id.as_str(), year]).await?;
    let case_number = CaseNumber::new(&authority.short_code, year, sequence);
    let due = now + time::Duration::days(i64::from(processing_days));
    let args = args![&case_id, id.as_str(), authority.id.as_str(), case_number.as_str(), now, due, trace];
    tx.execute(OPEN_CASE, args).await?;
    tx.commit().await?;
    Ok(CaseRef { id: CaseId::from_stored(case_id), case_number: case_number.as_str().to_owned(), authority_id: authority.id.clone() })
}

pub(crate) async fn withdraw_application<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &ApplicationId) -> Result<Application> {
    let mut tx = store.write().await?;
    let withdraw = format!(
        "UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND citizen_id = $4 AND status IN {}",
        status_sources(ApplicationStatus::Withdrawn)
    );
    let args = args![ApplicationStatus::Withdrawn.as_str(), OffsetDateTime::now_utc(), id.as_str(), citizen.as_str()];
    if tx.execute(&withdraw, args).await? == 0 {
        drop(tx);
        return Err(explain_miss(store, citizen, id).await);
    }
    audit(&mut tx, AuditKind::ApplicationWithdrawn, Some((citizen.as_str(), "citizen")), None, ("application", id.as_str())).await?;
    tx.commit().await?;
    require(store, citizen, id).await
}

// --- the mailbox -----------------------------------------------------------------------------

macro_rules! message_select {
    () => {
        "SELECT id, application_id, sender, subject, body, created_at, read_at, document_id, info_request_id FROM mailbox_messages"
    };
}
const MESSAGES: &str = concat!(message_select!(), " WHERE citizen_id = $1 ORDER BY created_at DESC, id");
const MESSAGE: &str = concat!(message_select!(), " WHERE id = $1 AND citizen_id = $2");
const MARK_READ: &str = "UPDATE mailbox_messages SET read_at = $1 WHERE id = $2 AND citizen_id = $3 AND read_at IS NULL";

row!(MessageRow {
    id: String,
    application_id: Option<String>,
    sender: String,
    subject: String,
    body: String,
    created_at: OffsetDateTime,
    read_at: Option<OffsetDateTime>,
    document_id: Option<String>,
    info_request_id: Option<String>,
});

impl MessageRow {
    fn into_domain(self) -> Message {
        Message {
            id: MessageId::from_stored(self.id),
            application_id: self.application_id.map(ApplicationId::from_stored),
            sender: self.sender,
            subject: self.subject,
            body: self.body,
            created_at: self.created_at,
            read_at: self.read_at,
            document_id: self.document_id,
            info_request_id: self.info_request_id,
        }
    }
}

pub(crate) async fn messages<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId) -> Result<Vec<Message>> {
    Ok(store.all::<MessageRow>(MESSAGES, args![citizen.as_str()]).await?.into_iter().map(MessageRow::into_domain).collect())
}

pub(crate) async fn read_message<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &MessageId) -> Result<Option<Message>> {
    store.execute(MARK_READ, args![OffsetDateTime::now_utc(), id.as_str(), citizen.as_str()]).await?;
    Ok(store.optional::<MessageRow>(MESSAGE, args![id.as_str(), citizen.as_str()]).await?.map(MessageRow::into_domain))
}
