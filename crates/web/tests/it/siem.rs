//! Security events reach the SIEM: a brute-force attempt on a staff login and a probe of another
//! authority's case each produce their events, in the configured sink (JSON lines with ECS
//! fields) and on the operator's page and API, without personal data.

use crate::common::{Backend, TestApp};
use amtsweg_app::security::{SecurityLog, Sink};
use serde_json::{Value, json};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_and_foreign_id_probe_produce_their_events() {
    let sink = std::env::temp_dir().join(format!("amtsweg-siem-{}.jsonl", uuid::Uuid::new_v4().simple()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let path = sink.clone();
    let app = TestApp::start_on(Backend::Sqlite, listener, move |mut state| {
        state.app = state.app.clone().with_security_log(SecurityLog::new(Sink::File(path)));
        state
    })
    .await
    .unwrap();
    let caseworker = app.tokens.caseworkers.iter().find(|c| c.authority_id == "leipzig").unwrap().clone();
    app.store
        .put_staff_credential(&amtsweg_domain::records::StaffCredential {
            user_id: amtsweg_domain::UserId::parse(&caseworker.user_id).unwrap(),
            login: "k.mueller".into(),
            password_hash: amtsweg_app::accounts::hash_password("ein langes Passwort für Leipzig"),
            totp_secret: amtsweg_app::accounts::new_totp_secret(),
            failed_attempts: 0,
            locked_until: None,
            last_totp_step: None,
        })
        .await
        .unwrap();

    // Brute force: six guesses; the fifth locks the account.
    let client = browser();
    for n in 0..6 {
        let token = crate::pages::login_form_token(&app, &client).await;
        let r = client.post(app.url("/anmelden/mitarbeitende")).form(&[("benutzername", "k.mueller"), ("passwort", &format!("Rate{n}")), ("code", "123456"), ("_csrf", &token)]).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
    // A form without its token.
    let r = client.post(app.url("/anmelden/mitarbeitende")).form(&[("benutzername", "k.mueller"), ("_csrf", "falsch")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // A probe: Halle's caseworker asks for a case of Leipzig.
    let (_, number) = app.submitted_application(0).await;
    let case = app.case_id("leipzig", &number).await;
    let (status, _) = app.get(app.caseworker("halle"), &format!("/api/v1/cases/{case}")).await;
    assert_eq!(status, 404);
    // An operator's change.
    let (status, _) = app.post(&app.tokens.operator.token, "/api/v1/platform/authorities", json!({"name": "Stadt Görlitz", "ars": "146260110110"})).await;
    assert_eq!(status, 201);

    // In the sink: one JSON line per event, ECS fields, no personal data.
    let text = std::fs::read_to_string(&sink).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let of = |action: &str, outcome: &str| events.iter().filter(|e| e["event"]["action"] == action && e["event"]["outcome"] == outcome).cloned().collect::<Vec<_>>();
    let failures = of("login", "failure");
    assert_eq!(failures.len(), 6, "{text}");
    assert!(failures.iter().all(|e| e["url"]["path"] == "/anmelden/mitarbeitende" && e["event"]["category"][0] == "authentication" && e["amtsweg"]["client"].is_string()));
    let lockouts = of("lockout", "failure");
    assert_eq!(lockouts.len(), 1, "{text}");
    assert_eq!(of("csrf-refused", "failure").len(), 1, "{text}");
    let probes = of("access-denied", "failure");
    let probe = probes.iter().find(|e| e["url"]["path"] == "/api/v1/cases/{id}").expect("the probe's event");
    assert_eq!((probe["user"]["id"].as_str(), probe["user"]["roles"][0].as_str(), probe["organization"]["id"].as_str()), (Some("sachbearbeitung-halle"), Some("caseworker"), Some("halle")));
    assert_eq!(probe["event"]["reason"], "not-found-or-foreign");
    let change = of("configuration-change", "success");
    assert!(change.iter().any(|e| e["url"]["path"] == "/api/v1/platform/authorities" && e["user"]["roles"][0] == "operator"), "{text}");
    for e in &events {
        assert!(e["@timestamp"].is_string() && e["ecs"]["version"].is_string() && e["service"]["name"] == "amtsweg");
    }
    for personal in ["k.mueller", "Katrin", "Müller", "Schmidt", &number, &case, "127.0.0.1", "Passwort"] {
        assert!(!text.contains(personal), "the events name {personal}: {text}");
    }

    // The operator sees them, with the counts.
    let (status, seen) = app.get(&app.tokens.operator.token, "/api/v1/platform/security-events?limit=50").await;
    assert_eq!(status, 200);
    let count = |action: &str, outcome: &str| seen["counts"].as_array().unwrap().iter().find(|c| c["action"] == action && c["outcome"] == outcome).map(|c| c["count"].as_i64().unwrap());
    assert_eq!(count("login", "failure"), Some(6));
    assert_eq!(count("lockout", "failure"), Some(1));
    assert!(count("access-denied", "failure").unwrap() >= 1);
    assert_eq!(seen["events"][0]["event"]["action"], "configuration-change", "newest first");
    let b = crate::pages::browser(&app, "betrieb").await;
    let (status, _, page) = crate::pages::page(&b, app.url("/betrieb/sicherheit")).await;
    assert_eq!(status, 200);
    let text = page.root_element().text().collect::<String>();
    assert!(text.contains("Sperre nach Fehlversuchen") && text.contains("Zugriff verweigert") && text.contains("/api/v1/cases/{id}"), "{text}");
    let _ = std::fs::remove_file(sink);
    app.cleanup().await;
}
