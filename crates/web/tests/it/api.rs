//! The whole path through the JSON API, and how the API answers bad input.

use crate::common::{TestApp, json_of, valid_data};
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    bad_query_strings_are_json_errors_the_document_names,
    whole_path_apply_decide_deliver,
    routing_follows_the_citizens_region,
    invalid_data_is_reported_per_field_and_nothing_is_lost,
    bad_requests_get_german_json_errors,
    tokens_and_roles_are_checked,
    state_changes_are_refused_in_the_wrong_state,
    every_state_change_is_audited,
);

async fn whole_path_apply_decide_deliver(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    // the catalog, with the form as JSON Schema
    let (status, services) = app.get(&anna, "/api/v1/services").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = services.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"bewohnerparkausweis") && ids.contains(&"s00000186"), "{ids:?}");
    let (status, service) = app.get(&anna, "/api/v1/services/bewohnerparkausweis").await;
    assert_eq!(status, 200);
    assert_eq!(service["form_schema"]["type"], "object");
    assert!(service["form_schema"]["required"].as_array().unwrap().contains(&json!("kennzeichen")));
    let evidence: Vec<&str> = service["evidence"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(evidence, ["urn:amtsweg:evidence:main-residence", "urn:amtsweg:evidence:vehicle-holder"]);
    assert_eq!(service["evidence"][0]["register"], "melderegister");
    assert!(service["evidence"][0]["legal_basis"].as_str().unwrap().contains("BMG"));
    let (_, epp) = app.get(&anna, "/api/v1/services/energiepreispauschale").await;
    assert_eq!(epp["evidence"][0]["type"], "urn:amtsweg:evidence:enrolment");
    assert_eq!(service["required_level"], "substantiell");
    assert_eq!(epp["required_level"], "hoch", "a payment needs the ID card");

    // create → data → submit
    let (status, created) = app.post(&anna, "/api/v1/applications", json!({"service_id": "bewohnerparkausweis"})).await;
    assert_eq!(status, 201);
    assert_eq!(created["status"], "draft");
    let id = created["id"].as_str().unwrap();
    let (status, saved) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), valid_data()).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["kennzeichen"], "L-AB 1234");
    let (status, submitted) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 200, "{submitted}");
    assert_eq!(submitted["status"], "submitted");
    let case_number = submitted["case_number"].as_str().unwrap();
    assert!(case_number.starts_with("L-"), "{case_number}");

    // mine
    let (_, mine) = app.get(&anna, "/api/v1/applications").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["case_number"], case_number);

    // the caseworker in Leipzig sees it, opens it (still submitted), takes it (in review), decides
    let leipzig = app.caseworker("leipzig").to_owned();
    let case_id = app.case_id("leipzig", case_number).await;
    let (status, case) = app.get(&leipzig, &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(case["status"], "submitted", "reading changes nothing");
    assert_eq!(app.post(&leipzig, &format!("/api/v1/cases/{case_id}/claim"), json!({})).await.0, 204);
    let (_, case) = app.get(&leipzig, &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(case["status"], "in_review");
    assert_eq!(case["applicant"]["family_name"], "Schmidt");
    assert_eq!(case["data"]["halter"], "selbst");
    let (_, mine) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(mine["status"], "in_review");

    let (status, decision) = app
        .post(&leipzig, &format!("/api/v1/cases/{case_id}/decision"), json!({"outcome": "approved", "reason": "Alle Voraussetzungen sind erfüllt."}))
        .await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["outcome"], "approved");

    // delivered
    let (_, mailbox) = app.get(&anna, "/api/v1/mailbox").await;
    let messages = mailbox.as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert!(messages[0]["subject"].as_str().unwrap().contains(case_number));
    assert!(messages[0]["body"].as_str().unwrap().contains("Alle Voraussetzungen sind erfüllt."));
    assert_eq!(messages[0]["sender"], "Stadt Leipzig");
    let (_, mine) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(mine["status"], "decided");
    assert_eq!(mine["decision"]["outcome"], "approved");
}

