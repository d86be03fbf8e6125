//! `amtsweg ledger`: checkpoint now, verify everything stored, check a receipt offline, print
//! the log's verifier key.

use crate::config::Config;
use amtsweg_ledger::LogKey;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Integrate waiting entries, sign a checkpoint if the tree grew, print the latest.
    Checkpoint(crate::ServerFlags),
    /// Recompute the tree from the stored entries and check every stored checkpoint; exit 1
    /// naming the first index where anything differs.
    Verify(crate::ServerFlags),
    /// Print the log's public key (signed-note verifier key).
    Key(crate::ServerFlags),
    /// Make the ledger's signing key file (where `ledger_key` points, default
    /// `<data_dir>/ledger.key`; never overwrites one) and print its verifier key.
    Keygen(crate::ServerFlags),
    /// Check a receipt (JSON) offline with the log's verifier key alone.
    VerifyReceipt {
        file: PathBuf,
        /// The verifier key (`name+keyid+base64`), as `GET /api/v1/ledger/key` prints it.
        #[arg(long)]
        key: String,
    },
}

/// The ledger's key: the file `ledger_key` names (default `<data_dir>/ledger.key`). A missing
/// file is an error that says how to make one: a key made silently would sign checkpoints that
/// nobody can check after the file is lost.
pub fn key(config: &Config) -> Result<LogKey, String> {
    let path = config.ledger_key_path();
    if !path.exists() {
        return Err(format!(
            "Der Signaturschlüssel des Ledgers fehlt ({}). Erzeugen Sie ihn einmal mit „amtsweg ledger keygen“ (mit derselben Konfiguration) und sichern Sie die Datei; oder nennen Sie mit ledger_key eine vorhandene.",
            path.display()
        ));
    }
    read_key(config, &path)
}

/// The ledger's key for the throwaway demo: made on first use.
pub fn demo_key(config: &Config) -> Result<LogKey, String> {
    let path = config.ledger_key_path();
    if !path.exists() {
        make_key_file(&path)?;
    }
    read_key(config, &path)
}

fn read_key(config: &Config, path: &Path) -> Result<LogKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed: [u8; 32] = STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{}: kein Base64 von 32 Bytes", path.display()))?;
    LogKey::from_seed(&config.ledger.origin, seed).map_err(|_| format!("ledger_origin „{}“ ist kein gültiger Name (ohne Leerzeichen und +)", config.ledger.origin))
}

fn make_key_file(path: &Path) -> Result<(), String> {
    use std::io::Write;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    writeln!(file, "{}", STANDARD.encode(seed)).map_err(|e| format!("{}: {e}", path.display()))
}

pub async fn run(command: LedgerCommand, config: Option<&PathBuf>) -> Result<(), String> {
    match command {
        LedgerCommand::VerifyReceipt { file, key } => {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let receipt: amtsweg_ledger::Receipt = serde_json::from_str(&text).map_err(|e| format!("{}: kein Beleg ({e})", file.display()))?;
            let entry = amtsweg_ledger::verify_receipt(&receipt, &key).map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{}", serde_json::json!({"valid": true, "index": receipt.index, "size": receipt.inclusion.size, "kind": entry.kind, "at": entry.at}));
            Ok(())
        }
        LedgerCommand::Checkpoint(flags) => {
            let config = crate::load(config, &flags)?;
            let key = key(&config)?;
            let store = crate::open_store(&config).await?;
            match amtsweg_app::ledger::checkpoint(&store, &key).await.map_err(|e| e.to_string())? {
                Some((_, note)) => print!("{note}"),
                None => println!("Das Ledger ist noch leer."),
            }
            Ok(())
        }
        LedgerCommand::Keygen(flags) => {
            let config = crate::load(config, &flags)?;
            let path = config.ledger_key_path();
            if path.exists() {
                return Err(format!("{} gibt es schon; ein vorhandener Schlüssel wird nie überschrieben.", path.display()));
            }
            make_key_file(&path)?;
            // Keys come before the database: recorded without creating or migrating it (when
            // there is none yet, the event is only in the log's warning).
            if let Ok(store) = amtsweg_store::connect(&config.database_url()).await {
                crate::security_event(&config, &store, amtsweg_app::security::SecurityEvent::new(amtsweg_app::security::Action::KeyUse, true).reason("ledger-key-created")).await;
            }
            eprintln!("Schlüssel des Ledgers angelegt: {} (nur für den Eigentümer lesbar; bitte sichern).", path.display());
            println!("{}", key(&config)?.verifier_key());
            Ok(())
        }
        LedgerCommand::Key(flags) => {
            let config = crate::load(config, &flags)?;
            println!("{}", key(&config)?.verifier_key());
            Ok(())
        }
        LedgerCommand::Verify(flags) => {
            let config = crate::load(config, &flags)?;
            let key = key(&config)?;
            let store = crate::open_store(&config).await?;
            use amtsweg_app::security::{Action, SecurityEvent};
            match amtsweg_app::ledger::verify(&store, key.verifier_key()).await.map_err(|e| e.to_string())? {
                Ok(v) => {
                    crate::security_event(&config, &store, SecurityEvent::new(Action::LedgerVerification, true).reason("verified")).await;
                    println!("{}", serde_json::to_string(&v).expect("JSON"));
                    Ok(())
                }
                Err(m) => {
                    crate::security_event(&config, &store, SecurityEvent::new(Action::LedgerVerification, false).reason("mismatch")).await;
                    println!("{}", serde_json::json!({"valid": false, "index": m.index, "reason": m.reason}));
                    Err(m.to_string())
                }
            }
        }
    }
}
