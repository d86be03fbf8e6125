//! The data protection officer's and the service admin's desks. The data protection officer
//! reads the authority's transfer log and its audit events (kinds and ids, the ledger's view),
//! never case contents; the service admin maintains decision rules of the services the
//! authority is responsible for and the API clients of its specialist procedures.

use crate::error::AppError;
use amtsweg_domain::records::{ApiClient, AuditEvent, Transfer};
use amtsweg_domain::{AuthorityId, DecisionRules, Role, Service, ServiceId, User};
use amtsweg_store::DynStore;

/// Reads, for one authority, what the data protection officer may read.
#[derive(Clone)]
pub struct PrivacyDesk {
    store: DynStore,
    authority: AuthorityId,
}

impl PrivacyDesk {
    pub fn new(store: DynStore, user: &User) -> Option<Self> {
        (user.role == Role::DataProtection).then_some(())?;
        Some(Self { store, authority: user.authority_id.clone()? })
    }

    pub async fn transfers(&self) -> Result<Vec<Transfer>, AppError> {
        Ok(self.store.authority_transfers(&self.authority, 500).await?)
    }

    pub async fn audit(&self) -> Result<Vec<AuditEvent>, AppError> {
        Ok(self.store.authority_audit(&self.authority, 500).await?)
    }

    pub async fn authority_name(&self) -> Result<String, AppError> {
        Ok(self.store.authority(&self.authority).await?.map(|a| a.name).unwrap_or_default())
    }
}

/// The service admin of one authority.
#[derive(Clone)]
pub struct AdminDesk {
    store: DynStore,
    authority: AuthorityId,
    actor: amtsweg_store::Actor,
}

impl AdminDesk {
    pub fn new(store: DynStore, user: &User) -> Option<Self> {
        (user.role == Role::Admin).then_some(())?;
        Some(Self { store, authority: user.authority_id.clone()?, actor: amtsweg_store::Actor { id: user.id.clone(), role: user.role } })
    }

    pub async fn authority_name(&self) -> Result<String, AppError> {
        Ok(self.store.authority(&self.authority).await?.map(|a| a.name).unwrap_or_default())
    }

    /// The services the authority is responsible for somewhere, each with the decision rules
    /// that apply for this authority (its own, or the service's).
    pub async fn services(&self) -> Result<Vec<Service>, AppError> {
        let mut out = Vec::new();
        for mut s in self.store.services().await? {
            if self.store.responsibilities(&s.id).await?.iter().any(|r| r.authority_id == self.authority) {
                if let Some(own) = self.store.decision_rules(&s.id, &self.authority).await? {
                    s.decision = own;
                }
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Sets this authority's decision rules for a service, after checking them against its
    /// form and evidence. Other authorities offering the service keep theirs.
    pub async fn set_rules(&self, id: &ServiceId, rules: DecisionRules) -> Result<Service, AppError> {
        let mut service = self.services().await?.into_iter().find(|s| &s.id == id).ok_or(AppError::NotFound)?;
        service.decision = rules;
        service.check_decision_rules().map_err(|e| AppError::Invalid(vec![amtsweg_domain::FieldError::new("rules", e.to_string())]))?;
        self.store.put_decision_rules(id, &self.authority, &service.decision, &self.actor).await?;
        Ok(service)
    }

    pub async fn clients(&self) -> Result<Vec<ApiClient>, AppError> {
        Ok(self.store.api_clients(&self.authority).await?)
    }

    /// Revokes a client of this authority: its tokens stop working at once.
    pub async fn revoke_client(&self, id: &str) -> Result<(), AppError> {
        Ok(self.store.revoke_api_client(&self.authority, id, &self.actor).await?)
    }

    /// A new API client for a specialist procedure; the secret is returned once.
    pub async fn create_client(&self, name: &str) -> Result<(ApiClient, String), AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::Invalid(vec![amtsweg_domain::FieldError::new("name", "Bitte geben Sie einen Namen mit höchstens 200 Zeichen ein.")]));
        }
        Ok(crate::procedures::create_client(&self.store, &self.authority, name, Some(&self.actor)).await?)
    }
}
