//! The role matrix over every route: every API route of the OpenAPI document and every page,
//! for every role, a second authority and a second citizen. What a role may reach answers
//! without 401/403/404; everything else answers 401, 403 or 404 and changes nothing.

use crate::common::TestApp;
use crate::on_both_stores;
use crate::pages::{browser, csrf, page};
use serde_json::{Value, json};
use std::collections::HashMap;

on_both_stores!(every_route_for_every_role);

/// Roles as the matrix names them.
const ROLES: [&str; 11] = [
    "citizen",
    "other_citizen",
    "caseworker",
    "other_caseworker",
    "team_lead",
    "other_team_lead",
    "data_protection",
    "admin",
    "procedure",
    "operator",
    "nobody",
];

/// Who may reach an API route, from its tag (and a few routes narrower than their tag).
/// `own` roles reach every id of the fixtures; `list` roles reach only routes without an id of
/// someone else's (their own lists), and get 404 for the fixtures' ids.
fn api_access(method: &str, path: &str, tag: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match (tag, method, path) {
        ("services" | "ledger", _, _) | ("procedures", "POST", "/api/v1/procedures/token") => (&ROLES, &[]),
        ("cases", "PUT", "/api/v1/cases/{id}/assignee") => (&["team_lead"], &[]),
        ("cases", "GET", "/api/v1/lead-times") => (&["team_lead", "other_team_lead"], &[]),
        ("cases", "GET", "/api/v1/cases") => (&["caseworker", "team_lead", "other_caseworker", "other_team_lead"], &[]),
        ("cases", _, _) => (&["caseworker", "team_lead"], &["other_caseworker", "other_team_lead"]),
        ("applications" | "mailbox", _, p) if !p.contains('{') => (&["citizen", "other_citizen"], &[]),
        ("applications" | "mailbox", _, _) => (&["citizen"], &["other_citizen"]),
        ("assistant", "POST", "/api/v1/assistant/ask") => (&ROLES, &[]),
        ("assistant", "POST", "/api/v1/assistant/handover") => (&["citizen", "other_citizen"], &[]),
        ("assistant", "GET", "/api/v1/inquiries") => (&["caseworker", "team_lead", "other_caseworker", "other_team_lead"], &[]),
        ("assistant", "POST", "/api/v1/inquiries/{id}/answer") => (&["caseworker", "team_lead"], &["other_caseworker", "other_team_lead"]),
        ("privacy", _, _) => (&["data_protection"], &[]),
        ("admin", _, _) => (&["admin"], &[]),
        ("platform", _, _) => (&["operator"], &[]),
        ("procedures", _, p) if !p.contains('{') => (&["procedure"], &[]),
        ("procedures", _, _) => (&["procedure"], &[]),
        other => panic!("no expectation for {other:?}: add the route to the matrix"),
    }
}

/// A body the route accepts: denied roles send it, so that only authorization can stop them.
fn valid_body(method: &str, path: &str) -> Value {
    match (method, path) {
        ("POST", "/api/v1/admin/clients") => json!({"name": "Fachverfahren Matrix"}),
        ("PUT", "/api/v1/admin/services/{id}/rules") => json!({"automation": false, "rules": []}),
        ("POST", "/api/v1/applications") => json!({"service_id": "bewohnerparkausweis"}),
        ("PUT", "/api/v1/applications/{id}/data") => crate::common::valid_data(),
        ("POST", "/api/v1/applications/{id}/evidence") => json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true}),
        ("PUT", "/api/v1/cases/{id}/assignee") => json!({"user_id": null}),
        ("POST", "/api/v1/cases/{id}/decision") => json!({"outcome": "rejected", "reason": "Matrix"}),
        ("POST", "/api/v1/cases/{id}/questions") => json!({"question": "Matrix?"}),
        ("POST", "/api/v1/cases/{id}/memos") => json!({"text": "Matrix"}),
        ("POST", "/api/v1/mailbox/{id}/answer") => json!({"answer": "Matrix"}),
        ("POST", "/api/v1/assistant/handover") => json!({"question": "Matrix?", "authority_id": "leipzig"}),
        ("POST", "/api/v1/inquiries/{id}/answer") => json!({"answer": "Matrix"}),
        ("POST", "/api/v1/procedures/submissions/{id}/events") => json!({"kind": "rejected", "note": "Matrix"}),
        ("POST", "/api/v1/platform/authorities") => json!({"name": "Matrix", "ars": "14"}),
        ("PATCH", "/api/v1/platform/authorities/{id}") => json!({"name": "Matrix"}),
        ("POST", "/api/v1/platform/responsibilities") => json!({"authority_id": "leipzig", "service_id": "bewohnerparkausweis", "region": "14"}),
        ("PATCH", "/api/v1/platform/services/{id}") => json!({"summary": "Matrix"}),
        ("POST", "/api/v1/platform/staff") => json!({"authority_id": "leipzig", "name": "Matrix", "login": "matrix", "role": "caseworker"}),
        _ => json!({}),
    }
}

