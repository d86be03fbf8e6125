//! The platform operator's API: an authority set up from nothing with the `operator` token only,
//! its responsibilities, a service from a FIM schema, a colleague invited, and a citizen's
//! application landing in the new authority's inbox. Refused input changes nothing.

use crate::common::{TestApp, fim_fixtures, json_of, valid_data};
use crate::pages::{browser, csrf, page, post_form, select};
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    an_operator_sets_up_dresden_and_its_citizen_applies,
    responsibilities_are_unique_per_service_and_region,
    responsibilities_import_from_csv_reports_every_refused_line,
    refused_operator_input_changes_nothing,
    only_the_operator_reaches_the_platform_api,
    deactivation_ends_access,
    refused_page_forms_show_german_errors_and_change_nothing,
    an_invitation_is_taken_once,
);

impl TestApp {
    fn operator(&self) -> String {
        self.tokens.operator.token.clone()
    }

    async fn audit_count(&self) -> i64 {
        self.store.audit_count().await.unwrap()
    }
}

/// The XDatenfelder 3 sample: a schema the demo never imported.
fn unseen_schema() -> String {
    std::fs::read_to_string(fim_fixtures().join("xdf3/xdf3-sample.xml")).unwrap()
}

async fn an_operator_sets_up_dresden_and_its_citizen_applies(app: TestApp) {
    let op = app.operator();
    let tom = app.citizen(4).to_owned(); // Tom Richter, Dresden
    let draft = app.draft(4).await;
    assert_eq!(app.put(&tom, &format!("/api/v1/applications/{draft}/data"), valid_data()).await.0, 200);
    let (status, body) = app.post(&tom, &format!("/api/v1/applications/{draft}/submit"), json!({})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("no_responsible_authority")), "{body}");

    // The authority.
    let (status, dresden) = app
        .post(
            &op,
            "/api/v1/platform/authorities",
            json!({"name": "Landeshauptstadt Dresden", "ars": "146120000000", "address": "Dr.-Külz-Ring 19, 01067 Dresden",
                   "phone": "0351 488-0", "email": "buergerbuero@dresden.de", "opening_hours": "Mo–Fr 8–18 Uhr",
                   "letterhead": "Landeshauptstadt Dresden · Bürgeramt"}),
        )
        .await;
    assert_eq!(status, 201, "{dresden}");
    let id = dresden["id"].as_str().unwrap().to_owned();
    assert_eq!(id, "landeshauptstadt-dresden");
    assert_eq!((dresden["short_code"].as_str(), dresden["active"].as_bool()), (Some("DRE"), Some(true)));
    let (status, listed) = app.get(&op, "/api/v1/platform/authorities").await;
    assert_eq!(status, 200);
    assert!(listed.as_array().unwrap().iter().any(|a| a["id"] == id.as_str()));

    // Responsible for the Bewohnerparkausweis in the city (a kreisfreie Stadt: 5 digits).
    let (status, r) = app.post(&op, "/api/v1/platform/responsibilities", json!({"authority_id": id, "service_id": "bewohnerparkausweis", "region": "14612"})).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!((r["ars"].as_str(), r["level"].as_str()), (Some("146120000000"), Some("Kreis oder kreisfreie Stadt")));
    let (status, why) = app.get(&op, "/api/v1/platform/responsibilities/resolve?service_id=bewohnerparkausweis&ars=146120000000").await;
    assert_eq!(status, 200);
    assert_eq!(why["authority_id"], id.as_str());
    assert!(why["explanation"].as_str().unwrap().contains("Landeshauptstadt Dresden"), "{why}");

    // A service from a FIM schema it has never seen, and made responsible for it too.
    let form = reqwest::multipart::Form::new()
        .part("schema", reqwest::multipart::Part::text(unseen_schema()).file_name("schema.xml"))
        .text("name", "Beispielleistung aus XDatenfelder 3");
    let response = app.http.post(app.url("/api/v1/platform/services/fim")).bearer_auth(&op).multipart(form).send().await.unwrap();
    let (status, created) = json_of(response).await;
    assert_eq!(status, 201, "{created}");
    let service = created["id"].as_str().unwrap().to_owned();
    let (status, _) = app.post(&op, "/api/v1/platform/responsibilities", json!({"authority_id": id, "service_id": service, "region": "146120000000"})).await;
    assert_eq!(status, 201);
    let (_, services) = app.get(&tom, "/api/v1/services").await;
    assert!(services.as_array().unwrap().iter().any(|s| s["id"] == service.as_str() && s["name"] == "Beispielleistung aus XDatenfelder 3"));

    // A caseworker invited, and given a token.
    let (status, invited) = app
        .post(&op, "/api/v1/platform/staff", json!({"authority_id": id, "name": "Susanne Berger", "login": "s.berger", "role": "caseworker"}))
        .await;
    assert_eq!(status, 201, "{invited}");
    let url = invited["invitation_url"].as_str().unwrap();
    assert!(url.starts_with(&app.base) && url.contains("/einladung/"), "{url}");
    let staff_id = invited["id"].as_str().unwrap().to_owned();
    let (status, token) = app.post(&op, &format!("/api/v1/platform/staff/{staff_id}/tokens"), json!({})).await;
    assert_eq!(status, 201, "{token}");
    let susanne = token["token"].as_str().unwrap().to_owned();
    let (_, members) = app.get(&op, &format!("/api/v1/platform/staff?authority_id={id}")).await;
    assert_eq!(members[0]["login"], "s.berger");
    assert!(members[0]["invitation_until"].is_string(), "{members}");

    // Now the application goes through, to Dresden, and only Dresden sees it.
    let (status, submitted) = app.post(&tom, &format!("/api/v1/applications/{draft}/submit"), json!({})).await;
    assert_eq!(status, 200, "{submitted}");
    let number = submitted["case_number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("DRE-"), "{number}");
    let (status, inbox) = app.get(&susanne, "/api/v1/cases").await;
    assert_eq!(status, 200, "{inbox}");
    let case = inbox.as_array().unwrap().iter().find(|c| c["case_number"] == number.as_str()).expect("in Dresden's inbox");
    let case_id = case["id"].as_str().unwrap();
    assert_eq!(app.get(&susanne, &format!("/api/v1/cases/{case_id}")).await.0, 200);
    assert_eq!(app.get(app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}")).await.0, 404);
    let (_, leipzig) = app.get(app.caseworker("leipzig"), "/api/v1/cases").await;
    assert!(leipzig.as_array().unwrap().iter().all(|c| c["case_number"] != number.as_str()));

    // Every operator action is in the audit trail, with the operator's role.
    let (_, leipzig_audit) = app.get(app.tokens.staff.iter().find(|s| s.role == "data_protection").unwrap().token.as_str(), "/api/v1/privacy/audit").await;
    assert!(leipzig_audit.as_array().unwrap().iter().all(|e| e["subject_id"] != id.as_str()), "no other authority sees Dresden's set-up");
    let kinds = app.store.authority_audit(&amtsweg_domain::AuthorityId::parse(&id).unwrap(), 100).await.unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["authority_created", "responsibility_added", "staff_invited", "api_token_issued"] {
        assert!(kinds.contains(&kind), "{kind} missing in {kinds:?}");
    }
}

async fn responsibilities_are_unique_per_service_and_region(app: TestApp) {
    let op = app.operator();
    let (_, a) = app.post(&op, "/api/v1/platform/authorities", json!({"name": "Landkreis Görlitz", "ars": "14626"})).await;
    let (_, b) = app.post(&op, "/api/v1/platform/authorities", json!({"name": "Stadt Görlitz", "ars": "146260110110"})).await;
    let (a, b) = (a["id"].as_str().unwrap().to_owned(), b["id"].as_str().unwrap().to_owned());
    let add = |authority: String, region: &'static str| {
        let (app, op) = (app.clone(), op.clone());
        async move { app.post(&op, "/api/v1/platform/responsibilities", json!({"authority_id": authority, "service_id": "bewohnerparkausweis", "region": region})).await }
    };
    assert_eq!(add(a.clone(), "14626").await.0, 201);
    // The city handles the service itself: a more specific region, allowed.
    assert_eq!(add(b.clone(), "146260110110").await.0, 201);
    // A second authority for the same service and region: refused at entry, naming the holder.
    let (status, body) = add(b.clone(), "14626").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("Landkreis Görlitz"), "{body}");
    // Gemeinde over Kreis over Land.
    let resolve = |ars: &'static str| {
        let (app, op) = (app.clone(), op.clone());
        async move { app.get(&op, &format!("/api/v1/platform/responsibilities/resolve?service_id=bewohnerparkausweis&ars={ars}")).await.1 }
    };
    let city = resolve("146260110110").await;
    assert_eq!(city["authority_id"], b.as_str());
    assert_eq!(city["matching"].as_array().unwrap().len(), 2, "{city}");
    assert_eq!(resolve("146260020020").await["authority_id"], a.as_str(), "another municipality of the Kreis");
    let nowhere = resolve("120540000000").await;
    assert!(nowhere["authority_id"].is_null(), "{nowhere}");
    assert!(nowhere["explanation"].as_str().unwrap().contains("keine Behörde zuständig"));
}

