//! The catalog: authorities, services, which authority is responsible for a service in a
//! region, an authority's own decision rules for a service, and imported FIM schemas.

use amtsweg_domain::AuditKind;
use crate::audit::{audit, who};
use crate::sql::{Dialect, SqlStore, args, corrupt, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::FimSchemaRecord;
use amtsweg_domain::{AssuranceLevel, Authority, AuthorityId, DecisionRules, RegionKey, Responsibility, Service, ServiceId};
use time::OffsetDateTime;

// --- authorities -------------------------------------------------------------------------

macro_rules! authority_select {
    () => {
        "SELECT id, name, short_code, region_key, address FROM authorities"
    };
}
const AUTHORITIES: &str = concat!(authority_select!(), " ORDER BY name");
const AUTHORITY: &str = concat!(authority_select!(), " WHERE id = $1");
const PUT_AUTHORITY: &str = "INSERT INTO authorities (id, name, short_code, region_key, address) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, short_code = excluded.short_code, \
     region_key = excluded.region_key, address = excluded.address";

row!(AuthorityRow { id: String, name: String, short_code: String, region_key: String, address: String });

impl AuthorityRow {
    fn into_domain(self) -> Result<Authority> {
        Ok(Authority {
            id: AuthorityId::from_stored(self.id),
            name: self.name,
            short_code: self.short_code,
            region: RegionKey::parse(&self.region_key).map_err(|_| corrupt("authority region"))?,
            address: self.address,
        })
    }
}

pub(crate) async fn put_authority<DB: Dialect>(store: &SqlStore<DB>, a: &Authority) -> Result<()> {
    store.execute(PUT_AUTHORITY, args![a.id.as_str(), &a.name, &a.short_code, a.region.as_str(), &a.address]).await?;
    Ok(())
}

pub(crate) async fn authorities<DB: Dialect>(store: &SqlStore<DB>) -> Result<Vec<Authority>> {
    store.all::<AuthorityRow>(AUTHORITIES, &[]).await?.into_iter().map(AuthorityRow::into_domain).collect()
}

pub(crate) async fn authority<DB: Dialect>(store: &SqlStore<DB>, id: &AuthorityId) -> Result<Option<Authority>> {
    store.optional::<AuthorityRow>(AUTHORITY, args![id.as_str()]).await?.map(AuthorityRow::into_domain).transpose()
}

// --- services ----------------------------------------------------------------------------

/// The columns of [`ServiceRow`]; a `WHERE` or `ORDER BY` follows.
macro_rules! service_select {
    () => {
        "SELECT id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level FROM services"
    };
}
const SERVICES: &str = concat!(service_select!(), " ORDER BY name");
/// One service by id (also read with a case file).
pub(crate) const SERVICE: &str = concat!(service_select!(), " WHERE id = $1");
const PUT_SERVICE: &str = "INSERT INTO services (id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, leika_key = excluded.leika_key, \
     summary = excluded.summary, description = excluded.description, \
     legal_basis = excluded.legal_basis, form = excluded.form, evidence = excluded.evidence, \
     decision_rules = excluded.decision_rules, required_level = excluded.required_level";

row!(ServiceRow {
    id: String,
    name: String,
    leika_key: Option<String>,
    summary: String,
    description: String,
    legal_basis: String,
    form: String,
    evidence: String,
    decision_rules: String,
    required_level: Option<String>,
});

impl ServiceRow {
    pub(crate) fn into_domain(self) -> Result<Service> {
        Ok(Service {
            id: ServiceId::from_stored(self.id),
            name: self.name,
            leika_key: self.leika_key,
            summary: self.summary,
            description: self.description,
            legal_basis: self.legal_basis,
            form: serde_json::from_str(&self.form).map_err(|_| corrupt("service form"))?,
            evidence: serde_json::from_str(&self.evidence).map_err(|_| corrupt("service evidence"))?,
            decision: serde_json::from_str(&self.decision_rules).map_err(|_| corrupt("service decision rules"))?,
            required_level: match self.required_level {
                Some(l) => Some(AssuranceLevel::parse(&l).ok_or_else(|| corrupt("service level"))?),
                None => None,
            },
        })
    }
}

pub(crate) async fn put_service<DB: Dialect>(store: &SqlStore<DB>, s: &Service) -> Result<()> {
    let form = serde_json::to_string(&s.form).map_err(|_| corrupt("service form"))?;
    let evidence = serde_json::to_string(&s.evidence).map_err(|_| corrupt("service evidence"))?;
    let decision = serde_json::to_string(&s.decision).map_err(|_| corrupt("service decision rules"))?;
    let level = s.required_level.map(|l| l.as_str());
    let args = args![s.id.as_str(), &s.name, &s.leika_key, &s.summary, &s.description, &s.legal_basis, form, evidence, decision, level];
    store.execute(PUT_SERVICE, args).await?;
    Ok(())
}

pub(crate) async fn services<DB: Dialect>(store: &SqlStore<DB>) -> Result<Vec<Service>> {
    store.all::<ServiceRow>(SERVICES, &[]).await?.into_iter().map(ServiceRow::into_domain).collect()
}

pub(crate) async fn service<DB: Dialect>(store: &SqlStore<DB>, id: &ServiceId) -> Result<Option<Service>> {
    store.optional::<ServiceRow>(SERVICE, args![id.as_str()]).await?.map(ServiceRow::into_domain).transpose()
}

// --- an authority's decision rules -------------------------------------------------------

const RULES: &str = "SELECT rules FROM service_rules WHERE service_id = $1 AND authority_id = $2";
const PUT_RULES: &str = "INSERT INTO service_rules (service_id, authority_id, rules) VALUES ($1, $2, $3) \
     ON CONFLICT (service_id, authority_id) DO UPDATE SET rules = excluded.rules";

pub(crate) async fn decision_rules<DB: Dialect>(store: &SqlStore<DB>, service: &ServiceId, authority: &AuthorityId) -> Result<Option<DecisionRules>> {
    match store.optional::<(String,)>(RULES, args![service.as_str(), authority.as_str()]).await? {
        Some((rules,)) => Ok(Some(serde_json::from_str(&rules).map_err(|_| corrupt("decision rules"))?)),
        None => Ok(None),
    }
}

pub(crate) async fn put_decision_rules<DB: Dialect>(
    store: &SqlStore<DB>,
    service: &ServiceId,
    authority: &AuthorityId,
    rules: &DecisionRules,
    actor: &Actor,
) -> Result<()> {
    let json = serde_json::to_string(rules).map_err(|_| corrupt("decision rules"))?;
    let mut tx = store.write().await?;
    tx.execute(PUT_RULES, args![service.as_str(), authority.as_str(), json]).await?;
    audit(&mut tx, AuditKind::DecisionRulesChanged, who(actor), Some(authority.as_str()), ("service", service.as_str())).await?;
    tx.commit().await
}

// --- responsibilities ----------------------------------------------------------------------

const RESPONSIBILITIES: &str = "SELECT service_id, region_key, authority_id FROM responsibilities WHERE service_id = $1";
const PUT_RESPONSIBILITY: &str = "INSERT INTO responsibilities (service_id, region_key, authority_id) VALUES ($1, $2, $3) \
     ON CONFLICT (service_id, region_key) DO UPDATE SET authority_id = excluded.authority_id";

row!(ResponsibilityRow { service_id: String, region_key: String, authority_id: String });

impl ResponsibilityRow {
    fn into_domain(self) -> Result<Responsibility> {
        Ok(Responsibility {
            service_id: ServiceId::from_stored(self.service_id),
            region: RegionKey::parse(&self.region_key).map_err(|_| corrupt("responsibility region"))?,
            authority_id: AuthorityId::from_stored(self.authority_id),
        })
    }
}

pub(crate) async fn put_responsibility<DB: Dialect>(store: &SqlStore<DB>, r: &Responsibility) -> Result<()> {
    store.execute(PUT_RESPONSIBILITY, args![r.service_id.as_str(), r.region.as_str(), r.authority_id.as_str()]).await?;
    Ok(())
}

pub(crate) async fn responsibilities<DB: Dialect>(store: &SqlStore<DB>, service: &ServiceId) -> Result<Vec<Responsibility>> {
    let rows = store.all::<ResponsibilityRow>(RESPONSIBILITIES, args![service.as_str()]).await?;
    rows.into_iter().map(ResponsibilityRow::into_domain).collect()
}

// --- FIM schemas ---------------------------------------------------------------------------

const FIM_SCHEMA: &str = "SELECT id, version, sha256, xdf_version, name, content, rules, service_id FROM fim_schemas WHERE id = $1 AND version = $2";
const FIM_SCHEMA_HASH: &str = "SELECT sha256 FROM fim_schemas WHERE id = $1 AND version = $2";
const PUT_FIM_SCHEMA: &str = "INSERT INTO fim_schemas (id, version, sha256, xdf_version, name, content, rules, service_id, imported_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

row!(FimSchemaRow {
    id: String,
    version: String,
    sha256: String,
    xdf_version: String,
    name: String,
    content: String,
    rules: Option<String>,
    service_id: Option<String>,
});

impl FimSchemaRow {
    fn into_domain(self) -> FimSchemaRecord {
        let FimSchemaRow { id, version, sha256, xdf_version, name, content, rules, service_id } = self;
        FimSchemaRecord { id, version, sha256, xdf_version, name, content, rules, service_id }
    }
}

pub(crate) async fn put_fim_schema<DB: Dialect>(store: &SqlStore<DB>, r: &FimSchemaRecord) -> Result<bool> {
    let mut tx = store.write().await?;
    if let Some((sha,)) = tx.optional::<(String,)>(FIM_SCHEMA_HASH, args![&r.id, &r.version]).await? {
        return if sha == r.sha256 { Ok(false) } else { Err(StoreError::SchemaConflict { existing: sha }) };
    }
    let now = OffsetDateTime::now_utc();
    let args = args![&r.id, &r.version, &r.sha256, &r.xdf_version, &r.name, &r.content, &r.rules, &r.service_id, now];
    tx.execute(PUT_FIM_SCHEMA, args).await?;
    audit(&mut tx, AuditKind::FimSchemaImported, None, None, ("fim_schema", &format!("{}:{}", r.id, r.version))).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn fim_schema<DB: Dialect>(store: &SqlStore<DB>, id: &str, version: &str) -> Result<Option<FimSchemaRecord>> {
    Ok(store.optional::<FimSchemaRow>(FIM_SCHEMA, args![id, version]).await?.map(FimSchemaRow::into_domain))
}