/// Routes that change state without a body: allowed roles are not sent through them here (the
/// functional tests do), so that the fixtures stay as they are.
fn bodyless_change(method: &str, path: &str) -> bool {
    method == "POST" && ["/withdraw", "/claim", "/release", "/submit", "/accept", "/discard", "/deactivate", "/reset", "/tokens"].iter().any(|e| path.ends_with(e))
}

fn fill(path: &str, ids: &HashMap<&str, String>) -> String {
    let mut out = path.to_owned();
    // The operator's routes: an authority, a service, a member of staff, and the queries.
    match path {
        "/api/v1/platform/staff" => return format!("{path}?authority_id=leipzig"),
        "/api/v1/platform/responsibilities/resolve" => return format!("{path}?service_id=bewohnerparkausweis&ars=147130000000"),
        p if p.starts_with("/api/v1/platform/authorities/") => return p.replace("{id}", "leipzig"),
        p if p.starts_with("/api/v1/platform/services/") => return p.replace("{id}", "bewohnerparkausweis"),
        p if p.starts_with("/api/v1/platform/staff/") => return p.replace("{id}", "sachbearbeitung-2-leipzig"),
        _ => {}
    }
    let id = if path.ends_with("/bescheid") {
        &ids["decided_case"]
    } else if path.ends_with("/document") {
        &ids["decided_message"]
    } else if path.starts_with("/api/v1/cases") || path.starts_with("/api/v1/procedures") {
        &ids["case"]
    } else if path.starts_with("/api/v1/mailbox") {
        &ids["message"]
    } else if path.starts_with("/api/v1/me/transfers") {
        &ids["transfer"]
    } else if path.starts_with("/api/v1/inquiries") {
        &ids["inquiry"]
    } else if path.starts_with("/api/v1/services") {
        &ids["service"]
    } else {
        &ids["application"]
    };
    out = out.replace("{id}", id);
    out.replace("{evidence_id}", &ids["evidence"])
}

