//! The authority's side: cases. [`inbox`]: the inbox, assignment, backlog and timings;
//! [`file`]: reading a case file, deciding, and the documents that deliver a decision;
//! [`questions`]: questions to the citizen, memos, and citizens' inquiries to the authority.
//! Every query names the authority: a case of another authority is never reached.

pub(crate) mod file;
pub(crate) mod inbox;
pub(crate) mod questions;

use crate::applications::status;
use crate::audit::{audit, who};
use crate::sql::{Dialect, Present, Write, args, row, status_sources};
use crate::{Actor, Result};
use amtsweg_domain::records::CaseSummary;
use amtsweg_domain::{ApplicationStatus, AuditKind, AuthorityId, CaseId, ServiceId, UserId};
use time::OffsetDateTime;

/// The columns of [`CaseSummaryRow`], for the inbox and the specialist procedures; `WHERE`
/// conditions follow.
macro_rules! case_summary_select {
    () => {
        "SELECT c.id, c.case_number, a.status, a.service_id, s.name AS service_name, u.display_name AS applicant_name, c.created_at, \
                c.assignee_id, w.display_name AS assignee_name, c.due_at, \
                EXISTS (SELECT 1 FROM info_requests q WHERE q.case_id = c.id AND q.answered_at IS NULL) AS open_question \
         FROM cases c JOIN applications a ON a.id = c.application_id \
         JOIN services s ON s.id = a.service_id JOIN users u ON u.id = a.citizen_id \
         LEFT JOIN users w ON w.id = c.assignee_id"
    };
}
pub(crate) use case_summary_select;

row!(CaseSummaryRow {
    id: String,
    case_number: String,
    status: String,
    service_id: String,
    service_name: String,
    applicant_name: String,
    created_at: OffsetDateTime,
    assignee_id: Option<String>,
    assignee_name: Option<String>,
    due_at: Option<OffsetDateTime>,
    open_question: bool,
});

impl CaseSummaryRow {
    pub(crate) fn into_domain(self) -> Result<CaseSummary> {
        Ok(CaseSummary {
            id: CaseId::from_stored(self.id),
            case_number: self.case_number,
            status: status(&self.status)?,
            service_id: ServiceId::from_stored(self.service_id),
            service_name: self.service_name,
            applicant_name: self.applicant_name,
            created_at: self.created_at,
            assignee_id: self.assignee_id.map(UserId::from_stored),
            assignee_name: self.assignee_name,
            due_at: self.due_at,
            open_question: self.open_question,
        })
    }
}

const CASE_OF_AUTHORITY: &str = "SELECT 1 AS one FROM cases WHERE id = $1 AND authority_id = $2";

/// Whether the case is one of the authority's.
async fn is_case_of<DB: Dialect>(tx: &mut Write<DB>, authority: &AuthorityId, id: &CaseId) -> Result<bool> {
    Ok(tx.optional::<Present>(CASE_OF_AUTHORITY, args![id.as_str(), authority.as_str()]).await?.is_some())
}

/// Puts a submitted case into review, recorded as done by the actor: called by the first
/// action on a case (taking or assigning it, a question, a memo), never by reading it.
async fn begin_review<DB: Dialect>(tx: &mut Write<DB>, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<()> {
    let to_review = format!(
        "UPDATE applications SET status = $1, updated_at = $2 \
         WHERE id = (SELECT application_id FROM cases WHERE id = $3 AND authority_id = $4) AND status IN {}",
        status_sources(ApplicationStatus::InReview)
    );
    let args = args![ApplicationStatus::InReview.as_str(), OffsetDateTime::now_utc(), id.as_str(), authority.as_str()];
    if tx.execute(&to_review, args).await? > 0 {
        audit(tx, AuditKind::CaseInReview, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    }
    Ok(())
}
