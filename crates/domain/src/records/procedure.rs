//! Specialist procedures (Fachverfahren) and the status events they report.

use crate::ids::{AuthorityId, CaseId};
use time::OffsetDateTime;

/// A specialist procedure of one authority that reaches the API with client credentials.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub id: String,
    pub authority_id: AuthorityId,
    pub name: String,
}

/// A status event reported by a specialist procedure; the citizen sees it.
#[derive(Debug, Clone)]
pub struct CaseEvent {
    pub id: String,
    pub case_id: CaseId,
    pub kind: String,
    pub note: String,
    pub at: OffsetDateTime,
}
