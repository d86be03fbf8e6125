//! Storage of amtsweg: one interface ([`Store`]), two implementations chosen by the URL scheme:
//! SQLite (embedded default, WAL, one file in the data folder) and PostgreSQL (several app nodes).
//!
//! Both run the same SQL text where the dialects agree (`$1` placeholders work in both, and
//! `RETURNING` and `ON CONFLICT` too); the table definitions differ per backend and live in
//! `migrations/<backend>/`, applied forward only. Every state change writes its audit event in
//! the same transaction.
//!
//! Tenancy is part of every signature: citizen operations take the citizen's id, authority
//! operations the authority's id, so a query can never reach another's rows.
//!
//! # One generic implementation
//!
//! [`SqlStore<DB>`](SqlStore) is the only implementation of [`Store`]; [`SqliteStore`] and
//! [`PgStore`] are its instances for SQLite (rusqlite, one writer that commits in batches: see
//! `sqlite.rs`) and `sqlx::Postgres`. What differs between the
//! two sits behind a small crate-private trait, `sql::Dialect`, implemented for both: the
//! connections, how a write transaction begins and commits (SQLite: a savepoint in the writer's
//! batch, answered after the batch's commit; PostgreSQL: a plain transaction), the ledger
//! integrator's lock (`pg_advisory_xact_lock`; nothing on SQLite), the embedded migrations, and
//! the statement calls (execute, fetch all, fetch optional, outside or inside a transaction). The aggregates (`catalog`, `people`, `applications`,
//! `cases`, `procedures`, `evidence`, `ledger`, `audit`, `jobs`: one module or folder each, no
//! file over a few hundred lines) are plain functions generic over `DB: Dialect`. They pass SQL
//! text (`const` strings beside their row types) with driver-independent arguments (`sql::Arg`)
//! and get back typed rows: `row!` structs with a hand-written `sqlx::FromRow` for any
//! `sqlx::Row` that decodes their columns and a `FromSqlite` for rusqlite's rows, turned into domain types by `into_domain()`, which
//! reports bad stored values as [`StoreError::Corrupt`]. `sql::store` implements [`Store`] by
//! calling them.
//!
//! Why this shape: the obvious generic version, `impl<DB: Database> Store for SqlStore<DB>` with
//! bounds such as `for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>` and an
//! `Encode`/`Decode` bound per column type, does not scale in sqlx 0.8, because Rust does not
//! carry such where clauses from a trait to its users (only supertraits): every generic function
//! would repeat a dozen bounds. Here the generic code needs none. The sqlx bounds are spelled out
//! once, in `sql::driver`, and checked where each backend's `Dialect` impl calls it with its
//! concrete database; that every row type decodes on both backends is one blanket trait
//! (`sql::Rows`). Per-aggregate macros were the fallback; a short experiment showed they were not
//! needed, and plain generic code keeps compiler errors, review and navigation on real lines.

mod applications;
mod audit;
mod cache;
mod cases;
mod catalog;
mod embedded;
mod error;
mod evidence;
mod jobs;
mod ledger;
mod people;
mod postgres;
mod procedures;
mod rate_limits;
mod reports;
mod security_events;
mod sql;
mod sqlite;

pub use error::StoreError;
pub use ledger::RecentReceipt;
pub use postgres::PgStore;
pub use reports::{OVERDUE_NOTE, Open311Key, ReportActor, ReportChange, ReportStore};
pub use sql::SqlStore;
pub use sqlite::{MAX_WAITING as SQLITE_MAX_WAITING, SqliteStore};

