//! The audit trail: every state change appends an event in its own transaction, and with it a
//! pending ledger entry (kind, time, role, authority, and salted commitments to the actor and
//! the subject; see `crate::ledger`). Read back per subject, per authority, or counted.

use crate::sql::{Dialect, SqlStore, Write, args, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::{AuditKind, AuthorityId, LedgerRef};
use amtsweg_domain::records::AuditEvent;
use std::collections::BTreeMap;
use time::OffsetDateTime;

macro_rules! audit_select {
    () => {
        "SELECT e.seq, e.at, e.kind, e.actor_id, e.actor_role, u.display_name AS actor_name, e.authority_id, e.subject_kind, e.subject_id \
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id"
    };
}
/// The trail of one subject as one authority may see it: its own events and the platform's
/// (those of no authority, such as the citizen's own steps).
const TRAIL: &str = concat!(audit_select!(), " WHERE e.subject_id = $1 AND (e.authority_id = $2 OR e.authority_id IS NULL) ORDER BY e.seq");
const AUTHORITY_AUDIT: &str = concat!(audit_select!(), " WHERE e.authority_id = $1 ORDER BY e.seq DESC LIMIT $2");
/// The trail of a citizen's application: its own events and those of its case.
const APPLICATION_TRAIL: &str = concat!(
    audit_select!(),
    " WHERE e.subject_id IN (SELECT a.id FROM applications a WHERE a.id = $1 AND a.citizen_id = $2 \
       UNION SELECT c.id FROM cases c JOIN applications a ON a.id = c.application_id WHERE a.id = $1 AND a.citizen_id = $2) \
       AND e.subject_kind IN ('application', 'case') ORDER BY e.seq"
);
const COUNT: &str = "SELECT COUNT(*) AS n FROM audit_events";
const APPEND: &str = "INSERT INTO audit_events (at, kind, actor_id, actor_role, authority_id, subject_kind, subject_id) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7)";
const APPEND_PENDING: &str = "INSERT INTO ledger_pending (entry, reference) VALUES ($1, $2)";
const SALT: &str = "SELECT salt FROM ledger_salts WHERE subject = $1";
const SALTS_OF_ONE: &str = "SELECT subject, salt FROM ledger_salts WHERE subject = $1";
const SALTS_OF_TWO: &str = "SELECT subject, salt FROM ledger_salts WHERE subject IN ($1, $2)";
const NEW_SALT: &str = "INSERT INTO ledger_salts (subject, salt) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING RETURNING salt";

row!(AuditRow {
    seq: i64,
    at: OffsetDateTime,
    kind: String,
    actor_id: Option<String>,
    actor_role: String,
    actor_name: Option<String>,
    authority_id: Option<String>,
    subject_kind: String,
    subject_id: String,
});

impl AuditRow {
    fn into_domain(self) -> AuditEvent {
        AuditEvent {
            seq: self.seq,
            at: self.at,
            // A kind this version does not know (an older or newer one) is shown as "other",
            // not refused: the trail stays readable in a rolling update.
            kind: AuditKind::parse(&self.kind).unwrap_or(AuditKind::Other),
            actor_id: self.actor_id,
            actor_role: self.actor_role,
            actor_name: self.actor_name,
            authority_id: self.authority_id,
            subject_kind: self.subject_kind,
            subject_id: self.subject_id,
        }
    }
}

/// The actor as the audit trail names it: id and role.
pub(crate) fn who(actor: &Actor) -> Option<(&str, &str)> {
    Some((actor.id.as_str(), actor.role.as_str()))
}

/// Appends one audit event inside the caller's transaction, and its ledger entry: kind,
/// time, role and authority, and salted commitments to the actor and the subject.
pub(crate) async fn audit<DB: Dialect>(
    tx: &mut Write<DB>,
    kind: AuditKind,
    actor: Option<(&str, &str)>,
    authority: Option<&str>,
    subject: (&str, &str),
) -> Result<()> {
    let at = OffsetDateTime::now_utc();
    let role = actor.map(|a| a.1).unwrap_or("system");
    tx.execute(APPEND, args![at, kind.as_str(), actor.map(|a| a.0), role, authority, subject.0, subject.1]).await?;
    let mut commitments = BTreeMap::new();
    let subject_key = format!("{}:{}", subject.0, subject.1);
    let actor_key = actor.map(|(actor_id, _)| format!("user:{actor_id}"));
    let mut salts = salts(tx, &subject_key, actor_key.as_deref()).await?;
    if let (Some((actor_id, _)), Some(salt)) = (actor, salts.1.take()) {
        commitments.insert("actor".to_owned(), amtsweg_ledger::Commitment::new(&salt, actor_id));
    }
    commitments.insert("subject".to_owned(), amtsweg_ledger::Commitment::new(&salts.0, subject.1));
    let entry = amtsweg_ledger::Entry {
        v: 1,
        kind: kind.as_str().to_owned(),
        at: at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        actor_role: role.to_owned(),
        authority: authority.map(str::to_owned),
        subject_kind: subject.0.to_owned(),
        commitments,
    };
    tx.execute(APPEND_PENDING, args![entry.to_bytes(), LedgerRef::new(kind, subject.0, subject.1).as_str()]).await?;
    Ok(())
}

/// The salts of a subject's and an actor's commitments, each made on first use: one statement
/// where both exist already (mostly: a subject acts or is acted on many times), one more for
/// each made.
async fn salts<DB: Dialect>(tx: &mut Write<DB>, subject: &str, actor: Option<&str>) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let found: Vec<(String, Vec<u8>)> = match actor {
        Some(actor) => tx.all(SALTS_OF_TWO, args![subject, actor]).await?,
        None => tx.all(SALTS_OF_ONE, args![subject]).await?,
    };
    let mut get = async |key: &str| -> Result<Vec<u8>> {
        if let Some((_, salt)) = found.iter().find(|(k, _)| k == key) {
            return Ok(salt.clone());
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|_| StoreError::Corrupt("no random source".into()))?;
        // Made by this statement, or (a concurrent first use) by another: then read it.
        match tx.optional::<(Vec<u8>,)>(NEW_SALT, args![key, fresh.as_slice()]).await? {
            Some((salt,)) => Ok(salt),
            None => Ok(tx.one::<(Vec<u8>,)>(SALT, args![key]).await?.0),
        }
    };
    let subject_salt = get(subject).await?;
    let actor_salt = match actor {
        Some(actor) => Some(get(actor).await?),
        None => None,
    };
    Ok((subject_salt, actor_salt))
}

