//! The reference under which an audit event is found in the ledger: `kind:subject_kind:subject_id`
//! (`application_submitted:application:ID`, `evidence_requested:transfer:ID`, …). The store
//! writes it beside each entry; receipts are looked up by it.

use crate::{ApplicationId, AuditKind, CaseId, MessageId};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LedgerRef(String);

impl LedgerRef {
    /// The reference of an event of `kind` about the subject `subject_kind`/`subject_id`.
    pub fn new(kind: AuditKind, subject_kind: &str, subject_id: &str) -> Self {
        Self(format!("{}:{subject_kind}:{subject_id}", kind.as_str()))
    }

    /// An application was submitted.
    pub fn application_submitted(id: &ApplicationId) -> Self {
        Self::new(AuditKind::ApplicationSubmitted, "application", id.as_str())
    }

    /// A decision was issued on a case.
    pub fn decision_issued(id: &CaseId) -> Self {
        Self::new(AuditKind::DecisionIssued, "case", id.as_str())
    }

    /// A message (a decision) was delivered to the citizen's mailbox.
    pub fn message_delivered(id: &MessageId) -> Self {
        Self::new(AuditKind::MessageDelivered, "message", id.as_str())
    }

    /// Evidence was requested from a register (one transfer of the transfer log).
    pub fn evidence_requested(transfer_id: &str) -> Self {
        Self::new(AuditKind::EvidenceRequested, "transfer", transfer_id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether at most one entry is ever recorded under `reference`: the references above,
    /// whose events happen once to their subject (an application is submitted once, from its
    /// draft; a case decided once; a message delivered once; a transfer requested once). The
    /// store answers receipts for these from memory (`store::ledger::Recent`): a change that
    /// records one of them twice for a subject must take its kind out of this list
    /// (`ApplicationStatus::sources_of` pins the first two, see its test).
    pub fn recorded_once(reference: &str) -> bool {
        let Some((kind, _)) = reference.split_once(':') else { return false };
        [AuditKind::ApplicationSubmitted, AuditKind::DecisionIssued, AuditKind::MessageDelivered, AuditKind::EvidenceRequested]
            .iter()
            .any(|k| k.as_str() == kind)
    }
}

impl fmt::Display for LedgerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_kind_subject_kind_and_id() {
        assert_eq!(LedgerRef::evidence_requested("t-1").as_str(), "evidence_requested:transfer:t-1");
        assert_eq!(LedgerRef::decision_issued(&CaseId::parse("c-1").unwrap()).to_string(), "decision_issued:case:c-1");
    }

    #[test]
    fn only_events_that_happen_once_to_their_subject_are_recorded_once() {
        assert!(LedgerRef::recorded_once(LedgerRef::evidence_requested("t-1").as_str()));
        assert!(LedgerRef::recorded_once(LedgerRef::application_submitted(&ApplicationId::parse("a-1").unwrap()).as_str()));
        assert!(!LedgerRef::recorded_once(LedgerRef::new(AuditKind::ApplicationDataChanged, "application", "a-1").as_str()));
        assert!(!LedgerRef::recorded_once("evidence_requested"));
    }
}
