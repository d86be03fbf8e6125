//! `amtsweg maengel …`: an authority's Mängelmelder set up at the console (departments,
//! categories, areas from GeoJSON or whole regions by key, assignments, the address list, Open311 API keys), with the
//! same checks and German messages as everywhere (`amtsweg_app::reports::setup`); every change
//! is audited with the actor `console`.
//!
//! What a command creates or lists is printed as JSON on standard output; a refusal goes to
//! standard error and the exit code is 1. Nothing of a refused import is stored.

use crate::{ServerFlags, load, open_store};
use amtsweg_app::reports::ReportError;
use amtsweg_app::reports::setup::ReportAdmin;
use amtsweg_domain::{AuthorityId, Role, UserId};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum MaengelCommand {
    /// Create or rename a department (a team that handles reports).
    Department {
        #[arg(long)]
        authority: String,
        /// Short name: letters, digits, `-`, `_`.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// Members of staff of the authority to add (their user ids).
        #[arg(long = "member")]
        members: Vec<String>,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Create or change a category from a JSON file: `code`, `name`, `group`, `keywords`,
    /// `description`, `attributes` (Open311: `code`, `description`, `datatype`, `required`,
    /// `datatype_description`, `order`, `values` as `[{"key","name"}]`), `publication`
    /// (`moderated` or `immediate`), `deadline_days`.
    Category {
        #[arg(long)]
        authority: String,
        file: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Import areas from GeoJSON (Polygon or MultiPolygon features; names from a property).
    Areas {
        #[arg(long)]
        authority: String,
        /// The areas' ids are `<prefix>-1`, `<prefix>-2`, … in the file's order.
        #[arg(long)]
        prefix: String,
        /// The property holding each area's name.
        #[arg(long, default_value = "name")]
        name_property: String,
        file: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Add a whole region by its Amtlicher Regionalschlüssel as an area, without a drawing: a
    /// place belongs to it when the nearest house of the address lists (within 100 m) carries
    /// its key. Drawn areas decide first; among regions, the finest key.
    Region {
        #[arg(long)]
        authority: String,
        /// Short name: letters, digits, `-`, `_`.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// 12 digits, or the key's beginning up to the end of a level (2, 3, 5 or 9 digits).
        #[arg(long)]
        ars: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Let a department handle a category in an area.
    Assign {
        #[arg(long)]
        authority: String,
        #[arg(long)]
        category: String,
        #[arg(long)]
        area: String,
        #[arg(long)]
        department: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Replace the address list from CSV (street, house number, postcode, place, lat, lon).
    Addresses {
        #[arg(long)]
        authority: String,
        file: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Issue an API key for an Open311 client; the key is printed once.
    Key {
        #[arg(long)]
        authority: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Revoke an Open311 API key (by its id, from `show`): posts with it are refused (403).
    KeyRevoke {
        #[arg(long)]
        authority: String,
        id: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Show the setup: departments, categories, areas, assignments, keys (without geometry).
    Show {
        #[arg(long)]
        authority: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
}

async fn admin(config_path: Option<&PathBuf>, flags: &ServerFlags, authority: &str) -> Result<ReportAdmin, String> {
    let config = load(config_path, flags)?;
    let store = open_store(&config).await?;
    let id = AuthorityId::parse(authority).ok_or_else(|| format!("Die Behörde „{authority}“ gibt es nicht."))?;
    if store.authority(&id).await.map_err(|e| e.to_string())?.is_none() {
        return Err(format!("Die Behörde „{authority}“ gibt es nicht."));
    }
    Ok(ReportAdmin::for_authority(store, id, amtsweg_store::Actor { id: UserId::from_stored("console".into()), role: Role::Operator }))
}

fn refused(e: ReportError) -> String {
    match e {
        ReportError::NotFound(m) | ReportError::Invalid(_, m) => m,
        ReportError::App(e) => e.message(),
    }
}

fn read(file: &PathBuf) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: nicht in UTF-8 kodiert", file.display()))
}

fn print(value: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&value).expect("JSON"));
}

pub async fn run(command: MaengelCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    match command {
        MaengelCommand::Department { authority, id, name, members, flags } => {
            let admin = admin(config_path, &flags, &authority).await?;
            let d = admin.put_department(&id, &name).await.map_err(refused)?;
            for m in &members {
                admin.add_member(&d.id, m).await.map_err(refused)?;
            }
            print(serde_json::json!({"id": d.id, "authority_id": d.authority_id.as_str(), "name": d.name, "members": members}));
        }
        MaengelCommand::Category { authority, file, flags } => {
            let text = read(&file)?;
            let admin = admin(config_path, &flags, &authority).await?;
            let category = admin.put_category_json(&text).await.map_err(|e| format!("{}: {}", file.display(), refused(e)))?;
            print(serde_json::json!({"code": category.code, "name": category.name, "questions": category.attributes.len()}));
        }
        MaengelCommand::Areas { authority, prefix, name_property, file, flags } => {
            let text = read(&file)?;
            let admin = admin(config_path, &flags, &authority).await?;
            let areas = admin.import_areas(&text, Some(&name_property), &prefix).await.map_err(|e| format!("{}: {}", file.display(), refused(e)))?;
            print(serde_json::Value::Array(
                areas.iter().map(|a| serde_json::json!({"id": a.id, "name": a.name, "area_km2": (a.area_m2 / 1e4).round() / 100.0})).collect(),
            ));
        }
        MaengelCommand::Region { authority, id, name, ars, flags } => {
            let admin = admin(config_path, &flags, &authority).await?;
            let area = admin.add_region(&id, &name, &ars).await.map_err(refused)?;
            print(serde_json::json!({"id": area.id, "name": area.name, "ars": area.ars}));
        }
        MaengelCommand::Assign { authority, category, area, department, flags } => {
            let admin = admin(config_path, &flags, &authority).await?;
            admin.assign(&category, &area, &department).await.map_err(refused)?;
            print(serde_json::json!({"category": category, "area": area, "department": department}));
        }
        MaengelCommand::Addresses { authority, file, flags } => {
            let text = read(&file)?;
            let admin = admin(config_path, &flags, &authority).await?;
            let n = admin.import_addresses(&text).await.map_err(|e| format!("{}: {}", file.display(), refused(e)))?;
            print(serde_json::json!({"addresses": n}));
        }
        MaengelCommand::Key { authority, name, flags } => {
            let admin = admin(config_path, &flags, &authority).await?;
            let (id, key) = admin.issue_key(&name).await.map_err(refused)?;
            print(serde_json::json!({"id": id, "name": name, "api_key": key}));
        }
        MaengelCommand::KeyRevoke { authority, id, flags } => {
            let admin = admin(config_path, &flags, &authority).await?;
            admin.revoke_key(&id).await.map_err(refused)?;
            print(serde_json::json!({"revoked": id}));
        }
        MaengelCommand::Show { authority, flags } => {
            let admin = admin(config_path, &flags, &authority).await?;
            let categories = admin.categories().await.map_err(refused)?;
            let assignments = admin.assignments().await.map_err(refused)?;
            print(serde_json::json!({
                "departments": admin.departments().await.map_err(refused)?.iter().map(|d| serde_json::json!({"id": d.id, "name": d.name})).collect::<Vec<_>>(),
                "categories": categories.iter().map(|c| serde_json::json!({"code": c.code, "name": c.name, "group": c.group, "questions": c.attributes.len()})).collect::<Vec<_>>(),
                "areas": admin.areas().await.map_err(refused)?.iter().map(|a| serde_json::json!({"id": a.id, "name": a.name, "ars": a.ars})).collect::<Vec<_>>(),
                "assignments": assignments.iter().map(|a| serde_json::json!({"category": a.category, "area": a.area_id, "department": a.department_id})).collect::<Vec<_>>(),
                "keys": admin.keys().await.map_err(refused)?.iter().map(|k| serde_json::json!({"id": k.id, "name": k.name})).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(())
}