pub(crate) async fn record_action<DB: Dialect>(
    store: &SqlStore<DB>,
    kind: AuditKind,
    actor: Option<(&str, &str)>,
    authority: Option<&str>,
    subject: (&str, &str),
) -> Result<()> {
    let mut tx = store.write().await?;
    audit(&mut tx, kind, actor, authority, subject).await?;
    tx.commit().await
}

pub(crate) async fn audit_trail<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, subject_id: &str) -> Result<Vec<AuditEvent>> {
    Ok(store.all::<AuditRow>(TRAIL, args![subject_id, authority.as_str()]).await?.into_iter().map(AuditRow::into_domain).collect())
}

pub(crate) async fn application_trail<DB: Dialect>(store: &SqlStore<DB>, citizen: &amtsweg_domain::UserId, application: &amtsweg_domain::ApplicationId) -> Result<Vec<AuditEvent>> {
    let rows = store.all::<AuditRow>(APPLICATION_TRAIL, args![application.as_str(), citizen.as_str()]).await?;
    Ok(rows.into_iter().map(AuditRow::into_domain).collect())
}

pub(crate) async fn authority_audit<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, limit: i64) -> Result<Vec<AuditEvent>> {
    let rows = store.all::<AuditRow>(AUTHORITY_AUDIT, args![authority.as_str(), limit]).await?;
    Ok(rows.into_iter().map(AuditRow::into_domain).collect())
}

pub(crate) async fn audit_count<DB: Dialect>(store: &SqlStore<DB>) -> Result<i64> {
    Ok(store.one::<(i64,)>(COUNT, &[]).await?.0)
}
