//! The catalog: authorities, services, which authority is responsible for a service in a
//! region, an authority's own decision rules for a service, and imported FIM schemas.

use amtsweg_domain::AuditKind;
use crate::audit::{audit, who};
use crate::sql::{Dialect, SqlStore, args, corrupt, exists_as, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::FimSchemaRecord;
use amtsweg_domain::{AssuranceLevel, Authority, AuthorityId, Contact, DecisionRules, RegionKey, Responsibility, Service, ServiceId};
use time::OffsetDateTime;

// --- authorities -------------------------------------------------------------------------

macro_rules! authority_select {
    () => {
        "SELECT id, name, short_code, region_key, address, phone, email, opening_hours, letterhead, deactivated_at, assignee_decides FROM authorities"
    };
}
const AUTHORITIES: &str = concat!(authority_select!(), " ORDER BY name");
const AUTHORITY: &str = concat!(authority_select!(), " WHERE id = $1");
const PUT_AUTHORITY: &str = "INSERT INTO authorities (id, name, short_code, region_key, address, phone, email, opening_hours, letterhead) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, short_code = excluded.short_code, \
     region_key = excluded.region_key, address = excluded.address, phone = excluded.phone, email = excluded.email, \
     opening_hours = excluded.opening_hours, letterhead = excluded.letterhead";
const CREATE_AUTHORITY: &str = "INSERT INTO authorities (id, name, short_code, region_key, address, phone, email, opening_hours, letterhead) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const SHORT_CODE_TAKEN: &str = "SELECT id FROM authorities WHERE short_code = $1 AND id <> $2";
/// The short code stays: it is part of every case number the authority has given.
const UPDATE_AUTHORITY: &str = "UPDATE authorities SET name = $1, region_key = $2, address = $3, phone = $4, email = $5, \
     opening_hours = $6, letterhead = $7, \
     deactivated_at = CASE WHEN $8 THEN NULL WHEN deactivated_at IS NULL THEN $9 ELSE deactivated_at END, \
     assignee_decides = $11 WHERE id = $10";

row!(AuthorityRow {
    id: String,
    name: String,
    short_code: String,
    region_key: String,
    address: String,
    phone: String,
    email: String,
    opening_hours: String,
    letterhead: String,
    deactivated_at: Option<OffsetDateTime>,
    assignee_decides: bool,
});

impl AuthorityRow {
    fn into_domain(self) -> Result<Authority> {
        Ok(Authority {
            id: AuthorityId::from_stored(self.id),
            name: self.name,
            short_code: self.short_code,
            region: RegionKey::parse(&self.region_key).map_err(|_| corrupt("authority region"))?,
            address: self.address,
            contact: Contact { phone: self.phone, email: self.email, opening_hours: self.opening_hours },
            letterhead: self.letterhead,
            active: self.deactivated_at.is_none(),
            assignee_decides: self.assignee_decides,
        })
    }
}

pub(crate) async fn put_authority<DB: Dialect>(store: &SqlStore<DB>, a: &Authority) -> Result<()> {
    store.execute(PUT_AUTHORITY, &authority_args(a)).await?;
    Ok(())
}

fn authority_args(a: &Authority) -> Vec<crate::sql::Arg<'_>> {
    args![a.id.as_str(), &a.name, &a.short_code, a.region.as_str(), &a.address, &a.contact.phone, &a.contact.email, &a.contact.opening_hours, &a.letterhead]
        .to_vec()
}

/// A new authority; `Exists("authority")` when the id is taken, `Exists("short_code")` when the
/// short code is.
pub(crate) async fn create_authority<DB: Dialect>(store: &SqlStore<DB>, a: &Authority, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    if tx.optional::<(String,)>(SHORT_CODE_TAKEN, args![&a.short_code, a.id.as_str()]).await?.is_some() {
        return Err(StoreError::Exists("short_code"));
    }
    tx.execute(CREATE_AUTHORITY, &authority_args(a)).await.map_err(exists_as("authority"))?;
    audit(&mut tx, AuditKind::AuthorityCreated, who(actor), Some(a.id.as_str()), ("authority", a.id.as_str())).await?;
    tx.commit().await
}

/// Changes an authority's name, region, address, contact, letterhead and whether it is active.
/// Deactivating ends its members' sessions and tokens.
pub(crate) async fn update_authority<DB: Dialect>(store: &SqlStore<DB>, a: &Authority, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    let now = OffsetDateTime::now_utc();
    let changed = tx
        .execute(
            UPDATE_AUTHORITY,
            args![&a.name, a.region.as_str(), &a.address, &a.contact.phone, &a.contact.email, &a.contact.opening_hours, &a.letterhead, a.active, now, a.id.as_str(), a.assignee_decides],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    if !a.active {
        crate::people::end_access_of_authority(&mut tx, &a.id, now).await?;
    }
    audit(&mut tx, AuditKind::AuthorityChanged, who(actor), Some(a.id.as_str()), ("authority", a.id.as_str())).await?;
    tx.commit().await
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
        "SELECT id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level, category FROM services"
    };
}
const SERVICES: &str = concat!(service_select!(), " ORDER BY name");
/// One service by id (also read with a case file).
pub(crate) const SERVICE: &str = concat!(service_select!(), " WHERE id = $1");
const PUT_SERVICE: &str = "INSERT INTO services (id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level, category) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, leika_key = excluded.leika_key, \
     summary = excluded.summary, description = excluded.description, \
     legal_basis = excluded.legal_basis, form = excluded.form, evidence = excluded.evidence, \
     decision_rules = excluded.decision_rules, required_level = excluded.required_level, category = excluded.category";

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
    category: String,
});

