//! The authority's use cases: the inbox, opening a case file, deciding. A [`StaffDesk`] is bound
//! to one authority; every store call it makes names that authority.

use crate::error::AppError;
use crate::metrics::Metrics;
use amtsweg_domain::records::{CaseFile, CaseSummary, Decision, NewMessage};
use amtsweg_domain::{AuthorityId, CaseId, FieldError, Outcome, User, UserId};
use amtsweg_store::{Actor, DynStore};
use std::sync::Arc;

/// Longest reason accepted for a decision.
pub const MAX_REASON_CHARS: usize = 5000;

#[derive(Clone)]
pub struct StaffDesk {
    store: DynStore,
    metrics: Arc<Metrics>,
    actor: Actor,
    authority: AuthorityId,
    display_name: String,
}

impl StaffDesk {
    /// Only staff of an authority get a desk.
    pub fn new(store: DynStore, metrics: Arc<Metrics>, user: &User) -> Option<Self> {
        if !user.role.is_staff() {
            return None;
        }
        let authority = user.authority_id.clone()?;
        Some(Self {
            store,
            metrics,
            actor: Actor { id: user.id.clone(), role: user.role },
            authority,
            display_name: user.display_name.clone(),
        })
    }

    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    pub fn user_id(&self) -> &UserId {
        &self.actor.id
    }

    pub async fn authority_name(&self) -> Result<String, AppError> {
        Ok(self.store.authority(&self.authority).await?.map(|a| a.name).unwrap_or_default())
    }

    pub async fn inbox(&self) -> Result<Vec<CaseSummary>, AppError> {
        Ok(self.store.cases(&self.authority).await?)
    }

    pub async fn open(&self, id: &CaseId) -> Result<CaseFile, AppError> {
        self.store.open_case(&self.authority, id, &self.actor).await?.ok_or(AppError::NotFound)
    }

    /// The evidence attached to a case (from registers or uploaded).
    pub async fn evidence(&self, id: &CaseId) -> Result<Vec<amtsweg_domain::records::EvidenceRecord>, AppError> {
        Ok(self.store.case_evidence(&self.authority, id).await?)
    }

    /// Checks a decision's input; reports problems per field (`outcome`, `reason`).
    pub fn check_decision(outcome: Option<&str>, reason: Option<&str>) -> Result<(Outcome, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        let outcome = match outcome.map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                errors.push(FieldError::new("outcome", "Bitte wählen Sie, ob Sie den Antrag bewilligen oder ablehnen."));
                None
            }
            Some(o) => match Outcome::parse(o) {
                Some(o) => Some(o),
                None => {
                    errors.push(FieldError::new("outcome", "Die Entscheidung muss „approved“ (bewilligen) oder „rejected“ (ablehnen) sein."));
                    None
                }
            },
        };
        let reason = reason.map(str::trim).unwrap_or_default().to_owned();
        if reason.is_empty() {
            errors.push(FieldError::new("reason", "Bitte begründen Sie die Entscheidung."));
        } else if reason.chars().count() > MAX_REASON_CHARS {
            errors.push(FieldError::new(
                "reason",
                format!("Die Begründung darf höchstens {MAX_REASON_CHARS} Zeichen lang sein."),
            ));
        }
        match outcome {
            Some(o) if errors.is_empty() => Ok((o, reason)),
            _ => Err(errors),
        }
    }

    /// Decides the case and delivers the decision to the citizen's mailbox, atomically.
    pub async fn decide(&self, id: &CaseId, outcome: Outcome, reason: &str) -> Result<Decision, AppError> {
        let case = self.store.open_case(&self.authority, id, &self.actor).await?.ok_or(AppError::NotFound)?;
        let authority_name = self.authority_name().await?;
        let verdict = match outcome {
            Outcome::Approved => "Ihrem Antrag wird stattgegeben.",
            Outcome::Rejected => "Ihr Antrag wird abgelehnt.",
        };
        let message = NewMessage {
            sender: authority_name.clone(),
            subject: format!("Bescheid zu Ihrem Antrag „{}“ ({})", case.service.name, case.case_number),
            body: format!(
                "Sehr geehrte Antragstellerin, sehr geehrter Antragsteller,\n\n{verdict}\n\nBegründung:\n{reason}\n\nRechtsgrundlage: {}\n\nRechtsbehelfsbelehrung: Gegen diesen Bescheid können Sie innerhalb eines Monats nach Bekanntgabe Widerspruch bei der {authority_name} erheben.\n\nMit freundlichen Grüßen\n{authority_name}",
                case.service.legal_basis
            ),
        };
        let decision = self.store.decide(&self.authority, id, &self.actor, outcome, reason, &message).await?;
        self.metrics.decision(outcome);
        Ok(decision)
    }
}
