//! The documented command line, run as a process: `fim check`, `fim import` (twice, and with
//! changed content), `fim export`, and `config`.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_amtsweg"))
}

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fim");
    assert!(dir.is_dir(), "the shared fixtures are missing: expected {}", dir.display());
    dir
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn fim_check_prints_located_errors_and_exits_1() {
    let (code, out, _) = run(bin().args(["fim", "check"]).arg(fixtures().join("parser-cases/v3/unexpected-node.xml")));
    assert_eq!(code, 1);
    assert!(out.contains(":11:25: Fehler: <xdf:unknown>"), "{out}");
    let (code, out, _) = run(bin().args(["fim", "check"]).arg(fixtures().join("xdf1/S00000036-WaBeKa-xdf1.xml")));
    assert_eq!(code, 1);
    assert!(out.contains("XDatenfelder 1"), "{out}");
    let (code, out, _) = run(bin().args(["fim", "check"]).arg(fixtures().join("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml")));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("156 Felder, 42 Gruppen, 38 Regeln"), "{out}");
    assert!(out.contains("Warnung: 38 Regeln liegen nur als Text vor"), "{out}");
}

#[test]
fn fim_import_pins_content_and_refuses_changes_under_the_same_version() {
    let dir = std::env::temp_dir().join(format!("amtsweg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite:{}", dir.join("cli.db").display());
    let asbest = fixtures().join("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml");
    let rules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../demo/fim-rules/S00000186.rules.json");
    let import = |file: &PathBuf| run(bin().env("AMTSWEG_DATABASE_URL", &db).args(["fim", "import"]).arg(file).arg("--rules").arg(&rules));
    let (code, out, err) = import(&asbest);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("importiert als Leistung „s00000186“ (156 Felder"), "{out}");
    let (code, out, _) = import(&asbest);
    assert_eq!(code, 0);
    assert!(out.contains("unverändert"), "{out}");
    // Same id and version, other content.
    let changed = dir.join("changed.xml");
    let text = std::fs::read_to_string(&asbest).unwrap().replacen("Asbest", "Asbestos", 1);
    std::fs::write(&changed, text).unwrap();
    // (its code lists stay in the original folder)
    let (code, out, _) = run(
        bin().env("AMTSWEG_DATABASE_URL", &db).args(["fim", "import"]).arg(&changed).arg("--codelists").arg(asbest.parent().unwrap()).arg("--rules").arg(&rules),
    );
    assert_eq!(code, 1);
    assert!(out.contains("bereits mit anderem Inhalt importiert"), "{out}");
    // A code list that cannot be found stops the import, naming it; accepting free text lets it pass.
    let muschg = fixtures().join("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml");
    let empty = dir.join("no-lists");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, out, _) = run(bin().env("AMTSWEG_DATABASE_URL", &db).args(["fim", "import"]).arg(&muschg).arg("--codelists").arg(&empty));
    assert_eq!(code, 1);
    assert!(out.contains("urn:de:fim:codeliste:artbeschäftigungsverhältnis_2018-05-09"), "{out}");
    let mut cmd = bin();
    cmd.env("AMTSWEG_DATABASE_URL", &db).args(["fim", "import"]).arg(&muschg).arg("--codelists").arg(&empty);
    for uri in [
        "urn:de:fim:codeliste:artbeschäftigungsverhältnis_2018-05-09",
        "urn:de:fim:codeliste:statusfrauschwangerstillend_2020-02-06",
        "urn:de:fim:codeliste:anschrift-inland-oder-ausland_2021-06-18",
        "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staat_2021-02-19",
    ] {
        cmd.arg("--accept-free-text").arg(uri);
    }
    let (code, out, _) = run(&mut cmd);
    assert_eq!(code, 0, "{out}");
    // The XDF 3 sample imports too.
    let (code, out, _) = run(bin().env("AMTSWEG_DATABASE_URL", &db).args(["fim", "import"]).arg(fixtures().join("xdf3/xdf3-sample.xml")));
    assert_eq!(code, 0, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fim_export_prints_a_json_schema() {
    let (code, out, err) = run(bin().args(["fim", "export", "--format", "json-schema"]).arg(fixtures().join("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml")));
    assert_eq!(code, 0, "{err}");
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(schema["properties"]["G00000253"]["properties"]["F60000319"].is_object());
    let (code, _, err) = run(bin().args(["fim", "export", "--format", "yaml"]).arg(fixtures().join("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml")));
    assert_eq!(code, 1);
    assert!(err.contains("json-schema"), "{err}");
}

#[test]
fn config_prints_a_default_file() {
    let (code, out, _) = run(bin().arg("config"));
    assert_eq!(code, 0);
    assert!(out.contains("listen = \"127.0.0.1:8080\""), "{out}");
}

#[test]
fn oots_inspect_summarises_samples_and_locates_errors() {
    let samples = fixtures().join("../oots/samples");
    let (code, out, err) = run(bin().args(["oots", "inspect"]).arg(samples.join("education-preview-error.xml")));
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["kind"], "exception");
    assert_eq!(summary["exception"]["code"], "EDM:ERR:0002");
    let (code, out, _) = run(bin().args(["oots", "inspect"]).arg(samples.join("birth-request.xml")));
    assert_eq!(code, 0);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["kind"], "request");
    assert_eq!(summary["evidence_type"]["id"], "2af27699-f131-4411-8fdb-9e8cd4e8bded");
    let (code, _, err) = run(bin().args(["oots", "inspect"]).arg(samples.join("birth-evidence.xml")));
    assert_eq!(code, 1);
    assert!(err.contains("birth-evidence.xml:2:"), "{err}");
}

