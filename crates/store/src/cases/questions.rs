//! Questions around a case: the authority's requests for information to the citizen and their
//! answers, memos on the case file, and the questions citizens send an authority from the
//! assistant (inquiries) with the authority's answers to their mailbox.

use amtsweg_domain::AuditKind;
use super::{begin_review, is_case_of};
use crate::applications::status;
use crate::audit::{audit, who};
use crate::sql::{Dialect, Present, SqlStore, args, new_id, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::{InfoRequest, Inquiry, Memo, NewMessage};
use amtsweg_domain::{ApplicationStatus, AuthorityId, CaseId, UserId};
use time::OffsetDateTime;

// --- requests for information --------------------------------------------------------------

const CASE_FOR_QUESTION: &str = "SELECT c.case_number, a.id AS application_id, a.citizen_id, a.status FROM cases c JOIN applications a ON a.id = c.application_id \
     WHERE c.id = $1 AND c.authority_id = $2";
const ADD_INFO_REQUEST: &str = "INSERT INTO info_requests (id, case_id, question, asked_by, asked_at) VALUES ($1, $2, $3, $4, $5)";
const DELIVER_QUESTION: &str = "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at, info_request_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INFO_REQUESTS: &str = "SELECT q.id, q.case_id, c.case_number, q.question, q.asked_at, q.answer, q.answered_at FROM info_requests q \
     JOIN cases c ON c.id = q.case_id WHERE q.case_id = $1 AND c.authority_id = $2 ORDER BY q.asked_at, q.id";
const CITIZEN_INFO_REQUEST: &str = "SELECT q.id, q.case_id, c.case_number, q.question, q.asked_at, q.answer, q.answered_at FROM info_requests q \
     JOIN cases c ON c.id = q.case_id JOIN applications a ON a.id = c.application_id \
     WHERE q.id = $1 AND a.citizen_id = $2";
const ANSWER_INFO_REQUEST: &str = "UPDATE info_requests SET answer = $1, answered_at = $2 WHERE id = $3 AND answered_at IS NULL AND case_id IN \
     (SELECT c.id FROM cases c JOIN applications a ON a.id = c.application_id \
      WHERE a.citizen_id = $4 AND a.status IN ('submitted', 'in_review'))";
const ANSWERED_INFO_REQUEST: &str = "SELECT q.id, q.case_id, c.case_number, q.question, q.asked_at, q.answer, q.answered_at, c.authority_id, a.status FROM info_requests q \
     JOIN cases c ON c.id = q.case_id JOIN applications a ON a.id = c.application_id \
     WHERE q.id = $1 AND a.citizen_id = $2";

row!(CaseForQuestionRow { case_number: String, application_id: String, citizen_id: String, status: String });

row!(InfoRequestRow {
    id: String,
    case_id: String,
    case_number: String,
    question: String,
    asked_at: OffsetDateTime,
    answer: Option<String>,
    answered_at: Option<OffsetDateTime>,
});

impl InfoRequestRow {
    fn into_domain(self) -> InfoRequest {
        InfoRequest {
            id: self.id,
            case_id: CaseId::from_stored(self.case_id),
            case_number: self.case_number,
            question: self.question,
            asked_at: self.asked_at,
            answer: self.answer,
            answered_at: self.answered_at,
        }
    }
}

row!(
    /// A request after the answer, with what the audit event and a refusal need.
    AnsweredRow {
        id: String,
        case_id: String,
        case_number: String,
        question: String,
        asked_at: OffsetDateTime,
        answer: Option<String>,
        answered_at: Option<OffsetDateTime>,
        authority_id: String,
        status: String,
    }
);

pub(crate) async fn ask_citizen<DB: Dialect>(
    store: &SqlStore<DB>,
    authority: &AuthorityId,
    id: &CaseId,
    actor: &Actor,
    question: &str,
    message: &NewMessage,
) -> Result<InfoRequest> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    let case = tx.optional::<CaseForQuestionRow>(CASE_FOR_QUESTION, args![id.as_str(), authority.as_str()]).await?.ok_or(StoreError::NotFound)?;
    let current = status(&case.status)?;
    if !matches!(current, ApplicationStatus::Submitted | ApplicationStatus::InReview) {
        return Err(StoreError::Conflict { current });
    }
    let request_id = new_id();
    tx.execute(ADD_INFO_REQUEST, args![&request_id, id.as_str(), question, actor.id.as_str(), now]).await?;
    let message_id = new_id();
    let args = args![&message_id, &case.citizen_id, &case.application_id, &message.sender, &message.subject, &message.body, now, &request_id];
    tx.execute(DELIVER_QUESTION, args).await?;
    begin_review(&mut tx, authority, id, actor).await?;
    audit(&mut tx, AuditKind::InformationRequested, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    audit(&mut tx, AuditKind::MessageDelivered, who(actor), Some(authority.as_str()), ("message", &message_id)).await?;
    tx.commit().await?;
    Ok(InfoRequest {
        id: request_id,
        case_id: id.clone(),
        case_number: case.case_number,
        question: question.to_owned(),
        asked_at: now,
        answer: None,
        answered_at: None,
    })
}

pub(crate) async fn info_requests<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId) -> Result<Vec<InfoRequest>> {
    let rows = store.all::<InfoRequestRow>(INFO_REQUESTS, args![id.as_str(), authority.as_str()]).await?;
    Ok(rows.into_iter().map(InfoRequestRow::into_domain).collect())
}

