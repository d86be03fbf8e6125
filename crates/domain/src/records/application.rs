//! An application as its citizen sees it, and the decision on it.

use crate::application::{ApplicationStatus, Outcome};
use crate::form::FormData;
use crate::ids::{ApplicationId, AuthorityId, CaseId, MessageId, ServiceId, UserId};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Application {
    pub id: ApplicationId,
    pub citizen_id: UserId,
    pub service_id: ServiceId,
    pub service_name: String,
    pub status: ApplicationStatus,
    pub data: FormData,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub submitted_at: Option<OffsetDateTime>,
    pub case_number: Option<String>,
    pub authority_name: Option<String>,
    pub decision: Option<DecisionInfo>,
}

#[derive(Debug, Clone)]
pub struct DecisionInfo {
    pub outcome: Outcome,
    pub reason: String,
    pub decided_at: OffsetDateTime,
    /// Decided by the rules alone (§ 35a VwVfG).
    pub automated: bool,
}

/// A submission turned into a case at the responsible authority.
#[derive(Debug, Clone)]
pub struct CaseRef {
    pub id: CaseId,
    pub case_number: String,
    pub authority_id: AuthorityId,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub case_id: CaseId,
    pub application_id: ApplicationId,
    pub outcome: Outcome,
    pub reason: String,
    pub decided_at: OffsetDateTime,
    pub message_id: MessageId,
}

impl Decision {
    /// The decision as a case file or an application shows it.
    pub fn info(&self, automated: bool) -> DecisionInfo {
        DecisionInfo { outcome: self.outcome, reason: self.reason.clone(), decided_at: self.decided_at, automated }
    }
}
