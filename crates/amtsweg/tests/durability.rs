//! Durability under load: `amtsweg serve` on SQLite (batched commits, the ledger integrated per
//! batch) is killed with SIGKILL while many clients submit; every submission it acknowledged is
//! still there afterwards, each receipt checks offline against the ledger's key, and the whole
//! ledger verifies.

mod common;

use serde_json::{Value, json};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn amtsweg(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_amtsweg")).env("AMTSWEG_DATA_DIR", dir).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What the server acknowledged: the application, its citizen, the receipt.
struct Acknowledged {
    application: String,
    citizen: usize,
    receipt: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submissions_survive_sigkill_under_load() {
    let dir = std::env::temp_dir().join(format!("amtsweg-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("amtsweg.db").display());
    let tokens = {
        let store = amtsweg_store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        amtsweg_demo::seed(&store).await.unwrap()
    };
    let (code, _, err) = amtsweg(&dir, &["ledger", "keygen"]);
    assert_eq!(code, 0, "{err}");
    let key_file = dir.join("ledger.key");
    let server = common::serve_with(&url, &key_file, &dir, &[("AMTSWEG_RATE_LIMIT_API_PER_SECOND", "0")]);
    let base = server.1.clone();
    // Citizens whose city has a responsible authority.
    let citizens: Arc<Vec<(String, String)>> =
        Arc::new(tokens.citizens.iter().filter(|c| c.city != "Dresden").map(|c| (c.token.clone(), c.user_id.clone())).collect());
    let http = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    let deadline = Instant::now() + Duration::from_millis(2500);
    let mut clients = Vec::new();
    for c in 0..32 {
        let (http, base, citizens, acknowledged) = (http.clone(), base.clone(), citizens.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            let citizen = c % citizens.len();
            let token = &citizens[citizen].0;
            // Until the server is gone: a failed request ends this client.
            loop {
                let Ok(r) = http.post(format!("{base}/api/v1/applications")).bearer_auth(token).json(&json!({"service_id": "bewohnerparkausweis"})).send().await else { return };
                let Ok(created) = r.json::<Value>().await else { return };
                let Some(id) = created["id"].as_str().map(str::to_owned) else { return };
                let data = json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true});
                let Ok(r) = http.put(format!("{base}/api/v1/applications/{id}/data")).bearer_auth(token).json(&data).send().await else { return };
                if r.status() != 200 {
                    return;
                }
                let Ok(r) = http.post(format!("{base}/api/v1/applications/{id}/submit")).bearer_auth(token).send().await else { return };
                if r.status() != 200 {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else { return };
                acknowledged.lock().unwrap().push(Acknowledged { application: id, citizen, receipt: body["receipt"].clone() });
                if Instant::now() > deadline + Duration::from_secs(5) {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep_until(deadline.into()).await;
    // SIGKILL, in the middle of everything.
    let mut server = server;
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    for c in clients {
        let _ = c.await;
    }
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(acknowledged.len() >= 20, "only {} submissions were acknowledged before the kill", acknowledged.len());

    // Every acknowledged submission is stored, submitted, with its case.
    let store = amtsweg_store::connect(&url).await.unwrap();
    for a in &acknowledged {
        let citizen = amtsweg_domain::UserId::parse(&citizens[a.citizen].1).unwrap();
        let id = amtsweg_domain::ApplicationId::parse(&a.application).unwrap();
        let stored = store.application(&citizen, &id).await.unwrap().unwrap_or_else(|| panic!("acknowledged application {} lost", a.application));
        assert_eq!(stored.status, amtsweg_domain::ApplicationStatus::Submitted, "{}", a.application);
    }
    // Each receipt checks offline with the key alone.
    let seed = std::fs::read_to_string(&key_file).unwrap();
    let seed: [u8; 32] = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, seed.trim()).unwrap().try_into().unwrap();
    let key = amtsweg_ledger::LogKey::from_seed("amtsweg.local/ledger", seed).unwrap();
    for a in &acknowledged {
        let receipt: amtsweg_ledger::Receipt = serde_json::from_value(a.receipt.clone()).unwrap_or_else(|e| panic!("no receipt for {}: {e}", a.application));
        amtsweg_ledger::verify_receipt(&receipt, &key.verifier_key().to_string()).unwrap_or_else(|e| panic!("receipt of {}: {e}", a.application));
    }
    drop(store);
    // The whole ledger verifies after the kill.
    let (code, out, err) = amtsweg(&dir, &["ledger", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["entries"].as_u64().unwrap() >= acknowledged.len() as u64, "{out}");
    eprintln!("{} acknowledged submissions found after SIGKILL; ledger verified", acknowledged.len());
    let _ = std::fs::remove_dir_all(&dir);
}
