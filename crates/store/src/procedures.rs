//! Specialist procedures: an authority's API clients and their access tokens, the submissions
//! a client has not yet confirmed, and the status events a client reports on a case (which
//! the citizen sees).

use amtsweg_domain::AuditKind;
use crate::audit::{audit, who};
use crate::cases::{CaseSummaryRow, case_summary_select};
use crate::sql::{Dialect, SqlStore, args, new_id, row, status_sources};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::{ApiClient, CaseEvent, CaseSummary};
use amtsweg_domain::{ApplicationId, ApplicationStatus, AuthorityId, CaseId, UserId};
use time::OffsetDateTime;

// --- clients and their tokens --------------------------------------------------------------

const CREATE_CLIENT: &str = "INSERT INTO api_clients (id, authority_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
/// A client of a deactivated authority gets no token, and its tokens stop.
const CLIENT_BY_SECRET: &str = "SELECT id, authority_id, name FROM api_clients WHERE id = $1 AND secret_hash = $2 AND revoked_at IS NULL \
     AND authority_id IN (SELECT id FROM authorities WHERE deactivated_at IS NULL)";
const CLIENTS: &str = "SELECT id, authority_id, name FROM api_clients WHERE authority_id = $1 AND revoked_at IS NULL ORDER BY name, id";
const REVOKE_CLIENT: &str = "UPDATE api_clients SET revoked_at = $1 WHERE id = $2 AND authority_id = $3 AND revoked_at IS NULL";
const DELETE_CLIENT_TOKENS: &str = "DELETE FROM client_tokens WHERE client_id = $1";
const DELETE_EXPIRED_TOKENS: &str = "DELETE FROM client_tokens WHERE expires_at < $1";
const PUT_TOKEN: &str = "INSERT INTO client_tokens (token_hash, client_id, expires_at) VALUES ($1, $2, $3)";
const CLIENT_BY_TOKEN: &str = "SELECT k.id, k.authority_id, k.name FROM client_tokens t JOIN api_clients k ON k.id = t.client_id \
     WHERE t.token_hash = $1 AND t.expires_at > $2 AND k.revoked_at IS NULL \
     AND k.authority_id IN (SELECT id FROM authorities WHERE deactivated_at IS NULL)";

row!(ClientRow { id: String, authority_id: String, name: String });

impl ClientRow {
    fn into_domain(self) -> ApiClient {
        ApiClient { id: self.id, authority_id: AuthorityId::from_stored(self.authority_id), name: self.name }
    }
}

pub(crate) async fn create_api_client<DB: Dialect>(
    store: &SqlStore<DB>,
    authority: &AuthorityId,
    name: &str,
    secret_hash: &str,
    actor: Option<&Actor>,
) -> Result<ApiClient> {
    let mut tx = store.write().await?;
    let id = new_id();
    tx.execute(CREATE_CLIENT, args![&id, authority.as_str(), name, secret_hash, OffsetDateTime::now_utc()]).await?;
    audit(&mut tx, AuditKind::ApiClientCreated, actor.and_then(who), Some(authority.as_str()), ("api_client", &id)).await?;
    tx.commit().await?;
    Ok(ApiClient { id, authority_id: authority.clone(), name: name.to_owned() })
}

pub(crate) async fn api_client_by_secret<DB: Dialect>(store: &SqlStore<DB>, id: &str, secret_hash: &str) -> Result<Option<ApiClient>> {
    Ok(store.optional::<ClientRow>(CLIENT_BY_SECRET, args![id, secret_hash]).await?.map(ClientRow::into_domain))
}

pub(crate) async fn api_clients<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId) -> Result<Vec<ApiClient>> {
    Ok(store.all::<ClientRow>(CLIENTS, args![authority.as_str()]).await?.into_iter().map(ClientRow::into_domain).collect())
}

pub(crate) async fn revoke_api_client<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &str, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    if tx.execute(REVOKE_CLIENT, args![OffsetDateTime::now_utc(), id, authority.as_str()]).await? == 0 {
        return Err(StoreError::NotFound);
    }
    tx.execute(DELETE_CLIENT_TOKENS, args![id]).await?;
    audit(&mut tx, AuditKind::ApiClientRevoked, who(actor), Some(authority.as_str()), ("api_client", id)).await?;
    tx.commit().await
}

pub(crate) async fn delete_expired_client_tokens<DB: Dialect>(store: &SqlStore<DB>, before: OffsetDateTime) -> Result<u64> {
    store.execute(DELETE_EXPIRED_TOKENS, args![before]).await
}