async fn responsibilities_import_from_csv_reports_every_refused_line(app: TestApp) {
    let op = app.operator();
    let (_, kreis) = app.post(&op, "/api/v1/platform/authorities", json!({"name": "Landkreis Bautzen", "ars": "14625"})).await;
    let kreis = kreis["id"].as_str().unwrap();
    let csv = format!(
        "service_id;region;authority_id\n\
         bewohnerparkausweis;14625;{kreis}\n\
         energiepreispauschale;14625;{kreis}\n\
         unbekannt;14625;{kreis}\n\
         bewohnerparkausweis;1462;{kreis}\n\
         bewohnerparkausweis;14625;{kreis}\n\
         bewohnerparkausweis;147130000000;{kreis}\n\
         \n\
         s00000186;14625;niemand\n"
    );
    let response = app.http.post(app.url("/api/v1/platform/responsibilities/import")).bearer_auth(&op).header("content-type", "text/csv").body(csv).send().await.unwrap();
    let (status, report) = json_of(response).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["added"], 2);
    let refused: Vec<(u64, &str)> = report["refused"].as_array().unwrap().iter().map(|r| (r["line"].as_u64().unwrap(), r["message"].as_str().unwrap())).collect();
    let lines: Vec<u64> = refused.iter().map(|r| r.0).collect();
    assert_eq!(lines, [4, 5, 6, 7, 9], "{refused:?}");
    assert!(refused[0].1.contains("Leistung „unbekannt“ gibt es nicht"), "{refused:?}");
    assert!(refused[1].1.contains("Region"), "{refused:?}");
    assert!(refused[2].1.contains("bereits"), "{refused:?}");
    assert!(refused[3].1.contains("Stadt Leipzig"), "Leipzig holds its own city: {refused:?}");
    assert!(refused[4].1.contains("Behörde „niemand“"), "{refused:?}");
    // A file without the columns is refused as a whole.
    let response = app.http.post(app.url("/api/v1/platform/responsibilities/import")).bearer_auth(&op).header("content-type", "text/csv").body("a,b\n1,2\n").send().await.unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("authority_id"));
}

