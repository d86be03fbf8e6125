//! The SQL and the row mapping that SQLite and PostgreSQL share, written once as a macro that
//! each backend instantiates with its own pool type. The dialects agree on everything used here.

pub(crate) const APPLICATION_SELECT: &str = "\
SELECT a.id, a.citizen_id, a.service_id, s.name AS service_name, a.status, a.data, \
       a.created_at, a.updated_at, a.submitted_at, c.case_number, au.name AS authority_name, \
       d.outcome, d.reason, d.decided_at, d.automated \
FROM applications a \
JOIN services s ON s.id = a.service_id \
LEFT JOIN cases c ON c.application_id = a.id \
LEFT JOIN authorities au ON au.id = c.authority_id \
LEFT JOIN decisions d ON d.case_id = c.id";

pub(crate) const USER_SELECT: &str = "SELECT id, role, display_name, authority_id, person FROM users";
pub(crate) const SERVICE_SELECT: &str =
    "SELECT id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level FROM services";
pub(crate) const MESSAGE_SELECT: &str =
    "SELECT id, application_id, sender, subject, body, created_at, read_at, document_id, info_request_id FROM mailbox_messages";
pub(crate) const TRANSFER_SELECT: &str = "SELECT id, citizen_id, at, authority_id, authority_name, register, evidence_type, procedure, purpose, \
     legal_basis, idnr_used, consent_ref, outcome, request_hash FROM transfers";
pub(crate) const AUDIT_SELECT: &str = "SELECT seq, at, kind, actor_id, actor_role, authority_id, subject_kind, subject_id FROM audit_events";
/// The inbox's columns; `WHERE` conditions are appended.
pub(crate) const CASE_SUMMARY_SELECT: &str = "\
SELECT c.id, c.case_number, a.status, a.service_id, s.name AS service_name, u.display_name AS applicant_name, c.created_at, \
       c.assignee_id, w.display_name AS assignee_name, c.due_at, \
       EXISTS (SELECT 1 FROM info_requests q WHERE q.case_id = c.id AND q.answered_at IS NULL) AS open_question \
FROM cases c JOIN applications a ON a.id = c.application_id \
JOIN services s ON s.id = a.service_id JOIN users u ON u.id = a.citizen_id \
LEFT JOIN users w ON w.id = c.assignee_id";
pub(crate) const AUTHORITY_SELECT: &str = "SELECT id, name, short_code, region_key, address FROM authorities";

