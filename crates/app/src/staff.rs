//! The authority's use cases: the inbox, opening a case file, deciding. A [`StaffDesk`] is bound
//! to one authority; every store call it makes names that authority.

use crate::error::AppError;
use crate::{MAX_TEXT_CHARS, Platform};
use amtsweg_domain::records::{CaseFile, CaseFilter, CaseSummary, CaseTiming, Decision, Document, InfoRequest, Memo, NewMessage};
use amtsweg_domain::{AuthorityId, CaseId, FieldError, Outcome, Role, User, UserId};
use amtsweg_store::Actor;

#[derive(Clone)]
pub struct StaffDesk {
    app: Platform,
    actor: Actor,
    authority: AuthorityId,
    display_name: String,
}

impl StaffDesk {
    /// Only staff of an authority get a desk.
    pub fn new(app: Platform, user: &User) -> Option<Self> {
        if !user.role.is_staff() {
            return None;
        }
        let authority = user.authority_id.clone()?;
        Some(Self {
            app,
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
        Ok(self.app.store.authority(&self.authority).await?.map(|a| a.name).unwrap_or_default())
    }

    pub fn role(&self) -> Role {
        self.actor.role
    }

    pub fn authority_id(&self) -> &AuthorityId {
        &self.authority
    }

    /// The team lead's powers (assigning to others, lead times), for team leads only.
    pub fn lead(&self) -> Option<LeadDesk> {
        (self.actor.role == Role::TeamLead).then(|| LeadDesk { desk: self.clone() })
    }

    pub async fn inbox(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>, AppError> {
        Ok(self.app.store.cases(&self.authority, filter).await?)
    }

    /// Staff who can be given cases.
    pub async fn colleagues(&self) -> Result<Vec<User>, AppError> {
        Ok(self.app.store.authority_staff(&self.authority).await?)
    }

    /// Takes an unassigned case (or keeps one already mine).
    pub async fn claim(&self, id: &CaseId) -> Result<(), AppError> {
        Ok(self.app.store.assign_case(&self.authority, id, &self.actor, Some(&self.actor.id), true).await?)
    }

    /// Gives back a case assigned to me.
    pub async fn release(&self, id: &CaseId) -> Result<(), AppError> {
        match self.app.store.release_case(&self.authority, id, &self.actor).await {
            Err(amtsweg_store::StoreError::Taken) => Err(AppError::Conflict("Nur eigene Vorgänge können zurückgegeben werden.".into())),
            other => Ok(other?),
        }
    }

    /// Asks the citizen for more information; the question arrives in the mailbox.
    pub async fn ask(&self, id: &CaseId, question: &str) -> Result<InfoRequest, AppError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(AppError::Invalid(vec![FieldError::new("question", "Bitte geben Sie Ihre Frage ein.")]));
        }
        if question.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::Invalid(vec![FieldError::new("question", format!("Die Frage darf höchstens {MAX_TEXT_CHARS} Zeichen lang sein."))]));
        }
        let case = self.open(id).await?;
        let authority = self.authority_name().await?;
        let message = NewMessage {
            sender: authority.clone(),
            subject: format!("Rückfrage zu Ihrem Antrag „{}“ ({})", case.service.name, case.case_number),
            body: format!(
                "Sehr geehrte Antragstellerin, sehr geehrter Antragsteller,\n\nzu Ihrem Antrag haben wir eine Frage:\n\n{question}\n\nBitte antworten Sie direkt in Ihrem Postfach. Ihre Antwort gelangt zu Ihrem Vorgang.\n\nMit freundlichen Grüßen\n{authority}"
            ),
        };
        Ok(self.app.store.ask_citizen(&self.authority, id, &self.actor, question, &message).await?)
    }

    pub async fn questions(&self, id: &CaseId) -> Result<Vec<InfoRequest>, AppError> {
        Ok(self.app.store.info_requests(&self.authority, id).await?)
    }

    /// Answers a citizen's question from the assistant; the answer goes to their mailbox.
    pub async fn answer_inquiry(&self, id: &str, answer: &str) -> Result<amtsweg_domain::records::Inquiry, AppError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(AppError::Invalid(vec![FieldError::new("answer", "Bitte geben Sie Ihre Antwort ein.")]));
        }
        if answer.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::Invalid(vec![FieldError::new("answer", format!("Die Antwort darf höchstens {MAX_TEXT_CHARS} Zeichen lang sein."))]));
        }
        match self.app.store.answer_inquiry(&self.authority, id, &self.actor, answer).await {
            Err(amtsweg_store::StoreError::Answered) => Err(AppError::Conflict("Diese Frage ist bereits beantwortet.".into())),
            other => Ok(other?),
        }
    }

    /// Questions citizens sent to this authority from the assistant.
    pub async fn inquiries(&self) -> Result<Vec<amtsweg_domain::records::Inquiry>, AppError> {
        Ok(self.app.store.inquiries(&self.authority).await?)
    }

    pub async fn memos(&self, id: &CaseId) -> Result<Vec<Memo>, AppError> {
        Ok(self.app.store.memos(&self.authority, id).await?)
    }

    pub async fn save_memo(&self, id: &CaseId, body: &str) -> Result<Memo, AppError> {
        let body = body.trim();
        if body.is_empty() {
            return Err(AppError::Invalid(vec![FieldError::new("memo", "Der Vermerk ist leer.")]));
        }
        if body.chars().count() > 20_000 {
            return Err(AppError::Invalid(vec![FieldError::new("memo", "Der Vermerk darf höchstens 20 000 Zeichen lang sein.")]));
        }
        Ok(self.app.store.add_memo(&self.authority, id, &self.actor, body).await?)
    }

    /// An uploaded document of a case, decrypted (the read is recorded).
    pub async fn uploaded(&self, id: &CaseId, evidence_id: &str) -> Result<(String, Vec<u8>), AppError> {
        let e = self
            .app.store
            .case_evidence(&self.authority, id)
            .await?
            .into_iter()
            .find(|e| e.id == evidence_id && e.source == "upload" && e.status == "attached")
            .ok_or(AppError::NotFound)?;
        let bytes = self.app.upload_key.open(&e.document).ok_or_else(|| AppError::Unavailable("Das Dokument kann mit dem Schlüssel dieser Installation nicht gelesen werden.".into()))?;
        let actor = (self.actor.id.as_str(), self.actor.role.as_str());
        self.app.store.record_action(amtsweg_domain::AuditKind::EvidenceViewed, Some(actor), Some(self.authority.as_str()), ("case", id.as_str())).await?;
        Ok((e.media_type, bytes))
    }

    /// The case's Bescheid (caseworkers and team leads of the case's authority only).
    pub async fn bescheid(&self, id: &CaseId) -> Result<Option<Document>, AppError> {
        Ok(self.app.store.case_document(&self.authority, id, "bescheid").await?)
    }

    /// The history of a case: every recorded event about it, oldest first.
    pub async fn history(&self, id: &CaseId) -> Result<Vec<amtsweg_domain::records::AuditEvent>, AppError> {
        Ok(self.app.store.audit_trail(&self.authority, id.as_str()).await?)
    }

    /// Reads a case file; the read is recorded. Reading never moves the case: it goes into
    /// review with the first action on it.
    pub async fn open(&self, id: &CaseId) -> Result<CaseFile, AppError> {
        self.app.store.read_case(&self.authority, id, &self.actor).await?.ok_or(AppError::NotFound)
    }

    /// The evidence attached to a case (from registers or uploaded).
    pub async fn evidence(&self, id: &CaseId) -> Result<Vec<amtsweg_domain::records::EvidenceRecord>, AppError> {
        Ok(self.app.store.case_evidence(&self.authority, id).await?)
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
        } else if reason.chars().count() > MAX_TEXT_CHARS {
            errors.push(FieldError::new(
                "reason",
                format!("Die Begründung darf höchstens {MAX_TEXT_CHARS} Zeichen lang sein."),
            ));
        }
        match outcome {
            Some(o) if errors.is_empty() => Ok((o, reason)),
            _ => Err(errors),
        }
    }

    /// Decides the case and delivers the decision to the citizen's mailbox, atomically, then
    /// issues the Bescheid (PDF/A) and attaches it to that message. The decision stands once
    /// made: when the Bescheid cannot be written now, the delivery job issues it later.
    pub async fn decide(&self, id: &CaseId, outcome: Outcome, reason: &str) -> Result<Decision, AppError> {
        let case = self.app.store.case_file(&self.authority, id).await?.ok_or(AppError::NotFound)?;
        let authority = self.app.store.authority(&self.authority).await?.ok_or(AppError::NotFound)?;
        if let Some(why) = self.decision_barrier(&authority, &case) {
            return Err(AppError::Forbidden(why));
        }
        let message = crate::casework::decision_message(&authority, &case.case_number, &case.service, outcome, reason);
        let only_assignee = authority.assignee_decides && self.actor.role != Role::TeamLead;
        let decision = match self.app.store.decide(&self.authority, id, &self.actor, outcome, reason, &message, only_assignee).await {
            Err(amtsweg_store::StoreError::Taken) => return Err(AppError::Forbidden("Dieser Fall wurde gerade jemand anderem zugewiesen; in Ihrer Behörde entscheidet nur, wem er zugewiesen ist.")),
            other => other?,
        };
        self.app.metrics.decision(outcome);
        self.app.metrics.lead_time(false, (decision.decided_at - case.created_at).as_seconds_f64());
        crate::casework::deliver(&self.app, case, &authority, &decision).await;
        Ok(decision)
    }

    /// Why the actor may not decide the case, if not: where the authority lets only the
    /// assignee decide, anyone else but a team lead is refused.
    pub fn decision_barrier(&self, authority: &amtsweg_domain::Authority, case: &CaseFile) -> Option<&'static str> {
        if !authority.assignee_decides || self.actor.role == Role::TeamLead || case.assignee_id.as_ref() == Some(&self.actor.id) {
            return None;
        }
        Some(match case.assignee_id {
            None => "In Ihrer Behörde entscheidet nur, wem der Fall zugewiesen ist. Bitte übernehmen Sie den Fall zuerst.",
            Some(_) => "In Ihrer Behörde entscheidet nur, wem der Fall zugewiesen ist, oder die Teamleitung. Dieser Fall ist jemand anderem zugewiesen; wenden Sie sich bitte an die Teamleitung, wenn Sie ihn übernehmen sollen.",
        })
    }

    /// The desk's authority.
    pub async fn authority(&self) -> Result<amtsweg_domain::Authority, AppError> {
        self.app.store.authority(&self.authority).await?.ok_or(AppError::NotFound)
    }

    /// A draft of a memo (Vermerk) on an opened case, rephrased by the configured model when
    /// asked and one is configured.
    pub async fn draft_memo(&self, case: &CaseFile, evidence: &[amtsweg_domain::records::EvidenceRecord], rephrase: bool) -> crate::memo::MemoDraft {
        crate::memo::draft_for(self.app.model.as_deref(), case, evidence, rephrase).await
    }

    /// Whether drafts can be rephrased (a model is configured).
    pub fn can_rephrase(&self) -> bool {
        self.app.model.is_some()
    }
}

/// A team lead's desk: assigns cases to anyone of the authority's staff, reads lead times.
#[derive(Clone)]
pub struct LeadDesk {
    desk: StaffDesk,
}

impl LeadDesk {
    /// Assigns a case to a member of staff, or takes it back (`None`).
    pub async fn assign(&self, id: &CaseId, to: Option<&UserId>) -> Result<(), AppError> {
        let d = &self.desk;
        Ok(d.app.store.assign_case(&d.authority, id, &d.actor, to, false).await?)
    }

    pub async fn timings(&self) -> Result<Vec<CaseTiming>, AppError> {
        Ok(self.desk.app.store.case_timings(&self.desk.authority).await?)
    }
}
