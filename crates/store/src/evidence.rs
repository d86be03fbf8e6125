//! Evidence and the transfer log: every exchange with a register is logged for the
//! citizen's Datenschutzcockpit (and the authority's data protection officer) and deleted
//! after the retention period; evidence is attached to an application, or held for the
//! citizen's preview until accepted or discarded.

use amtsweg_domain::AuditKind;
use crate::audit::audit;
use crate::sql::{Dialect, SqlStore, args, row};
use crate::{Result, StoreError};
use amtsweg_domain::records::{EvidenceRecord, Transfer};
use amtsweg_domain::{ApplicationId, AuthorityId, CaseId, UserId};
use time::OffsetDateTime;

// --- the transfer log ------------------------------------------------------------------------

macro_rules! transfer_select {
    () => {
        "SELECT id, citizen_id, at, authority_id, authority_name, register, evidence_type, procedure, purpose, \
         legal_basis, idnr_used, consent_ref, outcome, request_hash FROM transfers"
    };
}
const TRANSFERS: &str = concat!(transfer_select!(), " WHERE citizen_id = $1 ORDER BY at DESC, id");
const AUTHORITY_TRANSFERS: &str = concat!(transfer_select!(), " WHERE authority_id = $1 ORDER BY at DESC, id LIMIT $2");
const RECORD_TRANSFER: &str = "INSERT INTO transfers (id, citizen_id, at, authority_id, authority_name, register, evidence_type, procedure, \
     purpose, legal_basis, idnr_used, consent_ref, outcome, request_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
/// The ledger keeps its entries (the tree must stay verifiable) but loses what led from them
/// to the deleted transfers: their salts and the references beside the tree.
const FORGET_SALTS: &str = "DELETE FROM ledger_salts WHERE subject IN (SELECT 'transfer:' || id FROM transfers WHERE at < $1)";
const FORGET_REFERENCES: [&str; 2] = [
    "UPDATE ledger_entries SET reference = NULL WHERE reference IN (SELECT 'evidence_requested:transfer:' || id FROM transfers WHERE at < $1)",
    "UPDATE ledger_pending SET reference = NULL WHERE reference IN (SELECT 'evidence_requested:transfer:' || id FROM transfers WHERE at < $1)",
];
const DELETE_TRANSFERS: &str = "DELETE FROM transfers WHERE at < $1";

row!(TransferRow {
    id: String,
    citizen_id: String,
    at: OffsetDateTime,
    authority_id: String,
    authority_name: String,
    register: String,
    evidence_type: String,
    procedure: String,
    purpose: String,
    legal_basis: String,
    idnr_used: bool,
    consent_ref: String,
    outcome: String,
    request_hash: String,
});

impl TransferRow {
    fn into_domain(self) -> Transfer {
        Transfer {
            id: self.id,
            citizen_id: UserId::from_stored(self.citizen_id),
            at: self.at,
            authority_id: self.authority_id,
            authority_name: self.authority_name,
            register: self.register,
            evidence_type: self.evidence_type,
            procedure: self.procedure,
            purpose: self.purpose,
            legal_basis: self.legal_basis,
            idnr_used: self.idnr_used,
            consent_ref: self.consent_ref,
            outcome: self.outcome,
            request_hash: self.request_hash,
        }
    }
}

pub(crate) async fn record_transfer<DB: Dialect>(store: &SqlStore<DB>, t: &Transfer) -> Result<()> {
    let mut tx = store.write().await?;
    let args = args![
        &t.id,
        t.citizen_id.as_str(),
        t.at,
        &t.authority_id,
        &t.authority_name,
        &t.register,
        &t.evidence_type,
        &t.procedure,
        &t.purpose,
        &t.legal_basis,
        t.idnr_used,
        &t.consent_ref,
        &t.outcome,
        &t.request_hash,
    ];
    tx.execute(RECORD_TRANSFER, args).await?;
    audit(&mut tx, AuditKind::EvidenceRequested, None, Some(&t.authority_id), ("transfer", &t.id)).await?;
    tx.commit().await
}

pub(crate) async fn transfers<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId) -> Result<Vec<Transfer>> {
    Ok(store.all::<TransferRow>(TRANSFERS, args![citizen.as_str()]).await?.into_iter().map(TransferRow::into_domain).collect())
}

pub(crate) async fn authority_transfers<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, limit: i64) -> Result<Vec<Transfer>> {
    let rows = store.all::<TransferRow>(AUTHORITY_TRANSFERS, args![authority.as_str(), limit]).await?;
    Ok(rows.into_iter().map(TransferRow::into_domain).collect())
}

