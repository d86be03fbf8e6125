//! The append-only audit trail.

use time::OffsetDateTime;

/// One entry of the append-only audit trail. It names kinds and ids, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub kind: crate::AuditKind,
    pub actor_id: Option<String>,
    pub actor_role: String,
    pub authority_id: Option<String>,
    pub subject_kind: String,
    pub subject_id: String,
}