async fn refused_operator_input_changes_nothing(app: TestApp) {
    let op = app.operator();
    let before = (app.audit_count().await, app.get(&op, "/api/v1/platform/authorities").await.1, app.get(&op, "/api/v1/platform/responsibilities").await.1);
    let cases: Vec<(&str, serde_json::Value, u16, &str)> = vec![
        ("/api/v1/platform/authorities", json!({"name": "Stadt X", "ars": "1461"}), 422, "ars"),
        ("/api/v1/platform/authorities", json!({"name": "Stadt X", "ars": "176120000000"}), 422, "ars"),
        ("/api/v1/platform/authorities", json!({"name": "  ", "ars": "14612"}), 422, "name"),
        ("/api/v1/platform/authorities", json!({"name": "Stadt X", "ars": "14612", "email": "keine-adresse"}), 422, "email"),
        ("/api/v1/platform/authorities", json!({"name": "Stadt X", "ars": "14612", "short_code": "L"}), 422, "short_code"),
        ("/api/v1/platform/authorities", json!({"name": "Stadt X", "ars": "14612", "id": "leipzig"}), 422, "id"),
        ("/api/v1/platform/authorities", json!({"name": "Stadt X"}), 422, "ars"),
        ("/api/v1/platform/authorities", json!({"name": "Stadt X", "ars": "14612", "extra": 1}), 422, "extra"),
        ("/api/v1/platform/responsibilities", json!({"authority_id": "leipzig", "service_id": "gibtsnicht", "region": "14"}), 422, "service_id"),
        ("/api/v1/platform/responsibilities", json!({"authority_id": "leipzig", "service_id": "bewohnerparkausweis", "region": "14713000"}), 422, "region"),
        ("/api/v1/platform/responsibilities", json!({"authority_id": "leipzig", "service_id": "bewohnerparkausweis", "region": "147130000000"}), 409, ""),
        ("/api/v1/platform/staff", json!({"authority_id": "leipzig", "name": "X", "login": "sachbearbeitung-leipzig", "role": "caseworker"}), 422, "login"),
        ("/api/v1/platform/staff", json!({"authority_id": "leipzig", "name": "X", "login": "x y", "role": "caseworker"}), 422, "login"),
        ("/api/v1/platform/staff", json!({"authority_id": "leipzig", "name": "X", "login": "neu", "role": "operator"}), 422, "role"),
        ("/api/v1/platform/staff", json!({"authority_id": "gibtsnicht", "name": "X", "login": "neu", "role": "caseworker"}), 422, "authority_id"),
    ];
    for (path, body, want, field) in cases {
        let (status, answer) = app.post(&op, path, body.clone()).await;
        assert_eq!(status, want, "{path} {body}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "a message: {answer}");
        if !field.is_empty() {
            assert!(answer["fields"].as_array().unwrap().iter().any(|f| f["field"] == field), "{path} {body}: {answer}");
        }
    }
    // Not JSON, or a broken FIM schema.
    let response = app.http.post(app.url("/api/v1/platform/authorities")).bearer_auth(&op).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let form = reqwest::multipart::Form::new().part("schema", reqwest::multipart::Part::text("<xdf:nicht-fim/>"));
    let (status, body) = json_of(app.http.post(app.url("/api/v1/platform/services/fim")).bearer_auth(&op).multipart(form).send().await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "schema");
    let form = reqwest::multipart::Form::new().text("name", "ohne Schema");
    let (status, body) = json_of(app.http.post(app.url("/api/v1/platform/services/fim")).bearer_auth(&op).multipart(form).send().await.unwrap()).await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (422, Some("schema")), "{body}");
    // An edit that breaks the rules of a service, or of an authority, changes nothing.
    let (status, body) = app.patch(&op, "/api/v1/platform/services/bewohnerparkausweis", json!({"rules": {"processing_days": 0, "rules": []}})).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = app.patch(&op, "/api/v1/platform/authorities/leipzig", json!({"ars": "99"})).await;
    assert_eq!(status, 422);
    assert_eq!(app.patch(&op, "/api/v1/platform/authorities/gibtsnicht", json!({"name": "X"})).await.0, 404);
    // The other new endpoints: unknown ids, bad queries, a file of the wrong kind.
    for (path, want) in [
        ("/api/v1/platform/responsibilities/resolve?service_id=gibtsnicht&ars=146120000000", 422),
        ("/api/v1/platform/responsibilities/resolve?service_id=bewohnerparkausweis&ars=1", 422),
        ("/api/v1/platform/responsibilities/resolve", 400),
        ("/api/v1/platform/staff?authority_id=gibtsnicht", 404),
        ("/api/v1/platform/security-events?limit=viele", 400),
        ("/api/v1/platform/authorities/gibtsnicht", 404),
    ] {
        let (status, body) = app.get(&op, path).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{path}: {body}");
    }
    for path in ["/api/v1/platform/staff/gibtsnicht/tokens", "/api/v1/platform/staff/gibtsnicht/reset", "/api/v1/platform/staff/gibtsnicht/deactivate"] {
        let (status, body) = app.post(&op, path, json!({})).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let r = app.http.post(app.url("/api/v1/platform/responsibilities/import")).bearer_auth(&op).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(r.status(), 415);
    let r = app.http.post(app.url("/api/v1/platform/responsibilities/import")).bearer_auth(&op).header("content-type", "text/csv").body(vec![0xff, 0xfe, 0x00]).send().await.unwrap();
    let (status, body) = json_of(r).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("UTF-8"));
    let after = (app.audit_count().await, app.get(&op, "/api/v1/platform/authorities").await.1, app.get(&op, "/api/v1/platform/responsibilities").await.1);
    assert_eq!(before, after);
    // A good edit does change it.
    let (status, body) = app.patch(&op, "/api/v1/platform/services/bewohnerparkausweis", json!({"summary": "Parken im eigenen Viertel.", "required_level": null})).await;
    assert_eq!(status, 200, "{body}");
    let (_, service) = app.get(app.citizen(0), "/api/v1/services/bewohnerparkausweis").await;
    assert_eq!(service["summary"], "Parken im eigenen Viertel.");
    assert!(service["required_level"].is_null(), "{service}");
}

