//! A case file: reading it (a recorded read of personal data), deciding (the decision and its
//! message to the citizen in one transaction), and the documents that deliver a decision
//! (the Bescheid), with the retry of those still missing.

use amtsweg_domain::AuditKind;
use super::is_case_of;
use crate::applications::{decision_info, status};
use crate::audit::{audit, who};
use crate::catalog::{SERVICE, ServiceRow};
use crate::sql::{Dialect, SqlStore, args, corrupt, new_id, row, status_sources};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::{CaseFile, Decision, Document, NewMessage};
use amtsweg_domain::{ApplicationId, ApplicationStatus, AuthorityId, CaseId, MessageId, Outcome, Role, UserId};
use time::OffsetDateTime;

const CASE_FILE: &str = "SELECT c.id, c.case_number, c.authority_id, c.application_id, c.created_at, a.status, a.data, \
            a.citizen_id, a.service_id, u.person, d.outcome, d.reason, d.decided_at, d.automated, \
            c.assignee_id, w.display_name AS assignee_name, c.due_at, c.rule_trace \
     FROM cases c JOIN applications a ON a.id = c.application_id JOIN users u ON u.id = a.citizen_id \
     LEFT JOIN decisions d ON d.case_id = c.id LEFT JOIN users w ON w.id = c.assignee_id \
     WHERE c.id = $1 AND c.authority_id = $2";
const CASE_STATUS: &str = "SELECT a.status FROM cases c JOIN applications a ON a.id = c.application_id \
     WHERE c.id = $1 AND c.authority_id = $2";
const ASSIGNEE: &str = "SELECT assignee_id FROM cases WHERE id = $1 AND authority_id = $2";
const ADD_DECISION: &str = "INSERT INTO decisions (id, case_id, outcome, reason, decided_by, decided_at, automated, message_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const DELIVER: &str = "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

row!(CaseFileRow {
    id: String,
    case_number: String,
    authority_id: String,
    application_id: String,
    created_at: OffsetDateTime,
    status: String,
    data: String,
    citizen_id: String,
    service_id: String,
    person: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
    decided_at: Option<OffsetDateTime>,
    automated: Option<bool>,
    assignee_id: Option<String>,
    assignee_name: Option<String>,
    due_at: Option<OffsetDateTime>,
    rule_trace: Option<String>,
});

impl CaseFileRow {
    fn into_domain(self, service: ServiceRow) -> Result<CaseFile> {
        Ok(CaseFile {
            id: CaseId::from_stored(self.id),
            case_number: self.case_number,
            authority_id: AuthorityId::from_stored(self.authority_id),
            application_id: ApplicationId::from_stored(self.application_id),
            status: status(&self.status)?,
            service: std::sync::Arc::new(service.into_domain()?),
            data: serde_json::from_str(&self.data).map_err(|_| corrupt("application data"))?,
            applicant_id: UserId::from_stored(self.citizen_id),
            applicant: match self.person {
                Some(p) => Some(serde_json::from_str(&p).map_err(|_| corrupt("person"))?),
                None => None,
            },
            created_at: self.created_at,
            decision: decision_info(self.outcome, self.reason, self.decided_at, self.automated)?,
            assignee_id: self.assignee_id.map(UserId::from_stored),
            assignee_name: self.assignee_name,
            due_at: self.due_at,
            rule_trace: match self.rule_trace {
                Some(t) => Some(serde_json::from_str(&t).map_err(|_| corrupt("rule trace"))?),
                None => None,
            },
        })
    }
}

/// Reads a case file and records the read (a read of personal data). Reading changes nothing
/// else: the case goes into review with the first action on it (see [`super::begin_review`]).
pub(crate) async fn read_case<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<Option<CaseFile>> {
    let mut tx = store.write().await?;
    let Some(row) = tx.optional::<CaseFileRow>(CASE_FILE, args![id.as_str(), authority.as_str()]).await? else {
        return Ok(None);
    };
    audit(&mut tx, AuditKind::CaseViewed, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    let service = tx.one::<ServiceRow>(SERVICE, args![&row.service_id]).await?;
    tx.commit().await?;
    Ok(Some(row.into_domain(service)?))
}

/// A case file as the platform itself needs it (to decide, to deliver): not recorded as a read.
pub(crate) async fn case_file<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId) -> Result<Option<CaseFile>> {
    let Some(row) = store.optional::<CaseFileRow>(CASE_FILE, args![id.as_str(), authority.as_str()]).await? else {
        return Ok(None);
    };
    let service = store.one::<ServiceRow>(SERVICE, args![&row.service_id]).await?;
    Ok(Some(row.into_domain(service)?))
}

