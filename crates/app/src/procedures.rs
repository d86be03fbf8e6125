//! Specialist procedures (Fachverfahren) of one authority, in the manner of FIT-Connect: an API
//! client gets an access token for its client credentials (the secret is stored as a hash),
//! pulls new submissions of its authority, fetches one with its data and evidence (the read is
//! recorded), and reports status events that the citizen sees, once per idempotency key.

use crate::Platform;
use crate::accounts::{hash_secret, new_secret};
use crate::error::AppError;
use amtsweg_domain::records::{ApiClient, CaseEvent, CaseFile, CaseSummary, EvidenceRecord};
use amtsweg_domain::{AuthorityId, CaseId, FieldError, Role, UserId};
use amtsweg_store::{Actor, DynStore, StoreError};
use time::OffsetDateTime;

/// How long an access token lives.
pub const TOKEN_SECONDS: i64 = 3600;

/// The status events a procedure may report.
pub const EVENT_KINDS: [&str; 4] = ["received", "accepted", "rejected", "decided"];

/// Makes a client for an authority; returns it and its secret (shown once).
pub async fn create_client(store: &DynStore, authority: &AuthorityId, name: &str, actor: Option<&Actor>) -> Result<(ApiClient, String), StoreError> {
    let secret = new_secret();
    let client = store.create_api_client(authority, name, &hash_secret(&secret), actor).await?;
    Ok((client, secret))
}

/// What anyone may do before they are a known procedure: exchange credentials for a token.
pub struct Procedures {
    app: Platform,
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefused {
    #[error("invalid client")]
    InvalidClient,
    #[error(transparent)]
    App(#[from] AppError),
}

impl Procedures {
    pub(crate) fn new(app: Platform) -> Self {
        Self { app }
    }

    /// An access token for the client's credentials (OAuth 2.0 client credentials grant), good
    /// for [`TOKEN_SECONDS`].
    pub async fn issue_token(&self, client_id: &str, secret: &str) -> Result<String, TokenRefused> {
        if client_id.len() > 64 || secret.len() > 256 {
            return Err(TokenRefused::InvalidClient);
        }
        let store = &self.app.store;
        let Some(client) = store.api_client_by_secret(client_id, &hash_secret(secret)).await.map_err(AppError::from)? else {
            return Err(TokenRefused::InvalidClient);
        };
        let token = new_secret();
        store
            .put_client_token(&hash_secret(&token), &client.id, OffsetDateTime::now_utc() + time::Duration::seconds(TOKEN_SECONDS))
            .await
            .map_err(AppError::from)?;
        Ok(token)
    }

    /// The desk of the procedure holding this access token; `None` for an unknown, expired or
    /// revoked one.
    pub async fn desk(&self, token: &str) -> Result<Option<ProcedureDesk>, AppError> {
        let client = self.app.store.api_client_by_token(&hash_secret(token)).await?;
        Ok(client.map(|client| ProcedureDesk { app: self.app.clone(), client }))
    }
}

/// One specialist procedure: reaches only the cases of its own authority.
pub struct ProcedureDesk {
    app: Platform,
    client: ApiClient,
}

/// One piece of attached evidence as a procedure receives it: a register's document as
/// stored, an upload decrypted.
pub struct DeliveredEvidence {
    pub record: EvidenceRecord,
    /// The uploaded file, for an upload (`None` when it cannot be opened with this
    /// installation's key).
    pub upload: Option<Vec<u8>>,
}

impl ProcedureDesk {
    fn actor(&self) -> Actor {
        Actor { id: UserId::from_stored(format!("client-{}", self.client.id)), role: Role::Procedure }
    }

    /// New submissions of the authority that this client has not yet confirmed as received,
    /// oldest first.
    pub async fn new_submissions(&self, limit: i64) -> Result<Vec<CaseSummary>, AppError> {
        Ok(self.app.store.client_new_cases(&self.client, limit).await?)
    }

    /// One submission with its data and attached evidence. The read is recorded.
    pub async fn submission(&self, id: &CaseId) -> Result<(CaseFile, Vec<DeliveredEvidence>), AppError> {
        let store = &self.app.store;
        let case = store.read_case(&self.client.authority_id, id, &self.actor()).await?.ok_or(AppError::NotFound)?;
        let evidence = store
            .case_evidence(&self.client.authority_id, id)
            .await?
            .into_iter()
            .filter(|e| e.status == "attached")
            .map(|record| {
                let upload = (record.source == "upload").then(|| self.app.upload_key.open(&record.document)).flatten();
                DeliveredEvidence { record, upload }
            })
            .collect();
        Ok((case, evidence))
    }

    /// Records a status event once per idempotency key; a retry returns the stored event
    /// (`false`: not new).
    pub async fn report(&self, id: &CaseId, key: &str, kind: &str, note: &str) -> Result<(CaseEvent, bool), AppError> {
        let mut errors = Vec::new();
        if !EVENT_KINDS.contains(&kind) {
            errors.push(FieldError::new("kind", "Bitte „received“, „accepted“, „rejected“ oder „decided“."));
        }
        let note = note.trim();
        if note.chars().count() > 2000 {
            errors.push(FieldError::new("note", "Die Notiz darf höchstens 2000 Zeichen lang sein."));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok(self.app.store.post_case_event(&self.client, id, key, kind, note).await?)
    }
}
