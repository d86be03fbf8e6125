//! The append-only audit trail.

use time::OffsetDateTime;

/// One entry of the append-only audit trail. It stores kinds and ids, never personal data; the
/// acting person's name is looked up when the trail is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub kind: crate::AuditKind,
    pub actor_id: Option<String>,
    pub actor_role: String,
    /// The acting person's display name, when the actor is a person on this platform.
    pub actor_name: Option<String>,
    pub authority_id: Option<String>,
    pub subject_kind: String,
    pub subject_id: String,
}
