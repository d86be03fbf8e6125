//! `amtsweg staff`: staff accounts with a password login and a second factor (TOTP).
//!
//! The password is read from standard input (not a flag: flags end up in shell histories and
//! process lists). What the authenticator app needs is printed once as JSON: the secret and the
//! `otpauth://` address (to show as a QR code).

use crate::{ServerFlags, load, open_store};
use amtsweg_domain::records::StaffCredential;
use amtsweg_domain::{AuthorityId, Role, User, UserId};
use amtsweg_app::accounts::{hash_password, new_totp_secret, totp_uri};
use clap::Subcommand;
use std::io::BufRead;
use std::path::PathBuf;

/// Shortest password accepted (BSI IT-Grundschutz ORP.4: long passwords over complex ones).
const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Create a staff account of an authority; reads the password from standard input.
    Add {
        /// The authority's id (as in the catalog, e.g. `stadt-leipzig`).
        #[arg(long)]
        authority: String,
        /// caseworker, team_lead, data_protection or admin.
        #[arg(long)]
        role: String,
        /// The name shown in the workspace.
        #[arg(long)]
        name: String,
        /// The login name.
        #[arg(long)]
        login: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// A new password and a new second factor for a login (also lifts a lock); reads the
    /// password from standard input.
    Reset {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
}

fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("Passwort nicht lesbar: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("Das Passwort muss mindestens {MIN_PASSWORD_CHARS} Zeichen lang sein (auf der Standardeingabe)."));
    }
    Ok(password)
}

pub async fn run(command: StaffCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    let (login, flags) = match &command {
        StaffCommand::Add { login, flags, .. } | StaffCommand::Reset { login, flags } => (login.trim().to_owned(), flags),
    };
    if login.is_empty() || login.len() > 200 || login.chars().any(char::is_whitespace) {
        return Err("Der Benutzername darf nicht leer sein und keine Leerzeichen enthalten.".into());
    }
    // The password first: nothing is created when it is refused.
    let password = read_password()?;
    let config = load(config_path, flags)?;
    let store = open_store(&config).await?;
    let existing = store.staff_credential(&login).await.map_err(|e| e.to_string())?;
    let user_id = match command {
        StaffCommand::Add { authority, role, name, .. } => {
            if existing.is_some() {
                return Err(format!("Den Benutzernamen {login} gibt es schon (neues Passwort: amtsweg staff reset)."));
            }
            let role = Role::parse(&role).filter(|r| r.is_authority_member()).ok_or("--role: caseworker, team_lead, data_protection oder admin")?;
            let authority = AuthorityId::parse(&authority).ok_or("--authority: keine gültige Kennung")?;
            store.authority(&authority).await.map_err(|e| e.to_string())?.ok_or(format!("Die Behörde {authority} gibt es nicht."))?;
            let id = UserId::parse(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid id");
            let user = User { id: id.clone(), role, display_name: name, authority_id: Some(authority), person: None };
            store.create_user(&user).await.map_err(|e| e.to_string())?;
            id
        }
        StaffCommand::Reset { .. } => existing.map(|c| c.user_id).ok_or(format!("Den Benutzernamen {login} gibt es nicht."))?,
    };
    let secret = new_totp_secret();
    let credential = StaffCredential {
        user_id: user_id.clone(),
        login: login.clone(),
        password_hash: hash_password(&password),
        totp_secret: secret.clone(),
        failed_attempts: 0,
        locked_until: None,
        last_totp_step: None,
    };
    store.put_staff_credential(&credential).await.map_err(|e| e.to_string())?;
    let out = serde_json::json!({
        "user_id": user_id.to_string(),
        "login": login,
        "totp_secret": secret,
        "totp_uri": totp_uri(&secret, &login),
    });
    println!("{out}");
    eprintln!("Richten Sie den Schlüssel in einer Authenticator-App ein (totp_uri als QR-Code); er wird nicht noch einmal angezeigt.");
    Ok(())
}
