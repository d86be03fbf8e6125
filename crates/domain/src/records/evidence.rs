//! Evidence attached to applications, and the transfer log of register look-ups.

use crate::ids::{ApplicationId, UserId};
use time::OffsetDateTime;

/// One exchange with a register, as the Datenschutzcockpit shows it (§ 9 IDNrG): who asked
/// which register for what, why, on which legal basis, with which consent, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub id: String,
    pub citizen_id: UserId,
    pub at: OffsetDateTime,
    pub authority_id: String,
    pub authority_name: String,
    pub register: String,
    pub evidence_type: String,
    pub procedure: String,
    pub purpose: String,
    pub legal_basis: String,
    pub idnr_used: bool,
    /// What the consent was given for: the application and the moment.
    pub consent_ref: String,
    /// `delivered`, `not_found`, `unavailable`, `refused`, `preview_required`.
    pub outcome: String,
    /// SHA-256 of the signed request.
    pub request_hash: String,
}

/// Evidence attached to an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    pub id: String,
    pub application_id: ApplicationId,
    pub evidence_type: String,
    /// `register` or `upload`.
    pub source: String,
    /// `attached`, `preview`, `discarded`.
    pub status: String,
    pub register: Option<String>,
    pub media_type: String,
    /// The document: JSON text from a register.
    pub document: String,
    pub transfer_id: Option<String>,
    pub created_at: OffsetDateTime,
}