/// Parsed forms by service id, with the stored text they were parsed from. A form is read with
/// nearly every request of an application and parsing it (and compiling its patterns, which the
/// model keeps once compiled) costs far more than comparing its text: the stored text is the
/// key, so a change by any process, or another store on another database, is seen at once.
static FORMS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, (String, amtsweg_domain::FormModel)>>> =
    std::sync::LazyLock::new(Default::default);
/// Forms kept at most (the catalog of a platform has a few hundred services).
const FORMS_KEPT: usize = 1024;

fn parsed_form(id: &str, text: String) -> Result<amtsweg_domain::FormModel> {
    if let Ok(forms) = FORMS.lock()
        && let Some((stored, form)) = forms.get(id)
        && *stored == text
    {
        return Ok(form.clone());
    }
    let form: amtsweg_domain::FormModel = serde_json::from_str(&text).map_err(|_| corrupt("service form"))?;
    form.compile_patterns();
    if let Ok(mut forms) = FORMS.lock() {
        if forms.len() >= FORMS_KEPT {
            forms.clear();
        }
        forms.insert(id.to_owned(), (text, form.clone()));
    }
    Ok(form)
}

impl ServiceRow {
    pub(crate) fn into_domain(self) -> Result<Service> {
        let form = parsed_form(&self.id, self.form)?;
        Ok(Service {
            id: ServiceId::from_stored(self.id),
            name: self.name,
            leika_key: self.leika_key,
            summary: self.summary,
            category: self.category,
            description: self.description,
            legal_basis: self.legal_basis,
            form,
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
    let args = args![s.id.as_str(), &s.name, &s.leika_key, &s.summary, &s.description, &s.legal_basis, form, evidence, decision, level, &s.category];
    store.execute(PUT_SERVICE, args).await?;
    Ok(())
}

/// Changes a service (description, level, evidence, deadline, rules), audited.
pub(crate) async fn update_service<DB: Dialect>(store: &SqlStore<DB>, s: &Service, actor: &Actor) -> Result<()> {
    let form = serde_json::to_string(&s.form).map_err(|_| corrupt("service form"))?;
    let evidence = serde_json::to_string(&s.evidence).map_err(|_| corrupt("service evidence"))?;
    let decision = serde_json::to_string(&s.decision).map_err(|_| corrupt("service decision rules"))?;
    let level = s.required_level.map(|l| l.as_str());
    let mut tx = store.write().await?;
    if tx.optional::<(String,)>("SELECT id FROM services WHERE id = $1", args![s.id.as_str()]).await?.is_none() {
        return Err(StoreError::NotFound);
    }
    let args = args![s.id.as_str(), &s.name, &s.leika_key, &s.summary, &s.description, &s.legal_basis, form, evidence, decision, level, &s.category];
    tx.execute(PUT_SERVICE, args).await?;
    audit(&mut tx, AuditKind::ServiceChanged, who(actor), None, ("service", s.id.as_str())).await?;
    tx.commit().await
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

/// Only those of active authorities: a deactivated one is responsible for nothing new.
const RESPONSIBILITIES: &str = "SELECT r.service_id, r.region_key, r.authority_id FROM responsibilities r \
     JOIN authorities a ON a.id = r.authority_id WHERE r.service_id = $1 AND a.deactivated_at IS NULL";
const ALL_RESPONSIBILITIES: &str = "SELECT service_id, region_key, authority_id FROM responsibilities ORDER BY service_id, region_key";
const ADD_RESPONSIBILITY: &str = "INSERT INTO responsibilities (service_id, region_key, authority_id) VALUES ($1, $2, $3)";
/// Whether the authority holding a service and region is active (`1`) or deactivated (`0`).
const HOLDER: &str = "SELECT CAST(CASE WHEN a.deactivated_at IS NULL THEN 1 ELSE 0 END AS BIGINT) FROM responsibilities r \
     JOIN authorities a ON a.id = r.authority_id WHERE r.service_id = $1 AND r.region_key = $2";
const TAKE_OVER: &str = "UPDATE responsibilities SET authority_id = $1 WHERE service_id = $2 AND region_key = $3";
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

/// A new responsibility, audited; `Exists("responsibility")` when an active authority already
/// holds the service for exactly this region. A deactivated authority's is taken over (its
/// successor steps in).
pub(crate) async fn add_responsibility<DB: Dialect>(store: &SqlStore<DB>, r: &Responsibility, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    match tx.optional::<(i64,)>(HOLDER, args![r.service_id.as_str(), r.region.as_str()]).await? {
        Some((1,)) => return Err(StoreError::Exists("responsibility")),
        Some(_) => {
            tx.execute(TAKE_OVER, args![r.authority_id.as_str(), r.service_id.as_str(), r.region.as_str()]).await?;
        }
        None => {
            tx.execute(ADD_RESPONSIBILITY, args![r.service_id.as_str(), r.region.as_str(), r.authority_id.as_str()])
                .await
                .map_err(exists_as("responsibility"))?;
        }
    }
    let subject = format!("{}:{}", r.service_id, r.region);
    audit(&mut tx, AuditKind::ResponsibilityAdded, who(actor), Some(r.authority_id.as_str()), ("responsibility", &subject)).await?;
    tx.commit().await
}

/// Every responsibility, of active and deactivated authorities, by service and region.
pub(crate) async fn all_responsibilities<DB: Dialect>(store: &SqlStore<DB>) -> Result<Vec<Responsibility>> {
    let rows = store.all::<ResponsibilityRow>(ALL_RESPONSIBILITIES, &[]).await?;
    rows.into_iter().map(ResponsibilityRow::into_domain).collect()
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