use amtsweg_domain::records::{
    ApiClient, Application, AuditEvent, CaseEvent, CaseFile, CaseFilter, CaseRef, CaseSummary, CaseTiming, Decision, Document, EvidenceRecord,
    FimSchemaRecord, InfoRequest, Inquiry, Member, Memo, Message, NewMessage, OpenInvitation, PendingLogin, Session, StaffCredential, Transfer,
};
use amtsweg_domain::RuleTrace;
use amtsweg_domain::{
    ApplicationId, Authority, AuthorityId, CaseId, FormData, MessageId, Outcome, Responsibility,
    Person, Role, Service, ServiceId, User, UserId,
};
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Signs a checkpoint note for (size, root hash) with the ledger's key.
pub type LedgerSign = Arc<dyn Fn(u64, [u8; 32]) -> String + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Background work waiting in the store (see [`Store::claim_job`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub unique_key: Option<String>,
    pub payload: String,
    /// Claims so far, this one included.
    pub attempts: i32,
    pub run_at: OffsetDateTime,
    /// Until when this claim holds the job (to the millisecond). Finishing, failing and
    /// rescheduling name it: a worker whose lock expired (and whose job another took) changes
    /// nothing.
    pub locked_until: OffsetDateTime,
}

/// How many jobs wait or run, and how many were given up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub waiting: i64,
    pub failed: i64,
}

/// Who acts: for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
}