pub(crate) async fn decide<DB: Dialect>(
    store: &SqlStore<DB>,
    authority: &AuthorityId,
    id: &CaseId,
    actor: &Actor,
    outcome: Outcome,
    reason: &str,
    message: &NewMessage,
    only_assignee: bool,
) -> Result<Decision> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    // Where only the assignee may decide, that is checked in the same statement as the change
    // of status: a reassignment in between cannot slip through.
    let to_decided = format!(
        "UPDATE applications SET status = $1, updated_at = $2 \
         WHERE id = (SELECT application_id FROM cases WHERE id = $3 AND authority_id = $4 AND (NOT $5 OR assignee_id = $6)) AND status IN {} \
         RETURNING id, citizen_id",
        status_sources(ApplicationStatus::Decided)
    );
    let args = args![ApplicationStatus::Decided.as_str(), now, id.as_str(), authority.as_str(), only_assignee, actor.id.as_str()];
    let Some((application_id, citizen_id)) = tx.optional::<(String, String)>(&to_decided, args).await? else {
        drop(tx);
        return Err(match store.optional::<(String,)>(CASE_STATUS, args![id.as_str(), authority.as_str()]).await? {
            Some((current,)) if only_assignee && ApplicationStatus::sources_of(ApplicationStatus::Decided).contains(&status(&current)?) => StoreError::Taken,
            Some((current,)) => StoreError::Conflict { current: status(&current)? },
            None => StoreError::NotFound,
        });
    };
    let message_id = new_id();
    let automated = actor.role == Role::System;
    let args = args![new_id(), id.as_str(), outcome.as_str(), reason, actor.id.as_str(), now, automated, &message_id];
    tx.execute(ADD_DECISION, args).await?;
    let args = args![&message_id, &citizen_id, &application_id, &message.sender, &message.subject, &message.body, now];
    tx.execute(DELIVER, args).await?;
    audit(&mut tx, AuditKind::DecisionIssued, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    // A decision by someone other than the person the case is assigned to says so in the
    // history, next to the decision.
    let (assignee,) = tx.one::<(Option<String>,)>(ASSIGNEE, args![id.as_str(), authority.as_str()]).await?;
    if assignee.is_some_and(|a| a != actor.id.as_str()) {
        audit(&mut tx, AuditKind::DecidedForAssignee, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    }
    audit(&mut tx, AuditKind::MessageDelivered, who(actor), Some(authority.as_str()), ("message", &message_id)).await?;
    tx.commit().await?;
    Ok(Decision {
        case_id: id.clone(),
        application_id: ApplicationId::from_stored(application_id),
        outcome,
        reason: reason.to_owned(),
        decided_at: now,
        message_id: MessageId::from_stored(message_id),
    })
}

// --- documents -------------------------------------------------------------------------------

const ADD_DOCUMENT: &str = "INSERT INTO documents (id, case_id, kind, media_type, content, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (case_id, kind) DO NOTHING";
const DOCUMENT_OF_KIND: &str = "SELECT id, case_id, kind, media_type, content, sha256, created_at FROM documents WHERE case_id = $1 AND kind = $2";
const LINK_DOCUMENT: &str = "UPDATE mailbox_messages SET document_id = $1 WHERE id = $2";
const UNDELIVERED: &str = "SELECT c.authority_id, c.id FROM decisions d JOIN cases c ON c.id = d.case_id \
     LEFT JOIN documents doc ON doc.case_id = c.id AND doc.kind = 'bescheid' \
     WHERE doc.id IS NULL AND d.message_id IS NOT NULL AND d.bescheid_tries < 5 AND d.decided_at < $1 \
     ORDER BY d.decided_at LIMIT $2";
const BESCHEID_FAILED: &str = "UPDATE decisions SET bescheid_tries = bescheid_tries + 1 WHERE case_id = $1";
const CASE_DOCUMENT: &str = "SELECT d.id, d.case_id, d.kind, d.media_type, d.content, d.sha256, d.created_at FROM documents d \
     JOIN cases c ON c.id = d.case_id WHERE d.case_id = $1 AND c.authority_id = $2 AND d.kind = $3";
const MESSAGE_DOCUMENT: &str = "SELECT d.id, d.case_id, d.kind, d.media_type, d.content, d.sha256, d.created_at FROM documents d \
     JOIN mailbox_messages m ON m.document_id = d.id WHERE m.id = $1 AND m.citizen_id = $2";
const DECISION_MESSAGE: &str = "SELECT d.message_id FROM decisions d JOIN cases c ON c.id = d.case_id WHERE d.case_id = $1 AND c.authority_id = $2";

row!(DocumentRow { id: String, case_id: String, kind: String, media_type: String, content: Vec<u8>, sha256: String, created_at: OffsetDateTime });

impl DocumentRow {
    fn into_domain(self) -> Document {
        Document {
            id: self.id,
            case_id: CaseId::from_stored(self.case_id),
            kind: self.kind,
            media_type: self.media_type,
            content: self.content,
            sha256: self.sha256,
            created_at: self.created_at,
        }
    }
}

pub(crate) async fn attach_document<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, d: &Document, message: &MessageId) -> Result<Document> {
    let mut tx = store.write().await?;
    if !is_case_of(&mut tx, authority, &d.case_id).await? {
        return Err(StoreError::NotFound);
    }
    let args = args![&d.id, d.case_id.as_str(), &d.kind, &d.media_type, d.content.as_slice(), &d.sha256, d.created_at];
    let inserted = tx.execute(ADD_DOCUMENT, args).await?;
    let stored = tx.one::<DocumentRow>(DOCUMENT_OF_KIND, args![d.case_id.as_str(), &d.kind]).await?.into_domain();
    if inserted > 0 {
        tx.execute(LINK_DOCUMENT, args![&stored.id, message.as_str()]).await?;
        audit(&mut tx, AuditKind::DocumentIssued, None, Some(authority.as_str()), ("document", &stored.id)).await?;
    }
    tx.commit().await?;
    Ok(stored)
}

