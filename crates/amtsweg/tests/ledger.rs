//! `amtsweg ledger` as a process on a SQLite data folder: checkpoint, key, verify (and its
//! failure at the index of a changed entry), and an offline receipt check.

mod common;

use common::SharedDatabase;
use std::path::PathBuf;
use std::process::Command;

fn amtsweg(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_amtsweg")).env("AMTSWEG_DATA_DIR", dir).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn checkpoint_verify_and_receipts_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("amtsweg-ledger-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Some history: the demo's authorities, people and the real FIM services.
    let url = format!("sqlite:{}", dir.join("amtsweg.db").display());
    let store = amtsweg_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    amtsweg_demo::seed(&store).await.unwrap();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fim");
    amtsweg_demo::seed_fim(&store, &fixtures).await.unwrap();

    // Without a key nothing is signed: it is made once, explicitly, and never overwritten.
    let (code, _, err) = amtsweg(&dir, &["ledger", "checkpoint"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("amtsweg ledger keygen"), "{err}");
    let (code, made, err) = amtsweg(&dir, &["ledger", "keygen"]);
    assert_eq!(code, 0, "{err}");
    assert!(made.starts_with("amtsweg.local/ledger+"), "{made}");
    assert_eq!(amtsweg(&dir, &["ledger", "keygen"]).0, 1, "an existing key is never overwritten");
    let (code, note, err) = amtsweg(&dir, &["ledger", "checkpoint"]);
    assert_eq!(code, 0, "{err}");
    assert!(note.starts_with("amtsweg.local/ledger\n"), "{note}");
    let (code, vkey, _) = amtsweg(&dir, &["ledger", "key"]);
    assert_eq!(code, 0);
    let vkey = vkey.trim().to_owned();
    let (size, _) = amtsweg_ledger::open_checkpoint(&note, &vkey).unwrap();
    assert!(size >= 3, "{size} entries");
    let (code, out, err) = amtsweg(&dir, &["ledger", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["entries"], size);

    // A receipt, checked offline with the key alone.
    let seed = std::fs::read_to_string(dir.join("ledger.key")).unwrap();
    let seed: [u8; 32] = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, seed.trim()).unwrap().try_into().unwrap();
    let key = amtsweg_ledger::LogKey::from_seed("amtsweg.local/ledger", seed).unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let reference: String = sqlx::Row::get(&sqlx::query("SELECT reference FROM ledger_entries WHERE idx = 1").fetch_one(&pool).await.unwrap(), "reference");
    let receipt = amtsweg_app::ledger::receipt(&store, &key, &reference).await.unwrap().unwrap();
    let file = dir.join("beleg.json");
    std::fs::write(&file, serde_json::to_string(&receipt).unwrap()).unwrap();
    let (code, out, err) = amtsweg(&dir, &["ledger", "verify-receipt", file.to_str().unwrap(), "--key", &vkey]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"valid\":true"), "{out}");
    let mut forged = receipt.clone();
    forged.index = 2;
    forged.inclusion.index = 2;
    std::fs::write(&file, serde_json::to_string(&forged).unwrap()).unwrap();
    let (code, _, err) = amtsweg(&dir, &["ledger", "verify-receipt", file.to_str().unwrap(), "--key", &vkey]);
    assert_eq!(code, 1, "{err}");

    // One changed entry: verify fails and names its index.
    sqlx::query("UPDATE ledger_entries SET entry = $1 WHERE idx = 2").bind(b"{\"v\":1,\"kind\":\"nichts\"}".to_vec()).execute(&pool).await.unwrap();
    let (code, out, err) = amtsweg(&dir, &["ledger", "verify"]);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["index"], 2, "{out}");
    assert!(err.contains("Index 2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two app processes on one PostgreSQL, both recording and both integrating at the same time:
/// one tree, every recorded action in it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_on_one_postgresql_keep_one_tree() {
    let Some(db) = SharedDatabase::create("amtsweg_ledger").await else { return };
    let (url, dir, key_file) = (db.url.clone(), db.dir.clone(), db.key_file.clone());

    let store = amtsweg_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let tokens = serde_json::to_value(amtsweg_demo::seed(&store).await.unwrap()).unwrap();
    let citizens: Vec<String> = tokens["citizens"].as_array().unwrap().iter().map(|c| c["token"].as_str().unwrap().to_owned()).collect();
    let servers = [db.serve(), db.serve()];

    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for (s, server) in servers.iter().enumerate() {
        for (c, token) in citizens.iter().enumerate().take(4) {
            let (http, base, token) = (http.clone(), server.1.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..15 {
                    let r = http.post(format!("{base}/api/v1/applications")).bearer_auth(&token).json(&serde_json::json!({"service_id": "bewohnerparkausweis"})).send().await.unwrap();
                    assert_eq!(r.status(), 201, "server {s}, citizen {c}, draft {i}");
                    // Both processes integrate while the others record.
                    let r = http.get(format!("{base}/api/v1/ledger/checkpoint")).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    for server in &servers {
        let r = http.get(format!("{}/api/v1/ledger/checkpoint", server.1)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let key = db.ledger_key();
    let verified = amtsweg_app::ledger::verify(&store, key.verifier_key()).await.unwrap().expect("one tree that verifies");
    let recorded = store.audit_count().await.unwrap() as u64;
    assert_eq!(store.ledger_pending().await.unwrap(), 0);
    assert_eq!(verified.entries, recorded, "every recorded action exactly once in the tree");
    assert!(verified.checkpoints > 1);
    drop(servers);
    // `amtsweg ledger verify` on PostgreSQL: fine, then failing at the index of a changed entry.
    let verify_cli = || {
        let out = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["ledger", "verify"])
            .env("AMTSWEG_DATABASE_URL", &url)
            .env("AMTSWEG_DATA_DIR", &dir)
            .env("AMTSWEG_LEDGER_KEY", &key_file)
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = verify_cli();
    assert_eq!(code, 0, "{out}");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE ledger_entries SET entry = $1 WHERE idx = 5").bind(b"{\"v\":1}".to_vec()).execute(&pool).await.unwrap();
    let (code, out) = verify_cli();
    assert_eq!(code, 1, "{out}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["index"], 5, "{out}");
    pool.close().await;
    drop(store);
    db.remove().await;
}