#[async_trait]
/// Everything amtsweg keeps; the Mängelmelder's part is [`ReportStore`].
pub trait Store: ReportStore + Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Applies the migrations that are not applied yet.
    async fn migrate(&self) -> Result<()>;
    /// A cheap round trip to the database, for `/readyz`.
    async fn ping(&self) -> Result<()>;

    // --- catalog -------------------------------------------------------------------------
    async fn put_authority(&self, authority: &Authority) -> Result<()>;
    async fn authorities(&self) -> Result<Vec<Authority>>;
    async fn authority(&self, id: &AuthorityId) -> Result<Option<Authority>>;
    async fn put_service(&self, service: &Service) -> Result<()>;
    async fn services(&self) -> Result<Vec<Service>>;
    /// One service, shared with every other reader of the same catalog version.
    async fn service(&self, id: &ServiceId) -> Result<Option<std::sync::Arc<Service>>>;
    /// The authority's own decision rules for a service, if its admin set any.
    async fn decision_rules(&self, service: &ServiceId, authority: &AuthorityId) -> Result<Option<amtsweg_domain::DecisionRules>>;
    /// Sets the authority's own decision rules for a service (recorded with the admin as actor).
    async fn put_decision_rules(&self, service: &ServiceId, authority: &AuthorityId, rules: &amtsweg_domain::DecisionRules, actor: &Actor) -> Result<()>;
    async fn put_responsibility(&self, responsibility: &Responsibility) -> Result<()>;
    /// The responsibilities for a service of authorities that are active.
    async fn responsibilities(&self, service: &ServiceId) -> Result<Vec<Responsibility>>;

    // --- the platform operator (every change audited with the operator as actor) ---------
    /// A new authority; `Exists("authority")` for a taken id, `Exists("short_code")` for a
    /// taken short code.
    async fn create_authority(&self, authority: &Authority, actor: &Actor) -> Result<()>;
    /// Changes an authority (not its short code: case numbers carry it). Deactivating ends its
    /// members' sessions and tokens. `NotFound` for an unknown one.
    async fn update_authority(&self, authority: &Authority, actor: &Actor) -> Result<()>;
    /// `Exists("responsibility")` when the service already has an authority for this region.
    async fn add_responsibility(&self, responsibility: &Responsibility, actor: &Actor) -> Result<()>;
    /// Every responsibility (also of deactivated authorities), by service and region.
    async fn all_responsibilities(&self) -> Result<Vec<Responsibility>>;
    /// Changes a stored service; `NotFound` for an unknown one.
    async fn update_service(&self, service: &Service, actor: &Actor) -> Result<()>;
    /// Creates a member of staff (with `user.authority_id`) whose login `login` waits for the
    /// invitation `token_hash`; `Exists("login")` when the login is taken.
    async fn invite_staff(&self, user: &User, login: &str, token_hash: &str, expires_at: OffsetDateTime, actor: &Actor) -> Result<()>;
    /// Clears a member's password and second factor, ends their sessions, opens a new link.
    async fn reset_staff_access(&self, user: &UserId, token_hash: &str, expires_at: OffsetDateTime, actor: &Actor) -> Result<()>;
    /// An invitation that can still be taken.
    async fn invitation(&self, token_hash: &str) -> Result<Option<OpenInvitation>>;
    /// Takes an invitation with the password hash and second factor chosen; `NotFound` when it
    /// is unknown, taken or expired.
    async fn accept_invitation(&self, token_hash: &str, password_hash: &str, totp_secret: &str) -> Result<UserId>;
    /// Deactivates a member of staff (sessions end, tokens are revoked).
    async fn deactivate_user(&self, user: &UserId, actor: &Actor) -> Result<()>;
    /// Whether a user is known and not deactivated.
    async fn user_active(&self, user: &UserId) -> Result<bool>;
    /// Everyone who works for an authority, with login and state.
    async fn members(&self, authority: &AuthorityId) -> Result<Vec<Member>>;

    // --- people and credentials -------------------------------------------------------
    async fn create_user(&self, user: &User) -> Result<()>;
    async fn user(&self, id: &UserId) -> Result<Option<User>>;
    async fn users_with_role(&self, role: Role) -> Result<Vec<User>>;
    async fn put_api_token(&self, token_hash: &str, user: &UserId, expires_at: OffsetDateTime) -> Result<()>;
    /// The user of a valid (known, not expired, not revoked) token.
    async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>>;
    async fn put_session(&self, session: &Session) -> Result<()>;
    async fn session(&self, id_hash: &str) -> Result<Option<Session>>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Moves a session's end (idle timeout).
    async fn touch_session(&self, id_hash: &str, expires_at: OffsetDateTime) -> Result<()>;
    /// An OpenID Connect login under way.
    async fn put_pending_login(&self, login: &PendingLogin) -> Result<()>;
    /// Takes (removes) a pending login: `None` when unknown, already taken or expired.
    async fn take_pending_login(&self, id_hash: &str) -> Result<Option<PendingLogin>>;
    /// The citizen linked to a provider's subject, created on the first login; name and person
    /// data are updated from the provider's claims at every login.
    async fn upsert_citizen_login(&self, issuer: &str, subject: &str, display_name: &str, person: &Person) -> Result<User>;
    /// Creates or replaces a staff member's password login.
    async fn put_staff_credential(&self, credential: &StaffCredential) -> Result<()>;
    async fn staff_credential(&self, login: &str) -> Result<Option<StaffCredential>>;
    /// Starts a login attempt: counts it (before the password is checked, so that parallel
    /// guesses count too) and, at the `max_attempts`-th attempt without a success, locks the
    /// account until `lock_until` and starts the count again. `None` when the login is unknown
    /// or locked now.
    async fn begin_login_attempt(&self, login: &str, max_attempts: i64, lock_until: OffsetDateTime) -> Result<Option<StaffCredential>>;
    /// A successful login: resets the count and remembers the TOTP step used. `false` when that
    /// step (or a later one) was already used: the code is refused as replayed.
    async fn record_login_success(&self, user: &UserId, totp_step: i64) -> Result<bool>;

    // --- the citizen's side ------------------------------------------------------------
    async fn create_application(&self, citizen: &UserId, service: &ServiceId) -> Result<Application>;
    async fn application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Option<Application>>;
    async fn applications(&self, citizen: &UserId) -> Result<Vec<Application>>;
    /// Replaces the form data of a draft. `NotFound` for another's or an unknown application,
    /// `Conflict` when it is no longer a draft.
    async fn save_application_data(
        &self,
        citizen: &UserId,
        id: &ApplicationId,
        data: &FormData,
    ) -> Result<Application>;
    /// Submits a draft with its (validated) data and opens a case at `authority`.
    async fn submit_application(
        &self,
        citizen: &UserId,
        id: &ApplicationId,
        data: &FormData,
        authority: &Authority,
        trace: Option<&RuleTrace>,
        processing_days: u32,
    ) -> Result<CaseRef>;
    async fn withdraw_application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Application>;
    async fn messages(&self, citizen: &UserId) -> Result<Vec<Message>>;
    /// Reads a message and marks it read.
    async fn read_message(&self, citizen: &UserId, id: &MessageId) -> Result<Option<Message>>;

    // --- the authority's side ------------------------------------------------------------
    async fn cases(&self, authority: &AuthorityId, filter: &CaseFilter) -> Result<Vec<CaseSummary>>;
    /// Staff of the authority who can be given cases (caseworkers and team leads).
    async fn authority_staff(&self, authority: &AuthorityId) -> Result<Vec<User>>;
    /// Assigns a case (or takes it back with `None`). With `claim`, only an unassigned case
    /// (or one already the assignee's) is taken. `NotFound` for a foreign case or an assignee
    /// who is not staff of the authority; `Taken` when a claim comes too late.
    async fn assign_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, assignee: Option<&UserId>, claim: bool) -> Result<()>;
    /// Gives back a case assigned to the actor; `Taken` when it is not (any longer) theirs.
    async fn release_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<()>;
    /// Reads a case file for a member of staff or a procedure and records the read of personal
    /// data. Reading changes nothing else: a submitted case goes into review with the first
    /// action on it (assigning or taking it, a question, a memo).
    async fn read_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<Option<CaseFile>>;
    /// A case file for the platform's own steps (deciding, delivering); not recorded as a read.
    async fn case_file(&self, authority: &AuthorityId, id: &CaseId) -> Result<Option<CaseFile>>;
    async fn decide(
        &self,
        authority: &AuthorityId,
        id: &CaseId,
        actor: &Actor,
        outcome: Outcome,
        reason: &str,
        message: &NewMessage,
        only_assignee: bool,
    ) -> Result<Decision>;
    /// Stores a case document and links it to the message that delivers it (once per kind:
    /// a second call returns the first document).
    async fn attach_document(&self, authority: &AuthorityId, document: &Document, message: &MessageId) -> Result<Document>;
    /// Decided cases whose Bescheid is missing (the process stopped between the decision and
    /// the document), decided before `before`.
    async fn undelivered_decisions(&self, before: OffsetDateTime, limit: i64) -> Result<Vec<(AuthorityId, CaseId)>>;
    /// Counts a failed attempt to write a case's Bescheid.
    async fn bescheid_failed(&self, id: &CaseId) -> Result<()>;
    async fn case_document(&self, authority: &AuthorityId, id: &CaseId, kind: &str) -> Result<Option<Document>>;
    /// The document of one of the citizen's messages.
    async fn message_document(&self, citizen: &UserId, message: &MessageId) -> Result<Option<Document>>;
    /// The case an application became, the decision's message, for rendering the Bescheid.
    async fn decision_message(&self, authority: &AuthorityId, id: &CaseId) -> Result<Option<MessageId>>;
    /// Asks the citizen a question: stored with the case and delivered to the mailbox.
    async fn ask_citizen(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, question: &str, message: &NewMessage) -> Result<InfoRequest>;
    async fn info_requests(&self, authority: &AuthorityId, id: &CaseId) -> Result<Vec<InfoRequest>>;
    async fn citizen_info_request(&self, citizen: &UserId, request: &str) -> Result<Option<InfoRequest>>;
    /// The citizen's answer; `Conflict`-free: a second answer is refused with `Answered`.
    async fn answer_info_request(&self, citizen: &UserId, request: &str, answer: &str) -> Result<InfoRequest>;
    async fn add_memo(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, body: &str) -> Result<Memo>;
    async fn memos(&self, authority: &AuthorityId, id: &CaseId) -> Result<Vec<Memo>>;
    /// Files a citizen's question for an authority (from the assistant). `NotFound` for an
    /// unknown authority.
    async fn add_inquiry(&self, authority: &AuthorityId, citizen: &UserId, question: &str, topic: Option<&str>) -> Result<Inquiry>;
    /// The questions citizens sent to an authority, newest first.
    async fn inquiries(&self, authority: &AuthorityId) -> Result<Vec<Inquiry>>;
    /// Answers a citizen's question: the answer goes to their mailbox. `NotFound` for another
    /// authority's or an unknown question, `Answered` when it has an answer already.
    async fn answer_inquiry(&self, authority: &AuthorityId, id: &str, actor: &Actor, answer: &str) -> Result<Inquiry>;
    /// Per authority: open cases and those past their deadline.
    async fn backlog(&self) -> Result<Vec<(String, i64, i64)>>;
    /// Every case of the authority with its times (lead times, backlog).
    async fn case_timings(&self, authority: &AuthorityId) -> Result<Vec<CaseTiming>>;

    // --- specialist procedures ---------------------------------------------------------------
    async fn create_api_client(&self, authority: &AuthorityId, name: &str, secret_hash: &str, actor: Option<&Actor>) -> Result<ApiClient>;
    /// Deletes client access tokens that expired before `before`; returns how many.
    async fn delete_expired_client_tokens(&self, before: OffsetDateTime) -> Result<u64>;
    async fn api_client_by_secret(&self, id: &str, secret_hash: &str) -> Result<Option<ApiClient>>;
    /// The authority's API clients that are not revoked.
    async fn api_clients(&self, authority: &AuthorityId) -> Result<Vec<ApiClient>>;
    /// Revokes a client of the authority and its tokens; `NotFound` for a foreign or revoked one.
    async fn revoke_api_client(&self, authority: &AuthorityId, id: &str, actor: &Actor) -> Result<()>;
    async fn put_client_token(&self, token_hash: &str, client: &str, expires_at: OffsetDateTime) -> Result<()>;
    async fn api_client_by_token(&self, token_hash: &str) -> Result<Option<ApiClient>>;
    /// Submissions of the client's authority that this client has not yet confirmed as received.
    async fn client_new_cases(&self, client: &ApiClient, limit: i64) -> Result<Vec<CaseSummary>>;
    /// Records a status event once per idempotency key; a retry returns the stored event
    /// (`false`: not new). A `received` event puts a submitted case in review.
    async fn post_case_event(&self, client: &ApiClient, id: &CaseId, key: &str, kind: &str, note: &str) -> Result<(CaseEvent, bool)>;
    /// The status events of one of the citizen's applications.
    async fn application_events(&self, citizen: &UserId, id: &ApplicationId) -> Result<Vec<CaseEvent>>;

    // --- evidence and the transfer log -----------------------------------------------------
    async fn record_transfer(&self, transfer: &Transfer) -> Result<()>;
    async fn transfers(&self, citizen: &UserId) -> Result<Vec<Transfer>>;
    /// Deletes transfer log entries older than `before` (retention); returns how many.
    async fn delete_transfers_before(&self, before: OffsetDateTime) -> Result<u64>;
    async fn attach_evidence(&self, citizen: &UserId, evidence: &EvidenceRecord) -> Result<()>;
    async fn evidence(&self, citizen: &UserId, application: &ApplicationId) -> Result<Vec<EvidenceRecord>>;
    /// The attached evidence of a case of this authority.
    async fn case_evidence(&self, authority: &AuthorityId, case: &CaseId) -> Result<Vec<EvidenceRecord>>;
    /// Accepts (attaches) or discards (and forgets the content of) evidence held for preview.
    /// `NotFound` for unknown or foreign evidence; `PreviewSettled` when it is not in preview.
    async fn settle_preview(&self, citizen: &UserId, application: &ApplicationId, evidence_id: &str, accept: bool) -> Result<EvidenceRecord>;

    // --- FIM schemas ------------------------------------------------------------------------
    /// Keeps an imported schema. The same content again changes nothing (`false`); other
    /// content under a stored id and version is refused (`SchemaConflict`).
    async fn put_fim_schema(&self, schema: &FimSchemaRecord) -> Result<bool>;
    async fn fim_schema(&self, id: &str, version: &str) -> Result<Option<FimSchemaRecord>>;

    // --- audit ---------------------------------------------------------------------------
    /// The events about one subject that `authority` may see: its own and those of no
    /// authority (the citizen's own steps), oldest first. Tenancy is the store's: no caller
    /// filters.
    async fn audit_trail(&self, authority: &AuthorityId, subject_id: &str) -> Result<Vec<AuditEvent>>;
    /// The events of a citizen's own application and of its case, oldest first (none when the
    /// application is not the citizen's).
    async fn application_trail(&self, citizen: &UserId, application: &ApplicationId) -> Result<Vec<AuditEvent>>;
    /// The audit events of one authority, newest first (for the data protection officer).
    async fn authority_audit(&self, authority: &AuthorityId, limit: i64) -> Result<Vec<AuditEvent>>;
    /// The transfers an authority asked for, newest first (for the data protection officer).
    async fn authority_transfers(&self, authority: &AuthorityId, limit: i64) -> Result<Vec<Transfer>>;
    async fn audit_count(&self) -> Result<i64>;

    // --- ledger (every audit event is also a pending ledger entry) ------------------------
    /// Records an action that changes nothing else (a read of personal data, a benchmark).
    async fn record_action(&self, kind: amtsweg_domain::AuditKind, actor: Option<(&str, &str)>, authority: Option<&str>, subject: (&str, &str)) -> Result<()>;
    /// Moves up to `max` pending entries, in order, into the tree: one transaction, one
    /// integrator at a time across processes. Returns the tree's size afterwards.
    async fn ledger_integrate(&self, max: usize) -> Result<u64>;
    /// Integrates up to `max` pending entries and, in the same transaction, signs (with
    /// `sign(size, root)`) and stores a checkpoint of the new size. Returns that checkpoint and
    /// whether more may wait; `None` when nothing was pending.
    async fn ledger_integrate_signed(&self, max: usize, sign: &(dyn Fn(u64, [u8; 32]) -> String + Send + Sync)) -> Result<Option<(u64, String, bool)>>;
    /// From now on, where the backend commits writes in batches (SQLite), each batch integrates
    /// its ledger entries and stores a checkpoint signed with `sign`, in the same commit, so that
    /// a receipt needs no write of its own. `false` where the backend does not.
    fn sign_ledger_per_batch(&self, sign: LedgerSign) -> bool;
    /// The receipt's parts (entry, index, latest checkpoint, the proof's stored hashes) for an
    /// entry recorded once under `reference` that one of this process's last batches
    /// integrated, from memory; `None` otherwise (then the receipt reads them).
    fn ledger_recent_receipt(&self, reference: &str) -> Option<RecentReceipt>;
    async fn ledger_size(&self) -> Result<u64>;
    async fn ledger_pending(&self) -> Result<u64>;
    /// Stored hashes by index; missing ones are left out.
    async fn ledger_hashes(&self, indexes: &[u64]) -> Result<Vec<(u64, [u8; 32])>>;
    /// Stored hashes with index in `from..to`, in order.
    async fn ledger_hash_range(&self, from: u64, to: u64) -> Result<Vec<(u64, [u8; 32])>>;
    /// Entries with index in `from..to`, in the order stored (index, entry).
    async fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>>;
    /// The index of the entry recorded for this reference (`transfer:ID`, …), once integrated.
    async fn ledger_index_of(&self, reference: &str) -> Result<Option<u64>>;
    /// The index and the entry first recorded under `reference`, once integrated.
    async fn ledger_entry_of(&self, reference: &str) -> Result<Option<(u64, Vec<u8>)>>;
    async fn ledger_add_checkpoint(&self, size: u64, note: &str) -> Result<()>;
    /// Stored checkpoints, by size.
    async fn ledger_checkpoints(&self) -> Result<Vec<(u64, String)>>;
    async fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, String)>>;
    async fn ledger_has_checkpoint(&self, size: u64) -> Result<bool>;
    /// Whether commitments to this subject can still be opened (its salt is kept).
    async fn ledger_has_salt(&self, subject: &str) -> Result<bool>;

    // --- security events ------------------------------------------------------------------
    /// Keeps a security event (its ECS document as JSON) with its action and outcome.
    async fn put_security_event(&self, at: OffsetDateTime, action: &str, outcome: &str, event: &str) -> Result<()>;
    /// The latest security events (ECS documents), newest first.
    async fn security_events(&self, limit: i64) -> Result<Vec<String>>;
    /// Events since `since`, counted by action and outcome.
    async fn security_event_counts(&self, since: OffsetDateTime) -> Result<Vec<(String, String, i64)>>;
    /// Deletes security events older than `before`; returns how many.
    async fn delete_security_events_before(&self, before: OffsetDateTime) -> Result<u64>;

    // --- rate limits across nodes ---------------------------------------------------------
    /// Takes one request from `key`'s allowance (GCRA: one every `interval_ms`, bursts of
    /// `burst`): `Ok(())` when allowed, `Err(wait_ms)` when over the limit. Atomic across nodes.
    async fn take_allowance(&self, key: &str, now_ms: i64, interval_ms: i64, burst: i64) -> Result<std::result::Result<(), i64>>;
    /// Forgets keys back at their full allowance; returns how many.
    async fn forget_allowances(&self, now_ms: i64) -> Result<u64>;

    // --- jobs ----------------------------------------------------------------------------
    /// Enqueues a job to run at `run_at`. With `unique_key`, nothing is enqueued while a job of
    /// the same kind and key waits or runs (returns `None` then); otherwise returns the new id.
    async fn enqueue_job(&self, kind: &str, unique_key: Option<&str>, payload: &str, run_at: OffsetDateTime) -> Result<Option<i64>>;
    /// Claims the job of one of `kinds` that is due (`run_at <= now`) and not locked (or whose
    /// lock expired: a crashed worker's job is taken again), oldest `run_at` first; locks it until
    /// `lock_until` and counts the attempt. Atomic across processes: PostgreSQL
    /// `SELECT … FOR UPDATE SKIP LOCKED` inside the claiming UPDATE, SQLite `UPDATE … RETURNING`
    /// in a write transaction. `None` when nothing is due.
    async fn claim_job(&self, kinds: &[&str], now: OffsetDateTime, lock_until: OffsetDateTime) -> Result<Option<Job>>;
    /// A claimed job succeeded: it is removed. `false` when the claim no longer held it.
    async fn finish_job(&self, job: &Job) -> Result<bool>;
    /// A claimed (periodic) job succeeded and is due again at `run_at`: it waits again, with its
    /// attempts reset, in the same row (its unique key is never free in between).
    async fn reschedule_job(&self, job: &Job, run_at: OffsetDateTime) -> Result<bool>;
    /// A claimed job failed: with `retry_at` it waits until then (unlocked, error kept); without,
    /// it is given up: kept as failed (never claimed again) for operators to see.
    async fn fail_job(&self, job: &Job, error: &str, retry_at: Option<OffsetDateTime>) -> Result<bool>;
    /// Jobs that wait or run, and jobs given up (for metrics and tests).
    async fn job_counts(&self) -> Result<JobCounts>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store that `url` names: `sqlite:PATH` (or `sqlite://PATH`) or `postgres://…`.
pub async fn connect(url: &str) -> Result<DynStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}