pub(crate) async fn undelivered_decisions<DB: Dialect>(store: &SqlStore<DB>, before: OffsetDateTime, limit: i64) -> Result<Vec<(AuthorityId, CaseId)>> {
    let rows = store.all::<(String, String)>(UNDELIVERED, args![before, limit]).await?;
    Ok(rows.into_iter().map(|(authority, case)| (AuthorityId::from_stored(authority), CaseId::from_stored(case))).collect())
}

pub(crate) async fn bescheid_failed<DB: Dialect>(store: &SqlStore<DB>, id: &CaseId) -> Result<()> {
    store.execute(BESCHEID_FAILED, args![id.as_str()]).await?;
    Ok(())
}

pub(crate) async fn case_document<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId, kind: &str) -> Result<Option<Document>> {
    let row = store.optional::<DocumentRow>(CASE_DOCUMENT, args![id.as_str(), authority.as_str(), kind]).await?;
    Ok(row.map(DocumentRow::into_domain))
}

pub(crate) async fn message_document<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, message: &MessageId) -> Result<Option<Document>> {
    let row = store.optional::<DocumentRow>(MESSAGE_DOCUMENT, args![message.as_str(), citizen.as_str()]).await?;
    Ok(row.map(DocumentRow::into_domain))
}

pub(crate) async fn decision_message<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId) -> Result<Option<MessageId>> {
    let row = store.optional::<(Option<String>,)>(DECISION_MESSAGE, args![id.as_str(), authority.as_str()]).await?;
    Ok(row.and_then(|(message,)| message).map(MessageId::from_stored))
}
