//! The authority's side: cases. [`inbox`]: the inbox, assignment, backlog and timings;
//! [`file`]: opening a case file, deciding, and the documents that deliver a decision;
//! [`questions`]: questions to the citizen, memos, and citizens' inquiries to the authority.
//! Every query names the authority: a case of another authority is never reached.

pub(crate) mod file;
pub(crate) mod inbox;
pub(crate) mod questions;

use crate::applications::status;
use crate::sql::{Dialect, Present, Write, args, row};
use crate::Result;
use amtsweg_domain::records::CaseSummary;
use amtsweg_domain::{AuthorityId, CaseId, ServiceId, UserId};
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