pub(crate) async fn citizen_info_request<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, request: &str) -> Result<Option<InfoRequest>> {
    let row = store.optional::<InfoRequestRow>(CITIZEN_INFO_REQUEST, args![request, citizen.as_str()]).await?;
    Ok(row.map(InfoRequestRow::into_domain))
}

pub(crate) async fn answer_info_request<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, request: &str, answer: &str) -> Result<InfoRequest> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    let updated = tx.execute(ANSWER_INFO_REQUEST, args![answer, now, request, citizen.as_str()]).await?;
    let row = tx.optional::<AnsweredRow>(ANSWERED_INFO_REQUEST, args![request, citizen.as_str()]).await?.ok_or(StoreError::NotFound)?;
    let AnsweredRow { id, case_id, case_number, question, asked_at, answer, answered_at, authority_id, status: current } = row;
    let q = InfoRequestRow { id, case_id, case_number, question, asked_at, answer, answered_at }.into_domain();
    if updated == 0 {
        return Err(if q.answered_at.is_some() { StoreError::Answered } else { StoreError::Conflict { current: status(&current)? } });
    }
    audit(&mut tx, AuditKind::InformationProvided, Some((citizen.as_str(), "citizen")), Some(&authority_id), ("case", q.case_id.as_str())).await?;
    tx.commit().await?;
    Ok(q)
}

// --- memos -----------------------------------------------------------------------------------

const ADD_MEMO: &str = "INSERT INTO memos (id, case_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)";
const DISPLAY_NAME: &str = "SELECT display_name FROM users WHERE id = $1";
const MEMOS: &str = "SELECT m.id, u.display_name, m.body, m.created_at FROM memos m JOIN cases c ON c.id = m.case_id \
     JOIN users u ON u.id = m.author_id WHERE m.case_id = $1 AND c.authority_id = $2 ORDER BY m.created_at, m.id";

row!(MemoRow { id: String, display_name: String, body: String, created_at: OffsetDateTime });

pub(crate) async fn add_memo<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId, actor: &Actor, body: &str) -> Result<Memo> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    if !is_case_of(&mut tx, authority, id).await? {
        return Err(StoreError::NotFound);
    }
    let memo_id = new_id();
    tx.execute(ADD_MEMO, args![&memo_id, id.as_str(), actor.id.as_str(), body, now]).await?;
    let (name,) = tx.one::<(String,)>(DISPLAY_NAME, args![actor.id.as_str()]).await?;
    begin_review(&mut tx, authority, id, actor).await?;
    audit(&mut tx, AuditKind::MemoSaved, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    tx.commit().await?;
    Ok(Memo { id: memo_id, author_name: name, body: body.to_owned(), created_at: now })
}

pub(crate) async fn memos<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId) -> Result<Vec<Memo>> {
    let rows = store.all::<MemoRow>(MEMOS, args![id.as_str(), authority.as_str()]).await?;
    Ok(rows.into_iter().map(|r| Memo { id: r.id, author_name: r.display_name, body: r.body, created_at: r.created_at }).collect())
}

