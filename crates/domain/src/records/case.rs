//! A case at the authority: the inbox, the case file, questions to the citizen, memos, documents, times.

use crate::application::ApplicationStatus;
use crate::authority::Service;
use crate::form::FormData;
use crate::ids::{ApplicationId, AuthorityId, CaseId, ServiceId, UserId};
use crate::user::Person;
use super::application::DecisionInfo;
use time::OffsetDateTime;

/// One line of an authority's inbox.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    pub id: CaseId,
    pub case_number: String,
    pub status: ApplicationStatus,
    pub service_id: ServiceId,
    pub service_name: String,
    pub applicant_name: String,
    pub created_at: OffsetDateTime,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    /// A question to the citizen is waiting for an answer.
    pub open_question: bool,
}

/// Which cases of the inbox to show, and in which order.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<ApplicationStatus>,
    pub service: Option<ServiceId>,
    pub assignee: Option<AssigneeFilter>,
    /// Only cases past their deadline and not decided.
    pub overdue: bool,
    pub sort: CaseSort,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    User(UserId),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseSort {
    #[default]
    Newest,
    Oldest,
    Deadline,
}

/// Everything a caseworker needs to decide.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub id: CaseId,
    pub case_number: String,
    pub authority_id: AuthorityId,
    pub application_id: ApplicationId,
    pub status: ApplicationStatus,
    pub service: std::sync::Arc<Service>,
    pub data: FormData,
    pub applicant_id: UserId,
    pub applicant: Option<Person>,
    pub created_at: OffsetDateTime,
    pub decision: Option<DecisionInfo>,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    /// The decision rules as they ran on submission.
    pub rule_trace: Option<crate::decision::RuleTrace>,
}

/// A document of a case, e.g. the Bescheid as PDF/A.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub case_id: CaseId,
    /// `bescheid`.
    pub kind: String,
    pub media_type: String,
    pub content: Vec<u8>,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub created_at: OffsetDateTime,
}

/// A question from the authority to the citizen, and the answer.
#[derive(Debug, Clone)]
pub struct InfoRequest {
    pub id: String,
    pub case_id: CaseId,
    pub case_number: String,
    pub question: String,
    pub asked_at: OffsetDateTime,
    pub answer: Option<String>,
    pub answered_at: Option<OffsetDateTime>,
}

/// A memo (Vermerk) saved to a case file.
#[derive(Debug, Clone)]
pub struct Memo {
    pub id: String,
    pub author_name: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// The times of one case, for lead times and backlog.
#[derive(Debug, Clone)]
pub struct CaseTiming {
    pub service_id: ServiceId,
    pub service_name: String,
    pub status: ApplicationStatus,
    pub created_at: OffsetDateTime,
    pub due_at: Option<OffsetDateTime>,
    pub decided_at: Option<OffsetDateTime>,
    pub automated: bool,
}
