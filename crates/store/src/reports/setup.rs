//! How an authority sets up its Mängelmelder: departments, categories, areas, which department
//! handles a category in an area, the address list, and the API keys of Open311 clients. Every
//! change is audited (and so in the ledger) with the service admin as actor.

use crate::audit::{audit, who};
use crate::sql::{Arg, Dialect, SqlStore, args, corrupt, exists_as, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::reports::{Area, Assignment, Category, Department};
use amtsweg_domain::{AuditKind, AuthorityId};
use time::OffsetDateTime;

const PUT_DEPARTMENT: &str = "INSERT INTO departments (id, authority_id, name) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE departments.authority_id = excluded.authority_id";
const DEPARTMENTS: &str = "SELECT id, authority_id, name FROM departments WHERE authority_id = $1 ORDER BY name";
const ALL_DEPARTMENTS: &str = "SELECT id, authority_id, name FROM departments ORDER BY authority_id, name";
const ADD_MEMBER: &str = "INSERT INTO department_members (department_id, user_id) SELECT d.id, u.id FROM departments d, users u \
     WHERE d.id = $1 AND d.authority_id = $3 AND u.id = $2 AND u.authority_id = $3 ON CONFLICT DO NOTHING";
const MEMBER_DEPARTMENTS: &str = "SELECT m.department_id FROM department_members m JOIN departments d ON d.id = m.department_id \
     WHERE m.user_id = $1 AND d.authority_id = $2 ORDER BY m.department_id";

const PUT_CATEGORY: &str = "INSERT INTO report_categories (authority_id, code, name, group_name, keywords, description, attributes, publication, deadline_days) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (authority_id, code) DO UPDATE SET name = excluded.name, \
     group_name = excluded.group_name, keywords = excluded.keywords, description = excluded.description, attributes = excluded.attributes, \
     publication = excluded.publication, deadline_days = excluded.deadline_days";
macro_rules! category_select {
    () => {
        "SELECT authority_id, code, name, group_name, keywords, description, attributes, publication, deadline_days FROM report_categories"
    };
}
const CATEGORIES: &str = concat!(category_select!(), " WHERE authority_id = $1 ORDER BY group_name, name");
const ALL_CATEGORIES: &str = concat!(category_select!(), " ORDER BY authority_id, group_name, name");
const CATEGORY: &str = concat!(category_select!(), " WHERE authority_id = $1 AND code = $2");

const PUT_AREA: &str = "INSERT INTO report_areas (id, authority_id, name, geometry, area_m2, west, south, east, north, ars) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
macro_rules! area_select {
    () => {
        "SELECT id, authority_id, name, geometry, area_m2, west, south, east, north, ars FROM report_areas"
    };
}
const AREAS: &str = concat!(area_select!(), " WHERE authority_id = $1 ORDER BY name");
const ALL_AREAS: &str = concat!(area_select!(), " ORDER BY authority_id, name");

const PUT_ASSIGNMENT: &str = "INSERT INTO report_assignments (authority_id, category, area_id, department_id) VALUES ($1, $2, $3, $4)";
const ASSIGNMENTS: &str = "SELECT authority_id, category, area_id, department_id FROM report_assignments WHERE authority_id = $1";
const ALL_ASSIGNMENTS: &str = "SELECT authority_id, category, area_id, department_id FROM report_assignments";

const DELETE_ADDRESSES: &str = "DELETE FROM addresses WHERE authority_id = $1";
const FIND_ADDRESSES: &str = "SELECT authority_id, street, house_number, postcode, place, ars, lat, lon FROM addresses \
     WHERE search_key >= $1 AND search_key < $2 ORDER BY search_key, authority_id LIMIT $3";
const ADDRESSES_IN: &str = "SELECT authority_id, street, house_number, postcode, place, ars, lat, lon FROM addresses \
     WHERE lat >= $1 AND lat <= $2 AND lon >= $3 AND lon <= $4 \
     ORDER BY (lat - $6) * (lat - $6) + (lon - $7) * (lon - $7) * $8, authority_id, street, house_number LIMIT $5";
const COUNT_ADDRESSES: &str = "SELECT COUNT(*) FROM addresses WHERE authority_id = $1";

const PUT_KEY: &str = "INSERT INTO open311_keys (id, authority_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
const KEY: &str = "SELECT id, authority_id, name FROM open311_keys WHERE key_hash = $1 AND revoked_at IS NULL";
const KEYS: &str = "SELECT id, authority_id, name FROM open311_keys WHERE authority_id = $1 AND revoked_at IS NULL ORDER BY created_at";
const REVOKE_KEY: &str = "UPDATE open311_keys SET revoked_at = $1 WHERE id = $2 AND authority_id = $3 AND revoked_at IS NULL";

row!(DepartmentRow { id: String, authority_id: String, name: String });

impl DepartmentRow {
    fn into_domain(self) -> Department {
        Department { id: self.id, authority_id: AuthorityId::from_stored(self.authority_id), name: self.name }
    }
}

row!(CategoryRow {
    authority_id: String,
    code: String,
    name: String,
    group_name: String,
    keywords: String,
    description: String,
    attributes: String,
    publication: String,
    deadline_days: i64,
});

impl CategoryRow {
    fn into_domain(self) -> Result<Category> {
        Ok(Category {
            authority_id: AuthorityId::from_stored(self.authority_id),
            code: self.code,
            name: self.name,
            group: self.group_name,
            keywords: serde_json::from_str(&self.keywords).map_err(|_| corrupt("category keywords"))?,
            description: self.description,
            attributes: serde_json::from_str(&self.attributes).map_err(|_| corrupt("category attributes"))?,
            publication: serde_json::from_value(serde_json::Value::String(self.publication)).map_err(|_| corrupt("category publication"))?,
            deadline_days: u32::try_from(self.deadline_days).map_err(|_| corrupt("category deadline"))?,
        })
    }
}

row!(AreaRow { id: String, authority_id: String, name: String, geometry: String, area_m2: f64, west: f64, south: f64, east: f64, north: f64, ars: Option<String> });

impl AreaRow {
    fn into_domain(self) -> Area {
        Area {
            id: self.id,
            authority_id: AuthorityId::from_stored(self.authority_id),
            name: self.name,
            geometry: self.geometry,
            area_m2: self.area_m2,
            bounds: (self.west, self.south, self.east, self.north),
            ars: self.ars,
        }
    }
}

row!(AssignmentRow { authority_id: String, category: String, area_id: String, department_id: String });

impl AssignmentRow {
    fn into_domain(self) -> Assignment {
        Assignment { authority_id: AuthorityId::from_stored(self.authority_id), category: self.category, area_id: self.area_id, department_id: self.department_id }
    }
}

row!(AddressRow { authority_id: String, street: String, house_number: String, postcode: String, place: String, ars: Option<String>, lat: f64, lon: f64 });

impl AddressRow {
    fn into_domain(self) -> (AuthorityId, amtsweg_places::Address) {
        let r = self;
        (
            AuthorityId::from_stored(r.authority_id),
            amtsweg_places::Address { street: r.street, house_number: r.house_number, postcode: r.postcode, place: r.place, ars: r.ars, lat: r.lat, lon: r.lon },
        )
    }
}

/// An Open311 client's key, as found by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Key {
    pub id: String,
    pub authority_id: AuthorityId,
    pub name: String,
}