async fn routing_follows_the_citizens_region(app: TestApp) {
    let (_, halle_case) = app.submitted_application(2).await; // Marie Fischer, Halle (Saale)
    assert!(halle_case.starts_with("HAL-"), "{halle_case}");
    let (_, erfurt_case) = app.submitted_application(3).await; // Lena Hoffmann, Erfurt
    assert!(erfurt_case.starts_with("EF-"), "{erfurt_case}");
    // each authority sees only its own
    let (_, halle) = app.get(app.caseworker("halle"), "/api/v1/cases").await;
    let numbers: Vec<&str> = halle.as_array().unwrap().iter().map(|c| c["case_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, [halle_case.as_str()]);
    // case numbers count per authority
    let (_, second_leipzig) = app.submitted_application(0).await;
    let (_, third_leipzig) = app.submitted_application(1).await;
    assert!(second_leipzig.ends_with("-000001") && third_leipzig.ends_with("-000002"), "{second_leipzig} {third_leipzig}");

    // Dresden: no authority on the platform is responsible; the draft stays a draft
    let tom = app.citizen(4).to_owned();
    let id = app.draft(4).await;
    let (status, _) = app.put(&tom, &format!("/api/v1/applications/{id}/data"), valid_data()).await;
    assert_eq!(status, 200);
    let (status, body) = app.post(&tom, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "no_responsible_authority");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("„Bewohnerparkausweis“") && message.contains("146120000000"), "names the service and the place: {message}");
    let (_, mine) = app.get(&tom, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(mine["status"], "draft");
    assert_eq!(mine["data"]["kennzeichen"], "L-AB 1234");
}

async fn invalid_data_is_reported_per_field_and_nothing_is_lost(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let path = format!("/api/v1/applications/{id}/data");
    let (status, _) = app.put(&anna, &path, valid_data()).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .put(&anna, &path, json!({"kennzeichen": "123", "halter": "niemand", "beginn": "2001-01-01", "gueltigkeit": 12, "richtigkeit": "ja", "extra": 1}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "invalid");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["kennzeichen", "halter", "beginn", "gueltigkeit", "richtigkeit", "extra"]);
    for f in body["fields"].as_array().unwrap() {
        assert!(!f["message"].as_str().unwrap().is_empty());
    }
    // the earlier valid data is still there
    let (_, mine) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(mine["data"], json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true}));
    // the {"data": {...}} wrapper is understood too
    let (status, _) = app.put(&anna, &path, json!({"data": valid_data()})).await;
    assert_eq!(status, 200);
    // submitting an empty draft is refused with the missing fields
    let empty = app.draft(0).await;
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{empty}/submit"), json!({})).await;
    assert_eq!(status, 422);
    assert!(body["fields"].as_array().unwrap().len() >= 4);
}

async fn bad_requests_get_german_json_errors(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let send = |method: reqwest::Method, path: String, body: Vec<u8>, content_type: &'static str| {
        let app = app.clone();
        let anna = anna.clone();
        async move {
            let r = app.http.request(method, app.url(&path)).bearer_auth(anna).header("content-type", content_type).body(body).send().await.unwrap();
            json_of(r).await
        }
    };
    let cases: Vec<(reqwest::Method, String, Vec<u8>, &str, u16)> = vec![
        (reqwest::Method::POST, "/api/v1/applications".into(), b"{\"service_id\":".to_vec(), "application/json", 400),
        (reqwest::Method::POST, "/api/v1/applications".into(), b"{\"service_id\": 5}".to_vec(), "application/json", 422),
        (reqwest::Method::POST, "/api/v1/applications".into(), b"{}".to_vec(), "application/json", 422),
        (reqwest::Method::POST, "/api/v1/applications".into(), b"[]".to_vec(), "application/json", 422),
        (reqwest::Method::POST, "/api/v1/applications".into(), b"{\"service_id\":\"gibtsnicht\"}".to_vec(), "application/json", 422),
        (reqwest::Method::POST, "/api/v1/applications".into(), b"{\"service_id\":\"x\"}".to_vec(), "text/plain", 415),
        (reqwest::Method::PUT, format!("/api/v1/applications/{id}/data"), b"\"text\"".to_vec(), "application/json", 400),
        (reqwest::Method::PUT, format!("/api/v1/applications/{id}/data"), b"nicht json".to_vec(), "application/json", 400),
        (reqwest::Method::PUT, format!("/api/v1/applications/{id}/data"), vec![b' '; 200 * 1024], "application/json", 413),
        (reqwest::Method::GET, "/api/v1/gibtsnicht".into(), Vec::new(), "application/json", 404),
        (reqwest::Method::DELETE, "/api/v1/applications".into(), Vec::new(), "application/json", 405),
        (reqwest::Method::PATCH, format!("/api/v1/applications/{id}/data"), b"{}".to_vec(), "application/json", 405),
    ];
    for (method, path, body, content_type, expected) in cases {
        let (status, answer) = send(method.clone(), path.clone(), body, content_type).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert!(answer["error"].is_string(), "{method} {path}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(!message.is_empty() && !message.contains("Failed to"), "{method} {path}: {message}");
        assert!(answer["fields"].is_array());
    }
    // a data error names the field, never the value sent
    let (_, answer) = send(reqwest::Method::POST, "/api/v1/applications".into(), b"{\"service_id\": 4711}".to_vec(), "application/json").await;
    assert_eq!(answer["fields"][0]["field"], "service_id");
    assert!(!answer.to_string().contains("4711"));
    // a decision without outcome or reason
    let (_, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let (status, answer) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}/decision"), json!({"outcome": "vielleicht", "reason": " "})).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = answer["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["outcome", "reason"]);
}

