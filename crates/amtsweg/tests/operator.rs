//! The platform operator at the console: Dresden set up with `amtsweg authority`, `amtsweg
//! responsibility`, `amtsweg fim import` and `amtsweg staff invite|token` on the demo world's
//! database; then `amtsweg serve` on it, and the Dresden citizen's application lands in
//! Dresden's inbox, which Leipzig does not see. Refused input exits 1 and changes nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_amtsweg"))
}

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fim");
    assert!(dir.is_dir(), "the shared fixtures are missing: expected {}", dir.display());
    dir
}

struct Console {
    db: String,
    dir: PathBuf,
}

impl Console {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = bin().args(args).env("AMTSWEG_DATABASE_URL", &self.db).env("AMTSWEG_DATA_DIR", &self.dir).env("AMTSWEG_LOG", "warn").output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Runs a command that must succeed and print JSON.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sets_up_dresden_at_the_console() {
    let dir = std::env::temp_dir().join(format!("amtsweg-operator-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite:{}", dir.join("amtsweg.db").display());
    let store = amtsweg_store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let tokens = amtsweg_demo::seed(&store).await.unwrap();
    let console = Console { db: db.clone(), dir: dir.clone() };
    let audit_before = store.audit_count().await.unwrap();

    // Refused: exit 1, the field and its German message, nothing stored.
    for (args, expected) in [
        (vec!["authority", "add", "--name", "Stadt X", "--ars", "1461"], "ars: Eine Region ist ein Regionalschlüssel oder sein Anfang"),
        (vec!["authority", "add", "--name", " ", "--ars", "14612"], "name: Bitte füllen Sie dieses Feld aus."),
        (vec!["authority", "add", "--name", "Stadt X", "--ars", "14612", "--email", "x"], "email:"),
        (vec!["authority", "edit", "gibtsnicht", "--name", "X"], "Die Behörde „gibtsnicht“ gibt es nicht."),
        (vec!["responsibility", "add", "--authority", "leipzig", "--service", "bewohnerparkausweis", "--region", "147130000000"], "bereits Stadt Leipzig zuständig"),
        (vec!["responsibility", "add", "--authority", "niemand", "--service", "bewohnerparkausweis", "--region", "14"], "authority_id: Die Behörde „niemand“ gibt es nicht."),
        (vec!["staff", "invite", "--authority", "leipzig", "--role", "chef", "--name", "X", "--login", "x"], "role:"),
        (vec!["staff", "token", "--login", "niemand"], "gibt es nicht"),
    ] {
        let (code, out, err) = console.run(&args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(err.contains(expected), "{args:?}: expected „{expected}“ in {err}");
    }
    assert_eq!(store.audit_count().await.unwrap(), audit_before, "refused commands changed nothing");
    assert_eq!(store.authorities().await.unwrap().len(), 3);

    // Dresden, with its contact.
    let dresden = console.json(&["authority", "add", "--name", "Landeshauptstadt Dresden", "--ars", "146120000000", "--email", "buergerbuero@dresden.de", "--letterhead", "Landeshauptstadt Dresden · Bürgeramt"]);
    let id = dresden["id"].as_str().unwrap().to_owned();
    assert_eq!((id.as_str(), dresden["short_code"].as_str()), ("landeshauptstadt-dresden", Some("DRE")));
    let edited = console.json(&["authority", "edit", &id, "--phone", "0351 488-0", "--opening-hours", "Mo–Fr 8–18 Uhr"]);
    assert_eq!((edited["phone"].as_str(), edited["email"].as_str()), (Some("0351 488-0"), Some("buergerbuero@dresden.de")));
    let listed = console.json(&["authority", "list"]);
    assert!(listed.as_array().unwrap().iter().any(|a| a["id"] == id.as_str() && a["active"] == true));

    // A service from a FIM schema it never saw, and the responsibilities: one added, one file.
    let schema = fixtures().join("xdf3/xdf3-sample.xml");
    let (code, out, err) = console.run(&["fim", "import", schema.to_str().unwrap(), "--service", "Beispielleistung aus XDatenfelder 3"]);
    assert_eq!(code, 0, "{out}{err}");
    let service = out.split('„').nth(1).and_then(|s| s.split('“').next()).expect("the service id is printed").to_owned();
    let added = console.json(&["responsibility", "add", "--authority", &id, "--service", "bewohnerparkausweis", "--region", "14612"]);
    assert_eq!(added["level"], "Kreis oder kreisfreie Stadt");
    let csv = write(&dir, "zustaendigkeiten.csv", &format!("authority_id;service_id;region\n{id};{service};146120000000\n{id};bewohnerparkausweis;14612\n"));
    let (code, out, err) = console.run(&["responsibility", "import", &csv]);
    assert_eq!(code, 1, "a refused line makes the import exit 1: {out}{err}");
    assert!(out.contains("1 Zuständigkeiten eingetragen, 1 Zeilen abgelehnt."), "{out}");
    assert!(err.contains("zustaendigkeiten.csv:3: abgelehnt: Für „Bewohnerparkausweis“ in der Region 14612"), "{err}");
    let listed = console.json(&["responsibility", "list"]);
    assert!(listed.as_array().unwrap().iter().any(|r| r["service_id"] == service.as_str() && r["authority_id"] == id.as_str()));
    let why = console.json(&["responsibility", "explain", "--service", "bewohnerparkausweis", "--ars", "146120000000"]);
    assert_eq!(why["authority_id"], id.as_str());

    // A caseworker invited, and given a token.
    let invited = console.json(&["staff", "invite", "--authority", &id, "--role", "caseworker", "--name", "Susanne Berger", "--login", "s.berger"]);
    assert!(invited["invitation_url"].as_str().unwrap().starts_with("/einladung/"), "{invited}");
    let token = console.json(&["staff", "token", "--login", "s.berger"]);
    let susanne = token["token"].as_str().unwrap().to_owned();

    // Every step is audited with the console as actor.
    let trail = store.authority_audit(&amtsweg_domain::AuthorityId::parse(&id).unwrap(), 100).await.unwrap();
    let kinds: Vec<&str> = trail.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["authority_created", "authority_changed", "responsibility_added", "staff_invited", "api_token_issued"] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    assert!(trail.iter().all(|e| e.actor_role == "operator"), "{trail:?}");

    // The server on the same database: Tom of Dresden applies; Dresden sees it, Leipzig not.
    let made = bin().args(["ledger", "keygen"]).env("AMTSWEG_DATA_DIR", &dir).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let server = common::serve(&db, &dir.join("ledger.key"), &dir);
    let http = reqwest::Client::new();
    let base = &server.1;
    let tom = &tokens.citizens.iter().find(|c| c.city == "Dresden").unwrap().token;
    let created: serde_json::Value = http.post(format!("{base}/api/v1/applications")).bearer_auth(tom).json(&serde_json::json!({"service_id": "bewohnerparkausweis"})).send().await.unwrap().json().await.unwrap();
    let draft = created["id"].as_str().unwrap();
    let data = serde_json::json!({"kennzeichen": "DD-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true});
    let r = http.put(format!("{base}/api/v1/applications/{draft}/data")).bearer_auth(tom).json(&data).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http.post(format!("{base}/api/v1/applications/{draft}/submit")).bearer_auth(tom).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let number = r.json::<serde_json::Value>().await.unwrap()["case_number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("DRE-"), "{number}");
    let inbox: serde_json::Value = http.get(format!("{base}/api/v1/cases")).bearer_auth(&susanne).send().await.unwrap().json().await.unwrap();
    let case = inbox.as_array().unwrap().iter().find(|c| c["case_number"] == number.as_str()).expect("in Dresden's inbox").clone();
    let leipzig = &tokens.caseworkers.iter().find(|c| c.authority_id == "leipzig").unwrap().token;
    let r = http.get(format!("{base}/api/v1/cases/{}", case["id"].as_str().unwrap())).bearer_auth(leipzig).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // The first operator of a real installation comes from the console, and can be stopped there.
    let operator = console.json(&["staff", "invite", "--role", "operator", "--name", "Olaf Betrieb", "--login", "o.betrieb"]);
    assert!(operator["invitation_url"].as_str().unwrap().starts_with("/einladung/"));
    let (code, _, err) = console.run(&["staff", "invite", "--role", "operator", "--authority", "leipzig", "--name", "X", "--login", "x"]);
    assert_eq!(code, 1, "{err}");
    let olaf = console.json(&["staff", "token", "--login", "o.betrieb"])["token"].as_str().unwrap().to_owned();
    let r = http.get(format!("{base}/api/v1/platform/authorities")).bearer_auth(&olaf).send().await.unwrap();
    assert_eq!(r.status(), 200, "the operator's token reaches the platform API");
    let gone = console.json(&["staff", "deactivate", "--login", "o.betrieb"]);
    assert_eq!(gone["active"], false);
    let r = http.get(format!("{base}/api/v1/platform/authorities")).bearer_auth(&olaf).send().await.unwrap();
    assert_eq!(r.status(), 401, "deactivated at the console: the token stopped");
    let (code, _, err) = console.run(&["staff", "deactivate", "--login", "o.betrieb"]);
    assert_eq!(code, 1);
    assert!(err.contains("schon deaktiviert"), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