fn settings_changed(authority: &AuthorityId) -> (&'static str, &str) {
    ("report_settings", authority.as_str())
}

pub(crate) async fn put_department<DB: Dialect>(store: &SqlStore<DB>, d: &Department, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    if tx.execute(PUT_DEPARTMENT, args![&d.id, d.authority_id.as_str(), &d.name]).await? == 0 {
        return Err(StoreError::Exists("department"));
    }
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(d.authority_id.as_str()), settings_changed(&d.authority_id)).await?;
    tx.commit().await
}

pub(crate) async fn departments<DB: Dialect>(store: &SqlStore<DB>, authority: Option<&AuthorityId>) -> Result<Vec<Department>> {
    let rows: Vec<DepartmentRow> = match authority {
        Some(a) => store.all(DEPARTMENTS, args![a.as_str()]).await?,
        None => store.all(ALL_DEPARTMENTS, &[]).await?,
    };
    Ok(rows.into_iter().map(DepartmentRow::into_domain).collect())
}

pub(crate) async fn add_department_member<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, department: &str, user: &str, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    tx.execute(ADD_MEMBER, args![department, user, authority.as_str()]).await?;
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(authority.as_str()), settings_changed(authority)).await?;
    tx.commit().await
}

pub(crate) async fn member_departments<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, user: &str) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = store.all(MEMBER_DEPARTMENTS, args![user, authority.as_str()]).await?;
    Ok(rows.into_iter().map(|(d,)| d).collect())
}

