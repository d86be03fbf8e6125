//! The service admin sets up the authority's Mängelmelder: departments, categories with their
//! questions, areas (GeoJSON), which department handles a category in which area, the address
//! list, and the API keys of Open311 clients. Input is checked here, with German messages;
//! nothing of a refused import is stored.

use super::ReportError;
use crate::AppError;
use amtsweg_domain::reports::{Area, Assignment, Attribute, Category, Datatype, Department, Publication, valid_code};
use amtsweg_domain::{AuthorityId, Role, User};
use amtsweg_places::{Relation, Shape};
use amtsweg_store::{Actor, DynStore, Open311Key};
use serde::Deserialize;

/// The service admin of one authority, for the Mängelmelder.
#[derive(Clone)]
pub struct ReportAdmin {
    store: DynStore,
    authority: AuthorityId,
    actor: Actor,
}

fn invalid(parameter: &'static str, message: impl Into<String>) -> ReportError {
    ReportError::Invalid(parameter, message.into())
}

/// A category as JSON, as the console and the admin's page take it: Open311's attribute format
/// (`code`, `description`, `datatype`, `required`, `datatype_description`, `order`, `values` as
/// `[{"key","name"}]`), `publication` (`moderated` by default) and `deadline_days` (14).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryJson {
    code: String,
    name: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    attributes: Vec<AttributeJson>,
    #[serde(default = "moderated")]
    publication: Publication,
    #[serde(default = "two_weeks")]
    deadline_days: u32,
}

fn moderated() -> Publication {
    Publication::Moderated
}

