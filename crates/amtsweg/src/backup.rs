//! `amtsweg backup DIR` and `amtsweg restore DIR`.
//!
//! A backup is a folder: the database (SQLite: a consistent copy made with `VACUUM INTO` while
//! the server runs; PostgreSQL: `pg_dump --format=custom`), the keys (the ledger's signing key,
//! the exchange key when configured, the upload key), the assistant's index, and
//! `manifest.json` with the SHA-256 of every file. A restore checks every file against the
//! manifest first, then puts everything into an empty data folder (and an empty PostgreSQL
//! database), and runs the migrations: a backup of an older release comes back up to date.
//! The backup holds the keys: keep it encrypted and away from the machine.

use crate::{ServerFlags, load, open_store};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "amtsweg.db";
const PG_FILE: &str = "amtsweg.pgdump";
const LEDGER_KEY: &str = "ledger.key";
const EXCHANGE_KEY: &str = "exchange.key";
const UPLOAD_KEY: &str = "upload.key";
const ASSISTANT: &str = "assistant";

#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    /// The layout of this folder.
    format: u32,
    amtsweg_version: String,
    created: String,
    /// `sqlite` or `postgres`.
    backend: String,
    files: Vec<FileEntry>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct FileEntry {
    /// Relative to the backup folder, with `/`.
    path: String,
    bytes: u64,
    sha256: String,
}

