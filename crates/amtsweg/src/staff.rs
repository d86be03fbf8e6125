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
    /// Invite a colleague of an authority, or a platform operator (`--role operator`, no
    /// authority): prints the one-time link (valid 72 hours) where they choose a password and
    /// set up the second factor themselves.
    Invite {
        /// The authority's id (not for an operator).
        #[arg(long)]
        authority: Option<String>,
        /// caseworker, team_lead, data_protection, admin, or operator.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        login: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// An API token (90 days) for a colleague's integrations; printed once.
    Token {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Deactivate a login: its sessions end and its tokens stop at once.
    Deactivate {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        flags: ServerFlags,
    },
}

/// `invite`, `token` and `deactivate`: through the operator's desk, audited with the actor `console`.
async fn run_operator(command: StaffCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    use amtsweg_app::operator::{OperatorDesk, StaffInput};
    let flags = match &command {
        StaffCommand::Invite { flags, .. } | StaffCommand::Token { flags, .. } | StaffCommand::Deactivate { flags, .. } => flags,
        _ => unreachable!("only invite, token and deactivate"),
    };
    let config = load(config_path, flags)?;
    let store = open_store(&config).await?;
    let desk = OperatorDesk::console(amtsweg_app::Platform::ephemeral(store.clone()));
    let message = |e: amtsweg_app::AppError| match e {
        amtsweg_app::AppError::Invalid(fields) => fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("\n"),
        other => other.message(),
    };
    let out = match command {
        StaffCommand::Invite { authority, role, name, login, .. } => {
            let invitation = match (role.trim(), authority) {
                ("operator", None) => desk.invite_operator(&name, &login).await.map_err(message)?,
                ("operator", Some(_)) => return Err("Ein Plattformbetrieb gehört zu keiner Behörde: --authority entfällt.".into()),
                (_, None) => return Err("--authority: die Behörde, für die die Person arbeitet.".into()),
                (_, Some(authority)) => desk.invite(StaffInput { authority_id: authority, name, login: login.clone(), role, id: None }).await.map_err(message)?,
            };
            // The full address when the public address is configured; the path otherwise.
            let url = match config.server.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                Some(base) => format!("{}{}", base.trim_end_matches('/'), invitation.path),
                None => invitation.path.clone(),
            };
            serde_json::json!({
                "user_id": invitation.user_id.as_str(),
                "login": login,
                "invitation_url": url,
                "expires": invitation.expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            })
        }
        StaffCommand::Token { login, .. } => {
            let credential = store.staff_credential(login.trim()).await.map_err(|e| e.to_string())?.ok_or(format!("Den Benutzernamen {login} gibt es nicht."))?;
            let (token, expires) = desk.issue_token(&credential.user_id).await.map_err(message)?;
            serde_json::json!({
                "user_id": credential.user_id.as_str(),
                "token": token,
                "expires": expires.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            })
        }
        StaffCommand::Deactivate { login, .. } => {
            let credential = store.staff_credential(login.trim()).await.map_err(|e| e.to_string())?.ok_or(format!("Den Benutzernamen {login} gibt es nicht."))?;
            desk.deactivate(&credential.user_id).await.map_err(|e| match e {
                amtsweg_app::AppError::NotFound => format!("Der Zugang {login} ist schon deaktiviert."),
                other => message(other),
            })?;
            serde_json::json!({"user_id": credential.user_id.as_str(), "login": login, "active": false})
        }
        _ => unreachable!("only invite, token and deactivate"),
    };
    println!("{out}");
    Ok(())
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
        StaffCommand::Invite { .. } | StaffCommand::Token { .. } | StaffCommand::Deactivate { .. } => return run_operator(command, config_path).await,
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
        StaffCommand::Invite { .. } | StaffCommand::Token { .. } | StaffCommand::Deactivate { .. } => unreachable!("handled above"),
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