// --- inquiries -------------------------------------------------------------------------------

const AUTHORITY_EXISTS: &str = "SELECT 1 AS one FROM authorities WHERE id = $1";
const ADD_INQUIRY: &str = "INSERT INTO inquiries (id, authority_id, citizen_id, question, topic, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
const INQUIRY_TO_ANSWER: &str = "SELECT q.citizen_id, q.question, a.name FROM inquiries q JOIN authorities a ON a.id = q.authority_id \
     WHERE q.id = $1 AND q.authority_id = $2";
/// Claims the answer first: of two answering at once, one gets `Answered`.
const CLAIM_ANSWER: &str = "UPDATE inquiries SET answer = $1, answered_at = $2, answered_by = $3 WHERE id = $4 AND answered_at IS NULL";
const DELIVER_ANSWER: &str =
    "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at) VALUES ($1, $2, NULL, $3, $4, $5, $6)";
const INQUIRIES: &str = "SELECT q.id, q.authority_id, u.display_name, q.question, q.topic, q.created_at, q.answer, q.answered_at FROM inquiries q \
     JOIN users u ON u.id = q.citizen_id WHERE q.authority_id = $1 ORDER BY q.created_at DESC, q.id";

row!(InquiryToAnswerRow { citizen_id: String, question: String, name: String });

row!(InquiryRow {
    id: String,
    authority_id: String,
    display_name: String,
    question: String,
    topic: Option<String>,
    created_at: OffsetDateTime,
    answer: Option<String>,
    answered_at: Option<OffsetDateTime>,
});

impl InquiryRow {
    fn into_domain(self) -> Inquiry {
        Inquiry {
            id: self.id,
            authority_id: AuthorityId::from_stored(self.authority_id),
            citizen_name: self.display_name,
            question: self.question,
            topic: self.topic,
            created_at: self.created_at,
            answer: self.answer,
            answered_at: self.answered_at,
        }
    }
}

pub(crate) async fn add_inquiry<DB: Dialect>(
    store: &SqlStore<DB>,
    authority: &AuthorityId,
    citizen: &UserId,
    question: &str,
    topic: Option<&str>,
) -> Result<Inquiry> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    if tx.optional::<Present>(AUTHORITY_EXISTS, args![authority.as_str()]).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let id = new_id();
    tx.execute(ADD_INQUIRY, args![&id, authority.as_str(), citizen.as_str(), question, topic, now]).await?;
    let (name,) = tx.one::<(String,)>(DISPLAY_NAME, args![citizen.as_str()]).await?;
    audit(&mut tx, AuditKind::InquirySent, Some((citizen.as_str(), "citizen")), Some(authority.as_str()), ("inquiry", id.as_str())).await?;
    tx.commit().await?;
    Ok(Inquiry {
        id,
        authority_id: authority.clone(),
        citizen_name: name,
        question: question.to_owned(),
        topic: topic.map(str::to_owned),
        created_at: now,
        answer: None,
        answered_at: None,
    })
}

pub(crate) async fn inquiries<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId) -> Result<Vec<Inquiry>> {
    Ok(store.all::<InquiryRow>(INQUIRIES, args![authority.as_str()]).await?.into_iter().map(InquiryRow::into_domain).collect())
}

pub(crate) async fn answer_inquiry<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &str, actor: &Actor, answer: &str) -> Result<Inquiry> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    let inquiry = tx.optional::<InquiryToAnswerRow>(INQUIRY_TO_ANSWER, args![id, authority.as_str()]).await?.ok_or(StoreError::NotFound)?;
    if tx.execute(CLAIM_ANSWER, args![answer, now, actor.id.as_str(), id]).await? == 0 {
        return Err(StoreError::Answered);
    }
    let body = format!("Ihre Frage:\n{}\n\nAntwort:\n{answer}", inquiry.question);
    let args = args![new_id(), &inquiry.citizen_id, &inquiry.name, "Antwort auf Ihre Frage", body, now];
    tx.execute(DELIVER_ANSWER, args).await?;
    audit(&mut tx, AuditKind::InquiryAnswered, who(actor), Some(authority.as_str()), ("inquiry", id)).await?;
    tx.commit().await?;
    inquiries(store, authority).await?.into_iter().find(|q| q.id == id).ok_or(StoreError::NotFound)
}