/// `('a','b')` for the statuses from which `to` may be reached (static strings, safe to inline).
pub(crate) fn status_sources(to: amtsweg_domain::ApplicationStatus) -> String {
    let list: Vec<String> = amtsweg_domain::ApplicationStatus::sources_of(to)
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", list.join(","))
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

macro_rules! shared_store_impl {
    ($store:ty, $db:ty, $backend:expr, $migrations:expr) => {
        use $crate::sql::{
            APPLICATION_SELECT, AUDIT_SELECT, AUTHORITY_SELECT, CASE_SUMMARY_SELECT, MESSAGE_SELECT, SERVICE_SELECT, TRANSFER_SELECT, USER_SELECT,
            new_id, status_sources,
        };
        use $crate::{Actor, Backend, Result, Store, StoreError};
        use amtsweg_domain::records::*;
        use amtsweg_domain::*;
        use sqlx::Row;
        use time::OffsetDateTime;

        type DbRow = <$db as sqlx::Database>::Row;
        type Tx = sqlx::Transaction<'static, $db>;

        fn corrupt(what: &str) -> StoreError {
            StoreError::Corrupt(what.to_owned())
        }

        fn map_authority(row: &DbRow) -> Result<Authority> {
            Ok(Authority {
                id: AuthorityId::from_stored(row.try_get("id")?),
                name: row.try_get("name")?,
                short_code: row.try_get("short_code")?,
                region: RegionKey::parse(&row.try_get::<String, _>("region_key")?)
                    .map_err(|_| corrupt("authority region"))?,
                address: row.try_get("address")?,
            })
        }

        fn map_service(row: &DbRow) -> Result<Service> {
            let form: String = row.try_get("form")?;
            let evidence: String = row.try_get("evidence")?;
            let decision: String = row.try_get("decision_rules")?;
            Ok(Service {
                id: ServiceId::from_stored(row.try_get("id")?),
                name: row.try_get("name")?,
                leika_key: row.try_get("leika_key")?,
                summary: row.try_get("summary")?,
                description: row.try_get("description")?,
                legal_basis: row.try_get("legal_basis")?,
                form: serde_json::from_str(&form).map_err(|_| corrupt("service form"))?,
                evidence: serde_json::from_str(&evidence).map_err(|_| corrupt("service evidence"))?,
                decision: serde_json::from_str(&decision).map_err(|_| corrupt("service decision rules"))?,
                required_level: match row.try_get::<Option<String>, _>("required_level")? {
                    Some(l) => Some(AssuranceLevel::parse(&l).ok_or_else(|| corrupt("service level"))?),
                    None => None,
                },
            })
        }

        /// The columns [`map_staff_credential`] reads.
        const STAFF_CREDENTIAL_COLUMNS: &str = "user_id, login, password_hash, totp_secret, failed_attempts, locked_until, last_totp_step";

        fn map_staff_credential(row: &DbRow) -> Result<StaffCredential> {
            Ok(StaffCredential {
                user_id: UserId::from_stored(row.try_get("user_id")?),
                login: row.try_get("login")?,
                password_hash: row.try_get("password_hash")?,
                totp_secret: row.try_get("totp_secret")?,
                failed_attempts: row.try_get::<i32, _>("failed_attempts")?.into(),
                locked_until: row.try_get("locked_until")?,
                last_totp_step: row.try_get("last_totp_step")?,
            })
        }

        fn map_user(row: &DbRow) -> Result<User> {
            let person: Option<String> = row.try_get("person")?;
            Ok(User {
                id: UserId::from_stored(row.try_get("id")?),
                role: Role::parse(&row.try_get::<String, _>("role")?).ok_or_else(|| corrupt("user role"))?,
                display_name: row.try_get("display_name")?,
                authority_id: row.try_get::<Option<String>, _>("authority_id")?.map(AuthorityId::from_stored),
                person: match person {
                    Some(p) => Some(serde_json::from_str(&p).map_err(|_| corrupt("person"))?),
                    None => None,
                },
            })
        }

        fn map_status(s: &str) -> Result<ApplicationStatus> {
            ApplicationStatus::parse(s).ok_or_else(|| corrupt("status"))
        }

        fn map_decision(row: &DbRow) -> Result<Option<DecisionInfo>> {
            let outcome: Option<String> = row.try_get("outcome")?;
            Ok(match outcome {
                None => None,
                Some(o) => Some(DecisionInfo {
                    outcome: Outcome::parse(&o).ok_or_else(|| corrupt("outcome"))?,
                    reason: row.try_get("reason")?,
                    decided_at: row.try_get("decided_at")?,
                    automated: row.try_get::<Option<bool>, _>("automated")?.unwrap_or(false),
                }),
            })
        }

        fn map_application(row: &DbRow) -> Result<Application> {
            let data: String = row.try_get("data")?;
            Ok(Application {
                id: ApplicationId::from_stored(row.try_get("id")?),
                citizen_id: UserId::from_stored(row.try_get("citizen_id")?),
                service_id: ServiceId::from_stored(row.try_get("service_id")?),
                service_name: row.try_get("service_name")?,
                status: map_status(&row.try_get::<String, _>("status")?)?,
                data: serde_json::from_str(&data).map_err(|_| corrupt("application data"))?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                submitted_at: row.try_get("submitted_at")?,
                case_number: row.try_get("case_number")?,
                authority_name: row.try_get("authority_name")?,
                decision: map_decision(row)?,
            })
        }

        fn map_evidence(r: &DbRow) -> Result<EvidenceRecord> {
            Ok(EvidenceRecord {
                id: r.try_get("id")?,
                application_id: ApplicationId::from_stored(r.try_get("application_id")?),
                evidence_type: r.try_get("evidence_type")?,
                source: r.try_get("source")?,
                status: r.try_get("status")?,
                register: r.try_get("register")?,
                media_type: r.try_get("media_type")?,
                document: r.try_get("document")?,
                transfer_id: r.try_get("transfer_id")?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn map_message(row: &DbRow) -> Result<Message> {
            Ok(Message {
                id: MessageId::from_stored(row.try_get("id")?),
                application_id: row.try_get::<Option<String>, _>("application_id")?.map(ApplicationId::from_stored),
                sender: row.try_get("sender")?,
                subject: row.try_get("subject")?,
                body: row.try_get("body")?,
                created_at: row.try_get("created_at")?,
                read_at: row.try_get("read_at")?,
                document_id: row.try_get("document_id")?,
                info_request_id: row.try_get("info_request_id")?,
            })
        }

        fn map_transfer(r: &DbRow) -> Result<Transfer> {
            Ok(Transfer {
                id: r.try_get("id")?,
                citizen_id: UserId::from_stored(r.try_get("citizen_id")?),
                at: r.try_get("at")?,
                authority_id: r.try_get("authority_id")?,
                authority_name: r.try_get("authority_name")?,
                register: r.try_get("register")?,
                evidence_type: r.try_get("evidence_type")?,
                procedure: r.try_get("procedure")?,
                purpose: r.try_get("purpose")?,
                legal_basis: r.try_get("legal_basis")?,
                idnr_used: r.try_get("idnr_used")?,
                consent_ref: r.try_get("consent_ref")?,
                outcome: r.try_get("outcome")?,
                request_hash: r.try_get("request_hash")?,
            })
        }

        fn map_audit(r: &DbRow) -> Result<AuditEvent> {
            Ok(AuditEvent {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                actor_id: r.try_get("actor_id")?,
                actor_role: r.try_get("actor_role")?,
                authority_id: r.try_get("authority_id")?,
                subject_kind: r.try_get("subject_kind")?,
                subject_id: r.try_get("subject_id")?,
            })
        }

        fn map_case_summary(row: &DbRow) -> Result<CaseSummary> {
            Ok(CaseSummary {
                id: CaseId::from_stored(row.try_get("id")?),
                case_number: row.try_get("case_number")?,
                status: map_status(&row.try_get::<String, _>("status")?)?,
                service_id: ServiceId::from_stored(row.try_get("service_id")?),
                service_name: row.try_get("service_name")?,
                applicant_name: row.try_get("applicant_name")?,
                created_at: row.try_get("created_at")?,
                assignee_id: row.try_get::<Option<String>, _>("assignee_id")?.map(UserId::from_stored),
                assignee_name: row.try_get("assignee_name")?,
                due_at: row.try_get("due_at")?,
                open_question: row.try_get("open_question")?,
            })
        }

        fn map_document(r: &DbRow) -> Result<Document> {
            Ok(Document {
                id: r.try_get("id")?,
                case_id: CaseId::from_stored(r.try_get("case_id")?),
                kind: r.try_get("kind")?,
                media_type: r.try_get("media_type")?,
                content: r.try_get("content")?,
                sha256: r.try_get("sha256")?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn map_info_request(r: &DbRow) -> Result<InfoRequest> {
            Ok(InfoRequest {
                id: r.try_get("id")?,
                case_id: CaseId::from_stored(r.try_get("case_id")?),
                case_number: r.try_get("case_number")?,
                question: r.try_get("question")?,
                asked_at: r.try_get("asked_at")?,
                answer: r.try_get("answer")?,
                answered_at: r.try_get("answered_at")?,
            })
        }

        fn map_case_event(r: &DbRow) -> Result<CaseEvent> {
            Ok(CaseEvent {
                id: r.try_get("id")?,
                case_id: CaseId::from_stored(r.try_get("case_id")?),
                kind: r.try_get("kind")?,
                note: r.try_get("note")?,
                at: r.try_get("at")?,
            })
        }

        fn map_client(r: &DbRow) -> Result<ApiClient> {
            Ok(ApiClient {
                id: r.try_get("id")?,
                authority_id: AuthorityId::from_stored(r.try_get("authority_id")?),
                name: r.try_get("name")?,
            })
        }

        /// The salt of a subject's commitments, made on first use.
        async fn salt(tx: &mut Tx, subject: &str) -> Result<Vec<u8>> {
            // Mostly there already (a subject acts or is acted on many times): read first.
            if let Some(row) = sqlx::query("SELECT salt FROM ledger_salts WHERE subject = $1").bind(subject).fetch_optional(&mut **tx).await? {
                return Ok(row.try_get("salt")?);
            }
            let mut fresh = [0u8; 32];
            getrandom::fill(&mut fresh).map_err(|_| StoreError::Corrupt("no random source".into()))?;
            sqlx::query("INSERT INTO ledger_salts (subject, salt) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING")
                .bind(subject)
                .bind(fresh.as_slice())
                .execute(&mut **tx)
                .await?;
            Ok(sqlx::query("SELECT salt FROM ledger_salts WHERE subject = $1").bind(subject).fetch_one(&mut **tx).await?.try_get("salt")?)
        }

        /// Appends one audit event inside the caller's transaction, and its ledger entry: kind,
        /// time, role and authority, and salted commitments to the actor and the subject.
        async fn audit(
            tx: &mut Tx,
            kind: &str,
            actor: Option<(&str, &str)>,
            authority: Option<&str>,
            subject: (&str, &str),
        ) -> Result<()> {
            let at = OffsetDateTime::now_utc();
            sqlx::query(
                "INSERT INTO audit_events (at, kind, actor_id, actor_role, authority_id, subject_kind, subject_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(at)
            .bind(kind)
            .bind(actor.map(|a| a.0))
            .bind(actor.map(|a| a.1).unwrap_or("system"))
            .bind(authority)
            .bind(subject.0)
            .bind(subject.1)
            .execute(&mut **tx)
            .await?;
            let mut commitments = std::collections::BTreeMap::new();
            if let Some((actor_id, _)) = actor {
                let salt = salt(tx, &format!("user:{actor_id}")).await?;
                commitments.insert("actor".to_owned(), amtsweg_ledger::Commitment::new(&salt, actor_id));
            }
            let subject_key = format!("{}:{}", subject.0, subject.1);
            let salt = salt(tx, &subject_key).await?;
            commitments.insert("subject".to_owned(), amtsweg_ledger::Commitment::new(&salt, subject.1));
            let entry = amtsweg_ledger::Entry {
                v: 1,
                kind: kind.to_owned(),
                at: at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                actor_role: actor.map(|a| a.1).unwrap_or("system").to_owned(),
                authority: authority.map(str::to_owned),
                subject_kind: subject.0.to_owned(),
                commitments,
            };
            sqlx::query("INSERT INTO ledger_pending (entry, reference) VALUES ($1, $2)")
                .bind(entry.to_bytes())
                .bind(format!("{kind}:{subject_key}"))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        fn hash_of(bytes: Vec<u8>) -> Result<[u8; 32]> {
            bytes.try_into().map_err(|_| StoreError::Corrupt("a ledger hash is not 32 bytes".into()))
        }

        /// Moves up to `max` pending entries into the tree inside `tx` (which holds the
        /// integrator's lock). Returns the size afterwards, how many were taken, and the stored
        /// hashes it read or wrote (the tree's right edge).
        async fn integrate_in(tx: &mut Tx, max: usize) -> Result<(u64, usize, amtsweg_ledger::tree::Known)> {
            use amtsweg_ledger::tree::{self, Known};
            let size: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM ledger_entries").fetch_one(&mut **tx).await?.try_get("n")?;
            let size = size as u64;
            let pending = sqlx::query("SELECT id, entry, reference FROM ledger_pending ORDER BY id LIMIT $1")
                .bind(max as i64)
                .fetch_all(&mut **tx)
                .await?;
            if pending.is_empty() {
                return Ok((size, 0, Known::default()));
            }
            // The stored hashes of the tree so far that the appends read: its right edge.
            let first_new = tree::stored_count(size);
            let mut needed: Vec<u64> = (size..size + pending.len() as u64).flat_map(tree::needed_for_append).filter(|i| *i < first_new).collect();
            needed.sort_unstable();
            needed.dedup();
            let mut known = Known::default();
            for i in needed {
                let row = sqlx::query("SELECT hash FROM ledger_hashes WHERE idx = $1").bind(i as i64).fetch_one(&mut **tx).await?;
                known.0.insert(i, amtsweg_ledger::Hash(hash_of(row.try_get("hash")?)?));
            }
            let mut taken: Vec<i64> = Vec::with_capacity(pending.len());
            let mut entries: Vec<(i64, Vec<u8>, Option<String>)> = Vec::with_capacity(pending.len());
            let mut hashes: Vec<(i64, [u8; 32])> = Vec::with_capacity(pending.len() * 2);
            for (n, row) in pending.iter().enumerate() {
                let index = size + n as u64;
                let entry: Vec<u8> = row.try_get("entry")?;
                taken.push(row.try_get("id")?);
                let stored = tree::append(index, amtsweg_ledger::leaf_hash(&entry), &mut known).map_err(|e| StoreError::Corrupt(format!("ledger: {e}")))?;
                hashes.extend(stored.into_iter().map(|(i, h)| (i as i64, h.0)));
                entries.push((index as i64, entry, row.try_get("reference")?));
            }
            // Many rows per statement: integration is the ledger's hot path.
            for chunk in entries.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_entries (idx, entry, reference) ");
                q.push_values(chunk, |mut b, (i, e, r)| {
                    b.push_bind(*i).push_bind(e.clone()).push_bind(r.clone());
                });
                q.build().execute(&mut **tx).await?;
            }
            for chunk in hashes.chunks(1000) {
                let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger_hashes (idx, hash) ");
                q.push_values(chunk, |mut b, (i, h)| {
                    b.push_bind(*i).push_bind(h.to_vec());
                });
                q.build().execute(&mut **tx).await?;
            }
            // Exactly the rows taken: on PostgreSQL a row with a smaller id may have been
            // committed after the SELECT above (ids are drawn before commit), and must wait
            // for the next round rather than be deleted unseen. (Integers, safe to inline.)
            for chunk in taken.chunks(1000) {
                let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
                sqlx::query(&format!("DELETE FROM ledger_pending WHERE id IN ({})", list.join(","))).execute(&mut **tx).await?;
            }
            Ok((size + pending.len() as u64, pending.len(), known))
        }


        impl $store {
            async fn application_status(&self, citizen: &UserId, id: &ApplicationId) -> Result<ApplicationStatus> {
                let row = sqlx::query("SELECT status FROM applications WHERE id = $1 AND citizen_id = $2")
                    .bind(id.as_str())
                    .bind(citizen.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(r) => map_status(&r.try_get::<String, _>("status")?),
                    None => Err(StoreError::NotFound),
                }
            }

            /// After an update guarded by status found no row: was it missing, or in the wrong state?
            async fn explain_miss(&self, citizen: &UserId, id: &ApplicationId) -> StoreError {
                match self.application_status(citizen, id).await {
                    Ok(current) => StoreError::Conflict { current },
                    Err(e) => e,
                }
            }

            async fn get_application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Option<Application>> {
                let sql = format!("{APPLICATION_SELECT} WHERE a.id = $1 AND a.citizen_id = $2");
                let row = sqlx::query(&sql).bind(id.as_str()).bind(citizen.as_str()).fetch_optional(&self.pool).await?;
                row.as_ref().map(map_application).transpose()
            }

            async fn require_application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Application> {
                self.get_application(citizen, id).await?.ok_or(StoreError::NotFound)
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn migrate(&self) -> Result<()> {
                let migrator = sqlx::migrate::Migrator::new($migrations).await?;
                migrator.run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn put_authority(&self, a: &Authority) -> Result<()> {
                sqlx::query(
                    "INSERT INTO authorities (id, name, short_code, region_key, address) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, short_code = excluded.short_code, \
                     region_key = excluded.region_key, address = excluded.address",
                )
                .bind(a.id.as_str())
                .bind(&a.name)
                .bind(&a.short_code)
                .bind(a.region.as_str())
                .bind(&a.address)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn authorities(&self) -> Result<Vec<Authority>> {
                let sql = format!("{AUTHORITY_SELECT} ORDER BY name");
                sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(map_authority).collect()
            }

            async fn authority(&self, id: &AuthorityId) -> Result<Option<Authority>> {
                let sql = format!("{AUTHORITY_SELECT} WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(&self.pool).await?;
                row.as_ref().map(map_authority).transpose()
            }

            async fn put_service(&self, s: &Service) -> Result<()> {
                let form = serde_json::to_string(&s.form).map_err(|_| corrupt("service form"))?;
                let evidence = serde_json::to_string(&s.evidence).map_err(|_| corrupt("service evidence"))?;
                let decision = serde_json::to_string(&s.decision).map_err(|_| corrupt("service decision rules"))?;
                sqlx::query(
                    "INSERT INTO services (id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, leika_key = excluded.leika_key, \
                     summary = excluded.summary, description = excluded.description, \
                     legal_basis = excluded.legal_basis, form = excluded.form, evidence = excluded.evidence, \
                     decision_rules = excluded.decision_rules, required_level = excluded.required_level",
                )
                .bind(s.id.as_str())
                .bind(&s.name)
                .bind(&s.leika_key)
                .bind(&s.summary)
                .bind(&s.description)
                .bind(&s.legal_basis)
                .bind(form)
                .bind(evidence)
                .bind(decision)
                .bind(s.required_level.map(|l| l.as_str()))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn services(&self) -> Result<Vec<Service>> {
                let sql = format!("{SERVICE_SELECT} ORDER BY name");
                sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(map_service).collect()
            }

            async fn service(&self, id: &ServiceId) -> Result<Option<Service>> {
                let sql = format!("{SERVICE_SELECT} WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(&self.pool).await?;
                row.as_ref().map(map_service).transpose()
            }

            async fn decision_rules(&self, service: &ServiceId, authority: &AuthorityId) -> Result<Option<DecisionRules>> {
                let row = sqlx::query("SELECT rules FROM service_rules WHERE service_id = $1 AND authority_id = $2")
                    .bind(service.as_str())
                    .bind(authority.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(r) => Ok(Some(serde_json::from_str(&r.try_get::<String, _>("rules")?).map_err(|_| corrupt("decision rules"))?)),
                    None => Ok(None),
                }
            }

            async fn put_decision_rules(&self, service: &ServiceId, authority: &AuthorityId, rules: &DecisionRules, actor: &Actor) -> Result<()> {
                let json = serde_json::to_string(rules).map_err(|_| corrupt("decision rules"))?;
                let (_writer, mut tx) = self.begin().await?;
                sqlx::query(
                    "INSERT INTO service_rules (service_id, authority_id, rules) VALUES ($1, $2, $3) \
                     ON CONFLICT (service_id, authority_id) DO UPDATE SET rules = excluded.rules",
                )
                .bind(service.as_str())
                .bind(authority.as_str())
                .bind(json)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, "decision_rules_changed", Some((actor.id.as_str(), actor.role.as_str())), Some(authority.as_str()), ("service", service.as_str())).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn put_responsibility(&self, r: &Responsibility) -> Result<()> {
                sqlx::query(
                    "INSERT INTO responsibilities (service_id, region_key, authority_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (service_id, region_key) DO UPDATE SET authority_id = excluded.authority_id",
                )
                .bind(r.service_id.as_str())
                .bind(r.region.as_str())
                .bind(r.authority_id.as_str())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn responsibilities(&self, service: &ServiceId) -> Result<Vec<Responsibility>> {
                let rows = sqlx::query(
                    "SELECT service_id, region_key, authority_id FROM responsibilities WHERE service_id = $1",
                )
                .bind(service.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(Responsibility {
                            service_id: ServiceId::from_stored(row.try_get("service_id")?),
                            region: RegionKey::parse(&row.try_get::<String, _>("region_key")?)
                                .map_err(|_| corrupt("responsibility region"))?,
                            authority_id: AuthorityId::from_stored(row.try_get("authority_id")?),
                        })
                    })
                    .collect()
            }

            async fn create_user(&self, u: &User) -> Result<()> {
                let person = match &u.person {
                    Some(p) => Some(serde_json::to_string(p).map_err(|_| corrupt("person"))?),
                    None => None,
                };
                sqlx::query(
                    "INSERT INTO users (id, role, display_name, authority_id, person, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(u.id.as_str())
                .bind(u.role.as_str())
                .bind(&u.display_name)
                .bind(u.authority_id.as_ref().map(|a| a.as_str()))
                .bind(person)
                .bind(OffsetDateTime::now_utc())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn user(&self, id: &UserId) -> Result<Option<User>> {
                let sql = format!("{USER_SELECT} WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(&self.pool).await?;
                row.as_ref().map(map_user).transpose()
            }

            async fn users_with_role(&self, role: Role) -> Result<Vec<User>> {
                let sql = format!("{USER_SELECT} WHERE role = $1 ORDER BY display_name");
                sqlx::query(&sql).bind(role.as_str()).fetch_all(&self.pool).await?.iter().map(map_user).collect()
            }

            async fn put_api_token(&self, token_hash: &str, user: &UserId, expires_at: OffsetDateTime) -> Result<()> {
                sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(token_hash)
                    .bind(user.as_str())
                    .bind(OffsetDateTime::now_utc())
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
                let sql = "SELECT u.id, u.role, u.display_name, u.authority_id, u.person FROM api_tokens t \
                           JOIN users u ON u.id = t.user_id \
                           WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2";
                let row = sqlx::query(sql)
                    .bind(token_hash)
                    .bind(OffsetDateTime::now_utc())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(map_user).transpose()
            }

            async fn put_session(&self, s: &Session) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, level, provider_logout) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.id_hash)
                .bind(s.user_id.as_str())
                .bind(&s.csrf_token)
                .bind(OffsetDateTime::now_utc())
                .bind(s.expires_at)
                .bind(s.level.map(|l| l.as_str()))
                .bind(s.provider_logout)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
                let row = sqlx::query(
                    "SELECT id_hash, user_id, csrf_token, created_at, expires_at, level, provider_logout FROM sessions \
                     WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(OffsetDateTime::now_utc())
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    Ok(Session {
                        id_hash: row.try_get("id_hash")?,
                        user_id: UserId::from_stored(row.try_get("user_id")?),
                        csrf_token: row.try_get("csrf_token")?,
                        expires_at: row.try_get("expires_at")?,
                        created_at: row.try_get("created_at")?,
                        level: match row.try_get::<Option<String>, _>("level")? {
                            Some(l) => Some(AssuranceLevel::parse(&l).ok_or_else(|| corrupt("session level"))?),
                            None => None,
                        },
                        provider_logout: row.try_get("provider_logout")?,
                    })
                })
                .transpose()
            }

            async fn touch_session(&self, id_hash: &str, expires_at: OffsetDateTime) -> Result<()> {
                sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id_hash = $2").bind(expires_at).bind(id_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn put_pending_login(&self, p: &PendingLogin) -> Result<()> {
                // Abandoned logins go with the next one.
                sqlx::query("DELETE FROM pending_logins WHERE expires_at <= $1")
                    .bind(OffsetDateTime::now_utc())
                    .execute(&self.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO pending_logins (id_hash, state, nonce, pkce_verifier, level, return_to, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&p.id_hash)
                .bind(&p.state)
                .bind(&p.nonce)
                .bind(&p.pkce_verifier)
                .bind(p.level.as_str())
                .bind(&p.return_to)
                .bind(p.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn take_pending_login(&self, id_hash: &str) -> Result<Option<PendingLogin>> {
                let row = sqlx::query(
                    "DELETE FROM pending_logins WHERE id_hash = $1 \
                     RETURNING id_hash, state, nonce, pkce_verifier, level, return_to, expires_at",
                )
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let login = PendingLogin {
                    id_hash: row.try_get("id_hash")?,
                    state: row.try_get("state")?,
                    nonce: row.try_get("nonce")?,
                    pkce_verifier: row.try_get("pkce_verifier")?,
                    level: AssuranceLevel::parse(&row.try_get::<String, _>("level")?).ok_or_else(|| corrupt("login level"))?,
                    return_to: row.try_get("return_to")?,
                    expires_at: row.try_get("expires_at")?,
                };
                Ok((login.expires_at > OffsetDateTime::now_utc()).then_some(login))
            }

            async fn upsert_citizen_login(&self, issuer: &str, subject: &str, display_name: &str, person: &Person) -> Result<User> {
                let person_json = serde_json::to_string(person).map_err(|_| corrupt("person"))?;
                let (_writer, mut tx) = self.begin().await?;
                let known: Option<String> = sqlx::query_scalar("SELECT user_id FROM external_logins WHERE issuer = $1 AND subject = $2")
                    .bind(issuer)
                    .bind(subject)
                    .fetch_optional(&mut *tx)
                    .await?;
                let id = match known {
                    Some(id) => {
                        sqlx::query("UPDATE users SET display_name = $1, person = $2 WHERE id = $3 AND role = $4")
                            .bind(display_name)
                            .bind(&person_json)
                            .bind(&id)
                            .bind(Role::Citizen.as_str())
                            .execute(&mut *tx)
                            .await?;
                        id
                    }
                    None => {
                        let id = new_id();
                        sqlx::query(
                            "INSERT INTO users (id, role, display_name, authority_id, person, created_at) VALUES ($1, $2, $3, NULL, $4, $5)",
                        )
                        .bind(&id)
                        .bind(Role::Citizen.as_str())
                        .bind(display_name)
                        .bind(&person_json)
                        .bind(OffsetDateTime::now_utc())
                        .execute(&mut *tx)
                        .await?;
                        // Two first logins of the same subject at once: the second waits for
                        // the first and finds the link taken; it starts over and updates.
                        let linked = sqlx::query(
                            "INSERT INTO external_logins (issuer, subject, user_id) VALUES ($1, $2, $3) ON CONFLICT (issuer, subject) DO NOTHING",
                        )
                        .bind(issuer)
                        .bind(subject)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                        if linked.rows_affected() == 0 {
                            tx.rollback().await?;
                            {
                                let _released = _writer;
                            }
                            return Box::pin(self.upsert_citizen_login(issuer, subject, display_name, person)).await;
                        }
                        id
                    }
                };
                let sql = format!("{USER_SELECT} WHERE id = $1");
                let row = sqlx::query(&sql).bind(&id).fetch_one(&mut *tx).await?;
                let user = map_user(&row)?;
                tx.commit().await?;
                Ok(user)
            }

            async fn put_staff_credential(&self, c: &StaffCredential) -> Result<()> {
                sqlx::query(
                    "INSERT INTO staff_credentials (user_id, login, password_hash, totp_secret, failed_attempts, locked_until, last_totp_step) \
                     VALUES ($1, $2, $3, $4, 0, NULL, NULL) \
                     ON CONFLICT (user_id) DO UPDATE SET login = excluded.login, password_hash = excluded.password_hash, \
                     totp_secret = excluded.totp_secret, failed_attempts = 0, locked_until = NULL, last_totp_step = NULL",
                )
                .bind(c.user_id.as_str())
                .bind(&c.login)
                .bind(&c.password_hash)
                .bind(&c.totp_secret)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn staff_credential(&self, login: &str) -> Result<Option<StaffCredential>> {
                let sql = format!("SELECT {STAFF_CREDENTIAL_COLUMNS} FROM staff_credentials WHERE login = $1");
                let row = sqlx::query(&sql).bind(login).fetch_optional(&self.pool).await?;
                row.as_ref().map(map_staff_credential).transpose()
            }

            async fn begin_login_attempt(&self, login: &str, max_attempts: i64, lock_until: OffsetDateTime) -> Result<Option<StaffCredential>> {
                // One statement: the count and the lock cannot be raced (both dialects evaluate
                // the right-hand sides on the row as it was).
                let sql = format!(
                    "UPDATE staff_credentials SET \
                     failed_attempts = CASE WHEN failed_attempts + 1 >= $1 THEN 0 ELSE failed_attempts + 1 END, \
                     locked_until = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE NULL END \
                     WHERE login = $3 AND (locked_until IS NULL OR locked_until <= $4) \
                     RETURNING {STAFF_CREDENTIAL_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(max_attempts)
                    .bind(lock_until)
                    .bind(login)
                    .bind(OffsetDateTime::now_utc())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(map_staff_credential).transpose()
            }

            async fn record_login_success(&self, user: &UserId, totp_step: i64) -> Result<bool> {
                // One statement: two requests with the same code cannot both pass.
                let done = sqlx::query(
                    "UPDATE staff_credentials SET failed_attempts = 0, locked_until = NULL, last_totp_step = $1 \
                     WHERE user_id = $2 AND (last_totp_step IS NULL OR last_totp_step < $1)",
                )
                .bind(totp_step)
                .bind(user.as_str())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_session(&self, id_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_application(&self, citizen: &UserId, service: &ServiceId) -> Result<Application> {
                let id = new_id();
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO applications (id, citizen_id, service_id, status, data, created_at, updated_at) \
                     SELECT $1, $2, id, $3, '{}', $4, $4 FROM services WHERE id = $5",
                )
                .bind(&id)
                .bind(citizen.as_str())
                .bind(ApplicationStatus::Draft.as_str())
                .bind(now)
                .bind(service.as_str())
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                audit(&mut tx, "application_created", Some((citizen.as_str(), "citizen")), None, ("application", &id)).await?;
                tx.commit().await?;
                self.require_application(citizen, &ApplicationId::from_stored(id)).await
            }

            async fn application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Option<Application>> {
                self.get_application(citizen, id).await
            }

            async fn applications(&self, citizen: &UserId) -> Result<Vec<Application>> {
                let sql = format!("{APPLICATION_SELECT} WHERE a.citizen_id = $1 ORDER BY a.created_at DESC, a.id");
                sqlx::query(&sql).bind(citizen.as_str()).fetch_all(&self.pool).await?.iter().map(map_application).collect()
            }

            async fn save_application_data(&self, citizen: &UserId, id: &ApplicationId, data: &FormData) -> Result<Application> {
                let json = serde_json::to_string(data).map_err(|_| corrupt("application data"))?;
                let (_writer, mut tx) = self.begin().await?;
                let updated = sqlx::query(
                    "UPDATE applications SET data = $1, updated_at = $2 WHERE id = $3 AND citizen_id = $4 AND status = $5",
                )
                .bind(json)
                .bind(OffsetDateTime::now_utc())
                .bind(id.as_str())
                .bind(citizen.as_str())
                .bind(ApplicationStatus::Draft.as_str())
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    drop(tx);
                    return Err(self.explain_miss(citizen, id).await);
                }
                audit(&mut tx, "application_data_changed", Some((citizen.as_str(), "citizen")), None, ("application", id.as_str())).await?;
                tx.commit().await?;
                self.require_application(citizen, id).await
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
                let json = serde_json::to_string(data).map_err(|_| corrupt("application data"))?;
                let trace = trace.map(serde_json::to_string).transpose().map_err(|_| corrupt("rule trace"))?;
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let sql = format!(
                    "UPDATE applications SET status = $1, data = $2, submitted_at = $3, updated_at = $3 \
                     WHERE id = $4 AND citizen_id = $5 AND status IN {}",
                    status_sources(ApplicationStatus::Submitted)
                );
                let updated = sqlx::query(&sql)
                    .bind(ApplicationStatus::Submitted.as_str())
                    .bind(json)
                    .bind(now)
                    .bind(id.as_str())
                    .bind(citizen.as_str())
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    drop(tx);
                    return Err(self.explain_miss(citizen, id).await);
                }
                let year = now.year();
                let sequence: i64 = sqlx::query(
                    "INSERT INTO case_counters (authority_id, year, next_value) VALUES ($1, $2, 1) \
                     ON CONFLICT (authority_id, year) DO UPDATE SET next_value = case_counters.next_value + 1 \
                     RETURNING next_value",
                )
                .bind(authority.id.as_str())
                .bind(year)
                .fetch_one(&mut *tx)
                .await?
                .try_get("next_value")?;
                let case_number = CaseNumber::new(&authority.short_code, year, sequence);
                let case_id = new_id();
                sqlx::query(
                    "INSERT INTO cases (id, application_id, authority_id, case_number, created_at, due_at, rule_trace) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&case_id)
                .bind(id.as_str())
                .bind(authority.id.as_str())
                .bind(case_number.as_str())
                .bind(now)
                .bind(now + time::Duration::days(i64::from(processing_days)))
                .bind(trace)
                .execute(&mut *tx)
                .await?;
                let who = Some((citizen.as_str(), "citizen"));
                audit(&mut tx, "application_submitted", who, Some(authority.id.as_str()), ("application", id.as_str())).await?;
                audit(&mut tx, "case_created", who, Some(authority.id.as_str()), ("case", &case_id)).await?;
                tx.commit().await?;
                Ok(CaseRef {
                    id: CaseId::from_stored(case_id),
                    case_number: case_number.as_str().to_owned(),
                    authority_id: authority.id.clone(),
                })
            }

            async fn withdraw_application(&self, citizen: &UserId, id: &ApplicationId) -> Result<Application> {
                let (_writer, mut tx) = self.begin().await?;
                let sql = format!(
                    "UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND citizen_id = $4 AND status IN {}",
                    status_sources(ApplicationStatus::Withdrawn)
                );
                let updated = sqlx::query(&sql)
                    .bind(ApplicationStatus::Withdrawn.as_str())
                    .bind(OffsetDateTime::now_utc())
                    .bind(id.as_str())
                    .bind(citizen.as_str())
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    drop(tx);
                    return Err(self.explain_miss(citizen, id).await);
                }
                audit(&mut tx, "application_withdrawn", Some((citizen.as_str(), "citizen")), None, ("application", id.as_str())).await?;
                tx.commit().await?;
                self.require_application(citizen, id).await
            }

            async fn messages(&self, citizen: &UserId) -> Result<Vec<Message>> {
                sqlx::query(&format!("{MESSAGE_SELECT} WHERE citizen_id = $1 ORDER BY created_at DESC, id"))
                .bind(citizen.as_str())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(map_message)
                .collect()
            }

            async fn read_message(&self, citizen: &UserId, id: &MessageId) -> Result<Option<Message>> {
                sqlx::query("UPDATE mailbox_messages SET read_at = $1 WHERE id = $2 AND citizen_id = $3 AND read_at IS NULL")
                    .bind(OffsetDateTime::now_utc())
                    .bind(id.as_str())
                    .bind(citizen.as_str())
                    .execute(&self.pool)
                    .await?;
                let row = sqlx::query(&format!("{MESSAGE_SELECT} WHERE id = $1 AND citizen_id = $2"))
                .bind(id.as_str())
                .bind(citizen.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(map_message).transpose()
            }

            async fn cases(&self, authority: &AuthorityId, f: &CaseFilter) -> Result<Vec<CaseSummary>> {
                // Conditions with numbered placeholders, bound in the same order below.
                let mut sql = format!("{CASE_SUMMARY_SELECT} WHERE c.authority_id = $1");
                let mut n = 1;
                let mut next = || {
                    n += 1;
                    n
                };
                if f.status.is_some() {
                    sql.push_str(&format!(" AND a.status = ${}", next()));
                }
                if f.service.is_some() {
                    sql.push_str(&format!(" AND a.service_id = ${}", next()));
                }
                match &f.assignee {
                    Some(AssigneeFilter::Nobody) => sql.push_str(" AND c.assignee_id IS NULL"),
                    Some(AssigneeFilter::User(_)) => sql.push_str(&format!(" AND c.assignee_id = ${}", next())),
                    None => {}
                }
                let now_param = if f.overdue {
                    let p = next();
                    sql.push_str(&format!(" AND c.due_at < ${p} AND a.status IN ('submitted', 'in_review')"));
                    Some(p)
                } else {
                    None
                };
                sql.push_str(match f.sort {
                    CaseSort::Newest => " ORDER BY c.created_at DESC, c.id",
                    CaseSort::Oldest => " ORDER BY c.created_at, c.id",
                    CaseSort::Deadline => " ORDER BY c.due_at IS NULL, c.due_at, c.created_at, c.id",
                });
                sql.push_str(&format!(" LIMIT ${}", next()));
                let mut q = sqlx::query(&sql).bind(authority.as_str());
                if let Some(st) = f.status {
                    q = q.bind(st.as_str());
                }
                if let Some(sv) = &f.service {
                    q = q.bind(sv.as_str());
                }
                if let Some(AssigneeFilter::User(u)) = &f.assignee {
                    q = q.bind(u.as_str());
                }
                if now_param.is_some() {
                    q = q.bind(OffsetDateTime::now_utc());
                }
                q = q.bind(f.limit.unwrap_or(500));
                q.fetch_all(&self.pool).await?.iter().map(map_case_summary).collect()
            }

            async fn authority_staff(&self, authority: &AuthorityId) -> Result<Vec<User>> {
                let sql = format!("{USER_SELECT} WHERE authority_id = $1 AND role IN ('caseworker', 'team_lead') ORDER BY display_name, id");
                sqlx::query(&sql).bind(authority.as_str()).fetch_all(&self.pool).await?.iter().map(map_user).collect()
            }

            async fn assign_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, assignee: Option<&UserId>, claim: bool) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                if let Some(a) = assignee {
                    let staff = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1 AND authority_id = $2 AND role IN ('caseworker', 'team_lead')")
                        .bind(a.as_str())
                        .bind(authority.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if staff.is_none() {
                        return Err(StoreError::NotFound);
                    }
                }
                // The condition is part of the update: two claims at once cannot both win.
                let guard = if claim { " AND (assignee_id IS NULL OR assignee_id = $1)" } else { "" };
                let sql = format!("UPDATE cases SET assignee_id = $1 WHERE id = $2 AND authority_id = $3{guard}");
                let updated = sqlx::query(&sql)
                    .bind(assignee.map(|a| a.as_str()))
                    .bind(id.as_str())
                    .bind(authority.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if updated == 0 {
                    let exists = sqlx::query("SELECT 1 AS one FROM cases WHERE id = $1 AND authority_id = $2")
                        .bind(id.as_str())
                        .bind(authority.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    return Err(if exists.is_some() { StoreError::Taken } else { StoreError::NotFound });
                }
                let who = Some((actor.id.as_str(), actor.role.as_str()));
                audit(&mut tx, if assignee.is_some() { "case_assigned" } else { "case_unassigned" }, who, Some(authority.as_str()), ("case", id.as_str())).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn release_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                let updated = sqlx::query("UPDATE cases SET assignee_id = NULL WHERE id = $1 AND authority_id = $2 AND assignee_id = $3")
                    .bind(id.as_str())
                    .bind(authority.as_str())
                    .bind(actor.id.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if updated == 0 {
                    let exists = sqlx::query("SELECT 1 AS one FROM cases WHERE id = $1 AND authority_id = $2")
                        .bind(id.as_str())
                        .bind(authority.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    return Err(if exists.is_some() { StoreError::Taken } else { StoreError::NotFound });
                }
                audit(&mut tx, "case_unassigned", Some((actor.id.as_str(), actor.role.as_str())), Some(authority.as_str()), ("case", id.as_str())).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn open_case(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<Option<CaseFile>> {
                let (_writer, mut tx) = self.begin().await?;
                let sql = format!(
                    "UPDATE applications SET status = $1, updated_at = $2 \
                     WHERE id = (SELECT application_id FROM cases WHERE id = $3 AND authority_id = $4) AND status IN {}",
                    status_sources(ApplicationStatus::InReview)
                );
                let moved = sqlx::query(&sql)
                    .bind(ApplicationStatus::InReview.as_str())
                    .bind(OffsetDateTime::now_utc())
                    .bind(id.as_str())
                    .bind(authority.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let row = sqlx::query(
                    "SELECT c.id, c.case_number, c.authority_id, c.application_id, c.created_at, a.status, a.data, \
                            a.citizen_id, a.service_id, u.person, d.outcome, d.reason, d.decided_at, d.automated, \
                            c.assignee_id, w.display_name AS assignee_name, c.due_at, c.rule_trace \
                     FROM cases c JOIN applications a ON a.id = c.application_id JOIN users u ON u.id = a.citizen_id \
                     LEFT JOIN decisions d ON d.case_id = c.id LEFT JOIN users w ON w.id = c.assignee_id \
                     WHERE c.id = $1 AND c.authority_id = $2",
                )
                .bind(id.as_str())
                .bind(authority.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let who = Some((actor.id.as_str(), actor.role.as_str()));
                if moved > 0 {
                    audit(&mut tx, "case_in_review", who, Some(authority.as_str()), ("case", id.as_str())).await?;
                }
                audit(&mut tx, "case_viewed", who, Some(authority.as_str()), ("case", id.as_str())).await?;
                let service_id = ServiceId::from_stored(row.try_get("service_id")?);
                let sql = format!("{SERVICE_SELECT} WHERE id = $1");
                let service_row = sqlx::query(&sql).bind(service_id.as_str()).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                let data: String = row.try_get("data")?;
                let person: Option<String> = row.try_get("person")?;
                Ok(Some(CaseFile {
                    id: CaseId::from_stored(row.try_get("id")?),
                    case_number: row.try_get("case_number")?,
                    authority_id: AuthorityId::from_stored(row.try_get("authority_id")?),
                    application_id: ApplicationId::from_stored(row.try_get("application_id")?),
                    status: map_status(&row.try_get::<String, _>("status")?)?,
                    service: map_service(&service_row)?,
                    data: serde_json::from_str(&data).map_err(|_| corrupt("application data"))?,
                    applicant_id: UserId::from_stored(row.try_get("citizen_id")?),
                    applicant: match person {
                        Some(p) => Some(serde_json::from_str(&p).map_err(|_| corrupt("person"))?),
                        None => None,
                    },
                    created_at: row.try_get("created_at")?,
                    decision: map_decision(&row)?,
                    assignee_id: row.try_get::<Option<String>, _>("assignee_id")?.map(UserId::from_stored),
                    assignee_name: row.try_get("assignee_name")?,
                    due_at: row.try_get("due_at")?,
                    rule_trace: match row.try_get::<Option<String>, _>("rule_trace")? {
                        Some(t) => Some(serde_json::from_str(&t).map_err(|_| corrupt("rule trace"))?),
                        None => None,
                    },
                }))
            }

            async fn decide(
                &self,
                authority: &AuthorityId,
                id: &CaseId,
                actor: &Actor,
                outcome: Outcome,
                reason: &str,
                message: &NewMessage,
            ) -> Result<Decision> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let sql = format!(
                    "UPDATE applications SET status = $1, updated_at = $2 \
                     WHERE id = (SELECT application_id FROM cases WHERE id = $3 AND authority_id = $4) AND status IN {} \
                     RETURNING id, citizen_id",
                    status_sources(ApplicationStatus::Decided)
                );
                let updated = sqlx::query(&sql)
                    .bind(ApplicationStatus::Decided.as_str())
                    .bind(now)
                    .bind(id.as_str())
                    .bind(authority.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(updated) = updated else {
                    drop(tx);
                    let row = sqlx::query(
                        "SELECT a.status FROM cases c JOIN applications a ON a.id = c.application_id \
                         WHERE c.id = $1 AND c.authority_id = $2",
                    )
                    .bind(id.as_str())
                    .bind(authority.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                    return Err(match row {
                        Some(r) => StoreError::Conflict { current: map_status(&r.try_get::<String, _>("status")?)? },
                        None => StoreError::NotFound,
                    });
                };
                let application_id: String = updated.try_get("id")?;
                let citizen_id: String = updated.try_get("citizen_id")?;
                let message_id = new_id();
                sqlx::query(
                    "INSERT INTO decisions (id, case_id, outcome, reason, decided_by, decided_at, automated, message_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(new_id())
                .bind(id.as_str())
                .bind(outcome.as_str())
                .bind(reason)
                .bind(actor.id.as_str())
                .bind(now)
                .bind(actor.role == Role::System)
                .bind(&message_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&message_id)
                .bind(&citizen_id)
                .bind(&application_id)
                .bind(&message.sender)
                .bind(&message.subject)
                .bind(&message.body)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let who = Some((actor.id.as_str(), actor.role.as_str()));
                audit(&mut tx, "decision_issued", who, Some(authority.as_str()), ("case", id.as_str())).await?;
                audit(&mut tx, "message_delivered", who, Some(authority.as_str()), ("message", &message_id)).await?;
                tx.commit().await?;
                Ok(Decision {
                    case_id: id.clone(),
                    application_id: ApplicationId::from_stored(application_id),
                    outcome,
                    reason: reason.to_owned(),
                    decided_at: now,
                    message_id: MessageId::from_stored(message_id),
                })
            }

            async fn attach_document(&self, authority: &AuthorityId, d: &Document, message: &MessageId) -> Result<Document> {
                let (_writer, mut tx) = self.begin().await?;
                let known = sqlx::query("SELECT 1 AS one FROM cases WHERE id = $1 AND authority_id = $2")
                    .bind(d.case_id.as_str())
                    .bind(authority.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if known.is_none() {
                    return Err(StoreError::NotFound);
                }
                let inserted = sqlx::query(
                    "INSERT INTO documents (id, case_id, kind, media_type, content, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (case_id, kind) DO NOTHING",
                )
                .bind(&d.id)
                .bind(d.case_id.as_str())
                .bind(&d.kind)
                .bind(&d.media_type)
                .bind(d.content.as_slice())
                .bind(&d.sha256)
                .bind(d.created_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let row = sqlx::query("SELECT id, case_id, kind, media_type, content, sha256, created_at FROM documents WHERE case_id = $1 AND kind = $2")
                    .bind(d.case_id.as_str())
                    .bind(&d.kind)
                    .fetch_one(&mut *tx)
                    .await?;
                let stored = map_document(&row)?;
                if inserted > 0 {
                    sqlx::query("UPDATE mailbox_messages SET document_id = $1 WHERE id = $2")
                        .bind(&stored.id)
                        .bind(message.as_str())
                        .execute(&mut *tx)
                        .await?;
                    audit(&mut tx, "document_issued", None, Some(authority.as_str()), ("document", &stored.id)).await?;
                }
                tx.commit().await?;
                Ok(stored)
            }

            async fn undelivered_decisions(&self, before: OffsetDateTime, limit: i64) -> Result<Vec<(AuthorityId, CaseId)>> {
                let rows = sqlx::query(
                    "SELECT c.authority_id, c.id FROM decisions d JOIN cases c ON c.id = d.case_id \
                     LEFT JOIN documents doc ON doc.case_id = c.id AND doc.kind = 'bescheid' \
                     WHERE doc.id IS NULL AND d.message_id IS NOT NULL AND d.bescheid_tries < 5 AND d.decided_at < $1 \
                     ORDER BY d.decided_at LIMIT $2",
                )
                .bind(before)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok((AuthorityId::from_stored(r.try_get("authority_id")?), CaseId::from_stored(r.try_get("id")?)))).collect()
            }

            async fn bescheid_failed(&self, id: &CaseId) -> Result<()> {
                sqlx::query("UPDATE decisions SET bescheid_tries = bescheid_tries + 1 WHERE case_id = $1").bind(id.as_str()).execute(&self.pool).await?;
                Ok(())
            }

            async fn case_document(&self, authority: &AuthorityId, id: &CaseId, kind: &str) -> Result<Option<Document>> {
                let row = sqlx::query(
                    "SELECT d.id, d.case_id, d.kind, d.media_type, d.content, d.sha256, d.created_at FROM documents d \
                     JOIN cases c ON c.id = d.case_id WHERE d.case_id = $1 AND c.authority_id = $2 AND d.kind = $3",
                )
                .bind(id.as_str())
                .bind(authority.as_str())
                .bind(kind)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(map_document).transpose()
            }

            async fn message_document(&self, citizen: &UserId, message: &MessageId) -> Result<Option<Document>> {
                let row = sqlx::query(
                    "SELECT d.id, d.case_id, d.kind, d.media_type, d.content, d.sha256, d.created_at FROM documents d \
                     JOIN mailbox_messages m ON m.document_id = d.id WHERE m.id = $1 AND m.citizen_id = $2",
                )
                .bind(message.as_str())
                .bind(citizen.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(map_document).transpose()
            }

            async fn decision_message(&self, authority: &AuthorityId, id: &CaseId) -> Result<Option<MessageId>> {
                let row = sqlx::query(
                    "SELECT d.message_id FROM decisions d JOIN cases c ON c.id = d.case_id WHERE d.case_id = $1 AND c.authority_id = $2",
                )
                .bind(id.as_str())
                .bind(authority.as_str())
                .fetch_optional(&self.pool)
                .await?;
                Ok(match row {
                    Some(r) => r.try_get::<Option<String>, _>("message_id")?.map(MessageId::from_stored),
                    None => None,
                })
            }

            async fn ask_citizen(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, question: &str, message: &NewMessage) -> Result<InfoRequest> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let row = sqlx::query(
                    "SELECT c.case_number, a.id AS application_id, a.citizen_id, a.status FROM cases c JOIN applications a ON a.id = c.application_id \
                     WHERE c.id = $1 AND c.authority_id = $2",
                )
                .bind(id.as_str())
                .bind(authority.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let status = map_status(&row.try_get::<String, _>("status")?)?;
                if !matches!(status, ApplicationStatus::Submitted | ApplicationStatus::InReview) {
                    return Err(StoreError::Conflict { current: status });
                }
                let request_id = new_id();
                sqlx::query("INSERT INTO info_requests (id, case_id, question, asked_by, asked_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&request_id)
                    .bind(id.as_str())
                    .bind(question)
                    .bind(actor.id.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let message_id = new_id();
                sqlx::query(
                    "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at, info_request_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&message_id)
                .bind(row.try_get::<String, _>("citizen_id")?)
                .bind(row.try_get::<String, _>("application_id")?)
                .bind(&message.sender)
                .bind(&message.subject)
                .bind(&message.body)
                .bind(now)
                .bind(&request_id)
                .execute(&mut *tx)
                .await?;
                let who = Some((actor.id.as_str(), actor.role.as_str()));
                audit(&mut tx, "information_requested", who, Some(authority.as_str()), ("case", id.as_str())).await?;
                audit(&mut tx, "message_delivered", who, Some(authority.as_str()), ("message", &message_id)).await?;
                tx.commit().await?;
                Ok(InfoRequest {
                    id: request_id,
                    case_id: id.clone(),
                    case_number: row.try_get("case_number")?,
                    question: question.to_owned(),
                    asked_at: now,
                    answer: None,
                    answered_at: None,
                })
            }

            async fn info_requests(&self, authority: &AuthorityId, id: &CaseId) -> Result<Vec<InfoRequest>> {
                sqlx::query(
                    "SELECT q.id, q.case_id, c.case_number, q.question, q.asked_at, q.answer, q.answered_at FROM info_requests q \
                     JOIN cases c ON c.id = q.case_id WHERE q.case_id = $1 AND c.authority_id = $2 ORDER BY q.asked_at, q.id",
                )
                .bind(id.as_str())
                .bind(authority.as_str())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(map_info_request)
                .collect()
            }

            async fn citizen_info_request(&self, citizen: &UserId, request: &str) -> Result<Option<InfoRequest>> {
                let row = sqlx::query(
                    "SELECT q.id, q.case_id, c.case_number, q.question, q.asked_at, q.answer, q.answered_at FROM info_requests q \
                     JOIN cases c ON c.id = q.case_id JOIN applications a ON a.id = c.application_id \
                     WHERE q.id = $1 AND a.citizen_id = $2",
                )
                .bind(request)
                .bind(citizen.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(map_info_request).transpose()
            }

            async fn answer_info_request(&self, citizen: &UserId, request: &str, answer: &str) -> Result<InfoRequest> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let updated = sqlx::query(
                    "UPDATE info_requests SET answer = $1, answered_at = $2 WHERE id = $3 AND answered_at IS NULL AND case_id IN \
                     (SELECT c.id FROM cases c JOIN applications a ON a.id = c.application_id \
                      WHERE a.citizen_id = $4 AND a.status IN ('submitted', 'in_review'))",
                )
                .bind(answer)
                .bind(now)
                .bind(request)
                .bind(citizen.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let row = sqlx::query(
                    "SELECT q.id, q.case_id, c.case_number, q.question, q.asked_at, q.answer, q.answered_at, c.authority_id, a.status FROM info_requests q \
                     JOIN cases c ON c.id = q.case_id JOIN applications a ON a.id = c.application_id \
                     WHERE q.id = $1 AND a.citizen_id = $2",
                )
                .bind(request)
                .bind(citizen.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                let q = map_info_request(&row)?;
                if updated == 0 {
                    return Err(if q.answered_at.is_some() { StoreError::Answered } else { StoreError::Conflict { current: map_status(&row.try_get::<String, _>("status")?)? } });
                }
                let authority: String = row.try_get("authority_id")?;
                audit(&mut tx, "information_provided", Some((citizen.as_str(), "citizen")), Some(&authority), ("case", q.case_id.as_str())).await?;
                tx.commit().await?;
                Ok(q)
            }

            async fn add_memo(&self, authority: &AuthorityId, id: &CaseId, actor: &Actor, body: &str) -> Result<Memo> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let known = sqlx::query("SELECT 1 AS one FROM cases WHERE id = $1 AND authority_id = $2")
                    .bind(id.as_str())
                    .bind(authority.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if known.is_none() {
                    return Err(StoreError::NotFound);
                }
                let memo_id = new_id();
                sqlx::query("INSERT INTO memos (id, case_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&memo_id)
                    .bind(id.as_str())
                    .bind(actor.id.as_str())
                    .bind(body)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let name: String = sqlx::query("SELECT display_name FROM users WHERE id = $1").bind(actor.id.as_str()).fetch_one(&mut *tx).await?.try_get("display_name")?;
                audit(&mut tx, "memo_saved", Some((actor.id.as_str(), actor.role.as_str())), Some(authority.as_str()), ("case", id.as_str())).await?;
                tx.commit().await?;
                Ok(Memo { id: memo_id, author_name: name, body: body.to_owned(), created_at: now })
            }

            async fn memos(&self, authority: &AuthorityId, id: &CaseId) -> Result<Vec<Memo>> {
                let rows = sqlx::query(
                    "SELECT m.id, u.display_name, m.body, m.created_at FROM memos m JOIN cases c ON c.id = m.case_id \
                     JOIN users u ON u.id = m.author_id WHERE m.case_id = $1 AND c.authority_id = $2 ORDER BY m.created_at, m.id",
                )
                .bind(id.as_str())
                .bind(authority.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(Memo { id: r.try_get("id")?, author_name: r.try_get("display_name")?, body: r.try_get("body")?, created_at: r.try_get("created_at")? }))
                    .collect()
            }

            async fn add_inquiry(&self, authority: &AuthorityId, citizen: &UserId, question: &str, topic: Option<&str>) -> Result<Inquiry> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let known = sqlx::query("SELECT 1 AS one FROM authorities WHERE id = $1").bind(authority.as_str()).fetch_optional(&mut *tx).await?;
                if known.is_none() {
                    return Err(StoreError::NotFound);
                }
                let id = new_id();
                sqlx::query("INSERT INTO inquiries (id, authority_id, citizen_id, question, topic, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&id)
                    .bind(authority.as_str())
                    .bind(citizen.as_str())
                    .bind(question)
                    .bind(topic)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let name: String = sqlx::query("SELECT display_name FROM users WHERE id = $1").bind(citizen.as_str()).fetch_one(&mut *tx).await?.try_get("display_name")?;
                audit(&mut tx, "inquiry_sent", Some((citizen.as_str(), "citizen")), Some(authority.as_str()), ("inquiry", id.as_str())).await?;
                tx.commit().await?;
                Ok(Inquiry {
                    id,
                    authority_id: authority.clone(),
                    citizen_name: name,
                    question: question.to_owned(),
                    topic: topic.map(str::to_owned),
                    created_at: now,
                    answer: None,
                    answered_at: None,
                })
            }

            async fn answer_inquiry(&self, authority: &AuthorityId, id: &str, actor: &Actor, answer: &str) -> Result<Inquiry> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let row = sqlx::query(
                    "SELECT q.citizen_id, q.question, a.name FROM inquiries q JOIN authorities a ON a.id = q.authority_id \
                     WHERE q.id = $1 AND q.authority_id = $2",
                )
                .bind(id)
                .bind(authority.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
                // Claims the answer first: of two answering at once, one gets `Answered`.
                let claimed = sqlx::query("UPDATE inquiries SET answer = $1, answered_at = $2, answered_by = $3 WHERE id = $4 AND answered_at IS NULL")
                    .bind(answer)
                    .bind(now)
                    .bind(actor.id.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if claimed.rows_affected() == 0 {
                    return Err(StoreError::Answered);
                }
                let citizen: String = row.try_get("citizen_id")?;
                let question: String = row.try_get("question")?;
                let sender: String = row.try_get("name")?;
                sqlx::query(
                    "INSERT INTO mailbox_messages (id, citizen_id, application_id, sender, subject, body, created_at) VALUES ($1, $2, NULL, $3, $4, $5, $6)",
                )
                .bind(new_id())
                .bind(&citizen)
                .bind(&sender)
                .bind("Antwort auf Ihre Frage")
                .bind(format!("Ihre Frage:\n{question}\n\nAntwort:\n{answer}"))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, "inquiry_answered", Some((actor.id.as_str(), actor.role.as_str())), Some(authority.as_str()), ("inquiry", id)).await?;
                tx.commit().await?;
                self.inquiries(authority).await?.into_iter().find(|q| q.id == id).ok_or(StoreError::NotFound)
            }

            async fn inquiries(&self, authority: &AuthorityId) -> Result<Vec<Inquiry>> {
                let rows = sqlx::query(
                    "SELECT q.id, q.authority_id, u.display_name, q.question, q.topic, q.created_at, q.answer, q.answered_at FROM inquiries q \
                     JOIN users u ON u.id = q.citizen_id WHERE q.authority_id = $1 ORDER BY q.created_at DESC, q.id",
                )
                .bind(authority.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Inquiry {
                            id: r.try_get("id")?,
                            authority_id: AuthorityId::from_stored(r.try_get("authority_id")?),
                            citizen_name: r.try_get("display_name")?,
                            question: r.try_get("question")?,
                            topic: r.try_get("topic")?,
                            created_at: r.try_get("created_at")?,
                            answer: r.try_get("answer")?,
                            answered_at: r.try_get("answered_at")?,
                        })
                    })
                    .collect()
            }

            async fn backlog(&self) -> Result<Vec<(String, i64, i64)>> {
                let rows = sqlx::query(
                    "SELECT c.authority_id, COUNT(*) AS open, \
                            SUM(CASE WHEN c.due_at < $1 THEN 1 ELSE 0 END) AS overdue \
                     FROM cases c JOIN applications a ON a.id = c.application_id \
                     WHERE a.status IN ('submitted', 'in_review') GROUP BY c.authority_id ORDER BY c.authority_id",
                )
                .bind(OffsetDateTime::now_utc())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok((r.try_get("authority_id")?, r.try_get("open")?, r.try_get::<Option<i64>, _>("overdue")?.unwrap_or(0)))).collect()
            }

            async fn case_timings(&self, authority: &AuthorityId) -> Result<Vec<CaseTiming>> {
                let rows = sqlx::query(
                    "SELECT a.service_id, s.name AS service_name, a.status, c.created_at, c.due_at, d.decided_at, d.automated \
                     FROM cases c JOIN applications a ON a.id = c.application_id JOIN services s ON s.id = a.service_id \
                     LEFT JOIN decisions d ON d.case_id = c.id WHERE c.authority_id = $1",
                )
                .bind(authority.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(CaseTiming {
                            service_id: ServiceId::from_stored(r.try_get("service_id")?),
                            service_name: r.try_get("service_name")?,
                            status: map_status(&r.try_get::<String, _>("status")?)?,
                            created_at: r.try_get("created_at")?,
                            due_at: r.try_get("due_at")?,
                            decided_at: r.try_get("decided_at")?,
                            automated: r.try_get::<Option<bool>, _>("automated")?.unwrap_or(false),
                        })
                    })
                    .collect()
            }

            async fn delete_expired_client_tokens(&self, before: OffsetDateTime) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM client_tokens WHERE expires_at < $1").bind(before).execute(&self.pool).await?.rows_affected())
            }

            async fn create_api_client(&self, authority: &AuthorityId, name: &str, secret_hash: &str, actor: Option<&Actor>) -> Result<ApiClient> {
                let (_writer, mut tx) = self.begin().await?;
                let id = new_id();
                sqlx::query("INSERT INTO api_clients (id, authority_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&id)
                    .bind(authority.as_str())
                    .bind(name)
                    .bind(secret_hash)
                    .bind(OffsetDateTime::now_utc())
                    .execute(&mut *tx)
                    .await?;
                audit(&mut tx, "api_client_created", actor.map(|a| (a.id.as_str(), a.role.as_str())), Some(authority.as_str()), ("api_client", &id)).await?;
                tx.commit().await?;
                Ok(ApiClient { id, authority_id: authority.clone(), name: name.to_owned() })
            }

            async fn api_client_by_secret(&self, id: &str, secret_hash: &str) -> Result<Option<ApiClient>> {
                let row = sqlx::query("SELECT id, authority_id, name FROM api_clients WHERE id = $1 AND secret_hash = $2 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(secret_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(map_client).transpose()
            }

            async fn api_clients(&self, authority: &AuthorityId) -> Result<Vec<ApiClient>> {
                sqlx::query("SELECT id, authority_id, name FROM api_clients WHERE authority_id = $1 AND revoked_at IS NULL ORDER BY name, id")
                    .bind(authority.as_str())
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(map_client)
                    .collect()
            }

            async fn revoke_api_client(&self, authority: &AuthorityId, id: &str, actor: &Actor) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                let updated = sqlx::query("UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND authority_id = $3 AND revoked_at IS NULL")
                    .bind(OffsetDateTime::now_utc())
                    .bind(id)
                    .bind(authority.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if updated == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM client_tokens WHERE client_id = $1").bind(id).execute(&mut *tx).await?;
                audit(&mut tx, "api_client_revoked", Some((actor.id.as_str(), actor.role.as_str())), Some(authority.as_str()), ("api_client", id)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn put_client_token(&self, token_hash: &str, client: &str, expires_at: OffsetDateTime) -> Result<()> {
                sqlx::query("INSERT INTO client_tokens (token_hash, client_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(token_hash)
                    .bind(client)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn api_client_by_token(&self, token_hash: &str) -> Result<Option<ApiClient>> {
                let row = sqlx::query(
                    "SELECT k.id, k.authority_id, k.name FROM client_tokens t JOIN api_clients k ON k.id = t.client_id \
                     WHERE t.token_hash = $1 AND t.expires_at > $2 AND k.revoked_at IS NULL",
                )
                .bind(token_hash)
                .bind(OffsetDateTime::now_utc())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(map_client).transpose()
            }

            async fn client_new_cases(&self, client: &ApiClient, limit: i64) -> Result<Vec<CaseSummary>> {
                let sql = format!(
                    "{CASE_SUMMARY_SELECT} WHERE c.authority_id = $1 AND a.status IN ('submitted', 'in_review') AND NOT EXISTS \
                     (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.client_id = $2 AND e.kind = 'received') \
                     ORDER BY c.created_at, c.id LIMIT $3"
                );
                sqlx::query(&sql)
                    .bind(client.authority_id.as_str())
                    .bind(&client.id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(map_case_summary)
                    .collect()
            }

            async fn post_case_event(&self, client: &ApiClient, id: &CaseId, key: &str, kind: &str, note: &str) -> Result<(CaseEvent, bool)> {
                let now = OffsetDateTime::now_utc();
                let (_writer, mut tx) = self.begin().await?;
                let known = sqlx::query("SELECT application_id FROM cases WHERE id = $1 AND authority_id = $2")
                    .bind(id.as_str())
                    .bind(client.authority_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let inserted = sqlx::query(
                    "INSERT INTO case_events (id, case_id, client_id, idempotency_key, kind, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (client_id, idempotency_key) DO NOTHING",
                )
                .bind(new_id())
                .bind(id.as_str())
                .bind(&client.id)
                .bind(key)
                .bind(kind)
                .bind(note)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let row = sqlx::query("SELECT id, case_id, kind, note, at FROM case_events WHERE client_id = $1 AND idempotency_key = $2")
                    .bind(&client.id)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                let event = map_case_event(&row)?;
                if inserted == 0 {
                    if event.case_id != *id || event.kind != kind || event.note != note {
                        return Err(StoreError::KeyReused);
                    }
                    return Ok((event, false));
                }
                if kind == "received" {
                    let sql = format!(
                        "UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND status IN {}",
                        status_sources(ApplicationStatus::InReview)
                    );
                    sqlx::query(&sql)
                        .bind(ApplicationStatus::InReview.as_str())
                        .bind(now)
                        .bind(known.try_get::<String, _>("application_id")?)
                        .execute(&mut *tx)
                        .await?;
                }
                audit(&mut tx, &format!("procedure_{kind}"), None, Some(client.authority_id.as_str()), ("case", id.as_str())).await?;
                tx.commit().await?;
                Ok((event, true))
            }

            async fn application_events(&self, citizen: &UserId, id: &ApplicationId) -> Result<Vec<CaseEvent>> {
                sqlx::query(
                    "SELECT e.id, e.case_id, e.kind, e.note, e.at FROM case_events e JOIN cases c ON c.id = e.case_id \
                     JOIN applications a ON a.id = c.application_id WHERE a.id = $1 AND a.citizen_id = $2 ORDER BY e.at, e.id",
                )
                .bind(id.as_str())
                .bind(citizen.as_str())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(map_case_event)
                .collect()
            }

            async fn record_transfer(&self, t: &Transfer) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                sqlx::query(
                    "INSERT INTO transfers (id, citizen_id, at, authority_id, authority_name, register, evidence_type, procedure, \
                     purpose, legal_basis, idnr_used, consent_ref, outcome, request_hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&t.id)
                .bind(t.citizen_id.as_str())
                .bind(t.at)
                .bind(&t.authority_id)
                .bind(&t.authority_name)
                .bind(&t.register)
                .bind(&t.evidence_type)
                .bind(&t.procedure)
                .bind(&t.purpose)
                .bind(&t.legal_basis)
                .bind(t.idnr_used)
                .bind(&t.consent_ref)
                .bind(&t.outcome)
                .bind(&t.request_hash)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, "evidence_requested", None, Some(&t.authority_id), ("transfer", &t.id)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn transfers(&self, citizen: &UserId) -> Result<Vec<Transfer>> {
                let sql = format!("{TRANSFER_SELECT} WHERE citizen_id = $1 ORDER BY at DESC, id");
                sqlx::query(&sql).bind(citizen.as_str()).fetch_all(&self.pool).await?.iter().map(map_transfer).collect()
            }

            async fn authority_transfers(&self, authority: &AuthorityId, limit: i64) -> Result<Vec<Transfer>> {
                let sql = format!("{TRANSFER_SELECT} WHERE authority_id = $1 ORDER BY at DESC, id LIMIT $2");
                sqlx::query(&sql).bind(authority.as_str()).bind(limit).fetch_all(&self.pool).await?.iter().map(map_transfer).collect()
            }

            async fn delete_transfers_before(&self, before: OffsetDateTime) -> Result<u64> {
                let (_writer, mut tx) = self.begin().await?;
                // The ledger keeps its entries (the tree must stay verifiable) but loses what led
                // from them to these transfers: their salts and the references beside the tree.
                sqlx::query("DELETE FROM ledger_salts WHERE subject IN (SELECT 'transfer:' || id FROM transfers WHERE at < $1)")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                for table in ["ledger_entries", "ledger_pending"] {
                    sqlx::query(&format!(
                        "UPDATE {table} SET reference = NULL WHERE reference IN (SELECT 'evidence_requested:transfer:' || id FROM transfers WHERE at < $1)"
                    ))
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                }
                let n = sqlx::query("DELETE FROM transfers WHERE at < $1").bind(before).execute(&mut *tx).await?.rows_affected();
                if n > 0 {
                    audit(&mut tx, "data_deleted", None, None, ("transfers", &uuid::Uuid::new_v4().to_string())).await?;
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn attach_evidence(&self, citizen: &UserId, e: &EvidenceRecord) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO evidence (id, application_id, citizen_id, evidence_type, source, status, register, media_type, document, transfer_id, created_at) \
                     SELECT $1, id, citizen_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM applications WHERE id = $10 AND citizen_id = $11",
                )
                .bind(&e.id)
                .bind(&e.evidence_type)
                .bind(&e.source)
                .bind(&e.status)
                .bind(&e.register)
                .bind(&e.media_type)
                .bind(&e.document)
                .bind(&e.transfer_id)
                .bind(e.created_at)
                .bind(e.application_id.as_str())
                .bind(citizen.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    return Err(StoreError::NotFound);
                }
                audit(&mut tx, "evidence_received", Some((citizen.as_str(), "citizen")), None, ("application", e.application_id.as_str())).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn evidence(&self, citizen: &UserId, application: &ApplicationId) -> Result<Vec<EvidenceRecord>> {
                let rows = sqlx::query(
                    "SELECT id, application_id, evidence_type, source, status, register, media_type, document, transfer_id, created_at \
                     FROM evidence WHERE application_id = $1 AND citizen_id = $2 ORDER BY created_at, id",
                )
                .bind(application.as_str())
                .bind(citizen.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(map_evidence).collect()
            }

            async fn case_evidence(&self, authority: &AuthorityId, case: &CaseId) -> Result<Vec<EvidenceRecord>> {
                let rows = sqlx::query(
                    "SELECT e.id, e.application_id, e.evidence_type, e.source, e.status, e.register, e.media_type, e.document, e.transfer_id, e.created_at \
                     FROM evidence e JOIN cases c ON c.application_id = e.application_id \
                     WHERE c.id = $1 AND c.authority_id = $2 AND e.status = 'attached' ORDER BY e.created_at, e.id",
                )
                .bind(case.as_str())
                .bind(authority.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(map_evidence).collect()
            }

            async fn settle_preview(&self, citizen: &UserId, application: &ApplicationId, evidence_id: &str, accept: bool) -> Result<EvidenceRecord> {
                let (_writer, mut tx) = self.begin().await?;
                let (status, document) = if accept { ("attached", None) } else { ("discarded", Some("{}")) };
                let updated = sqlx::query(
                    "UPDATE evidence SET status = $1, document = COALESCE($2, document) \
                     WHERE id = $3 AND application_id = $4 AND citizen_id = $5 AND status = 'preview'",
                )
                .bind(status)
                .bind(document)
                .bind(evidence_id)
                .bind(application.as_str())
                .bind(citizen.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    drop(tx);
                    let exists = self.evidence(citizen, application).await?.into_iter().any(|e| e.id == evidence_id);
                    return Err(if exists { StoreError::PreviewSettled } else { StoreError::NotFound });
                }
                let kind = if accept { "evidence_accepted" } else { "evidence_discarded" };
                audit(&mut tx, kind, Some((citizen.as_str(), "citizen")), None, ("application", application.as_str())).await?;
                tx.commit().await?;
                self.evidence(citizen, application).await?.into_iter().find(|e| e.id == evidence_id).ok_or(StoreError::NotFound)
            }

            async fn put_fim_schema(&self, r: &FimSchemaRecord) -> Result<bool> {
                let (_writer, mut tx) = self.begin().await?;
                let existing = sqlx::query("SELECT sha256 FROM fim_schemas WHERE id = $1 AND version = $2")
                    .bind(&r.id)
                    .bind(&r.version)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    let sha: String = row.try_get("sha256")?;
                    return if sha == r.sha256 { Ok(false) } else { Err(StoreError::SchemaConflict { existing: sha }) };
                }
                sqlx::query(
                    "INSERT INTO fim_schemas (id, version, sha256, xdf_version, name, content, rules, service_id, imported_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&r.id)
                .bind(&r.version)
                .bind(&r.sha256)
                .bind(&r.xdf_version)
                .bind(&r.name)
                .bind(&r.content)
                .bind(&r.rules)
                .bind(&r.service_id)
                .bind(OffsetDateTime::now_utc())
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, "fim_schema_imported", None, None, ("fim_schema", &format!("{}:{}", r.id, r.version))).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn fim_schema(&self, id: &str, version: &str) -> Result<Option<FimSchemaRecord>> {
                let row = sqlx::query(
                    "SELECT id, version, sha256, xdf_version, name, content, rules, service_id FROM fim_schemas WHERE id = $1 AND version = $2",
                )
                .bind(id)
                .bind(version)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(FimSchemaRecord {
                        id: r.try_get("id")?,
                        version: r.try_get("version")?,
                        sha256: r.try_get("sha256")?,
                        xdf_version: r.try_get("xdf_version")?,
                        name: r.try_get("name")?,
                        content: r.try_get("content")?,
                        rules: r.try_get("rules")?,
                        service_id: r.try_get("service_id")?,
                    })
                })
                .transpose()
            }

            async fn record_action(&self, kind: &str, actor: Option<(&str, &str)>, authority: Option<&str>, subject: (&str, &str)) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                audit(&mut tx, kind, actor, authority, subject).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn ledger_integrate(&self, max: usize) -> Result<u64> {
                let (_writer, mut tx) = self.begin().await?;
                Self::lock_ledger(&mut tx).await?;
                let (size, taken, _) = integrate_in(&mut tx, max).await?;
                if taken > 0 {
                    tx.commit().await?;
                }
                Ok(size)
            }

            async fn ledger_integrate_signed(&self, max: usize, sign: &(dyn Fn(u64, [u8; 32]) -> String + Send + Sync)) -> Result<Option<(u64, String, bool)>> {
                use amtsweg_ledger::tree;
                let (_writer, mut tx) = self.begin().await?;
                Self::lock_ledger(&mut tx).await?;
                let (size, taken, mut known) = integrate_in(&mut tx, max).await?;
                if taken == 0 {
                    return Ok(None);
                }
                // The root's subtrees lie on the right edge; read any the appends did not touch.
                for i in tree::needed_for_root(size) {
                    if !known.0.contains_key(&i) {
                        let row = sqlx::query("SELECT hash FROM ledger_hashes WHERE idx = $1").bind(i as i64).fetch_one(&mut *tx).await?;
                        known.0.insert(i, amtsweg_ledger::Hash(hash_of(row.try_get("hash")?)?));
                    }
                }
                let root = tree::root(size, &known).map_err(|e| StoreError::Corrupt(format!("ledger: {e}")))?;
                let note = sign(size, root.0);
                sqlx::query("INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING")
                    .bind(size as i64)
                    .bind(&note)
                    .bind(OffsetDateTime::now_utc())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Some((size, note, taken == max)))
            }

            async fn ledger_size(&self) -> Result<u64> {
                let n: i64 = sqlx::query("SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM ledger_entries").fetch_one(&self.pool).await?.try_get("n")?;
                Ok(n as u64)
            }

            async fn ledger_pending(&self) -> Result<u64> {
                let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ledger_pending").fetch_one(&self.pool).await?.try_get("n")?;
                Ok(n as u64)
            }

            async fn ledger_hashes(&self, indexes: &[u64]) -> Result<Vec<(u64, [u8; 32])>> {
                // One statement per 500 indexes (integers, safe to inline): a proof reads a few
                // dozen at most.
                let mut out = Vec::with_capacity(indexes.len());
                for chunk in indexes.chunks(500) {
                    let list: Vec<String> = chunk.iter().map(|i| (*i as i64).to_string()).collect();
                    let sql = format!("SELECT idx, hash FROM ledger_hashes WHERE idx IN ({}) ORDER BY idx", list.join(","));
                    for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                        out.push((row.try_get::<i64, _>("idx")? as u64, hash_of(row.try_get("hash")?)?));
                    }
                }
                Ok(out)
            }

            async fn ledger_hash_range(&self, from: u64, to: u64) -> Result<Vec<(u64, [u8; 32])>> {
                let rows = sqlx::query("SELECT idx, hash FROM ledger_hashes WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                    .bind(from as i64)
                    .bind(to as i64)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get::<i64, _>("idx")? as u64, hash_of(r.try_get("hash")?)?))).collect()
            }

            async fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
                let rows = sqlx::query("SELECT idx, entry FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                    .bind(from as i64)
                    .bind(to as i64)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| Ok((r.try_get::<i64, _>("idx")? as u64, r.try_get("entry")?))).collect()
            }

            async fn ledger_index_of(&self, reference: &str) -> Result<Option<u64>> {
                let row = sqlx::query("SELECT idx FROM ledger_entries WHERE reference = $1 ORDER BY idx LIMIT 1").bind(reference).fetch_optional(&self.pool).await?;
                Ok(match row {
                    Some(r) => Some(r.try_get::<i64, _>("idx")? as u64),
                    None => None,
                })
            }

            async fn ledger_add_checkpoint(&self, size: u64, note: &str) -> Result<()> {
                let (_writer, mut tx) = self.begin().await?;
                sqlx::query("INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING")
                    .bind(size as i64)
                    .bind(note)
                    .bind(OffsetDateTime::now_utc())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn ledger_latest_checkpoint(&self) -> Result<Option<(u64, String)>> {
                let row = sqlx::query("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(&self.pool).await?;
                Ok(match row {
                    Some(r) => Some((r.try_get::<i64, _>("size")? as u64, r.try_get("note")?)),
                    None => None,
                })
            }

            async fn ledger_has_checkpoint(&self, size: u64) -> Result<bool> {
                Ok(sqlx::query("SELECT 1 FROM ledger_checkpoints WHERE size = $1").bind(size as i64).fetch_optional(&self.pool).await?.is_some())
            }

            async fn ledger_checkpoints(&self) -> Result<Vec<(u64, String)>> {
                let rows = sqlx::query("SELECT size, note FROM ledger_checkpoints ORDER BY size").fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get::<i64, _>("size")? as u64, r.try_get("note")?))).collect()
            }

            async fn ledger_has_salt(&self, subject: &str) -> Result<bool> {
                Ok(sqlx::query("SELECT 1 FROM ledger_salts WHERE subject = $1").bind(subject).fetch_optional(&self.pool).await?.is_some())
            }

            async fn audit_trail(&self, subject_id: &str) -> Result<Vec<AuditEvent>> {
                let sql = format!("{AUDIT_SELECT} WHERE subject_id = $1 ORDER BY seq");
                sqlx::query(&sql).bind(subject_id).fetch_all(&self.pool).await?.iter().map(map_audit).collect()
            }

            async fn authority_audit(&self, authority: &AuthorityId, limit: i64) -> Result<Vec<AuditEvent>> {
                let sql = format!("{AUDIT_SELECT} WHERE authority_id = $1 ORDER BY seq DESC LIMIT $2");
                sqlx::query(&sql).bind(authority.as_str()).bind(limit).fetch_all(&self.pool).await?.iter().map(map_audit).collect()
            }

            async fn audit_count(&self) -> Result<i64> {
                Ok(sqlx::query("SELECT COUNT(*) AS n FROM audit_events").fetch_one(&self.pool).await?.try_get("n")?)
            }
        }
    };
}

pub(crate) use shared_store_impl;
