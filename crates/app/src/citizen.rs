//! The citizen's use cases: start an application, fill it in, submit it (validation and routing
//! to the responsible authority), withdraw it, read the mailbox. Pages and API both call these.

use crate::error::AppError;
use crate::{MAX_TEXT_CHARS, Platform};
use amtsweg_domain::LedgerRef;
use amtsweg_ledger::Receipt;
use amtsweg_domain::records::{Application, Decision, EvidenceRecord, Message, Transfer};
use amtsweg_domain::{
    ApplicationId, Authority, FormData, MessageId, Person, Responsibility, Role, Service, ServiceId, User, UserId,
};

pub use crate::casework::Submission;

/// A handle on exactly one citizen's applications and mailbox.
#[derive(Clone)]
pub struct CitizenDesk {
    app: Platform,
    id: UserId,
    person: Person,
    display_name: String,
    /// The level of assurance of the login (`None`: a login without one).
    level: Option<amtsweg_domain::AssuranceLevel>,
}

impl CitizenDesk {
    /// Only citizens with person data get a desk.
    pub fn new(app: Platform, user: &User, level: Option<amtsweg_domain::AssuranceLevel>) -> Option<Self> {
        if user.role != Role::Citizen {
            return None;
        }
        let person = user.person.clone()?;
        Some(Self { app, id: user.id.clone(), person, display_name: user.display_name.clone(), level })
    }

    /// Refuses (403, asking to log in again) when the login's level is below the service's.
    pub fn check_level(&self, service: &Service) -> Result<(), AppError> {
        match service.required_level {
            Some(required) if self.level < Some(required) => Err(AppError::LevelTooLow { required, service: service.id.clone() }),
            _ => Ok(()),
        }
    }

    pub fn person(&self) -> &Person {
        &self.person
    }

    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Sends a question the assistant could not answer to an authority's inbox.
    pub async fn send_inquiry(&self, authority: &str, question: &str, topic: Option<&str>) -> Result<amtsweg_domain::records::Inquiry, AppError> {
        let question = crate::assistant::check_question(Some(question))?;
        let Some(authority) = amtsweg_domain::AuthorityId::parse(authority) else {
            return Err(AppError::Invalid(vec![amtsweg_domain::FieldError::new("authority_id", "Bitte wählen Sie eine Behörde aus.")]));
        };
        match self.app.store.add_inquiry(&authority, &self.id, &question, topic).await {
            Err(amtsweg_store::StoreError::NotFound) => Err(AppError::Invalid(vec![amtsweg_domain::FieldError::new("authority_id", "Bitte wählen Sie eine Behörde aus.")])),
            other => Ok(other?),
        }
    }

    pub async fn start(&self, service: &ServiceId) -> Result<Application, AppError> {
        let known = self.app.store.service(service).await?.ok_or(AppError::NotFound)?;
        self.check_level(&known)?;
        Ok(self.app.store.create_application(&self.id, service).await?)
    }

    pub async fn application(&self, id: &ApplicationId) -> Result<Application, AppError> {
        self.app.store.application(&self.id, id).await?.ok_or(AppError::NotFound)
    }

    /// The application with its service (for its form).
    pub async fn application_with_service(&self, id: &ApplicationId) -> Result<(Application, std::sync::Arc<Service>), AppError> {
        let application = self.application(id).await?;
        let service = self.app.store.service(&application.service_id).await?.ok_or(AppError::NotFound)?;
        Ok((application, service))
    }

    pub async fn applications(&self) -> Result<Vec<Application>, AppError> {
        Ok(self.app.store.applications(&self.id).await?)
    }

    /// Validates complete form data against the service's form and stores it in the draft.
    /// The application with its service, for a change: refused when the login's level is below
    /// the service's (a draft begun at "hoch" is not changed, nor evidence fetched, at less).
    async fn for_change(&self, id: &ApplicationId) -> Result<(Application, std::sync::Arc<Service>), AppError> {
        let (application, service) = self.application_with_service(id).await?;
        self.check_level(&service)?;
        Ok((application, service))
    }