fn sha256_of(path: &Path) -> Result<(u64, String), String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| format!("{}: {e}", current.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    for relative in files_under(from)? {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(from.join(&relative), &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// Writes a secret file readable by its owner only.
fn write_secret(path: &Path, content: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(content).map_err(|e| format!("{}: {e}", path.display()))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A PostgreSQL URL without its password, and the password (for `PGPASSWORD`): a password in
/// the arguments would show in every process list.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_owned(), None) };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((credentials, host)) = authority.rsplit_once('@') else { return (url.to_owned(), None) };
    let Some((user, password)) = credentials.split_once(':') else { return (url.to_owned(), None) };
    (format!("{scheme}://{user}@{host}{tail}"), Some(percent_decode(password)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn run_tool(program: &str, args: &[&str], password: Option<&str>) -> Result<(), String> {
    let mut command = std::process::Command::new(program);
    command.args(args);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let out = command.output().map_err(|e| {
        format!("{program} ist nicht ausführbar ({e}); installieren Sie das Debian-Paket postgresql-client in der Hauptversion des Servers.")
    })?;
    if !out.status.success() {
        // The tool's message names tables and options, never rows.
        return Err(format!("{program} ist fehlgeschlagen: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

pub async fn backup(dir: PathBuf, config_path: Option<&PathBuf>, flags: &ServerFlags) -> Result<(), String> {
    let config = load(config_path, flags)?;
    if dir.exists() && std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?.next().is_some() {
        return Err(format!("{} ist nicht leer; eine Sicherung braucht einen leeren oder neuen Ordner.", dir.display()));
    }
    // The backup holds the keys: readable by its owner only.
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder.create(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let url = config.database_url();
    // The database first: the keys cannot change while the server runs, the data can.
    let backend = if is_postgres(&url) {
        let target = dir.join(PG_FILE);
        let (url, password) = split_password(&url);
        run_tool("pg_dump", &["--format=custom", "--no-owner", "--no-privileges", "--file", target.to_str().ok_or("Pfad")?, &url], password.as_deref())?;
        "postgres"
    } else {
        // A wrong path must not give an empty backup that looks fine.
        let file = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).map(|p| p.split('?').next().unwrap_or(p)).unwrap_or("");
        if !Path::new(file).is_file() {
            return Err(format!("Die Datenbank {file} gibt es nicht; prüfen Sie database_url und data_dir."));
        }
        let store = amtsweg_store::SqliteStore::connect(&url).await.map_err(|e| format!("Datenbank nicht erreichbar: {e}"))?;
        store.vacuum_into(&dir.join(SQLITE_FILE)).await.map_err(|e| format!("Sicherung der Datenbank fehlgeschlagen: {e}"))?;
        drop(store);
        "sqlite"
    };
    let ledger_key = config.ledger_key_path();
    let key = std::fs::read(&ledger_key).map_err(|e| format!("Der Ledger-Schlüssel {} ist nicht lesbar: {e}", ledger_key.display()))?;
    write_secret(&dir.join(LEDGER_KEY), &key)?;
    if let Some(exchange_key) = config.exchange.key.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        let key = std::fs::read(exchange_key).map_err(|e| format!("{}: {e}", exchange_key.display()))?;
        write_secret(&dir.join(EXCHANGE_KEY), &key)?;
    }
    if config.upload_key()?.is_some() {
        let text = config.upload_key_base64().expect("checked");
        write_secret(&dir.join(UPLOAD_KEY), format!("{text}\n").as_bytes())?;
    }
    let assistant = config.assistant_dir();
    if assistant.is_dir() {
        copy_tree(&assistant, &dir.join(ASSISTANT))?;
    }
    let mut files = Vec::new();
    for relative in files_under(&dir)? {
        let (bytes, sha256) = sha256_of(&dir.join(&relative))?;
        files.push(FileEntry { path: relative.to_string_lossy().replace('\\', "/"), bytes, sha256 });
    }
    let manifest = Manifest {
        format: 1,
        amtsweg_version: env!("CARGO_PKG_VERSION").into(),
        created: time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        backend: backend.into(),
        files,
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_string_pretty(&manifest).expect("JSON")).map_err(|e| e.to_string())?;
    // Recorded without migrating: a newer binary's backup must not change an older release's
    // database.
    if let Ok(store) = amtsweg_store::connect(&config.database_url()).await {
        let event = amtsweg_app::security::SecurityEvent::new(amtsweg_app::security::Action::KeyUse, true).reason("backup");
        crate::security_event(&config, &store, event).await;
    }
    println!("Sicherung geschrieben: {} ({} Dateien, Datenbank {backend}). Sie enthält die Schlüssel: verschlüsselt und getrennt aufbewahren.", dir.display(), manifest.files.len());
    Ok(())
}

/// Reads the manifest and checks every file it names, and that no file is missing or extra.
fn checked_manifest(dir: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|e| format!("{}: keine Sicherung ({MANIFEST}: {e})", dir.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| format!("{MANIFEST} ist beschädigt: {e}"))?;
    if manifest.format != 1 {
        return Err(format!("Das Format {} der Sicherung kennt diese Version nicht.", manifest.format));
    }
    let listed: std::collections::BTreeSet<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    for present in files_under(dir)? {
        let present = present.to_string_lossy().replace('\\', "/");
        if present != MANIFEST && !listed.contains(&present) {
            return Err(format!("{present} steht nicht im Manifest: die Sicherung wurde verändert."));
        }
    }
    for entry in &manifest.files {
        if entry.path.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(format!("{MANIFEST} nennt einen ungültigen Pfad."));
        }
        let (bytes, sha256) = sha256_of(&dir.join(&entry.path)).map_err(|e| format!("Die Sicherung ist unvollständig: {e}"))?;
        if bytes != entry.bytes || sha256 != entry.sha256 {
            return Err(format!("{} stimmt nicht mit dem Manifest überein (beschädigt oder verändert).", entry.path));
        }
    }
    Ok(manifest)
}

fn must_be_new(path: &Path, what: &str) -> Result<(), String> {
    if path.exists() {
        return Err(format!("{what} {} gibt es schon; eine Wiederherstellung schreibt nur in einen leeren Datenordner.", path.display()));
    }
    Ok(())
}

pub async fn restore(dir: PathBuf, config_path: Option<&PathBuf>, flags: &ServerFlags) -> Result<(), String> {
    let config = load(config_path, flags)?;
    let manifest = checked_manifest(&dir)?;
    let has = |name: &str| manifest.files.iter().any(|f| f.path == name);
    let url = config.database_url();
    // Everything is checked before anything is written.
    let target_db = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).map(|p| PathBuf::from(p.split('?').next().unwrap_or(p)));
    match (manifest.backend.as_str(), is_postgres(&url)) {
        ("postgres", false) => return Err("Die Sicherung stammt aus PostgreSQL; setzen Sie database_url auf eine leere PostgreSQL-Datenbank.".into()),
        ("sqlite", true) => return Err("Die Sicherung stammt aus SQLite; eine PostgreSQL-Datenbank wird daraus nicht befüllt.".into()),
        _ => {}
    }
    if let Some(db) = &target_db {
        must_be_new(db, "Die Datenbank")?;
    }
    must_be_new(&config.ledger_key_path(), "Der Ledger-Schlüssel")?;
    if has(UPLOAD_KEY) && config.uploads.key.is_none() {
        must_be_new(&config.upload_key_path(), "Der Upload-Schlüssel")?;
    }
    if manifest.files.iter().any(|f| f.path.starts_with("assistant/")) {
        must_be_new(&config.assistant_dir(), "Der Index des Assistenten")?;
    }
    if has(EXCHANGE_KEY) {
        must_be_new(&config.data_dir.join(EXCHANGE_KEY), "Der Austausch-Schlüssel")?;
    }
    // A configured upload key must be the backup's: with another, no upload could be read.
    if let (true, Some(configured)) = (has(UPLOAD_KEY), config.uploads.key.as_ref()) {
        use secrecy::ExposeSecret;
        let saved = std::fs::read_to_string(dir.join(UPLOAD_KEY)).map_err(|e| e.to_string())?;
        if saved.trim() != configured.expose_secret().trim() {
            return Err("Der konfigurierte upload_key ist nicht der der Sicherung: hochgeladene Nachweise wären nicht lesbar. Setzen Sie den Schlüssel aus upload.key der Sicherung.".into());
        }
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    match &target_db {
        Some(db) => {
            if let Some(parent) = db.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::copy(dir.join(SQLITE_FILE), db).map_err(|e| format!("{}: {e}", db.display()))?;
        }
        None => {
            let store = amtsweg_store::connect(&url).await.map_err(|e| format!("Datenbank nicht erreichbar: {e}"))?;
            drop(store);
            let (url, password) = split_password(&url);
            run_tool("pg_restore", &["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname", &url, dir.join(PG_FILE).to_str().ok_or("Pfad")?], password.as_deref())?;
        }
    }
    write_secret(&config.ledger_key_path(), &std::fs::read(dir.join(LEDGER_KEY)).map_err(|e| e.to_string())?)?;
    if has(UPLOAD_KEY) {
        if config.uploads.key.is_none() {
            write_secret(&config.upload_key_path(), &std::fs::read(dir.join(UPLOAD_KEY)).map_err(|e| e.to_string())?)?;
        } else {
            eprintln!("Hinweis: upload_key ist konfiguriert und gleicht dem der Sicherung; upload.key wurde nicht in den Datenordner geschrieben.");
        }
    }
    if has(EXCHANGE_KEY) {
        let target = config.data_dir.join(EXCHANGE_KEY);
        write_secret(&target, &std::fs::read(dir.join(EXCHANGE_KEY)).map_err(|e| e.to_string())?)?;
        println!("Der Schlüssel für den Nachweisabruf liegt in {}; setzen Sie exchange_key darauf.", target.display());
    }
    if dir.join(ASSISTANT).is_dir() {
        copy_tree(&dir.join(ASSISTANT), &config.assistant_dir())?;
    }
    // Brings a backup of an older release up to date.
    let store = open_store(&config).await?;
    crate::security_event(&config, &store, amtsweg_app::security::SecurityEvent::new(amtsweg_app::security::Action::KeyUse, true).reason("restore")).await;
    let size = store.ledger_size().await.map_err(|e| e.to_string())?;
    println!(
        "Wiederhergestellt aus {} (Sicherung vom {}, amtsweg {}): Datenbank, Schlüssel{}. Das Ledger hat {size} Einträge; prüfen Sie es mit „amtsweg ledger verify“ und starten Sie dann amtsweg serve.",
        dir.display(),
        manifest.created,
        manifest.amtsweg_version,
        if dir.join(ASSISTANT).is_dir() { " und Index des Assistenten" } else { "" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(split_password("postgres://amtsweg:g%40heim@db:5432/amtsweg?sslmode=require"), ("postgres://amtsweg@db:5432/amtsweg?sslmode=require".into(), Some("g@heim".into())));
        assert_eq!(split_password("postgres://postgres@127.0.0.1:5432/test"), ("postgres://postgres@127.0.0.1:5432/test".into(), None));
        assert_eq!(split_password("postgresql://u:p@h/d"), ("postgresql://u@h/d".into(), Some("p".into())));
        assert_eq!(percent_decode("a%zz%4"), "a%zz%4");
    }
}