/// `amtsweg staff add` and `reset`: the password from standard input, the second factor printed
/// once; the account then logs in with both (and only with both).
#[tokio::test]
async fn staff_accounts_get_a_password_and_a_second_factor() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("amtsweg-staff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = amtsweg_store::connect(&format!("sqlite:{}", dir.join("amtsweg.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    let tokens = amtsweg_demo::seed(&store).await.unwrap();
    let authority = tokens.caseworkers[0].authority_id.clone();
    let staff = |args: &[&str], password: &str| {
        let mut child = bin()
            .arg("staff")
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let add = ["add", "--authority", &authority, "--role", "team_lead", "--name", "Mira Muster", "--login", "m.muster"];
    let (code, _, err) = staff(&add, "kurz");
    assert_eq!(code, 1);
    assert!(err.contains("mindestens 12 Zeichen"), "{err}");
    assert!(store.staff_credential("m.muster").await.unwrap().is_none(), "nothing stored");

    let (code, out, err) = staff(&add, "ein sehr langes Passwort");
    assert_eq!(code, 0, "{err}");
    let printed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let secret = printed["totp_secret"].as_str().unwrap().to_owned();
    assert!(printed["totp_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let stored = store.staff_credential("m.muster").await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!out.contains("ein sehr langes Passwort") && !stored.password_hash.contains("langes"));

    let (code, _, err) = staff(&add, "ein sehr langes Passwort");
    assert_eq!(code, 1, "the same login twice");
    assert!(err.contains("gibt es schon"), "{err}");

    let now = time::OffsetDateTime::now_utc();
    let code_now = amtsweg_app::accounts::code_at(&secret, now.unix_timestamp() as u64).unwrap();
    let user = amtsweg_app::accounts::verify(&store, "m.muster", "ein sehr langes Passwort", &code_now, now).await.unwrap();
    assert_eq!(user.role, amtsweg_domain::Role::TeamLead);
    assert_eq!(user.authority_id.unwrap().as_str(), authority);

    // Reset: a new password and a new secret; the old ones no longer work.
    let (code, out, err) = staff(&["reset", "--login", "m.muster"], "noch ein langes Passwort");
    assert_eq!(code, 0, "{err}");
    let new_secret = serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["totp_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let later = now + time::Duration::seconds(30);
    let old_code = amtsweg_app::accounts::code_at(&secret, later.unix_timestamp() as u64).unwrap();
    assert!(amtsweg_app::accounts::verify(&store, "m.muster", "ein sehr langes Passwort", &old_code, later).await.is_err());
    let new_code = amtsweg_app::accounts::code_at(&new_secret, later.unix_timestamp() as u64).unwrap();
    assert!(amtsweg_app::accounts::verify(&store, "m.muster", "noch ein langes Passwort", &new_code, later).await.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_to_start_without_its_keys_and_says_how_to_make_them() {
    let dir = std::env::temp_dir().join(format!("amtsweg-cli-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let serve = || {
        let mut c = bin();
        c.args(["serve", "--listen", "127.0.0.1:0"]).env("AMTSWEG_DATA_DIR", &dir).env_remove("AMTSWEG_UPLOAD_KEY").env_remove("AMTSWEG_LEDGER_KEY");
        c
    };
    let (code, _, err) = run(&mut serve());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("upload_key") && err.contains("openssl rand -base64 32"), "{err}");
    let (code, _, err) = run(serve().env("AMTSWEG_UPLOAD_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("amtsweg ledger keygen"), "{err}");
    assert!(!dir.join("ledger.key").exists(), "no key is made silently");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_printed_configuration_has_sections_and_no_secrets() {
    let (code, out, _) = run(bin().arg("config"));
    assert_eq!(code, 0);
    for section in ["[server]", "[ledger]", "[exchange]", "[model]", "[oidc]", "[rate_limits]"] {
        assert!(out.contains(section), "{section} missing:\n{out}");
    }
    // Secrets are named only in comments, never as keys with a value.
    for secret in ["database_url", "client_secret", "key ="] {
        assert!(out.lines().filter(|l| !l.trim_start().starts_with('#')).all(|l| !l.trim_start().starts_with(secret)), "{secret} written as a key:\n{out}");
    }
}
