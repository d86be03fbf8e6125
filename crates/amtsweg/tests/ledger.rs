//! `amtsweg ledger` as a process on a SQLite data folder: checkpoint, key, verify (and its
//! failure at the index of a changed entry), and an offline receipt check.

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
    amtsweg_web::demo::seed(&store).await.unwrap();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fim");
    amtsweg_web::demo::seed_fim(&store, &fixtures).await.unwrap();

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
    let receipt = amtsweg_web::ledger::receipt(&store, &key, &reference).await.unwrap().unwrap();
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
