//! The domain of amtsweg: identifiers, authorities, services with their forms, applications,
//! cases, decisions and mailbox messages, and the state machine of an application.
//!
//! Nothing here does I/O: the same types serve the SQLite and the PostgreSQL store, the web
//! layer and the command line.

pub mod application;
pub mod audit;
pub mod authority;
pub mod decision;
pub mod form;
pub mod identifiers;
pub mod ledger_ref;
pub mod local_time;
pub mod records;
pub mod reports;
pub mod responsibility_csv;
pub mod text;
pub mod ids;
pub mod user;

pub use audit::AuditKind;
pub use application::{ApplicationStatus, CaseNumber, Outcome, TransitionError};
pub use authority::{Authority, Contact, EvidenceRequirement, Resolution, Responsibility, Service};
pub use decision::{DecisionRules, RuleOutcome, RuleResult, RuleTrace};
pub use form::{FieldError, FormData, FormModel};
pub use ledger_ref::LedgerRef;
pub use identifiers::{IdNr, IdentifierError, LeikaKey, RegionKey};
pub use ids::{ApplicationId, AuthorityId, CaseId, MessageId, ServiceId, UserId};
pub use user::{AssuranceLevel, Person, Role, User};
