//! What the audit trail (and with it the ledger) records: one kind per state change or read of
//! personal data. Stored as its snake-case name (`application_submitted`, …), which also starts
//! the event's [`LedgerRef`](crate::LedgerRef).

use std::fmt;

macro_rules! audit_kinds {
    ($($variant:ident => $name:literal, $label:literal;)*) => {
        /// The kind of an audit event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditKind {
            $($variant,)*
        }

        impl AuditKind {
            pub const ALL: &[AuditKind] = &[$(AuditKind::$variant,)*];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $name,)*
                }
            }

            /// How a case history names it, in German.
            pub fn label(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $label,)*
                }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(AuditKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

audit_kinds! {
    ApplicationCreated => "application_created", "Antrag begonnen";
    ApplicationDataChanged => "application_data_changed", "Angaben geändert";
    ApplicationSubmitted => "application_submitted", "eingereicht";
    ApplicationWithdrawn => "application_withdrawn", "zurückgenommen";
    CaseCreated => "case_created", "Vorgang angelegt";
    CaseInReview => "case_in_review", "in Bearbeitung genommen";
    CaseViewed => "case_viewed", "Akte eingesehen";
    CaseAssigned => "case_assigned", "zugewiesen";
    CaseUnassigned => "case_unassigned", "Zuweisung aufgehoben";
    DecisionIssued => "decision_issued", "entschieden";
    DecidedForAssignee => "decided_for_assignee", "anstelle der zugewiesenen Person entschieden";
    MessageDelivered => "message_delivered", "Nachricht zugestellt";
    DocumentIssued => "document_issued", "Bescheid erstellt";
    InformationRequested => "information_requested", "Rückfrage gestellt";
    InformationProvided => "information_provided", "Rückfrage beantwortet";
    MemoSaved => "memo_saved", "Vermerk zur Akte genommen";
    InquirySent => "inquiry_sent", "Frage gesendet";
    InquiryAnswered => "inquiry_answered", "Frage beantwortet";
    DecisionRulesChanged => "decision_rules_changed", "Entscheidungsregeln geändert";
    FimSchemaImported => "fim_schema_imported", "FIM-Schema importiert";
    ApiClientCreated => "api_client_created", "Fachverfahren angebunden";
    ApiClientRevoked => "api_client_revoked", "Fachverfahren abgemeldet";
    ProcedureReceived => "procedure_received", "vom Fachverfahren empfangen";
    ProcedureAccepted => "procedure_accepted", "vom Fachverfahren angenommen";
    ProcedureRejected => "procedure_rejected", "vom Fachverfahren zurückgewiesen";
    ProcedureDecided => "procedure_decided", "im Fachverfahren entschieden";
    EvidenceRequested => "evidence_requested", "Nachweis beim Register angefragt";
    EvidenceReceived => "evidence_received", "Nachweis beigefügt";
    EvidenceAccepted => "evidence_accepted", "Nachweis nach Vorschau übernommen";
    EvidenceDiscarded => "evidence_discarded", "Nachweis nach Vorschau verworfen";
    EvidenceViewed => "evidence_viewed", "hochgeladenen Nachweis geöffnet";
    DataDeleted => "data_deleted", "Daten gelöscht";
    AuthorityCreated => "authority_created", "Behörde angelegt";
    AuthorityChanged => "authority_changed", "Behörde geändert";
    ResponsibilityAdded => "responsibility_added", "Zuständigkeit eingetragen";
    ServiceChanged => "service_changed", "Leistung geändert";
    StaffInvited => "staff_invited", "Mitarbeitende eingeladen";
    StaffActivated => "staff_activated", "Einladung angenommen";
    StaffDeactivated => "staff_deactivated", "Zugang deaktiviert";
    SecondFactorReset => "second_factor_reset", "zweiter Faktor zurückgesetzt";
    ApiTokenIssued => "api_token_issued", "API-Token ausgestellt";
    ReportReceived => "report_received", "Meldung eingegangen";
    ReportChanged => "report_changed", "Meldung bearbeitet";
    ReportStatusChanged => "report_status_changed", "Status der Meldung geändert";
    ReportSupported => "report_supported", "Meldung unterstützt";
    ReportViewed => "report_viewed", "Meldung mit Kontaktdaten eingesehen";
    ReportSettingsChanged => "report_settings_changed", "Mängelmelder eingerichtet";
    Open311KeyIssued => "open311_key_issued", "Open311-Schlüssel ausgestellt";
    Other => "other", "sonstiges Ereignis";
}

impl AuditKind {
    /// The event a specialist procedure's status report records (`received`, `accepted`,
    /// `rejected`, `decided`).
    pub fn procedure(event: &str) -> Option<Self> {
        Self::parse(&format!("procedure_{event}"))
    }
}

impl PartialEq<&str> for AuditKind {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(*kind));
            assert!(!kind.label().is_empty());
        }
        assert_eq!(AuditKind::procedure("received"), Some(AuditKind::ProcedureReceived));
        assert_eq!(AuditKind::parse("something_else"), None);
    }
}