async fn only_the_operator_reaches_the_platform_api(app: TestApp) {
    let paths = ["/api/v1/platform/authorities", "/api/v1/platform/responsibilities"];
    for path in paths {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 401);
        for token in [app.citizen(0), app.caseworker("leipzig"), app.tokens.staff.iter().find(|s| s.role == "admin").unwrap().token.as_str()] {
            let (status, body) = app.get(token, path).await;
            assert_eq!(status, 403, "{path}: {body}");
            assert_eq!(body["message"], "Dieser Bereich ist dem Plattformbetrieb vorbehalten.");
        }
    }
    let (status, _) = app.post(app.caseworker("leipzig"), "/api/v1/platform/authorities", json!({"name": "X", "ars": "14"})).await;
    assert_eq!(status, 403);
}

async fn deactivation_ends_access(app: TestApp) {
    let op = app.operator();
    let jana = app.tokens.staff.iter().find(|s| s.user_id == "sachbearbeitung-2-leipzig").unwrap().token.clone();
    assert_eq!(app.get(&jana, "/api/v1/cases").await.0, 200);
    assert_eq!(app.post(&op, "/api/v1/platform/staff/sachbearbeitung-2-leipzig/deactivate", json!({})).await.0, 204);
    assert_eq!(app.get(&jana, "/api/v1/cases").await.0, 401, "her token stopped at once");
    assert_eq!(app.post(&op, "/api/v1/platform/staff/sachbearbeitung-2-leipzig/tokens", json!({})).await.0, 409);
    assert_eq!(app.post(&op, "/api/v1/platform/staff/sachbearbeitung-2-leipzig/deactivate", json!({})).await.0, 404, "already");
    let (status, body) = app.post(&op, "/api/v1/platform/staff/sachbearbeitung-2-leipzig/reset", json!({})).await;
    assert_eq!(status, 409, "no link for a deactivated account: {body}");
    // A whole authority: its staff lose access, and it takes no new applications.
    let client = app.tokens.clients.iter().find(|c| c.authority_id == "erfurt").unwrap().clone();
    let client_token = |app: TestApp| {
        let client = client.clone();
        async move {
            let form = [("grant_type", "client_credentials"), ("client_id", client.client_id.as_str()), ("client_secret", client.client_secret.as_str())];
            app.http.post(app.url("/api/v1/procedures/token")).form(&form).send().await.unwrap()
        }
    };
    let before: serde_json::Value = client_token(app.clone()).await.json().await.unwrap();
    let procedure = before["access_token"].as_str().unwrap().to_owned();
    let (status, erfurt) = app.patch(&op, "/api/v1/platform/authorities/erfurt", json!({"active": false})).await;
    assert_eq!((status, erfurt["active"].as_bool()), (200, Some(false)));
    assert_eq!(app.get(app.caseworker("erfurt"), "/api/v1/cases").await.0, 401);
    // Its specialist procedure is cut off too: no new token, and the one it has stops.
    assert_eq!(client_token(app.clone()).await.status(), 401);
    assert_eq!(app.get(&procedure, "/api/v1/procedures/submissions").await.0, 401);
    let lena = app.citizen(3).to_owned(); // Erfurt
    let draft = app.draft(3).await;
    app.put(&lena, &format!("/api/v1/applications/{draft}/data"), valid_data()).await;
    let (status, body) = app.post(&lena, &format!("/api/v1/applications/{draft}/submit"), json!({})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("no_responsible_authority")), "{body}");
    // A successor takes over the deactivated authority's responsibility (no 409 for it).
    let (_, successor) = app.post(&op, "/api/v1/platform/authorities", json!({"name": "Stadt Erfurt (neu)", "ars": "160510000000", "short_code": "EFN"})).await;
    let successor = successor["id"].as_str().unwrap().to_owned();
    let (status, body) = app.post(&op, "/api/v1/platform/responsibilities", json!({"authority_id": successor, "service_id": "energiepreispauschale", "region": "16051"})).await;
    assert_eq!(status, 201, "{body}");
    let (_, why) = app.get(&op, "/api/v1/platform/responsibilities/resolve?service_id=energiepreispauschale&ars=160510000000").await;
    assert_eq!(why["authority_id"], successor.as_str());
    // Active again: the authority works again (its old tokens stay revoked).
    let (status, _) = app.patch(&op, "/api/v1/platform/authorities/erfurt", json!({"active": true})).await;
    assert_eq!(status, 200);
    assert_eq!(app.post(&lena, &format!("/api/v1/applications/{draft}/submit"), json!({})).await.0, 200);
    assert_eq!(app.get(app.caseworker("erfurt"), "/api/v1/cases").await.0, 401);
}