fn two_weeks() -> u32 {
    14
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeJson {
    code: String,
    description: String,
    datatype: Datatype,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    datatype_description: String,
    order: u32,
    #[serde(default)]
    values: Vec<ValueJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueJson {
    key: String,
    name: String,
}

impl ReportAdmin {
    pub fn new(store: DynStore, user: &User) -> Option<Self> {
        (user.role == Role::Admin).then_some(())?;
        Some(Self::for_authority(store, user.authority_id.clone()?, Actor { id: user.id.clone(), role: user.role }))
    }

    /// For the platform's own setup (the demo, imports from the command line).
    pub fn for_authority(store: DynStore, authority: AuthorityId, actor: Actor) -> Self {
        Self { store, authority, actor }
    }

    pub fn authority(&self) -> &AuthorityId {
        &self.authority
    }

    /// The authority's categories.
    pub async fn categories(&self) -> Result<Vec<Category>, ReportError> {
        Ok(self.store.categories(Some(&self.authority)).await?)
    }

    /// Which department handles which category in which area.
    pub async fn assignments(&self) -> Result<Vec<Assignment>, ReportError> {
        Ok(self.store.assignments(Some(&self.authority)).await?)
    }

    pub async fn put_department(&self, id: &str, name: &str) -> Result<Department, ReportError> {
        if !valid_code(id) {
            return Err(invalid("id", "Der Kurzname darf nur Buchstaben, Ziffern, „-“ und „_“ enthalten (höchstens 40 Zeichen)."));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "Der Name fehlt oder ist länger als 100 Zeichen."));
        }
        let department = Department { id: id.to_owned(), authority_id: self.authority.clone(), name: name.to_owned() };
        self.store.put_department(&department, &self.actor).await.map_err(|e| match e {
            amtsweg_store::StoreError::Exists(_) => invalid("id", "Diesen Kurznamen trägt schon ein Team einer anderen Behörde."),
            other => other.into(),
        })?;
        Ok(department)
    }

    pub async fn add_member(&self, department: &str, user: &str) -> Result<(), ReportError> {
        Ok(self.store.add_department_member(&self.authority, department, user, &self.actor).await?)
    }

    pub async fn departments(&self) -> Result<Vec<Department>, ReportError> {
        Ok(self.store.departments(Some(&self.authority)).await?)
    }

    /// Reads a category from JSON (see `CategoryJson`) and stores it; returns it.
    pub async fn put_category_json(&self, text: &str) -> Result<Category, ReportError> {
        let parsed: CategoryJson = serde_json::from_str(text).map_err(|e| {
            invalid("category", format!("Die Kategorie ist kein gültiges JSON im beschriebenen Format (Zeile {}, Spalte {}).", e.line(), e.column()))
        })?;
        let category = Category {
            authority_id: self.authority.clone(),
            code: parsed.code,
            name: parsed.name,
            group: parsed.group,
            keywords: parsed.keywords,
            description: parsed.description,
            attributes: parsed
                .attributes
                .into_iter()
                .map(|a| Attribute {
                    code: a.code,
                    description: a.description,
                    datatype: a.datatype,
                    required: a.required,
                    datatype_description: a.datatype_description,
                    order: a.order,
                    values: a.values.into_iter().map(|v| (v.key, v.name)).collect(),
                })
                .collect(),
            publication: parsed.publication,
            deadline_days: parsed.deadline_days,
        };
        self.put_category(category.clone()).await?;
        Ok(category)
    }

    pub async fn put_category(&self, mut category: Category) -> Result<(), ReportError> {
        category.authority_id = self.authority.clone();
        category.check().map_err(|e| invalid("category", e.to_string()))?;
        Ok(self.store.put_category(&category, &self.actor).await?)
    }

    /// Imports areas from GeoJSON (names from the property `name_property`, default `name`);
    /// their ids are `<prefix>-<n>`. All or none.
    pub async fn import_areas(&self, geojson: &str, name_property: Option<&str>, prefix: &str) -> Result<Vec<Area>, ReportError> {
        if !valid_code(prefix) || prefix.len() > 30 {
            return Err(invalid("prefix", "Der Kurzname der Flächen darf nur Buchstaben, Ziffern, „-“ und „_“ enthalten."));
        }
        let shapes = amtsweg_places::read_geojson(geojson, name_property).map_err(|e| invalid("geojson", e.to_string()))?;
        let areas: Vec<Area> = shapes
            .into_iter()
            .enumerate()
            .map(|(i, s)| Area {
                id: format!("{prefix}-{}", i + 1),
                authority_id: self.authority.clone(),
                name: s.name,
                geometry: s.shape.to_geojson(),
                area_m2: s.shape.area_m2(),
                bounds: s.shape.bounds(),
                ars: None,
            })
            .collect();
        self.store.add_areas(&self.authority, &areas, &self.actor).await.map_err(|e| match e {
            amtsweg_store::StoreError::Exists(_) => invalid("prefix", "Flächen mit diesem Kurznamen gibt es schon."),
            other => other.into(),
        })?;
        Ok(areas)
    }

    /// Adds a whole region by its Amtlicher Regionalschlüssel as an area (routing rule 6): the
    /// key as 12 digits or its significant prefix (`14730` for a Kreis).
    pub async fn add_region(&self, id: &str, name: &str, ars: &str) -> Result<Area, ReportError> {
        if !valid_code(id) {
            return Err(invalid("id", "Der Kurzname darf nur Buchstaben, Ziffern, „-“ und „_“ enthalten (höchstens 40 Zeichen)."));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "Der Name fehlt oder ist länger als 100 Zeichen."));
        }
        let key = amtsweg_domain::RegionKey::parse(ars).or_else(|_| amtsweg_domain::RegionKey::parse_prefix(ars)).map_err(|_| {
            invalid("ars", "Der Regionalschlüssel muss 12 Ziffern haben (oder sein Anfang bis zum Ende einer Stufe sein: 2, 3, 5 oder 9 Ziffern), zum Beispiel 147300000000 für einen Kreis.")
        })?;
        let area = Area {
            id: id.to_owned(),
            authority_id: self.authority.clone(),
            name: name.to_owned(),
            geometry: String::new(),
            area_m2: 0.0,
            bounds: (0.0, 0.0, 0.0, 0.0),
            ars: Some(key.as_str().to_owned()),
        };
        self.store.add_areas(&self.authority, std::slice::from_ref(&area), &self.actor).await.map_err(|e| match e {
            amtsweg_store::StoreError::Exists(_) => invalid("id", "Eine Fläche mit diesem Kurznamen gibt es schon."),
            other => other.into(),
        })?;
        Ok(area)
    }

    pub async fn areas(&self) -> Result<Vec<Area>, ReportError> {
        Ok(self.store.areas(Some(&self.authority)).await?)
    }

    /// Assigns a category in an area to a department. Refused when the category has an
    /// assignment in an area that overlaps this one without either lying inside the other (the
    /// routing rule could not choose), or in the same area.
    pub async fn assign(&self, category: &str, area_id: &str, department: &str) -> Result<(), ReportError> {
        if self.store.category(&self.authority, category).await?.is_none() {
            return Err(ReportError::NotFound(format!("Die Kategorie „{}“ gibt es nicht.", short(category))));
        }
        if !self.departments().await?.iter().any(|d| d.id == department) {
            return Err(ReportError::NotFound(format!("Das Team „{}“ gibt es nicht.", short(department))));
        }
        let areas = self.areas().await?;
        let area = areas.iter().find(|a| a.id == area_id).ok_or_else(|| ReportError::NotFound(format!("Die Fläche „{}“ gibt es nicht.", short(area_id))))?;
        let overlap = |other: &Area| {
            invalid(
                "area",
                format!("„{}“ überschneidet sich mit „{}“, wo für diese Kategorie schon ein Team eingetragen ist. Flächen einer Kategorie dürfen nur nebeneinander oder ineinander liegen.", area.name, other.name),
            )
        };
        for existing in self.store.assignments(Some(&self.authority)).await?.iter().filter(|a| a.category == category) {
            let Some(other) = areas.iter().find(|a| a.id == existing.area_id) else { continue };
            if other.id == area.id {
                return Err(invalid("area", format!("Für diese Kategorie ist in „{}“ schon ein Team eingetragen.", other.name)));
            }
            // Regions by key nest or lie apart by their keys; only the same key twice overlaps.
            // A drawing and a region never compete: drawings decide first (routing rule 6).
            match (&area.ars, &other.ars) {
                (Some(a), Some(b)) if a == b => return Err(overlap(other)),
                (None, None) => {}
                _ => continue,
            }
            if area.ars.is_some() {
                continue;
            }
            let shape = Shape::from_geojson(&area.geometry).map_err(|_| AppError::Internal("stored area does not read".into()))?;
            let other_shape = Shape::from_geojson(&other.geometry).map_err(|_| AppError::Internal("stored area does not read".into()))?;
            let relation = shape.relation(&other_shape);
            let same_size = (area.area_m2 - other.area_m2).abs() < 1.0;
            if relation == Relation::Overlap || (relation != Relation::Apart && same_size) {
                return Err(overlap(other));
            }
        }
        let assignment = Assignment { authority_id: self.authority.clone(), category: category.to_owned(), area_id: area_id.to_owned(), department_id: department.to_owned() };
        self.store.add_assignment(&assignment, &self.actor).await.map_err(|e| match e {
            amtsweg_store::StoreError::Exists(_) => invalid("area", "Für diese Kategorie ist in dieser Fläche schon ein Team eingetragen."),
            other => other.into(),
        })?;
        Ok(())
    }

    /// Replaces the address list from CSV; returns how many addresses it holds.
    pub async fn import_addresses(&self, csv: &str) -> Result<u64, ReportError> {
        let list = amtsweg_places::AddressList::parse(csv).map_err(|e| invalid("csv", e.to_string()))?;
        Ok(self.store.replace_addresses(&self.authority, &list.addresses, &self.actor).await?)
    }

    /// A new API key for an Open311 client; the key is shown once (only its hash is kept).
    pub async fn issue_key(&self, name: &str) -> Result<(String, String), ReportError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "Bitte geben Sie dem Schlüssel einen Namen (höchstens 100 Zeichen)."));
        }
        let key = format!("o311_{}", crate::accounts::new_secret());
        let id = self.store.create_open311_key(&self.authority, name, &crate::accounts::hash_secret(&key), &self.actor).await?;
        Ok((id, key))
    }

    pub async fn keys(&self) -> Result<Vec<Open311Key>, ReportError> {
        Ok(self.store.open311_keys(&self.authority).await?)
    }

    pub async fn revoke_key(&self, id: &str) -> Result<(), ReportError> {
        self.store.revoke_open311_key(&self.authority, id, &self.actor).await.map_err(|e| match e {
            amtsweg_store::StoreError::NotFound => ReportError::NotFound("Diesen Schlüssel gibt es nicht.".into()),
            other => other.into(),
        })
    }
}

fn short(text: &str) -> String {
    text.chars().take(40).collect()
}
