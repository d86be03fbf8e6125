//! `amtsweg backup` while citizens submit, `amtsweg restore` into an empty data folder (and an
//! empty PostgreSQL database): every submission acknowledged before the backup began is there,
//! and the ledger verifies. A damaged backup and an occupied target are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Mutex;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_amtsweg"))
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `amtsweg` with a data folder and a database.
fn at(dir: &Path, database_url: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.args(args).env("AMTSWEG_DATA_DIR", dir).env("AMTSWEG_LOG", "warn").env_remove("AMTSWEG_DATABASE_URL");
    if let Some(url) = database_url {
        cmd.env("AMTSWEG_DATABASE_URL", url);
    }
    if args[0] == "backup" {
        // The running server's configuration: its upload key goes into the backup.
        cmd.env("AMTSWEG_UPLOAD_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=");
    }
    run(&mut cmd)
}

/// One acknowledged submission: whose, which, and when it was acknowledged.
#[derive(Clone)]
struct Ack {
    token: String,
    application: String,
    at: std::time::Instant,
}

/// Citizens submitting Bewohnerparkausweise until `stop`; returns every acknowledged one.
async fn load(base: String, tokens: Vec<String>, stop: Arc<AtomicBool>) -> Vec<Ack> {
    let acks = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for token in tokens {
        let (base, stop, acks) = (base.clone(), stop.clone(), acks.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let data = serde_json::json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true});
            while !stop.load(Ordering::Relaxed) {
                let created: serde_json::Value = http.post(format!("{base}/api/v1/applications")).bearer_auth(&token).json(&serde_json::json!({"service_id": "bewohnerparkausweis"})).send().await.unwrap().json().await.unwrap();
                let id = created["id"].as_str().expect("created").to_owned();
                let r = http.put(format!("{base}/api/v1/applications/{id}/data")).bearer_auth(&token).json(&data).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let r = http.post(format!("{base}/api/v1/applications/{id}/submit")).bearer_auth(&token).json(&serde_json::json!({})).send().await.unwrap();
                assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
                acks.lock().await.push(Ack { token: token.clone(), application: id, at: std::time::Instant::now() });
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(acks).ok().unwrap().into_inner()
}

/// Backs up `source` under load, restores into `target`, and checks the result there.
async fn backup_under_load_and_restore(source_url: &str, source_dir: &Path, target_url: Option<&str>, target_dir: &Path, backup_dir: &Path) {
    let store = amtsweg_store::connect(source_url).await.unwrap();
    store.migrate().await.unwrap();
    let tokens = amtsweg_demo::seed(&store).await.unwrap();
    let citizens: Vec<String> = tokens.citizens.iter().filter(|c| c.city != "Dresden").map(|c| c.token.clone()).collect();
    let (code, _, err) = at(source_dir, Some(source_url), &["ledger", "keygen"]);
    assert_eq!(code, 0, "{err}");
    let server = common::serve_with(source_url, &source_dir.join("ledger.key"), source_dir, &[("AMTSWEG_RATE_LIMIT_API_PER_SECOND", "0")]);

    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(load(server.1.clone(), citizens.clone(), stop.clone()));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let started = std::time::Instant::now();
    let (source_dir2, source_url2, backup_dir2) = (source_dir.to_path_buf(), source_url.to_owned(), backup_dir.to_path_buf());
    let (code, out, err) = tokio::task::spawn_blocking(move || at(&source_dir2, Some(&source_url2), &["backup", backup_dir2.to_str().unwrap()])).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Sicherung geschrieben"), "{out}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let acks = running.await.unwrap();
    let before: Vec<&Ack> = acks.iter().filter(|a| a.at < started).collect();
    assert!(before.len() >= 5, "the load acknowledged only {} submissions before the backup", before.len());
    assert!(acks.len() > before.len(), "submissions went on during the backup");
    drop(server);

    // An occupied target is refused, naming what is there.
    std::fs::create_dir_all(target_dir).unwrap();
    std::fs::write(target_dir.join("ledger.key"), "x").unwrap();
    let (code, _, err) = at(target_dir, target_url, &["restore", backup_dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("gibt es schon"), "{err}");
    std::fs::remove_file(target_dir.join("ledger.key")).unwrap();
    // A damaged backup is refused before anything is written.
    let damaged = backup_dir.with_extension("damaged");
    copy_dir(backup_dir, &damaged);
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(damaged.join("manifest.json")).unwrap()).unwrap();
    let database_file = manifest["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).find(|p| p.starts_with("amtsweg.")).unwrap().to_owned();
    let mut bytes = std::fs::read(damaged.join(&database_file)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(damaged.join(&database_file), bytes).unwrap();
    let (code, _, err) = at(target_dir, target_url, &["restore", damaged.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("stimmt nicht mit dem Manifest überein"), "{err}");
    assert!(!target_dir.join("ledger.key").exists() && !target_dir.join("amtsweg.db").exists(), "nothing written");

    // A file the manifest does not name is refused too.
    let extra = backup_dir.with_extension("extra");
    copy_dir(backup_dir, &extra);
    std::fs::write(extra.join("untergeschoben.sql"), "DROP TABLE cases;").unwrap();
    let (code, _, err) = at(target_dir, target_url, &["restore", extra.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("untergeschoben.sql steht nicht im Manifest"), "{err}");
    let _ = std::fs::remove_dir_all(&extra);
    // A configured upload key that is not the backup's would leave every upload unreadable.
    let mut other_key = bin();
    other_key.args(["restore", backup_dir.to_str().unwrap()]).env("AMTSWEG_DATA_DIR", target_dir).env("AMTSWEG_UPLOAD_KEY", "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=").env_remove("AMTSWEG_DATABASE_URL");
    if let Some(url) = target_url {
        other_key.env("AMTSWEG_DATABASE_URL", url);
    }
    let (code, _, err) = run(&mut other_key);
    assert_eq!(code, 1);
    assert!(err.contains("nicht der der Sicherung"), "{err}");
    assert!(!target_dir.join("ledger.key").exists(), "nothing written");

    // Restored: every submission acknowledged before the backup, and a ledger that verifies.
    let (code, out, err) = at(target_dir, target_url, &["restore", backup_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = at(target_dir, target_url, &["ledger", "verify"]);
    assert_eq!(code, 0, "the restored ledger verifies: {out}{err}");
    let restored_url = target_url.map(str::to_owned).unwrap_or_else(|| format!("sqlite:{}", target_dir.join("amtsweg.db").display()));
    let server = common::serve_with(&restored_url, &target_dir.join("ledger.key"), target_dir, &[("AMTSWEG_RATE_LIMIT_API_PER_SECOND", "0")]);
    let http = reqwest::Client::new();
    for ack in &before {
        let r = http.get(format!("{}/api/v1/applications/{}", server.1, ack.application)).bearer_auth(&ack.token).send().await.unwrap();
        assert_eq!(r.status(), 200, "acknowledged submission {} is missing after the restore", ack.application);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_ne!(body["status"], "draft", "{body}");
    }
    let _ = std::fs::remove_dir_all(&damaged);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            copy_dir(&path, &to.join(path.file_name().unwrap()));
        } else {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("amtsweg-backup-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_under_load_restores_every_acknowledged_submission() {
    let (source, target, backup) = (fresh("sqlite-source"), fresh("sqlite-target"), fresh("sqlite-backup"));
    std::fs::create_dir_all(&source).unwrap();
    let url = format!("sqlite:{}", source.join("amtsweg.db").display());
    backup_under_load_and_restore(&url, &source, None, &target, &backup).await;
    let manifest = std::fs::read_to_string(backup.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"sqlite\"") && manifest.contains("\"upload.key\"") && manifest.contains("\"ledger.key\""), "{manifest}");
    for dir in [source, target, backup] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_under_load_restores_every_acknowledged_submission() {
    let Some(source) = common::SharedDatabase::create("amtsweg_backup_src").await else { return };
    let Some(target) = common::SharedDatabase::create("amtsweg_backup_dst").await else { return };
    let backup = fresh("postgres-backup");
    // The target's data folder starts empty: its key comes from the backup.
    std::fs::remove_file(&target.key_file).unwrap();
    std::fs::remove_file(&source.key_file).unwrap();
    backup_under_load_and_restore(&source.url, &source.dir, Some(&target.url), &target.dir, &backup).await;
    let manifest = std::fs::read_to_string(backup.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"postgres\"") && manifest.contains("amtsweg.pgdump"), "{manifest}");
    let _ = std::fs::remove_dir_all(&backup);
    source.remove().await;
    target.remove().await;
}