    pub async fn save(&self, id: &ApplicationId, data: &FormData) -> Result<Application, AppError> {
        let (application, service) = self.for_change(id).await?;
        if !application.status.is_editable() {
            return Err(AppError::Conflict(format!(
                "Der Antrag ist nicht mehr änderbar (Status „{}“).",
                application.status.label()
            )));
        }
        let clean = service.form.validate(data, crate::today()).map_err(AppError::Invalid)?;
        Ok(self.app.store.save_application_data(&self.id, id, &clean).await?)
    }

    /// Saves one page of the form as sent by a browser: the page's input is merged into the
    /// draft and checked; only that page's problems stop it.
    pub async fn save_page(&self, id: &ApplicationId, page: usize, input: &[(String, String)]) -> Result<Application, AppError> {
        let (application, service) = self.for_change(id).await?;
        if !application.status.is_editable() {
            return Err(AppError::Conflict(format!(
                "Der Antrag ist nicht mehr änderbar (Status „{}“).",
                application.status.label()
            )));
        }
        let pages = service.form.pages();
        let page = pages.iter().find(|p| p.number == page).ok_or(AppError::NotFound)?;
        let data = service.form.validate_page(page, &application.data, input, crate::today()).map_err(AppError::Invalid)?;
        Ok(self.app.store.save_application_data(&self.id, id, &data).await?)
    }

    /// Submits the draft: the data must be complete and valid, and an authority must be
    /// responsible for the service where the citizen lives. The service's rules run; where the
    /// law allows and every rule holds, the application is decided at once and the Bescheid
    /// delivered to the mailbox (the decision is returned then).
    pub async fn submit(&self, id: &ApplicationId) -> Result<(Submission, Option<Decision>), AppError> {
        let started = std::time::Instant::now();
        let submission = self.submit_only(id).await?;
        self.app.metrics.submission();
        let decision = crate::casework::after_submission(&self.app, &submission, &self.person).await?;
        if decision.is_some() {
            self.app.metrics.lead_time(true, started.elapsed().as_secs_f64());
        }
        Ok((submission, decision))
    }

    async fn submit_only(&self, id: &ApplicationId) -> Result<Submission, AppError> {
        let (application, service) = self.application_with_service(id).await?;
        if !application.status.is_editable() {
            return Err(AppError::Conflict(format!(
                "Der Antrag wurde bereits eingereicht oder ist abgeschlossen (Status „{}“).",
                application.status.label()
            )));
        }
        self.check_level(&service)?;
        let clean = service.form.validate(&application.data, crate::today()).map_err(AppError::Invalid)?;
        let authority = self.responsible_authority(&service).await?;
        let evidence = self.app.store.evidence(&self.id, id).await?;
        let rules = self.app.store.decision_rules(&service.id, &authority.id).await?.unwrap_or_else(|| service.decision.clone());
        let trace = crate::casework::run_rules(&rules, &clean, &evidence, &authority);
        let case = self.app.store.submit_application(&self.id, id, &clean, &authority, trace.as_ref(), rules.processing_days).await?;
        Ok(Submission { application_id: id.clone(), citizen: self.id.clone(), data: clean, case, authority, service, trace })
    }