pub(crate) async fn put_client_token<DB: Dialect>(store: &SqlStore<DB>, token_hash: &str, client: &str, expires_at: OffsetDateTime) -> Result<()> {
    store.execute(PUT_TOKEN, args![token_hash, client, expires_at]).await?;
    Ok(())
}

pub(crate) async fn api_client_by_token<DB: Dialect>(store: &SqlStore<DB>, token_hash: &str) -> Result<Option<ApiClient>> {
    let row = store.optional::<ClientRow>(CLIENT_BY_TOKEN, args![token_hash, OffsetDateTime::now_utc()]).await?;
    Ok(row.map(ClientRow::into_domain))
}

// --- submissions and status events ---------------------------------------------------------

const NEW_CASES: &str = concat!(
    case_summary_select!(),
    " WHERE c.authority_id = $1 AND a.status IN ('submitted', 'in_review') AND NOT EXISTS \
     (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.client_id = $2 AND e.kind = 'received') \
     ORDER BY c.created_at, c.id LIMIT $3"
);
const CASE_APPLICATION: &str = "SELECT application_id FROM cases WHERE id = $1 AND authority_id = $2";
const ADD_EVENT: &str = "INSERT INTO case_events (id, case_id, client_id, idempotency_key, kind, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (client_id, idempotency_key) DO NOTHING";
const EVENT_BY_KEY: &str = "SELECT id, case_id, kind, note, at FROM case_events WHERE client_id = $1 AND idempotency_key = $2";
const APPLICATION_EVENTS: &str = "SELECT e.id, e.case_id, e.kind, e.note, e.at FROM case_events e JOIN cases c ON c.id = e.case_id \
     JOIN applications a ON a.id = c.application_id WHERE a.id = $1 AND a.citizen_id = $2 ORDER BY e.at, e.id";

row!(CaseEventRow { id: String, case_id: String, kind: String, note: String, at: OffsetDateTime });

impl CaseEventRow {
    fn into_domain(self) -> CaseEvent {
        CaseEvent { id: self.id, case_id: CaseId::from_stored(self.case_id), kind: self.kind, note: self.note, at: self.at }
    }
}

pub(crate) async fn client_new_cases<DB: Dialect>(store: &SqlStore<DB>, client: &ApiClient, limit: i64) -> Result<Vec<CaseSummary>> {
    let rows = store.all::<CaseSummaryRow>(NEW_CASES, args![client.authority_id.as_str(), &client.id, limit]).await?;
    rows.into_iter().map(CaseSummaryRow::into_domain).collect()
}

pub(crate) async fn post_case_event<DB: Dialect>(
    store: &SqlStore<DB>,
    client: &ApiClient,
    id: &CaseId,
    key: &str,
    kind: &str,
    note: &str,
) -> Result<(CaseEvent, bool)> {
    let now = OffsetDateTime::now_utc();
    let mut tx = store.write().await?;
    let lookup = args![id.as_str(), client.authority_id.as_str()];
    let (application_id,) = tx.optional::<(String,)>(CASE_APPLICATION, lookup).await?.ok_or(StoreError::NotFound)?;
    let inserted = tx.execute(ADD_EVENT, args![new_id(), id.as_str(), &client.id, key, kind, note, now]).await?;
    let event = tx.one::<CaseEventRow>(EVENT_BY_KEY, args![&client.id, key]).await?.into_domain();
    if inserted == 0 {
        if event.case_id != *id || event.kind != kind || event.note != note {
            return Err(StoreError::KeyReused);
        }
        return Ok((event, false));
    }
    if kind == "received" {
        let to_review = format!(
            "UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND status IN {}",
            status_sources(ApplicationStatus::InReview)
        );
        tx.execute(&to_review, args![ApplicationStatus::InReview.as_str(), now, application_id]).await?;
    }
    let audit_kind = AuditKind::procedure(kind).ok_or_else(|| StoreError::Corrupt(format!("unknown procedure event {kind}")))?;
    audit(&mut tx, audit_kind, None, Some(client.authority_id.as_str()), ("case", id.as_str())).await?;
    tx.commit().await?;
    Ok((event, true))
}

pub(crate) async fn application_events<DB: Dialect>(store: &SqlStore<DB>, citizen: &UserId, id: &ApplicationId) -> Result<Vec<CaseEvent>> {
    let rows = store.all::<CaseEventRow>(APPLICATION_EVENTS, args![id.as_str(), citizen.as_str()]).await?;
    Ok(rows.into_iter().map(CaseEventRow::into_domain).collect())
}