pub(crate) async fn put_category<DB: Dialect>(store: &SqlStore<DB>, c: &Category, actor: &Actor) -> Result<()> {
    let keywords = serde_json::to_string(&c.keywords).map_err(|_| corrupt("keywords"))?;
    let attributes = serde_json::to_string(&c.attributes).map_err(|_| corrupt("attributes"))?;
    let publication = match c.publication {
        amtsweg_domain::reports::Publication::Moderated => "moderated",
        amtsweg_domain::reports::Publication::Immediate => "immediate",
    };
    let mut tx = store.write().await?;
    tx.execute(
        PUT_CATEGORY,
        args![c.authority_id.as_str(), &c.code, &c.name, &c.group, keywords, &c.description, attributes, publication, i64::from(c.deadline_days)],
    )
    .await?;
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(c.authority_id.as_str()), settings_changed(&c.authority_id)).await?;
    tx.commit().await
}

pub(crate) async fn categories<DB: Dialect>(store: &SqlStore<DB>, authority: Option<&AuthorityId>) -> Result<Vec<Category>> {
    let rows: Vec<CategoryRow> = match authority {
        Some(a) => store.all(CATEGORIES, args![a.as_str()]).await?,
        None => store.all(ALL_CATEGORIES, &[]).await?,
    };
    rows.into_iter().map(CategoryRow::into_domain).collect()
}

pub(crate) async fn category<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, code: &str) -> Result<Option<Category>> {
    store.optional::<CategoryRow>(CATEGORY, args![authority.as_str(), code]).await?.map(CategoryRow::into_domain).transpose()
}

/// Adds areas in one transaction (all or none).
pub(crate) async fn add_areas<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, areas: &[Area], actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    for a in areas {
        let (w, s, e, n) = a.bounds;
        tx.execute(PUT_AREA, args![&a.id, authority.as_str(), &a.name, &a.geometry, a.area_m2, w, s, e, n, &a.ars]).await.map_err(exists_as("area"))?;
    }
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(authority.as_str()), settings_changed(authority)).await?;
    tx.commit().await
}

pub(crate) async fn areas<DB: Dialect>(store: &SqlStore<DB>, authority: Option<&AuthorityId>) -> Result<Vec<Area>> {
    let rows: Vec<AreaRow> = match authority {
        Some(a) => store.all(AREAS, args![a.as_str()]).await?,
        None => store.all(ALL_AREAS, &[]).await?,
    };
    Ok(rows.into_iter().map(AreaRow::into_domain).collect())
}

pub(crate) async fn add_assignment<DB: Dialect>(store: &SqlStore<DB>, a: &Assignment, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    tx.execute(PUT_ASSIGNMENT, args![a.authority_id.as_str(), &a.category, &a.area_id, &a.department_id]).await.map_err(exists_as("assignment"))?;
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(a.authority_id.as_str()), settings_changed(&a.authority_id)).await?;
    tx.commit().await
}

pub(crate) async fn assignments<DB: Dialect>(store: &SqlStore<DB>, authority: Option<&AuthorityId>) -> Result<Vec<Assignment>> {
    let rows: Vec<AssignmentRow> = match authority {
        Some(a) => store.all(ASSIGNMENTS, args![a.as_str()]).await?,
        None => store.all(ALL_ASSIGNMENTS, &[]).await?,
    };
    Ok(rows.into_iter().map(AssignmentRow::into_domain).collect())
}