pub(crate) async fn delete_transfers_before<DB: Dialect>(store: &SqlStore<DB>, before: OffsetDateTime) -> Result<u64> {
    let mut tx = store.write().await?;
    tx.execute(FORGET_SALTS, args![before]).await?;
    for forget in FORGET_REFERENCES {
        tx.execute(forget, args![before]).await?;
    }
    let n = tx.execute(DELETE_TRANSFERS, args![before]).await?;
    if n > 0 {
        audit(&mut tx, AuditKind::DataDeleted, None, None, ("transfers", &uuid::Uuid::new_v4().to_string())).await?;
    }
    tx.commit().await?;
    Ok(n)
}

// --- evidence --------------------------------------------------------------------------------

const ATTACH: &str = "INSERT INTO evidence (id, application_id, citizen_id, evidence_type, source, status, register, media_type, document, transfer_id, created_at) \
     SELECT $1, id, citizen_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM applications WHERE id = $10 AND citizen_id = $11";
const EVIDENCE: &str = "SELECT id, application_id, evidence_type, source, status, register, media_type, document, transfer_id, created_at \
     FROM evidence WHERE application_id = $1 AND citizen_id = $2 ORDER BY created_at, id";
const CASE_EVIDENCE: &str = "SELECT e.id, e.application_id, e.evidence_type, e.source, e.status, e.register, e.media_type, e.document, e.transfer_id, e.created_at \
     FROM evidence e JOIN cases c ON c.application_id = e.application_id \
     WHERE c.id = $1 AND c.authority_id = $2 AND e.status = 'attached' ORDER BY e.created_at, e.id";
const SETTLE: &str = "UPDATE evidence SET status = $1, document = COALESCE($2, document) \
     WHERE id = $3 AND application_id = $4 AND citizen_id = $5 AND status = 'preview'";

row!(EvidenceRow {
    id: String,
    application_id: String,
    evidence_type: String,
    source: String,
    status: String,
    register: Option<String>,
    media_type: String,
    document: String,
    transfer_id: Option<String>,
    created_at: OffsetDateTime,
});

impl EvidenceRow {
    fn into_domain(self) -> EvidenceRecord {
        EvidenceRecord {
            id: self.id,
            application_id: ApplicationId::from_stored(self.application_id),
            evidence_type: self.evidence_type,
            source: self.source,
            status: self.status,
            register: self.register,
            media_type: self.media_type,
            document: self.document,
            transfer_id: self.transfer_id,
            created_at: self.created_at,
        }
    }
}

pub(crate) async fn attach_evidence<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, e: &EvidenceRecord) -> Result<()> {
    let mut tx = store.write().await?;
    let args = args![
        &e.id,
        &e.evidence_type,
        &e.source,
        &e.status,
        &e.register,
        &e.media_type,
        &e.document,
        &e.transfer_id,
        e.created_at,
        e.application_id.as_str(),
        citizen.as_str(),
    ];
    if tx.execute(ATTACH, args).await? == 0 {
        return Err(StoreError::NotFound);
    }
    audit(&mut tx, AuditKind::EvidenceReceived, Some((citizen.as_str(), "citizen")), None, ("application", e.application_id.as_str())).await?;
    tx.commit().await
}

pub(crate) async fn evidence<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, application: &ApplicationId) -> Result<Vec<EvidenceRecord>> {
    let rows = store.all::<EvidenceRow>(EVIDENCE, args![application.as_str(), citizen.as_str()]).await?;
    Ok(rows.into_iter().map(EvidenceRow::into_domain).collect())
}

pub(crate) async fn case_evidence<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, case: &CaseId) -> Result<Vec<EvidenceRecord>> {
    let rows = store.all::<EvidenceRow>(CASE_EVIDENCE, args![case.as_str(), authority.as_str()]).await?;
    Ok(rows.into_iter().map(EvidenceRow::into_domain).collect())
}

pub(crate) async fn settle_preview<DB: Dialect>(
    store: &SqlStore<DB>,
    citizen: &UserId,
    application: &ApplicationId,
    evidence_id: &str,
    accept: bool,
) -> Result<EvidenceRecord> {
    let mut tx = store.write().await?;
    let (status, document) = if accept { ("attached", None) } else { ("discarded", Some("{}")) };
    if tx.execute(SETTLE, args![status, document, evidence_id, application.as_str(), citizen.as_str()]).await? == 0 {
        drop(tx);
        let exists = evidence(store, citizen, application).await?.into_iter().any(|e| e.id == evidence_id);
        return Err(if exists { StoreError::PreviewSettled } else { StoreError::NotFound });
    }
    let kind = if accept { AuditKind::EvidenceAccepted } else { AuditKind::EvidenceDiscarded };
    audit(&mut tx, kind, Some((citizen.as_str(), "citizen")), None, ("application", application.as_str())).await?;
    tx.commit().await?;
    evidence(store, citizen, application).await?.into_iter().find(|e| e.id == evidence_id).ok_or(StoreError::NotFound)
}
