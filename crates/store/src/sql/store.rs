//! [`Store`] for [`SqlStore`]: each method calls its aggregate's function, in the trait's order.

use super::{Dialect, SqlStore};
use crate::cache::Scope;
use crate::people::sessions;
use crate::cases::{file, inbox, questions};
use crate::{Actor, Backend, Job, JobCounts, Result, Store};
use crate::{applications, audit, catalog, evidence, jobs, ledger, people, procedures};
use amtsweg_domain::records::{
    ApiClient, Application, AuditEvent, CaseEvent, CaseFile, CaseFilter, CaseRef, CaseSummary, CaseTiming, Decision, Document, EvidenceRecord,
    FimSchemaRecord, InfoRequest, Inquiry, Member, Memo, Message, NewMessage, OpenInvitation, PendingLogin, Session, StaffCredential, Transfer,
};
use amtsweg_domain::{
    ApplicationId, Authority, AuthorityId, CaseId, DecisionRules, FormData, MessageId, Outcome, Person, Responsibility, Role, RuleTrace, Service,
    ServiceId, User, UserId,
};
use time::OffsetDateTime;

#[async_trait::async_trait]
impl<DB: Dialect> Store for SqlStore<DB> {
    fn backend(&self) -> Backend {
        DB::BACKEND
    }

    async fn migrate(&self) -> Result<()> {
        DB::migrate(self.db()).await
    }