async fn every_route_for_every_role(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    // Fixtures: Anna's decided application with an uploaded document, a question to her, a
    // transfer from a register; a second, submitted case.
    let id = app.draft(0).await;
    app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    let form = reqwest::multipart::Form::new()
        .text("type", "urn:amtsweg:evidence:vehicle-holder")
        .part("file", reqwest::multipart::Part::bytes(amtsweg_documents::testing::pdf("Fahrzeugschein")).file_name("f.pdf"));
    let r = app.http.post(app.url(&format!("/api/v1/applications/{id}/evidence"))).bearer_auth(&anna).multipart(form).send().await.unwrap();
    let (_, evidence) = crate::common::json_of(r).await;
    let (status, fetched) = app.post(&anna, &format!("/api/v1/applications/{id}/evidence"), json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true})).await;
    assert_eq!(status, 201, "{fetched}");
    let (_, submitted) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    let number = submitted["case_number"].as_str().unwrap().to_owned();
    let case = app.case_id("leipzig", &number).await;
    app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/questions"), json!({"question": "Wer nutzt das Fahrzeug?"})).await;
    let (_, mailbox) = app.get(&anna, "/api/v1/mailbox").await;
    let message = mailbox[0]["id"].as_str().unwrap().to_owned();
    let (_, transfers) = app.get(&anna, "/api/v1/me/transfers").await;
    // A decided one, with its Bescheid.
    let (_, decided_number) = app.submitted_application(0).await;
    let decided_case = app.case_id("leipzig", &decided_number).await;
    let (status, _) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{decided_case}/decision"), json!({"outcome": "approved", "reason": "Passt."})).await;
    assert_eq!(status, 200);
    let (_, mailbox) = app.get(&anna, "/api/v1/mailbox").await;
    let decided_message = mailbox.as_array().unwrap().iter().find(|m| !m["document_url"].is_null()).unwrap()["id"].as_str().unwrap().to_owned();
    let mut ids: HashMap<&str, String> = HashMap::new();
    ids.insert("application", id.clone());
    ids.insert("case", case.clone());
    ids.insert("message", message);
    ids.insert("transfer", transfers[0]["id"].as_str().unwrap().to_owned());
    ids.insert("evidence", evidence["id"].as_str().unwrap().to_owned());
    ids.insert("service", "bewohnerparkausweis".into());
    ids.insert("decided_case", decided_case);
    ids.insert("decided_message", decided_message);
    let (status, inquiry) = app.post(&anna, "/api/v1/assistant/handover", json!({"question": "Wann hat das Bad offen?", "authority_id": "leipzig"})).await;
    assert_eq!(status, 201, "{inquiry}");
    let inquiry = inquiry["id"].as_str().unwrap().to_owned();
    ids.insert("inquiry", inquiry.clone());

    let staff = |user: &str| app.tokens.staff.iter().find(|s| s.user_id == user).unwrap().token.clone();
    let c = app.tokens.clients.iter().find(|c| c.authority_id == "leipzig").unwrap();
    let r = app.http.post(app.url("/api/v1/procedures/token")).form(&[("grant_type", "client_credentials"), ("client_id", c.client_id.as_str()), ("client_secret", c.client_secret.as_str())]).send().await.unwrap();
    let client_token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let tokens: HashMap<&str, String> = HashMap::from([
        ("citizen", anna.clone()),
        ("other_citizen", app.citizen(1).to_owned()),
        ("caseworker", app.caseworker("leipzig").to_owned()),
        ("other_caseworker", app.caseworker("halle").to_owned()),
        ("team_lead", staff("teamleitung-leipzig")),
        ("other_team_lead", staff("teamleitung-halle")),
        ("data_protection", staff("datenschutz-leipzig")),
        ("admin", staff("fachadministration-leipzig")),
        ("procedure", client_token),
        ("operator", app.tokens.operator.token.clone()),
        ("nobody", "kein-gueltiges-token".into()),
    ]);

    // Every route of the OpenAPI document.
    let (_, doc) = app.get(&anna, "/api/openapi.json").await;
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let method = method.to_uppercase();
            let tag = op["tags"][0].as_str().unwrap();
            let (allowed, foreign) = api_access(&method, path, tag);
            let url = fill(path, &ids);
            for role in ROLES {
                let token = &tokens[role];
                let request = match method.as_str() {
                    "GET" => app.http.get(app.url(&url)),
                    "POST" => app.http.post(app.url(&url)),
                    "PUT" => app.http.put(app.url(&url)),
                    "PATCH" => app.http.patch(app.url(&url)),
                    "DELETE" => app.http.delete(app.url(&url)),
                    m => panic!("{m}"),
                };
                let is_allowed = allowed.contains(&role);
                if is_allowed && bodyless_change(&method, path) {
                    continue;
                }
                // Allowed roles send a body no handler accepts (nothing changes); the others a
                // valid one, so that only authorization can stop them.
                let body = if is_allowed { json!({"matrix": true}) } else { valid_body(&method, path) };
                let request = request.bearer_auth(token).header("idempotency-key", format!("matrix-{role}")).json(&body);
                let (status, body) = crate::common::json_of(request.send().await.unwrap()).await;
                if allowed.contains(&role) {
                    if method == "GET" && !path.contains("/proof/") {
                        assert_eq!(status, 200, "{role} {method} {path}: {body}");
                    } else {
                        assert!(![401, 403].contains(&status) && status < 500, "{role} {method} {path}: {status} {body}");
                    }
                } else {
                    let expected: &[u16] = if foreign.contains(&role) { &[404] } else { &[401, 403, 404] };
                    assert!(expected.contains(&status), "{role} {method} {path}: expected {expected:?}, got {status} {body}");
                    let text = body.to_string();
                    assert!(!text.contains("Schmidt") && !text.contains(&number) && !text.contains("L-AB 1234"), "{role} {method} {path} leaked: {text}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 38 * ROLES.len(), "only {checked} checks");
    // The state is as the fixtures left it: nobody's refused request changed anything.
    let (_, after) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(after["status"], "in_review", "{after}");

    // Every page, for every persona with a session.
    let personas = [
        ("citizen", "buerger-1"),
        ("other_citizen", "buerger-2"),
        ("caseworker", "sachbearbeitung-leipzig"),
        ("other_caseworker", "sachbearbeitung-halle"),
        ("team_lead", "teamleitung-leipzig"),
        ("data_protection", "datenschutz-leipzig"),
        ("admin", "fachadministration-leipzig"),
        ("operator", "betrieb"),
    ];
    let a = &ids["application"];
    let m = &ids["message"];
    let e = &ids["evidence"];
    let citizen_pages: Vec<(String, bool)> = vec![
        ("/antraege".into(), false),
        ("/postfach".into(), false),
        ("/meine-daten".into(), false),
        (format!("/antraege/{a}"), true),
        (format!("/antraege/{a}/pruefen"), true),
        (format!("/antraege/{a}/bestaetigung"), true),
        (format!("/postfach/{m}"), true),
        (format!("/antraege/{a}/formular"), true),
        (format!("/antraege/{a}/formular/2"), true),
        (format!("/postfach/{}/bescheid.pdf", ids["decided_message"]), true),
    ];
    let workspace_pages: Vec<(String, bool)> = vec![
        ("/arbeitsplatz".into(), false),
        ("/arbeitsplatz/anfragen".into(), false),
        (format!("/arbeitsplatz/vorgaenge/{case}"), true),
        (format!("/arbeitsplatz/vorgaenge/{case}/vermerk"), true),
        (format!("/arbeitsplatz/vorgaenge/{case}/nachweise/{e}"), true),
        (format!("/arbeitsplatz/vorgaenge/{}/bescheid.pdf", ids["decided_case"]), true),
    ];
    // Every page with an id in its address is in one of the two lists (read from the routers'
    // source; the catalog's service pages are public).
    let operator_pages: Vec<String> = vec![
        "/betrieb".into(),
        "/betrieb/zustaendigkeiten".into(),
        "/betrieb/leistungen".into(),
        "/betrieb/behoerden/leipzig".into(),
        "/betrieb/leistungen/bewohnerparkausweis".into(),
    ];
    let listed: Vec<String> = citizen_pages.iter().chain(&workspace_pages).map(|(p, _)| p.clone()).chain(operator_pages.iter().cloned()).collect();
    for pattern in get_routes_with_ids_in_source() {
        // Public: the catalog's service pages; an invitation, whose secret is its address.
        if pattern.starts_with("/leistungen/") || pattern.starts_with("/einladung/") {
            continue;
        }
        let shape = regex::Regex::new(&format!("^{}$", regex::Regex::new(r"\{[a-z]+\}").unwrap().replace_all(&regex::escape(&pattern).replace(r"\{", "{").replace(r"\}", "}"), "[^/]+"))).unwrap();
        assert!(listed.iter().any(|p| shape.is_match(p)), "the page {pattern} is missing from the page matrix");
    }
    for (role, persona) in personas {
        let b = browser(&app, persona).await;
        let (_, _, home) = page(&b, app.url("/")).await;
        let token = csrf(&home);
        let expect = |status: u16, path: &str, ok: bool, foreign: bool| {
            if ok {
                assert_eq!(status, 200, "{role} {path}");
            } else if foreign {
                assert_eq!(status, 404, "{role} {path}");
            } else {
                assert_eq!(status, 403, "{role} {path}");
            }
        };
        for (path, has_id) in &citizen_pages {
            let (status, _, _) = page(&b, app.url(path)).await;
            let ok = role == "citizen" || (role == "other_citizen" && !has_id);
            expect(status, path, ok, role == "other_citizen" && *has_id);
        }
        for (path, has_id) in &workspace_pages {
            let (status, _, _) = page(&b, app.url(path)).await;
            let ok = matches!(role, "caseworker" | "team_lead") || (role == "other_caseworker" && !has_id);
            expect(status, path, ok, role == "other_caseworker" && *has_id);
        }
        for (path, who) in [("/arbeitsplatz/kennzahlen", "team_lead"), ("/datenschutz", "data_protection"), ("/verwaltung", "admin")] {
            let (status, _, _) = page(&b, app.url(path)).await;
            expect(status, path, role == who, false);
        }
        for path in &operator_pages {
            let (status, _, _) = page(&b, app.url(path)).await;
            expect(status, path, role == "operator", false);
        }
        // State-changing forms of others' areas, with the persona's own valid CSRF token.
        let posts: Vec<(String, &[&str], &[&str])> = vec![
            (format!("/antraege/{a}/zuruecknehmen"), &["citizen"], &["other_citizen"]),
            (format!("/postfach/{m}/antwort"), &["citizen"], &["other_citizen"]),
            (format!("/arbeitsplatz/vorgaenge/{case}/rueckfrage"), &["caseworker", "team_lead"], &["other_caseworker"]),
            (format!("/arbeitsplatz/vorgaenge/{case}/uebernehmen"), &["caseworker", "team_lead"], &["other_caseworker"]),
            (format!("/arbeitsplatz/vorgaenge/{case}/zuweisen"), &["team_lead"], &[]),
            (format!("/arbeitsplatz/vorgaenge/{case}/entscheidung"), &["caseworker", "team_lead"], &["other_caseworker"]),
            ("/verwaltung/clients".into(), &["admin"], &[]),
            ("/betrieb/behoerden".into(), &["operator"], &[]),
            ("/betrieb/behoerden/leipzig".into(), &["operator"], &[]),
            ("/betrieb/behoerden/leipzig/mitarbeitende".into(), &["operator"], &[]),
            ("/betrieb/mitarbeitende/sachbearbeitung-2-leipzig/deaktivieren".into(), &["operator"], &[]),
            ("/betrieb/zustaendigkeiten".into(), &["operator"], &[]),
            ("/betrieb/leistungen/bewohnerparkausweis".into(), &["operator"], &[]),
            ("/assistent/weitergeben".into(), &["citizen", "other_citizen"], &[]),
            (format!("/arbeitsplatz/anfragen/{}/antwort", ids["inquiry"]), &["caseworker", "team_lead"], &["other_caseworker"]),
        ];
        for (path, allowed, foreign) in posts {
            if allowed.contains(&role) {
                continue; // exercised by the functional tests
            }
            let r = b.post(app.url(&path)).form(&[("_csrf", token.as_str()), ("outcome", "approved"), ("reason", "x"), ("question", "x"), ("answer", "x"), ("authority_id", "leipzig")]).send().await.unwrap();
            let status = r.status().as_u16();
            expect(status, &path, false, foreign.contains(&role));
        }
    }
    // Every state-changing form, for the one role it is for, without a token and with a wrong
    // one: refused (403). The list is checked against the routers' source, so a new form
    // cannot be left out.
    let inquiry = &ids["inquiry"];
    let posts: Vec<(&str, String, &str)> = vec![
        ("citizen", "/leistungen/bewohnerparkausweis/antrag".into(), "/leistungen/{id}/antrag"),
        ("citizen", format!("/antraege/{a}/formular"), "/antraege/{id}/formular"),
        ("citizen", format!("/antraege/{a}/formular/2"), "/antraege/{id}/formular/{page}"),
        ("citizen", format!("/antraege/{a}/absenden"), "/antraege/{id}/absenden"),
        ("citizen", format!("/antraege/{a}/nachweise"), "/antraege/{id}/nachweise"),
        ("citizen", format!("/antraege/{a}/nachweise/{e}/annehmen"), "/antraege/{id}/nachweise/{evidence}/{decision}"),
        ("citizen", format!("/antraege/{a}/nachweise/hochladen"), "/antraege/{id}/nachweise/hochladen"),
        ("citizen", format!("/antraege/{a}/zuruecknehmen"), "/antraege/{id}/zuruecknehmen"),
        ("citizen", format!("/postfach/{m}/antwort"), "/postfach/{id}/antwort"),
        ("citizen", "/assistent/weitergeben".into(), "/assistent/weitergeben"),
        ("citizen", "/abmelden".into(), "/abmelden"),
        ("caseworker", format!("/arbeitsplatz/anfragen/{inquiry}/antwort"), "/arbeitsplatz/anfragen/{id}/antwort"),
        ("caseworker", format!("/arbeitsplatz/vorgaenge/{case}/entscheidung"), "/arbeitsplatz/vorgaenge/{id}/entscheidung"),
        ("caseworker", format!("/arbeitsplatz/vorgaenge/{case}/uebernehmen"), "/arbeitsplatz/vorgaenge/{id}/uebernehmen"),
        ("caseworker", format!("/arbeitsplatz/vorgaenge/{case}/zurueckgeben"), "/arbeitsplatz/vorgaenge/{id}/zurueckgeben"),
        ("caseworker", format!("/arbeitsplatz/vorgaenge/{case}/rueckfrage"), "/arbeitsplatz/vorgaenge/{id}/rueckfrage"),
        ("caseworker", format!("/arbeitsplatz/vorgaenge/{case}/vermerk"), "/arbeitsplatz/vorgaenge/{id}/vermerk"),
        ("team_lead", format!("/arbeitsplatz/vorgaenge/{case}/zuweisen"), "/arbeitsplatz/vorgaenge/{id}/zuweisen"),
        ("admin", "/verwaltung/clients".into(), "/verwaltung/clients"),
        ("admin", format!("/verwaltung/clients/{}/widerrufen", app.tokens.clients[0].client_id), "/verwaltung/clients/{id}/widerrufen"),
        ("operator", "/betrieb/behoerden".into(), "/betrieb/behoerden"),
        ("operator", "/betrieb/behoerden/leipzig".into(), "/betrieb/behoerden/{id}"),
        ("operator", "/betrieb/behoerden/leipzig/mitarbeitende".into(), "/betrieb/behoerden/{id}/mitarbeitende"),
        ("operator", "/betrieb/mitarbeitende/sachbearbeitung-2-leipzig/token".into(), "/betrieb/mitarbeitende/{id}/token"),
        ("operator", "/betrieb/mitarbeitende/sachbearbeitung-2-leipzig/zuruecksetzen".into(), "/betrieb/mitarbeitende/{id}/zuruecksetzen"),
        ("operator", "/betrieb/mitarbeitende/sachbearbeitung-2-leipzig/deaktivieren".into(), "/betrieb/mitarbeitende/{id}/deaktivieren"),
        ("operator", "/betrieb/zustaendigkeiten".into(), "/betrieb/zustaendigkeiten"),
        ("operator", "/betrieb/zustaendigkeiten/import".into(), "/betrieb/zustaendigkeiten/import"),
        ("operator", "/betrieb/leistungen/fim".into(), "/betrieb/leistungen/fim"),
        ("operator", "/betrieb/leistungen/bewohnerparkausweis".into(), "/betrieb/leistungen/{id}"),
        ("nobody", "/anmelden".into(), "/anmelden"),
        ("nobody", "/anmelden/mitarbeitende".into(), "/anmelden/mitarbeitende"),
    ];
    // Asking the assistant changes nothing (anyone may ask, without a session). An invitation
    // is taken with the secret in its address, which no other site knows: that is its token.
    let exempt = ["/assistent", "/einladung/{secret}"];
    let covered: Vec<&str> = posts.iter().map(|(_, _, pattern)| *pattern).chain(exempt).collect();
    for pattern in post_routes_in_source() {
        assert!(covered.contains(&pattern.as_str()), "the POST route {pattern} is missing from the CSRF walk");
    }
    let persona_of = |role: &str| personas.iter().find(|(r, _)| *r == role).map(|(_, p)| *p);
    for (role, path, _) in &posts {
        let b = match persona_of(role) {
            Some(persona) => browser(&app, persona).await,
            None => {
                // The login forms: the page first, so that the form cookie is there and only
                // the missing or wrong token can be what is refused.
                let b = reqwest::Client::builder().cookie_store(true).build().unwrap();
                crate::pages::login_form_token(&app, &b).await;
                b
            }
        };
        if path.ends_with("/hochladen") || path.ends_with("/import") || path.ends_with("/fim") {
            // The upload forms are multipart: their token is one of the parts.
            for token in [None, Some("not-the-token")] {
                let part = reqwest::multipart::Part::bytes(b"%PDF-1.4 x".to_vec()).file_name("x.pdf").mime_str("application/pdf").unwrap();
                let mut form = reqwest::multipart::Form::new().text("type", "urn:amtsweg:evidence:residence").part("file", part);
                if let Some(token) = token {
                    form = form.text("_csrf", token);
                }
                let r = b.post(app.url(path)).multipart(form).send().await.unwrap();
                assert_eq!(r.status(), 403, "{role} {path} with CSRF token {token:?}");
            }
            continue;
        }
        let fields = [("outcome", "approved"), ("reason", "x"), ("question", "x"), ("answer", "x"), ("persona", "buerger-1"), ("name", "x")];
        let without = b.post(app.url(path)).form(&fields).send().await.unwrap();
        assert_eq!(without.status(), 403, "{role} {path} without a CSRF token");
        let mut wrong = fields.to_vec();
        wrong.push(("_csrf", "not-the-token"));
        let r = b.post(app.url(path)).form(&wrong).send().await.unwrap();
        assert_eq!(r.status(), 403, "{role} {path} with a wrong CSRF token");
    }
    let (_, after) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(after["status"], "in_review", "refused forms changed nothing: {after}");
    let (_, clients) = app.get(&app.tokens.staff.iter().find(|s| s.role == "admin").unwrap().token, "/api/v1/admin/clients").await;
    let client_id = &app.tokens.clients[0].client_id;
    assert!(clients.as_array().unwrap().iter().any(|c| c["client_id"] == client_id.as_str()), "the client was not revoked: {clients}");
    let (_, inquiries) = app.get(app.caseworker("leipzig"), "/api/v1/inquiries").await;
    assert!(inquiries.as_array().unwrap().iter().all(|q| q["answer"].is_null()), "no refused request answered the question: {inquiries}");
    let jana = app.tokens.staff.iter().find(|s| s.user_id == "sachbearbeitung-2-leipzig").unwrap();
    assert_eq!(app.get(&jana.token, "/api/v1/cases").await.0, 200, "no refused form deactivated her");
}

/// The paths of every `POST` route of the page routers, read from their source.
fn post_routes_in_source() -> Vec<String> {
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)",\s*(?:get\([a-z_]+\)\.)?(?:axum::routing::)?post\("#).unwrap();
    let mut found = Vec::new();
    for dir in ["portal", "workspace", "login", "operator"] {
        for entry in std::fs::read_dir(src.join(dir)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            found.extend(route.captures_iter(&text).map(|c| c[1].to_owned()));
        }
    }
    assert!(found.len() >= 20, "the route pattern found only {found:?}");
    found
}

/// The paths of every `GET` page route with an id in it, read from the routers' source.
fn get_routes_with_ids_in_source() -> Vec<String> {
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]*\{[^"]+)",\s*get\("#).unwrap();
    let mut found = Vec::new();
    for dir in ["portal", "workspace", "login", "operator"] {
        for entry in std::fs::read_dir(src.join(dir)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            found.extend(route.captures_iter(&text).map(|c| c[1].to_owned()));
        }
    }
    assert!(found.len() >= 10, "the route pattern found only {found:?}");
    found
}