/// Replaces the authority's address list in one transaction; returns how many it holds.
pub(crate) async fn replace_addresses<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, list: &[amtsweg_places::Address], actor: &Actor) -> Result<u64> {
    const COLUMNS: usize = 9;
    const PER_STATEMENT: usize = 100;
    let mut tx = store.write().await?;
    tx.execute(DELETE_ADDRESSES, args![authority.as_str()]).await?;
    for chunk in list.chunks(PER_STATEMENT) {
        let mut sql = String::from("INSERT INTO addresses (authority_id, search_key, street, house_number, postcode, place, ars, lat, lon) VALUES ");
        let mut values: Vec<Arg> = Vec::with_capacity(chunk.len() * COLUMNS);
        for (i, a) in chunk.iter().enumerate() {
            let base = i * COLUMNS;
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(&(1..=COLUMNS).map(|c| format!("${}", base + c)).collect::<Vec<_>>().join(","));
            sql.push(')');
            values.extend([
                Arg::from(authority.as_str()),
                Arg::from(a.key()),
                Arg::from(a.street.as_str()),
                Arg::from(a.house_number.as_str()),
                Arg::from(a.postcode.as_str()),
                Arg::from(a.place.as_str()),
                Arg::from(a.ars.clone()),
                Arg::from(a.lat),
                Arg::from(a.lon),
            ]);
        }
        tx.execute(&sql, &values).await?;
    }
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(authority.as_str()), settings_changed(authority)).await?;
    tx.commit().await?;
    let (n,): (i64,) = store.one(COUNT_ADDRESSES, args![authority.as_str()]).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Addresses whose search key starts with `prefix` (normalised), of every authority.
pub(crate) async fn find_addresses<DB: Dialect>(store: &SqlStore<DB>, prefix: &str, limit: i64) -> Result<Vec<(AuthorityId, amtsweg_places::Address)>> {
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    // Everything from the prefix up to (not including) the prefix with its last character
    // moved on by one: a range the index answers, where LIKE would need the right collation.
    let mut upper: Vec<char> = prefix.chars().collect();
    if let Some(last) = upper.last_mut() {
        *last = char::from_u32(*last as u32 + 1).unwrap_or(char::MAX);
    }
    let upper: String = upper.into_iter().collect();
    let rows: Vec<AddressRow> = store.all(FIND_ADDRESSES, args![prefix, upper, limit]).await?;
    // PostgreSQL may compare by a language's collation: keep only true prefixes.
    Ok(rows
        .into_iter()
        .filter(|r| amtsweg_places::normalize(&format!("{} {}", r.street, r.house_number)).starts_with(prefix))
        .map(AddressRow::into_domain)
        .collect())
}

/// Addresses of every authority in the box `(west, south, east, north)`, the nearest to its
/// centre first (at most `limit`; the same on both databases).
pub(crate) async fn addresses_in<DB: Dialect>(store: &SqlStore<DB>, bounds: (f64, f64, f64, f64), limit: i64) -> Result<Vec<(AuthorityId, amtsweg_places::Address)>> {
    let (w, s, e, n) = bounds;
    let (lat, lon) = ((s + n) / 2.0, (w + e) / 2.0);
    // A degree of longitude is shorter than one of latitude by cos(latitude).
    let squeeze = lat.to_radians().cos().powi(2);
    let rows: Vec<AddressRow> = store.all(ADDRESSES_IN, args![s, n, w, e, limit, lat, lon, squeeze]).await?;
    Ok(rows.into_iter().map(AddressRow::into_domain).collect())
}

pub(crate) async fn create_open311_key<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, name: &str, key_hash: &str, actor: &Actor) -> Result<String> {
    let id = crate::sql::new_id();
    let mut tx = store.write().await?;
    tx.execute(PUT_KEY, args![&id, authority.as_str(), name, key_hash, OffsetDateTime::now_utc()]).await.map_err(exists_as("open311_key"))?;
    audit(&mut tx, AuditKind::Open311KeyIssued, who(actor), Some(authority.as_str()), ("open311_key", &id)).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn open311_key<DB: Dialect>(store: &SqlStore<DB>, key_hash: &str) -> Result<Option<Open311Key>> {
    let row: Option<(String, String, String)> = store.optional(KEY, args![key_hash]).await?;
    Ok(row.map(|(id, authority, name)| Open311Key { id, authority_id: AuthorityId::from_stored(authority), name }))
}

pub(crate) async fn open311_keys<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId) -> Result<Vec<Open311Key>> {
    let rows: Vec<(String, String, String)> = store.all(KEYS, args![authority.as_str()]).await?;
    Ok(rows.into_iter().map(|(id, authority, name)| Open311Key { id, authority_id: AuthorityId::from_stored(authority), name }).collect())
}

pub(crate) async fn revoke_open311_key<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &str, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    if tx.execute(REVOKE_KEY, args![OffsetDateTime::now_utc(), id, authority.as_str()]).await? == 0 {
        return Err(StoreError::NotFound);
    }
    audit(&mut tx, AuditKind::ReportSettingsChanged, who(actor), Some(authority.as_str()), settings_changed(authority)).await?;
    tx.commit().await
}