    async fn ping(&self) -> Result<()> {
        self.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    // --- catalog -------------------------------------------------------------------------
    async fn put_authority(&self, authority: &Authority) -> Result<()> {
        self.changing_catalog(catalog::put_authority(self, authority)).await
    }
    async fn authorities(&self) -> Result<Vec<Authority>> {
        catalog::authorities(self).await
    }
    async fn authority(&self, id: &AuthorityId) -> Result<Option<Authority>> {
        self.kept(Scope::Catalog, |c| &c.authorities, id.clone(), catalog::authority(self, id)).await
    }
    async fn put_service(&self, service: &Service) -> Result<()> {
        self.changing_catalog(catalog::put_service(self, service)).await
    }
    async fn services(&self) -> Result<Vec<Service>> {
        catalog::services(self).await
    }
    async fn service(&self, id: &ServiceId) -> Result<Option<std::sync::Arc<Service>>> {
        let load = async { Ok(catalog::service(self, id).await?.map(std::sync::Arc::new)) };
        self.kept(Scope::Catalog, |c| &c.services, id.clone(), load).await
    }
    async fn decision_rules(&self, service: &ServiceId, authority: &AuthorityId) -> Result<Option<DecisionRules>> {
        let key = (service.clone(), authority.clone());
        self.kept(Scope::Catalog, |c| &c.rules, key, catalog::decision_rules(self, service, authority)).await
    }
    async fn put_decision_rules(&self, service: &ServiceId, authority: &AuthorityId, rules: &DecisionRules, actor: &Actor) -> Result<()> {
        self.changing_catalog(catalog::put_decision_rules(self, service, authority, rules, actor)).await
    }
    async fn put_responsibility(&self, responsibility: &Responsibility) -> Result<()> {
        self.changing_catalog(catalog::put_responsibility(self, responsibility)).await
    }
    async fn responsibilities(&self, service: &ServiceId) -> Result<Vec<Responsibility>> {
        self.kept(Scope::Catalog, |c| &c.responsibilities, service.clone(), catalog::responsibilities(self, service)).await
    }
    async fn create_authority(&self, authority: &Authority, actor: &Actor) -> Result<()> {
        self.changing_catalog(catalog::create_authority(self, authority, actor)).await
    }
    async fn update_authority(&self, authority: &Authority, actor: &Actor) -> Result<()> {
        self.changing_catalog(catalog::update_authority(self, authority, actor)).await
    }
    async fn add_responsibility(&self, responsibility: &Responsibility, actor: &Actor) -> Result<()> {
        self.changing_catalog(catalog::add_responsibility(self, responsibility, actor)).await
    }
    async fn all_responsibilities(&self) -> Result<Vec<Responsibility>> {
        catalog::all_responsibilities(self).await
    }
    async fn update_service(&self, service: &Service, actor: &Actor) -> Result<()> {
        self.changing_catalog(catalog::update_service(self, service, actor)).await
    }
    async fn invite_staff(&self, user: &User, login: &str, token_hash: &str, expires_at: OffsetDateTime, actor: &Actor) -> Result<()> {
        people::invitations::invite_staff(self, user, login, token_hash, expires_at, actor).await
    }
    async fn reset_staff_access(&self, user: &UserId, token_hash: &str, expires_at: OffsetDateTime, actor: &Actor) -> Result<()> {
        people::invitations::reset_staff_access(self, user, token_hash, expires_at, actor).await
    }
    async fn invitation(&self, token_hash: &str) -> Result<Option<OpenInvitation>> {
        people::invitations::invitation(self, token_hash).await
    }
    async fn accept_invitation(&self, token_hash: &str, password_hash: &str, totp_secret: &str) -> Result<UserId> {
        people::invitations::accept_invitation(self, token_hash, password_hash, totp_secret).await
    }
    async fn deactivate_user(&self, user: &UserId, actor: &Actor) -> Result<()> {
        people::invitations::deactivate_user(self, user, actor).await
    }
    async fn user_active(&self, user: &UserId) -> Result<bool> {
        people::invitations::user_active(self, user).await
    }
    async fn members(&self, authority: &AuthorityId) -> Result<Vec<Member>> {
        people::invitations::members(self, authority).await
    }

    // --- people and credentials -------------------------------------------------------
    async fn create_user(&self, user: &User) -> Result<()> {
        people::create_user(self, user).await
    }
    async fn user(&self, id: &UserId) -> Result<Option<User>> {
        people::user(self, id).await
    }
    async fn users_with_role(&self, role: Role) -> Result<Vec<User>> {
        people::users_with_role(self, role).await
    }
    async fn put_api_token(&self, token_hash: &str, user: &UserId, expires_at: OffsetDateTime) -> Result<()> {
        people::put_api_token(self, token_hash, user, expires_at).await
    }
    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
        // Only tokens found valid are kept, with their expiry: an unknown one is looked up
        // each time (so that nothing grows from guesses), a kept one until it expires.
        let version = self.cache_version(Scope::Access).await;
        let now = OffsetDateTime::now_utc();
        if let Some(v) = version
            && let Some((user, expires_at)) = self.caches().tokens.get(token_hash, v)
            && expires_at > now
        {
            return Ok(Some(user));
        }
        let found = people::user_by_api_token(self, token_hash).await?;
        if let (Some(v), Some(found)) = (version, &found) {
            self.caches().tokens.put(token_hash.to_owned(), v, found.clone());
        }
        Ok(found.map(|(user, _)| user))
    }
    async fn put_session(&self, session: &Session) -> Result<()> {
        sessions::put_session(self, session).await
    }
    async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        sessions::session(self, id_hash).await
    }
    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sessions::delete_session(self, id_hash).await
    }
    async fn touch_session(&self, id_hash: &str, expires_at: OffsetDateTime) -> Result<()> {
        sessions::touch_session(self, id_hash, expires_at).await
    }
    async fn put_pending_login(&self, login: &PendingLogin) -> Result<()> {
        sessions::put_pending_login(self, login).await
    }
    async fn take_pending_login(&self, id_hash: &str) -> Result<Option<PendingLogin>> {
        sessions::take_pending_login(self, id_hash).await
    }
    async fn upsert_citizen_login(&self, issuer: &str, subject: &str, display_name: &str, person: &Person) -> Result<User> {
        people::upsert_citizen_login(self, issuer, subject, display_name, person).await
    }
    async fn put_staff_credential(&self, credential: &StaffCredential) -> Result<()> {
        people::put_staff_credential(self, credential).await
    }
    async fn staff_credential(&self, login: &str) -> Result<Option<StaffCredential>> {
        people::staff_credential(self, login).await
    }
    async fn begin_login_attempt(&self, login: &str, max_attempts: i64, lock_until: OffsetDateTime) -> Result<Option<StaffCredential>> {
        people::begin_login_attempt(self, login, max_attempts, lock_until).await
    }
    async fn record_login_success(&self, user: &UserId, totp_step: i64) -> Result<bool> {
        people::record_login_success(self, user, totp_step).await
    }

    // --- the citizen's side ------------------------------------------------------------
    async fn create_application(&self, citizen: &UserId, service: &ServiceId) -> Result<Application> {
        applications::create_application(self, citizen, service).await
    }
    async fn application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Option<Application>> {
        applications::application(self, citizen, id).await
    }
    async fn applications(&self, citizen: &UserId) -> Result<Vec<Application>> {
        applications::applications(self, citizen).await
    }
    async fn save_application_data(&self, citizen: &UserId, id: &ApplicationId, data: &FormData) -> Result<Application> {
        applications::save_application_data(self, citizen, id, data).await
    }
    async fn submit_application(
        &self,
        citizen: &UserId,
        id: &ApplicationId,
        data: &FormData,
        authority: &Authority,
        trace: Option<&RuleTrace>,
        processing_days: u32,
    ) -> Result<CaseRef> {
        applications::submit_application(self, citizen, id, data, authority, trace, processing_days).await
    }
    async fn withdraw_application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Application> {
        applications::withdraw_application(self, citizen, id).await
    }
    async fn messages(&self, citizen: &UserId) -> Result<Vec<Message>> {
        applications::messages(self, citizen).await
    }
    async fn read_message(&self, citizen: &UserId, id: &MessageId) -> Result<Option<Message>> {
        applications::read_message(self, citizen, id).await
    }

    // --- the authority's side ------------------------------------------------------------
    async fn cases(&self, authority: &AuthorityId, filter: &CaseFilter) -> Result<Vec<CaseSummary>> {
        inbox::cases(self, authority, filter).await
    }
    async fn authority_staff(&self, authority: &AuthorityId) -> Result<Vec<User>> {
        people::authority_staff(self, authority).await
    }
    async fn assign_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, assignee: Option<&UserId>, claim: bool) -> Result<()> {
        inbox::assign_case(self, authority, id, actor, assignee, claim).await
    }
    async fn release_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<()> {
        inbox::release_case(self, authority, id, actor).await
    }
    async fn read_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<Option<CaseFile>> {
        file::read_case(self, authority, id, actor).await
    }
    async fn case_file(&self, authority: &AuthorityId, id: &CaseId) -> Result<Option<CaseFile>> {
        file::case_file(self, authority, id).await
    }
    async fn decide(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, outcome: Outcome, reason: &str, message: &NewMessage, only_assignee: bool) -> Result<Decision> {
        file::decide(self, authority, id, actor, outcome, reason, message, only_assignee).await
    }
    async fn attach_document(&self, authority: &AuthorityId, document: &Document, message: &MessageId) -> Result<Document> {
        file::attach_document(self, authority, document, message).await
    }
    async fn undelivered_decisions(&self, before: OffsetDateTime, limit: i64) -> Result<Vec<(AuthorityId, CaseId)>> {
        file::undelivered_decisions(self, before, limit).await
    }
    async fn bescheid_failed(&self, id: &CaseId) -> Result<()> {
        file::bescheid_failed(self, id).await
    }
    async fn case_document(&self, authority: &AuthorityId, id: &CaseId, kind: &str) -> Result<Option<Document>> {
        file::case_document(self, authority, id, kind).await
    }
    async fn message_document(&self, citizen: &UserId, message: &MessageId) -> Result<Option<Document>> {
        file::message_document(self, citizen, message).await
    }
    async fn decision_message(&self, authority: &AuthorityId, id: &CaseId) -> Result<Option<MessageId>> {
        file::decision_message(self, authority, id).await
    }
    async fn ask_citizen(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, question: &str, message: &NewMessage) -> Result<InfoRequest> {
        questions::ask_citizen(self, authority, id, actor, question, message).await
    }
    async fn info_requests(&self, authority: &AuthorityId, id: &CaseId) -> Result<Vec<InfoRequest>> {
        questions::info_requests(self, authority, id).await
    }
    async fn citizen_info_request(&self, citizen: &UserId, request: &str) -> Result<Option<InfoRequest>> {
        questions::citizen_info_request(self, citizen, request).await
    }
    async fn answer_info_request(&self, citizen: &UserId, request: &str, answer: &str) -> Result<InfoRequest> {
        questions::answer_info_request(self, citizen, request, answer).await
    }
    async fn add_memo(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, body: &str) -> Result<Memo> {
        questions::add_memo(self, authority, id, actor, body).await
    }
    async fn memos(&self, authority: &AuthorityId, id: &CaseId) -> Result<Vec<Memo>> {
        questions::memos(self, authority, id).await
    }
    async fn add_inquiry(&self, authority: &AuthorityId, citizen: &UserId, question: &str, topic: Option<&str>) -> Result<Inquiry> {
        questions::add_inquiry(self, authority, citizen, question, topic).await
    }
    async fn inquiries(&self, authority: &AuthorityId) -> Result<Vec<Inquiry>> {
        questions::inquiries(self, authority).await
    }
    async fn answer_inquiry(&self, authority: &AuthorityId, id: &str, actor: &Actor, answer: &str) -> Result<Inquiry> {
        questions::answer_inquiry(self, authority, id, actor, answer).await
    }
    async fn backlog(&self) -> Result<Vec<(String, i64, i64)>> {
        inbox::backlog(self).await
    }
    async fn case_timings(&self, authority: &AuthorityId) -> Result<Vec<CaseTiming>> {
        inbox::case_timings(self, authority).await
    }

    // --- specialist procedures ---------------------------------------------------------------
    async fn create_api_client(&self, authority: &AuthorityId, name: &str, secret_hash: &str, actor: Option<&Actor>) -> Result<ApiClient> {
        procedures::create_api_client(self, authority, name, secret_hash, actor).await
    }
    async fn delete_expired_client_tokens(&self, before: OffsetDateTime) -> Result<u64> {
        procedures::delete_expired_client_tokens(self, before).await
    }
    async fn api_client_by_secret(&self, id: &str, secret_hash: &str) -> Result<Option<ApiClient>> {
        procedures::api_client_by_secret(self, id, secret_hash).await
    }
    async fn api_clients(&self, authority: &AuthorityId) -> Result<Vec<ApiClient>> {
        procedures::api_clients(self, authority).await
    }
    async fn revoke_api_client(&self, authority: &AuthorityId, id: &str, actor: &Actor) -> Result<()> {
        procedures::revoke_api_client(self, authority, id, actor).await
    }
    async fn put_client_token(&self, token_hash: &str, client: &str, expires_at: OffsetDateTime) -> Result<()> {
        procedures::put_client_token(self, token_hash, client, expires_at).await
    }
    async fn api_client_by_token(&self, token_hash: &str) -> Result<Option<ApiClient>> {
        procedures::api_client_by_token(self, token_hash).await
    }
    async fn client_new_cases(&self, client: &ApiClient, limit: i64) -> Result<Vec<CaseSummary>> {
        procedures::client_new_cases(self, client, limit).await
    }
    async fn post_case_event(&self, client: &ApiClient, id: &CaseId, key: &str, kind: &str, note: &str) -> Result<(CaseEvent, bool)> {
        procedures::post_case_event(self, client, id, key, kind, note).await
    }
    async fn application_events(&self, citizen: &UserId, id: &ApplicationId) -> Result<Vec<CaseEvent>> {
        procedures::application_events(self, citizen, id).await
    }

    // --- evidence and the transfer log -----------------------------------------------------
    async fn record_transfer(&self, transfer: &Transfer) -> Result<()> {
        evidence::record_transfer(self, transfer).await
    }
    async fn transfers(&self, citizen: &UserId) -> Result<Vec<Transfer>> {
        evidence::transfers(self, citizen).await
    }
    async fn delete_transfers_before(&self, before: OffsetDateTime) -> Result<u64> {
        evidence::delete_transfers_before(self, before).await
    }
    async fn attach_evidence(&self, citizen: &UserId, evidence: &EvidenceRecord) -> Result<()> {
        evidence::attach_evidence(self, citizen, evidence).await
    }
    async fn evidence(&self, citizen: &UserId, application: &ApplicationId) -> Result<Vec<EvidenceRecord>> {
        evidence::evidence(self, citizen, application).await
    }
    async fn case_evidence(&self, authority: &AuthorityId, case: &CaseId) -> Result<Vec<EvidenceRecord>> {
        evidence::case_evidence(self, authority, case).await
    }
    async fn settle_preview(&self, citizen: &UserId, application: &ApplicationId, evidence_id: &str, accept: bool) -> Result<EvidenceRecord> {
        evidence::settle_preview(self, citizen, application, evidence_id, accept).await
    }

    // --- FIM schemas ------------------------------------------------------------------------
    async fn put_fim_schema(&self, schema: &FimSchemaRecord) -> Result<bool> {
        catalog::put_fim_schema(self, schema).await
    }
    async fn fim_schema(&self, id: &str, version: &str) -> Result<Option<FimSchemaRecord>> {
        catalog::fim_schema(self, id, version).await
    }

    // --- audit ---------------------------------------------------------------------------
    async fn audit_trail(&self, authority: &AuthorityId, subject_id: &str) -> Result<Vec<AuditEvent>> {
        audit::audit_trail(self, authority, subject_id).await
    }
    async fn application_trail(&self, citizen: &UserId, application: &ApplicationId) -> Result<Vec<AuditEvent>> {
        audit::application_trail(self, citizen, application).await
    }
    async fn authority_audit(&self, authority: &AuthorityId, limit: i64) -> Result<Vec<AuditEvent>> {
        audit::authority_audit(self, authority, limit).await
    }
    async fn authority_transfers(&self, authority: &AuthorityId, limit: i64) -> Result<Vec<Transfer>> {
        evidence::authority_transfers(self, authority, limit).await
    }
    async fn audit_count(&self) -> Result<i64> {
        audit::audit_count(self).await
    }

    // --- ledger --------------------------------------------------------------------------
    async fn record_action(&self, kind: amtsweg_domain::AuditKind, actor: Option<(&str, &str)>, authority: Option<&str>, subject: (&str, &str)) -> Result<()> {
        audit::record_action(self, kind, actor, authority, subject).await
    }
    async fn ledger_integrate(&self, max: usize) -> Result<u64> {
        ledger::ledger_integrate(self, max).await
    }
    fn sign_ledger_per_batch(&self, sign: crate::LedgerSign) -> bool {
        DB::sign_ledger_per_batch(self.db(), sign)
    }
    fn ledger_recent_receipt(&self, reference: &str) -> Option<crate::RecentReceipt> {
        DB::recent_receipt(self.db(), reference)
    }
    async fn ledger_integrate_signed(&self, max: usize, sign: &(dyn Fn(u64, [u8; 32]) -> String + Send + Sync)) -> Result<Option<(u64, String, bool)>> {
        ledger::ledger_integrate_signed(self, max, sign).await
    }
    async fn ledger_size(&self) -> Result<u64> {
        ledger::ledger_size(self).await
    }
    async fn ledger_pending(&self) -> Result<u64> {
        ledger::ledger_pending(self).await
    }
    async fn ledger_hashes(&self, indexes: &[u64]) -> Result<Vec<(u64, [u8; 32])>> {
        ledger::ledger_hashes(self, indexes).await
    }
    async fn ledger_hash_range(&self, from: u64, to: u64) -> Result<Vec<(u64, [u8; 32])>> {
        ledger::ledger_hash_range(self, from, to).await
    }
    async fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        ledger::ledger_entries(self, from, to).await
    }
    async fn ledger_index_of(&self, reference: &str) -> Result<Option<u64>> {
        ledger::ledger_index_of(self, reference).await
    }
    async fn ledger_entry_of(&self, reference: &str) -> Result<Option<(u64, Vec<u8>)>> {
        ledger::ledger_entry_of(self, reference).await
    }
    async fn ledger_add_checkpoint(&self, size: u64, note: &str) -> Result<()> {
        ledger::ledger_add_checkpoint(self, size, note).await
    }
    async fn ledger_checkpoints(&self) -> Result<Vec<(u64, String)>> {
        ledger::ledger_checkpoints(self).await
    }
    async fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
        ledger::ledger_latest_checkpoint(self).await
    }
    async fn ledger_has_checkpoint(&self, size: u64) -> Result<bool> {
        ledger::ledger_has_checkpoint(self, size).await
    }
    async fn ledger_has_salt(&self, subject: &str) -> Result<bool> {
        ledger::ledger_has_salt(self, subject).await
    }

    // --- jobs ----------------------------------------------------------------------------
    async fn put_security_event(&self, at: OffsetDateTime, action: &str, outcome: &str, event: &str) -> Result<()> {
        crate::security_events::put(self, at, action, outcome, event).await
    }
    async fn security_events(&self, limit: i64) -> Result<Vec<String>> {
        crate::security_events::latest(self, limit).await
    }
    async fn security_event_counts(&self, since: OffsetDateTime) -> Result<Vec<(String, String, i64)>> {
        crate::security_events::counts(self, since).await
    }
    async fn delete_security_events_before(&self, before: OffsetDateTime) -> Result<u64> {
        crate::security_events::sweep(self, before).await
    }
    async fn take_allowance(&self, key: &str, now_ms: i64, interval_ms: i64, burst: i64) -> Result<std::result::Result<(), i64>> {
        crate::rate_limits::take(self, key, now_ms, interval_ms, burst).await
    }
    async fn forget_allowances(&self, now_ms: i64) -> Result<u64> {
        crate::rate_limits::forget(self, now_ms).await
    }
    async fn enqueue_job(&self, kind: &str, unique_key: Option<&str>, payload: &str, run_at: OffsetDateTime) -> Result<Option<i64>> {
        jobs::enqueue_job(self, kind, unique_key, payload, run_at).await
    }
    async fn claim_job(&self, kinds: &[&str], now: OffsetDateTime, lock_until: OffsetDateTime) -> Result<Option<Job>> {
        jobs::claim_job(self, kinds, now, lock_until).await
    }
    async fn finish_job(&self, job: &Job) -> Result<bool> {
        jobs::finish_job(self, job).await
    }
    async fn reschedule_job(&self, job: &Job, run_at: OffsetDateTime) -> Result<bool> {
        jobs::reschedule_job(self, job, run_at).await
    }
    async fn fail_job(&self, job: &Job, error: &str, retry_at: Option<OffsetDateTime>) -> Result<bool> {
        jobs::fail_job(self, job, error, retry_at).await
    }
    async fn job_counts(&self) -> Result<JobCounts> {
        jobs::job_counts(self).await
    }
}
