//! `amtsweg authority …` and `amtsweg responsibility …`: the platform operator's use cases at
//! the console, the same as the pages under `/betrieb` and the API under `/api/v1/platform/`
//! (same checks, same messages; every change audited with the actor `console`).
//!
//! What a command creates or lists is printed as JSON on standard output; refusals go to
//! standard error with each field's German message, and the exit code is 1.

use crate::{ServerFlags, load, open_store};
use amtsweg_app::AppError;
use amtsweg_app::operator::{AuthorityChanges, AuthorityInput, OperatorDesk};
use amtsweg_domain::{Authority, AuthorityId, Contact};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// Create an authority; prints it as JSON (with its id).
    Add {
        /// The name, e.g. "Landeshauptstadt Dresden".
        #[arg(long)]
        name: String,
        /// The regional key (ARS): 12 digits, or a prefix of 2, 3, 5 or 9.
        #[arg(long)]
        ars: String,
        /// The id (default: from the name).
        #[arg(long)]
        id: Option<String>,
        /// The short code in case numbers (default: from the name).
        #[arg(long)]
        short_code: Option<String>,
        #[command(flatten)]
        details: Details,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// List the authorities as JSON.
    List {
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Change an authority: only what is given changes.
    Edit {
        /// The authority's id.
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        ars: Option<String>,
        #[command(flatten)]
        details: Details,
        /// Deactivate: its staff lose access, it is responsible for nothing new.
        #[arg(long, conflicts_with = "activate")]
        deactivate: bool,
        /// Activate again.
        #[arg(long)]
        activate: bool,
        /// `true`: only the person a case is assigned to, or a team lead, may decide it.
        #[arg(long)]
        assignee_decides: Option<bool>,
        #[command(flatten)]
        flags: ServerFlags,
    },
}

/// Contact and letterhead of an authority.
#[derive(Args)]
pub struct Details {
    /// Postal address, one line.
    #[arg(long)]
    address: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    opening_hours: Option<String>,
    /// The head of the Bescheid (default: the name).
    #[arg(long)]
    letterhead: Option<String>,
}

#[derive(Subcommand)]
pub enum ResponsibilityCommand {
    /// Make an authority responsible for a service in a region (an ARS prefix).
    Add {
        #[arg(long)]
        authority: String,
        #[arg(long)]
        service: String,
        /// Land (2 digits), Regierungsbezirk (3), Kreis (5), Gemeindeverband (9), Gemeinde (12).
        #[arg(long)]
        region: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// List every responsibility as JSON.
    List {
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Import responsibilities from CSV (columns authority_id, service_id, region; comma or
    /// semicolon). Every refused line is reported with its reason; exit 1 if any was refused.
    Import {
        file: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Who is responsible for a service at a place (a 12-digit ARS), and why.
    Explain {
        #[arg(long)]
        service: String,
        #[arg(long)]
        ars: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
}

async fn desk(config_path: Option<&PathBuf>, flags: &ServerFlags) -> Result<OperatorDesk, String> {
    let config = load(config_path, flags)?;
    let store = open_store(&config).await?;
    Ok(OperatorDesk::console(amtsweg_app::Platform::ephemeral(store)))
}

/// A refusal as lines for standard error: each field with its message.
fn refused(e: AppError) -> String {
    match e {
        AppError::Invalid(fields) => fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("\n"),
        other => other.message(),
    }
}

fn authority_json(a: &Authority) -> serde_json::Value {
    serde_json::json!({
        "id": a.id.as_str(),
        "name": a.name,
        "ars": a.region.as_str(),
        "short_code": a.short_code,
        "address": a.address,
        "phone": a.contact.phone,
        "email": a.contact.email,
        "opening_hours": a.contact.opening_hours,
        "letterhead": a.letterhead,
        "active": a.active,
        "assignee_decides": a.assignee_decides,
    })
}

fn print(value: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&value).expect("JSON"));
}

pub async fn run_authority(command: AuthorityCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    match command {
        AuthorityCommand::Add { name, ars, id, short_code, details, flags } => {
            let desk = desk(config_path, &flags).await?;
            let input = AuthorityInput {
                name,
                ars,
                short_code,
                id,
                address: details.address.unwrap_or_default(),
                contact: Contact { phone: details.phone.unwrap_or_default(), email: details.email.unwrap_or_default(), opening_hours: details.opening_hours.unwrap_or_default() },
                letterhead: details.letterhead.unwrap_or_default(),
            };
            let authority = desk.create_authority(input).await.map_err(refused)?;
            print(authority_json(&authority));
        }
        AuthorityCommand::List { flags } => {
            let desk = desk(config_path, &flags).await?;
            print(desk.authorities().await.map_err(refused)?.iter().map(authority_json).collect());
        }
        AuthorityCommand::Edit { id, name, ars, details, deactivate, activate, assignee_decides, flags } => {
            let desk = desk(config_path, &flags).await?;
            let id = AuthorityId::parse(&id).ok_or_else(|| format!("Die Behörde „{id}“ gibt es nicht."))?;
            let changes = AuthorityChanges {
                name,
                ars,
                address: details.address,
                phone: details.phone,
                email: details.email,
                opening_hours: details.opening_hours,
                letterhead: details.letterhead,
                active: if deactivate { Some(false) } else if activate { Some(true) } else { None },
                assignee_decides,
            };
            let authority = desk.edit_authority(&id, changes).await.map_err(|e| match e {
                AppError::NotFound => format!("Die Behörde „{id}“ gibt es nicht."),
                other => refused(other),
            })?;
            print(authority_json(&authority));
        }
    }
    Ok(())
}

pub async fn run_responsibility(command: ResponsibilityCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    let responsibility_json = |r: &amtsweg_domain::Responsibility| {
        serde_json::json!({
            "authority_id": r.authority_id.as_str(),
            "service_id": r.service_id.as_str(),
            "region": r.region.prefix(),
            "ars": r.region.as_str(),
            "level": r.region.level(),
        })
    };
    match command {
        ResponsibilityCommand::Add { authority, service, region, flags } => {
            let desk = desk(config_path, &flags).await?;
            let r = desk.add_responsibility(&authority, &service, &region).await.map_err(refused)?;
            print(responsibility_json(&r));
        }
        ResponsibilityCommand::List { flags } => {
            let desk = desk(config_path, &flags).await?;
            print(desk.responsibilities().await.map_err(refused)?.iter().map(responsibility_json).collect());
        }
        ResponsibilityCommand::Import { file, flags } => {
            let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let text = String::from_utf8(text).map_err(|_| format!("{}: nicht in UTF-8 kodiert (bitte als „CSV UTF-8“ speichern)", file.display()))?;
            let desk = desk(config_path, &flags).await?;
            let report = desk.import_responsibilities(&text).await.map_err(|e| format!("{}: {}", file.display(), refused(e)))?;
            for line in &report.refused {
                eprintln!("{}:{}: abgelehnt: {}", file.display(), line.line, line.message);
            }
            println!("{} Zuständigkeiten eingetragen, {} Zeilen abgelehnt.", report.added, report.refused.len());
            if !report.refused.is_empty() {
                return Err(format!("{} Zeilen abgelehnt (siehe oben)", report.refused.len()));
            }
        }
        ResponsibilityCommand::Explain { service, ars, flags } => {
            let desk = desk(config_path, &flags).await?;
            let e = desk.explain(&service, &ars).await.map_err(refused)?;
            print(serde_json::json!({
                "service_id": e.service.id.as_str(),
                "ars": e.resolution.place.as_str(),
                "authority_id": e.resolution.chosen().map(|r| r.authority_id.as_str()),
                "explanation": e.text(),
            }));
        }
    }
    Ok(())
}