/// The text of the page's error summary and field errors.
fn errors_on(doc: &scraper::Html) -> String {
    select(doc, "#fehlerliste, .kern-error").iter().map(|e| e.text().collect::<String>()).collect::<Vec<_>>().join(" ")
}

async fn refused_page_forms_show_german_errors_and_change_nothing(app: TestApp) {
    let op = browser(&app, "betrieb").await;
    let (status, _, home) = page(&op, app.url("/betrieb")).await;
    assert_eq!(status, 200);
    let token = csrf(&home);
    let t = token.as_str();
    let before = (app.audit_count().await, app.store.authorities().await.unwrap().len(), app.store.all_responsibilities().await.unwrap().len());
    let forms: Vec<(&str, Vec<(&str, &str)>, u16, &str)> = vec![
        ("/betrieb/behoerden", vec![("_csrf", t), ("name", "Stadt X"), ("ars", "1461")], 422, "Regionalschlüssel oder sein Anfang"),
        ("/betrieb/behoerden", vec![("_csrf", t), ("name", ""), ("ars", "14612")], 422, "Bitte füllen Sie dieses Feld aus"),
        ("/betrieb/behoerden", vec![("_csrf", t), ("name", "Stadt X"), ("ars", "14612"), ("short_code", "L")], 422, "Das Kürzel L hat schon eine andere Behörde"),
        ("/betrieb/behoerden/leipzig", vec![("_csrf", t), ("name", "Stadt Leipzig"), ("ars", "147130000000"), ("email", "kaputt"), ("active", "ja")], 422, "E-Mail-Adresse"),
        ("/betrieb/behoerden/leipzig/mitarbeitende", vec![("_csrf", t), ("staff_name", "X"), ("login", "sachbearbeitung-leipzig"), ("role", "caseworker")], 422, "gibt es schon"),
        ("/betrieb/behoerden/leipzig/mitarbeitende", vec![("_csrf", t), ("staff_name", ""), ("login", "neu"), ("role", "caseworker")], 422, "Bitte füllen Sie dieses Feld aus"),
        ("/betrieb/zustaendigkeiten", vec![("_csrf", t), ("authority_id", "leipzig"), ("service_id", "bewohnerparkausweis"), ("region", "147130000000")], 409, "bereits Stadt Leipzig zuständig"),
        ("/betrieb/zustaendigkeiten", vec![("_csrf", t), ("authority_id", ""), ("service_id", ""), ("region", "")], 422, "gibt es nicht"),
        ("/betrieb/leistungen/bewohnerparkausweis", vec![("_csrf", t), ("name", "Bewohnerparkausweis"), ("summary", "x"), ("description", "x"), ("legal_basis", "x"), ("rules", "{kaputt"), ("evidence", "[]")], 422, "kein gültiges JSON"),
        ("/betrieb/leistungen/bewohnerparkausweis", vec![("_csrf", t), ("name", "Bewohnerparkausweis"), ("summary", "x"), ("description", "x"), ("legal_basis", "x"), ("rules", r#"{"processing_days": 0}"#), ("evidence", "[]")], 422, "Bearbeitungsfrist"),
    ];
    for (path, form, want, text) in forms {
        let (status, _, doc) = post_form(&op, app.url(path), &form).await;
        assert_eq!(status, want, "{path} {form:?}");
        let shown = errors_on(&doc);
        assert!(shown.contains(text), "{path}: expected „{text}“ in: {shown}");
    }
    // The uploads: no file, a broken schema.
    let multipart = |parts: Vec<(&'static str, &'static str)>| {
        let mut form = reqwest::multipart::Form::new().text("_csrf", token.clone());
        for (k, v) in parts {
            form = form.part(k, reqwest::multipart::Part::text(v).file_name(format!("{k}.txt")));
        }
        form
    };
    for (path, parts, text) in [
        ("/betrieb/zustaendigkeiten/import", vec![("csv", "")], "Bitte wählen Sie eine CSV-Datei aus"),
        ("/betrieb/zustaendigkeiten/import", vec![("file", "a,b\n1,2\n")], "authority_id, service_id und region"),
        ("/betrieb/leistungen/fim", vec![("schema", "<kein-fim/>")], ""),
        ("/betrieb/leistungen/fim", vec![("name", "ohne Schema")], "Bitte wählen Sie die Schema-Datei"),
    ] {
        let r = op.post(app.url(path)).multipart(multipart(parts)).send().await.unwrap();
        assert_eq!(r.status(), 422, "{path}");
        let doc = scraper::Html::parse_document(&r.text().await.unwrap());
        let shown = errors_on(&doc);
        assert!(!shown.trim().is_empty() && shown.contains(text), "{path}: {shown}");
    }
    let after = (app.audit_count().await, app.store.authorities().await.unwrap().len(), app.store.all_responsibilities().await.unwrap().len());
    assert_eq!(before, after);
    let (_, service) = app.get(app.citizen(0), "/api/v1/services/bewohnerparkausweis").await;
    assert_ne!(service["summary"], "x", "the refused edit changed nothing");
}

async fn an_invitation_is_taken_once(app: TestApp) {
    let op = app.operator();
    let (status, invited) = app.post(&op, "/api/v1/platform/staff", json!({"authority_id": "halle", "name": "Ole Krause", "login": "o.krause", "role": "team_lead"})).await;
    assert_eq!(status, 201);
    let url = invited["invitation_url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(&app.base).unwrap().to_owned();
    let client = reqwest::Client::new();
    let (status, _, doc) = page(&client, app.url(&path)).await;
    assert_eq!(status, 200);
    let secret = select(&doc, "#schluessel")[0].text().collect::<String>().trim().to_owned();
    // Wrong code, short password, different repeat: refused, the link still open.
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let code = amtsweg_app::accounts::code_at(&secret, now).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (password, repeat, code, field) in [
        ("Saale und Elster", "Saale und Elster", wrong, "Einmalcode stimmt nicht"),
        ("kurz", "kurz", code.as_str(), "mindestens 12"),
        ("Saale und Elster", "Saale und Unstrut", code.as_str(), "stimmen nicht überein"),
    ] {
        let form = [("password", password), ("password_repeat", repeat), ("totp_secret", secret.as_str()), ("code", code)];
        let (status, _, doc) = post_form(&client, app.url(&path), &form).await;
        assert_eq!(status, 422);
        assert!(errors_on(&doc).contains(field), "{}", errors_on(&doc));
    }
    // A login before the invitation is taken fails: no password is set.
    let login = [("benutzername", "o.krause"), ("passwort", ""), ("code", code.as_str())];
    let anon = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let token = crate::pages::login_form_token(&app, &anon).await;
    let mut with_token = login.to_vec();
    with_token.push(("_csrf", token.as_str()));
    let (status, _, _) = post_form(&anon, app.url("/anmelden/mitarbeitende"), &with_token).await;
    assert_ne!(status, 200);
    // Taken.
    let form = [("password", "Saale und Elster"), ("password_repeat", "Saale und Elster"), ("totp_secret", secret.as_str()), ("code", code.as_str())];
    let r = client.post(app.url(&path)).form(&form).send().await.unwrap();
    assert!(r.url().path().starts_with("/anmelden"), "{}", r.url());
    // Once only.
    assert_eq!(page(&client, app.url(&path)).await.0, 404);
    assert_eq!(post_form(&client, app.url(&path), &form).await.0, 404);
    let user = amtsweg_domain::UserId::parse(invited["id"].as_str().unwrap()).unwrap();
    let member = app.store.members(&amtsweg_domain::AuthorityId::parse("halle").unwrap()).await.unwrap().into_iter().find(|m| m.user.id == user).unwrap();
    assert!(member.active && member.invitation_until.is_none());
    let login = app.platform.accounts().staff_login("o.krause", "Saale und Elster", &code).await;
    assert!(login.is_ok(), "the new login works");
    // A reset closes the password again and opens a new link.
    let (status, reset) = app.post(&op, &format!("/api/v1/platform/staff/{user}/reset"), json!({})).await;
    assert_eq!(status, 201);
    assert_ne!(reset["invitation_url"], url.as_str());
    let next = amtsweg_app::accounts::code_at(&secret, now + 30).unwrap();
    assert!(app.platform.accounts().staff_login("o.krause", "Saale und Elster", &next).await.is_err(), "the old password and factor stopped");
}