    /// Answers a question of the authority (from the mailbox).
    pub async fn answer(&self, request: &str, answer: &str) -> Result<amtsweg_domain::records::InfoRequest, AppError> {
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(AppError::Invalid(vec![amtsweg_domain::FieldError::new("answer", "Bitte geben Sie Ihre Antwort ein.")]));
        }
        if answer.chars().count() > MAX_TEXT_CHARS {
            return Err(AppError::Invalid(vec![amtsweg_domain::FieldError::new(
                "answer",
                format!("Die Antwort darf höchstens {} Zeichen lang sein.", MAX_TEXT_CHARS),
            )]));
        }
        self.app.store.citizen_info_request(&self.id, request).await?.ok_or(AppError::NotFound)?;
        match self.app.store.answer_info_request(&self.id, request, answer).await {
            Err(amtsweg_store::StoreError::Answered) => Err(AppError::Conflict("Diese Rückfrage haben Sie bereits beantwortet.".into())),
            other => Ok(other?),
        }
    }

    pub async fn info_request(&self, request: &str) -> Result<amtsweg_domain::records::InfoRequest, AppError> {
        self.app.store.citizen_info_request(&self.id, request).await?.ok_or(AppError::NotFound)
    }

    /// The document delivered with one of my messages (the Bescheid).
    pub async fn message_document(&self, message: &MessageId) -> Result<amtsweg_domain::records::Document, AppError> {
        self.app.store.message_document(&self.id, message).await?.ok_or(AppError::NotFound)
    }

    /// Status events that specialist procedures reported on my application.
    pub async fn events(&self, id: &ApplicationId) -> Result<Vec<amtsweg_domain::records::CaseEvent>, AppError> {
        Ok(self.app.store.application_events(&self.id, id).await?)
    }

    /// The history of my application and its case, oldest first. Each entry names the role
    /// that acted, never the person (staff names stay with the authority).
    pub async fn history(&self, id: &ApplicationId) -> Result<Vec<amtsweg_domain::records::AuditEvent>, AppError> {
        use amtsweg_domain::AuditKind;
        let mut trail = self.app.store.application_trail(&self.id, id).await?;
        // How the authority organises its work (who is assigned, internal memos) is its own;
        // every use of the citizen's data and every step of the case is shown.
        trail.retain(|e| !matches!(e.kind, AuditKind::CaseAssigned | AuditKind::CaseUnassigned | AuditKind::MemoSaved | AuditKind::DecidedForAssignee));
        for e in &mut trail {
            e.actor_id = None;
            e.actor_name = None;
        }
        Ok(trail)
    }

    /// The authority responsible for the service where the citizen lives.
    async fn responsible_authority(&self, service: &Service) -> Result<Authority, AppError> {
        let responsibilities = self.app.store.responsibilities(&service.id).await?;
        let none = || AppError::NoResponsibleAuthority { service: service.name.clone(), region: self.person.region.to_string() };
        let responsible = Responsibility::most_specific(&responsibilities, &self.person.region).ok_or_else(none)?;
        self.app.store.authority(&responsible.authority_id).await?.ok_or_else(none)
    }

    /// Fetches one piece of evidence for a draft from its register, with the citizen's consent.
    pub async fn fetch_evidence(
        &self,
        id: &ApplicationId,
        evidence_type: &str,
        source: &str,
        consent: Option<bool>,
    ) -> Result<crate::evidence::Fetched, AppError> {
        let (application, service) = self.for_change(id).await?;
        if !application.status.is_editable() {
            return Err(AppError::Conflict(format!(
                "Nachweise können nur zu einem Entwurf abgerufen werden (Status „{}“).",
                application.status.label()
            )));
        }
        let requirement = crate::evidence::check_choice(&service, evidence_type, source, consent)?;
        let exchange = self.app.exchange.as_deref().ok_or_else(|| {
            AppError::Unavailable("Der Abruf aus Registern ist in dieser Installation nicht eingerichtet. Bitte laden Sie den Nachweis hoch.".into())
        })?;
        let authority = self.responsible_authority(&service).await?;
        crate::evidence::fetch_from_register(&self.app.store, exchange, &self.id, &self.person, id, &service, &requirement, &authority).await
    }

    /// Evidence uploaded instead of fetched: checked by content, stored encrypted, attached.
    pub async fn upload_evidence(&self, id: &ApplicationId, evidence_type: &str, bytes: &[u8]) -> Result<EvidenceRecord, AppError> {
        let (application, service) = self.for_change(id).await?;
        if !application.status.is_editable() {
            return Err(AppError::Conflict(format!("Nachweise können nur zu einem Entwurf hinzugefügt werden (Status „{}“).", application.status.label())));
        }
        if !service.evidence.iter().any(|e| e.evidence_type == evidence_type) {
            return Err(AppError::Invalid(vec![amtsweg_domain::FieldError::new("type", "Diesen Nachweis braucht die Leistung nicht.")]));
        }
        let checked = crate::uploads::check(bytes).await?;
        let record = EvidenceRecord {
            id: uuid::Uuid::new_v4().to_string(),
            application_id: id.clone(),
            evidence_type: evidence_type.to_owned(),
            source: "upload".into(),
            status: "attached".into(),
            register: None,
            media_type: checked.media_type.into(),
            document: self.app.upload_key.seal(&checked.bytes),
            transfer_id: None,
            created_at: time::OffsetDateTime::now_utc(),
        };
        self.app.store.attach_evidence(&self.id, &record).await?;
        Ok(record)
    }

    /// The citizen's decision on evidence held for preview: `attached` or `discarded`.
    pub async fn decide_preview(&self, id: &ApplicationId, evidence_id: &str, accept: bool) -> Result<EvidenceRecord, AppError> {
        self.for_change(id).await?;
        Ok(self.app.store.settle_preview(&self.id, id, evidence_id, accept).await?)
    }

    pub async fn evidence(&self, id: &ApplicationId) -> Result<Vec<EvidenceRecord>, AppError> {
        Ok(self.app.store.evidence(&self.id, id).await?)
    }

    /// Every exchange about the citizen with a register (the Datenschutzcockpit).
    pub async fn transfers(&self) -> Result<Vec<Transfer>, AppError> {
        Ok(self.app.store.transfers(&self.id).await?)
    }

    /// Every exchange about the citizen with a register, each with its place in the ledger
    /// (waiting entries are integrated first, so that each transfer shows its place).
    pub async fn transfers_in_ledger(&self) -> Result<Vec<(Transfer, Option<u64>)>, AppError> {
        self.app.checkpoint().await?;
        let mut out = Vec::new();
        for t in self.transfers().await? {
            let index = self.app.ledger_index(&LedgerRef::evidence_requested(&t.id)).await?;
            out.push((t, index));
        }
        Ok(out)
    }

    /// The ledger receipt of one of my transfers.
    pub async fn transfer_receipt(&self, id: &str) -> Result<Receipt, AppError> {
        if !self.transfers().await?.iter().any(|t| t.id == id) {
            return Err(AppError::NotFound);
        }
        self.app.receipt(&LedgerRef::evidence_requested(id)).await?.ok_or(AppError::NotFound)
    }

    /// The ledger receipt of a submission this desk made (when it is in the ledger). Taking
    /// the submission, not an id, it needs no check that the application is mine.
    pub async fn submission_receipt(&self, submission: &Submission) -> Option<Receipt> {
        self.app.receipt_or_log(&LedgerRef::application_submitted(&submission.application_id)).await
    }

    /// The ledger receipts of one of my applications: its submission and the delivered
    /// decision, each where the ledger has it.
    pub async fn receipts(&self, id: &ApplicationId) -> Result<Vec<(&'static str, Receipt)>, AppError> {
        self.application(id).await?;
        let mut references = vec![("submitted", LedgerRef::application_submitted(id))];
        for m in self.messages().await? {
            if m.application_id.as_ref() == Some(id) {
                references.push(("decision_delivered", LedgerRef::message_delivered(&m.id)));
            }
        }
        let mut out = Vec::new();
        for (kind, reference) in references {
            if let Some(receipt) = self.app.receipt(&reference).await? {
                out.push((kind, receipt));
            }
        }
        Ok(out)
    }

    pub async fn withdraw(&self, id: &ApplicationId) -> Result<Application, AppError> {
        Ok(self.app.store.withdraw_application(&self.id, id).await?)
    }

    pub async fn messages(&self) -> Result<Vec<Message>, AppError> {
        Ok(self.app.store.messages(&self.id).await?)
    }

    pub async fn read_message(&self, id: &MessageId) -> Result<Message, AppError> {
        self.app.store.read_message(&self.id, id).await?.ok_or(AppError::NotFound)
    }
}