async fn tokens_and_roles_are_checked(app: TestApp) {
    // no token, a wrong token
    for token in ["", "falsch"] {
        let r = app.http.get(app.url("/api/v1/applications")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let (_, body) = json_of(r).await;
        assert_eq!(body["error"], "unauthenticated");
    }
    // a caseworker is not a citizen, and the other way round
    let (status, _) = app.get(app.caseworker("leipzig"), "/api/v1/applications").await;
    assert_eq!(status, 403);
    let (status, _) = app.get(app.caseworker("leipzig"), "/api/v1/mailbox").await;
    assert_eq!(status, 403);
    let (status, _) = app.get(app.citizen(0), "/api/v1/cases").await;
    assert_eq!(status, 403);
    // the catalog is public
    let r = app.http.get(app.url("/api/v1/services")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // health, readiness, metrics and the OpenAPI document
    for path in ["/healthz", "/readyz", "/api/openapi.json"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let metrics = app.metrics().await;
    assert!(metrics.contains("amtsweg_http_requests_total"));
    assert!(!metrics.contains("Schmidt"));
}

async fn state_changes_are_refused_in_the_wrong_state(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let (id, number) = app.submitted_application(0).await;
    // no second submission, no more changes
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), valid_data()).await;
    assert_eq!(status, 409);
    // decided once, not twice
    let case_id = app.case_id("leipzig", &number).await;
    let path = format!("/api/v1/cases/{case_id}/decision");
    let decision = json!({"outcome": "rejected", "reason": "Kein Hauptwohnsitz im Bewohnerparkgebiet."});
    let (status, _) = app.post(app.caseworker("leipzig"), &path, decision.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = app.post(app.caseworker("leipzig"), &path, decision).await;
    assert_eq!(status, 409, "{body}");
    // a decided application cannot be withdrawn; a draft can
    let (status, _) = app.post(&anna, &format!("/api/v1/applications/{id}/withdraw"), json!({})).await;
    assert_eq!(status, 409);
    let draft = app.draft(0).await;
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{draft}/withdraw"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "withdrawn");
    let (status, _) = app.post(&anna, &format!("/api/v1/applications/{draft}/submit"), json!({})).await;
    assert_eq!(status, 409);
}

async fn every_state_change_is_audited(app: TestApp) {
    let (id, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let (status, _) = app
        .post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}/decision"), json!({"outcome": "approved", "reason": "Passt."}))
        .await;
    assert_eq!(status, 200);
    let kinds = |events: Vec<amtsweg_domain::records::AuditEvent>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &id).await.unwrap()),
        ["application_created", "application_data_changed", "application_submitted"]
    );
    let case_events = app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &case_id).await.unwrap();
    // deciding straight from the inbox: no read recorded (nobody read the file), no review step
    // (reading does not move a case; issue 22, finding 6)
    assert_eq!(kinds(case_events.clone()), ["case_created", "decision_issued"]);
    let foreign = app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("halle").unwrap(), &case_id).await.unwrap();
    assert!(foreign.is_empty(), "another authority reads none of Leipzig's events: {foreign:?}");
    let decision = case_events.last().unwrap();
    assert_eq!(decision.actor_role, "caseworker");
    assert_eq!(decision.authority_id.as_deref(), Some("leipzig"));
    assert!(case_events.windows(2).all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at));
}

async fn bad_query_strings_are_json_errors_the_document_names(app: TestApp) {
    let (status, body) = app.get(app.caseworker("leipzig"), "/api/v1/ledger/proof/inclusion?index=eins").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_query");
    let (status, body) = app.get(app.caseworker("leipzig"), "/api/v1/ledger/proof/consistency?from=0").await;
    assert_eq!(status, 400, "{body}");
    // Every operation documents the answers that come before its handler.
    let (_, doc) = app.get(app.citizen(0), "/api/openapi.json").await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("400"), "{method} {path}");
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("413") && responses.contains_key("415"), "{method} {path}");
            }
            if op.get("security").is_some() {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
        }
    }
}

crate::on_both_stores!(api_tokens_are_stored_hashed_and_expire);

/// The store keeps only the SHA-256 of a token (the row is found by the hash alone), and a token
/// past its expiry is refused like an unknown one.
async fn api_tokens_are_stored_hashed_and_expire(app: TestApp) {
    let token = app.citizen(0).to_owned();
    let (status, _) = app.get(&token, "/api/v1/applications").await;
    assert_eq!(status, 200);
    let hash = amtsweg_app::accounts::hash_secret(&token);
    assert_ne!(hash, token);
    app.raw_text("UPDATE api_tokens SET expires_at = created_at WHERE token_hash = $1", &[&hash]).await;
    let (status, body) = app.get(&token, "/api/v1/applications").await;
    assert_eq!(status, 401, "an expired token: {body}");
    assert_eq!(body["error"], "unauthenticated");
    // Another citizen's token is untouched.
    let (status, _) = app.get(app.citizen(1), "/api/v1/applications").await;
    assert_eq!(status, 200);
}
