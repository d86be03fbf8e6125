//! What the store hands back: applications, cases, decisions, messages and audit events, as the
//! portal, the workspace and the API read them.

use crate::application::{ApplicationStatus, Outcome};
use crate::authority::Service;
use crate::form::FormData;
use crate::ids::{ApplicationId, AuthorityId, CaseId, MessageId, ServiceId, UserId};
use crate::user::Person;
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
    pub service: Service,
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

/// A message to be delivered to a citizen's mailbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub sender: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub application_id: Option<ApplicationId>,
    pub sender: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
    /// A document delivered with the message (the Bescheid as PDF).
    pub document_id: Option<String>,
    /// The question this message asks, to be answered from the mailbox.
    pub info_request_id: Option<String>,
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

/// A question the assistant could not answer, sent by a citizen to an authority.
#[derive(Debug, Clone)]
pub struct Inquiry {
    pub id: String,
    pub authority_id: AuthorityId,
    pub citizen_name: String,
    pub question: String,
    pub topic: Option<String>,
    pub created_at: OffsetDateTime,
    pub answer: Option<String>,
    pub answered_at: Option<OffsetDateTime>,
}

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

/// One entry of the append-only audit trail. It names kinds and ids, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor_id: Option<String>,
    pub actor_role: String,
    pub authority_id: Option<String>,
    pub subject_kind: String,
    pub subject_id: String,
}

/// A logged-in browser session (the cookie holds the id; the store only its hash).
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    /// When the session ends unless it is used (moved on by use, up to the absolute limit).
    pub expires_at: OffsetDateTime,
    /// When the login happened (set by the store).
    pub created_at: OffsetDateTime,
    /// The level of assurance of the login (`None`: a login without one, such as the demo's
    /// persona picker or a staff password).
    pub level: Option<crate::AssuranceLevel>,
    /// The login came from an OpenID Connect provider: logging out also ends it there.
    pub provider_logout: bool,
}

/// An OpenID Connect login under way: what the callback needs to check the answer. Kept in the
/// store (not in memory) so that any instance can finish it; taken once.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub id_hash: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The level asked for (`acr_values`).
    pub level: crate::AssuranceLevel,
    /// Where to go after the login (a local path).
    pub return_to: String,
    pub expires_at: OffsetDateTime,
}

/// A staff member's password login: Argon2id hash and TOTP secret, with the lock after failed
/// attempts. `Debug` is not derived: the secret must not reach a log.
#[derive(Clone)]
pub struct StaffCredential {
    pub user_id: UserId,
    pub login: String,
    /// PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
    /// Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
    pub totp_secret: String,
    pub failed_attempts: i64,
    pub locked_until: Option<OffsetDateTime>,
    /// The last TOTP time step accepted: a code is good once.
    pub last_totp_step: Option<i64>,
}

/// An imported FIM schema, exactly as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FimSchemaRecord {
    pub id: String,
    pub version: String,
    /// SHA-256 of the file's content, hex.
    pub sha256: String,
    pub xdf_version: String,
    pub name: String,
    pub content: String,
    /// The rule file used, as JSON.
    pub rules: Option<String>,
    pub service_id: Option<String>,
}

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
