//! Casework end to end: automated decisions with the Bescheid as PDF/A in the mailbox, a
//! mismatch that lands in the inbox with the failing rule, questions to the citizen and back,
//! assignment and filters, Vermerk drafts, the specialist-procedure API, and the role matrix.

use crate::common::TestApp;
use crate::on_both_stores;
use crate::pages::{browser, page, text};
use serde_json::{Value, json};

on_both_stores!(
    energy_payment_with_confirmed_enrolment_is_decided_automatically,
    parking_permit_mismatch_lands_in_the_inbox_with_the_failing_rule,
    a_question_goes_to_the_citizen_and_back,
    assignment_and_inbox_filters,
    memo_drafts_cite_real_sources,
    specialist_procedures_pull_and_report_idempotently,
    each_role_reaches_exactly_its_routes,
    caseworkers_open_uploaded_documents_of_their_cases_only,
    metrics_show_automation_backlog_and_lead_times,
    admins_change_rules_that_fit_the_service,
    a_bescheid_left_undelivered_is_issued_later,
    a_bescheid_whose_writing_failed_is_delivered_by_its_job,
);

fn staff(app: &TestApp, user_id: &str) -> String {
    app.tokens.staff.iter().find(|s| s.user_id == user_id).unwrap_or_else(|| panic!("{user_id}")).token.clone()
}

/// Runs an external checker (`qpdf`, `pdftotext`); without it the check is skipped with a
/// reason, except in CI where it must be there.
fn tool(name: &str) -> Option<std::process::Command> {
    if std::process::Command::new(name).arg("--version").output().is_ok() {
        return Some(std::process::Command::new(name));
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {name} must be installed (scripts/test installs it)");
    eprintln!("skipped: {name} is not installed (Debian packages qpdf, poppler-utils)");
    None
}

async fn fetch(app: &TestApp, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let r = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

/// Fetches a register's evidence with consent, accepting a preview if the register wants one.
async fn fetch_evidence(app: &TestApp, token: &str, id: &str, evidence_type: &str) {
    let path = format!("/api/v1/applications/{id}/evidence");
    let (status, body) = app.post(token, &path, json!({"type": evidence_type, "source": "register", "consent": true})).await;
    match status {
        201 => {}
        409 => {
            assert_eq!(body["error"], "preview_required", "{body}");
            let e = body["evidence_id"].as_str().unwrap();
            let (status, body) = app.post(token, &format!("{path}/{e}/accept"), json!({})).await;
            assert_eq!(status, 200, "{body}");
        }
        _ => panic!("{status} {body}"),
    }
}

async fn energy_payment_with_confirmed_enrolment_is_decided_automatically(app: TestApp) {
    let lena = app.citizen(3).to_owned();
    let (status, body) = app.post(&lena, "/api/v1/applications", json!({"service_id": "energiepreispauschale"})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let data = json!({"hochschule": "Universität Erfurt", "iban": "DE02120300000000202051", "richtigkeit": true});
    let (status, body) = app.put(&lena, &format!("/api/v1/applications/{id}/data"), data).await;
    assert_eq!(status, 200, "{body}");
    fetch_evidence(&app, &lena, &id, "urn:amtsweg:evidence:enrolment").await;
    let (status, body) = app.post(&lena, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "decided", "{body}");
    assert_eq!(body["decision"]["outcome"], "approved");
    assert_eq!(body["decision"]["automated"], true);
    assert!(body["rules"].as_array().unwrap().iter().all(|r| r["result"] == "passed"), "{body}");
    let case_number = body["case_number"].as_str().unwrap().to_owned();

    // The Bescheid is in the mailbox, as PDF/A.
    let (_, mailbox) = app.get(&lena, "/api/v1/mailbox").await;
    let message = mailbox.as_array().unwrap().iter().find(|m| m["subject"].as_str().unwrap().contains(&case_number)).expect("decision in mailbox");
    let url = message["document_url"].as_str().expect("the Bescheid is attached");
    let (status, kind, pdf) = fetch(&app, &lena, url).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf).contains("pdfaid:part"), "declares PDF/A conformance in its XMP metadata");
    check_pdf(&pdf, &case_number, &app.ledger_key().verifier_key());

    // No human step: nobody but the citizen and the platform acted on the case.
    let case_id = app.case_id("erfurt", &case_number).await;
    let events = app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("erfurt").unwrap(), &case_id).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "decision_issued" && e.actor_role == "system"), "{events:?}");
    assert!(!events.iter().any(|e| e.actor_role == "caseworker" && e.kind != "case_viewed"), "{events:?}");

    // The case's caseworkers may download it; another authority's may not; a citizen's other
    // message id is not theirs.
    let (status, _, same) = fetch(&app, app.caseworker("erfurt"), &format!("/api/v1/cases/{case_id}/bescheid")).await;
    assert_eq!(status, 200);
    assert_eq!(same, pdf, "the stored document, not a new rendering");
    let (status, _, _) = fetch(&app, app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}/bescheid")).await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch(&app, app.citizen(0), url).await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch(&app, &staff(&app, "datenschutz-leipzig"), &format!("/api/v1/cases/{case_id}/bescheid")).await;
    assert_eq!(status, 403);
}

fn check_pdf(pdf: &[u8], case_number: &str, verifier_key: &str) {
    let dir = std::env::temp_dir().join(format!("amtsweg-pdf-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bescheid.pdf");
    std::fs::write(&file, pdf).unwrap();
    if let Some(mut qpdf) = tool("qpdf") {
        let out = qpdf.arg("--check").arg(&file).output().unwrap();
        assert!(out.status.success(), "qpdf --check: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    if let Some(mut pdftotext) = tool("pdftotext") {
        let out = pdftotext.arg("-enc").arg("UTF-8").arg(&file).arg("-").output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        // The letterhead and the contact the operator set for the authority.
        for needle in [case_number, "Ihrem Antrag wird stattgegeben.", "Rechtsbehelfsbelehrung", "Widerspruch", "Transparenzprotokoll", "Landeshauptstadt Erfurt · Bürgeramt", "buergerservice@erfurt.de"] {
            assert!(text.contains(needle), "{needle} not in the PDF text:\n{text}");
        }
    }
    // The receipt is attached, and checks out with the ledger's public key alone.
    if let Some(mut pdfdetach) = tool("pdfdetach") {
        let out_file = dir.join("quittung.json");
        let out = pdfdetach.arg("-savefile").arg("quittung.json").arg("-o").arg(&out_file).arg(&file).output().unwrap();
        assert!(out.status.success(), "pdfdetach: {}", String::from_utf8_lossy(&out.stderr));
        let receipt: amtsweg_ledger::Receipt = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
        let entry = amtsweg_ledger::proof::verify_receipt(&receipt, verifier_key).expect("the embedded receipt verifies");
        assert_eq!(entry.kind, "decision_issued");
        assert_eq!(entry.actor_role, "system");
    }
    let _ = std::fs::remove_dir_all(dir);
}

async fn parking_permit_mismatch_lands_in_the_inbox_with_the_failing_rule(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    // Registered plate L-AB 1234; she enters another one.
    let id = app.draft(0).await;
    let mut data = crate::common::valid_data();
    data["kennzeichen"] = json!("L-ZZ 99");
    let (status, _) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), data).await;
    assert_eq!(status, 200);
    fetch_evidence(&app, &anna, &id, "urn:amtsweg:evidence:main-residence").await;
    fetch_evidence(&app, &anna, &id, "urn:amtsweg:evidence:vehicle-holder").await;
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "submitted");
    assert!(body["decision"].is_null());
    let number = body["case_number"].as_str().unwrap().to_owned();
    let case_id = app.case_id("leipzig", &number).await;
    let (_, case) = app.get(app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}")).await;
    let rule = |id: &str| case["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned().unwrap();
    assert_eq!(rule("halter")["result"], "failed", "{case}");
    assert_eq!(rule("hauptwohnsitz")["result"], "passed");
    // The page shows the failing rule.
    let client = browser(&app, "sachbearbeitung-leipzig").await;
    let (status, _, doc) = page(&client, app.url(&format!("/arbeitsplatz/vorgaenge/{case_id}"))).await;
    assert_eq!(status, 200);
    let rules = text(&doc, "#rules");
    assert!(rules.contains("Halterin oder Halter des Fahrzeugs") && rules.contains("nicht erfüllt"), "{rules}");

    // With the right plate, the same citizen's permit is granted at once.
    let id = app.draft(0).await;
    app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    fetch_evidence(&app, &anna, &id, "urn:amtsweg:evidence:main-residence").await;
    fetch_evidence(&app, &anna, &id, "urn:amtsweg:evidence:vehicle-holder").await;
    let (_, body) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(body["status"], "decided", "{body}");
}

async fn a_question_goes_to_the_citizen_and_back(app: TestApp) {
    let (_, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let cw = app.caseworker("leipzig").to_owned();
    let (status, body) = app.post(&cw, &format!("/api/v1/cases/{case_id}/questions"), json!({"question": ""})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.post(&cw, &format!("/api/v1/cases/{case_id}/questions"), json!({"question": "Bitte senden Sie den Fahrzeugschein."})).await;
    assert_eq!(status, 201, "{body}");
    let (_, inbox) = app.get(&cw, "/api/v1/cases").await;
    assert_eq!(inbox.as_array().unwrap().iter().find(|c| c["id"] == case_id.as_str()).unwrap()["open_question"], true);
    // Another authority cannot ask on this case.
    let (status, _) = app.post(app.caseworker("halle"), &format!("/api/v1/cases/{case_id}/questions"), json!({"question": "x"})).await;
    assert_eq!(status, 404);

    let anna = app.citizen(0).to_owned();
    let (_, mailbox) = app.get(&anna, "/api/v1/mailbox").await;
    let m = mailbox.as_array().unwrap().iter().find(|m| !m["question_id"].is_null()).expect("the question in the mailbox").clone();
    assert!(m["body"].as_str().unwrap().contains("Fahrzeugschein"));
    let path = format!("/api/v1/mailbox/{}/answer", m["id"].as_str().unwrap());
    let (status, _) = app.post(app.citizen(1), &path, json!({"answer": "fremd"})).await;
    assert_eq!(status, 404, "another citizen cannot answer");
    let (status, body) = app.post(&anna, &path, json!({"answer": "Der Fahrzeugschein liegt bei."})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["case_number"], number.as_str());
    let (status, _) = app.post(&anna, &path, json!({"answer": "noch einmal"})).await;
    assert_eq!(status, 409);

    let (_, case) = app.get(&cw, &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(case["questions"][0]["answer"], "Der Fahrzeugschein liegt bei.");
    let (_, inbox) = app.get(&cw, "/api/v1/cases").await;
    assert_eq!(inbox.as_array().unwrap().iter().find(|c| c["id"] == case_id.as_str()).unwrap()["open_question"], false);

    // A second question, then the case is decided: the page no longer offers an answer form.
    let (status, _) = app.post(&cw, &format!("/api/v1/cases/{case_id}/questions"), json!({"question": "Nutzen Sie das Fahrzeug selbst?"})).await;
    assert_eq!(status, 201);
    let (_, mailbox) = app.get(&anna, "/api/v1/mailbox").await;
    let second = mailbox.as_array().unwrap().iter().find(|m| m["body"].as_str().unwrap().contains("selbst?")).unwrap()["id"].as_str().unwrap().to_owned();
    let citizen = browser(&app, &app.tokens.citizens[0].user_id).await;
    let (_, _, doc) = page(&citizen, app.url(&format!("/postfach/{second}"))).await;
    assert!(!crate::pages::select(&doc, "form[action$='/antwort']").is_empty(), "open case: the form is there");
    let (status, _) = app.post(&cw, &format!("/api/v1/cases/{case_id}/decision"), json!({"outcome": "approved", "reason": "Passt."})).await;
    assert_eq!(status, 200);
    let (_, _, doc) = page(&citizen, app.url(&format!("/postfach/{second}"))).await;
    assert!(crate::pages::select(&doc, "form[action$='/antwort']").is_empty(), "closed case: no form");
    assert!(text(&doc, "#answer-closed").contains("abgeschlossen"));
}

async fn assignment_and_inbox_filters(app: TestApp) {
    let (_, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let cw = app.caseworker("leipzig").to_owned();
    let colleague = staff(&app, "sachbearbeitung-2-leipzig");
    let lead = staff(&app, "teamleitung-leipzig");
    let (status, _) = app.post(&cw, &format!("/api/v1/cases/{case_id}/claim"), json!({})).await;
    assert_eq!(status, 204);
    let (status, _) = app.post(&colleague, &format!("/api/v1/cases/{case_id}/claim"), json!({})).await;
    assert_eq!(status, 409, "taken by someone else");
    let (status, _) = app.put(&cw, &format!("/api/v1/cases/{case_id}/assignee"), json!({"user_id": "sachbearbeitung-2-leipzig"})).await;
    assert_eq!(status, 403, "only team leads assign");
    let (status, _) = app.put(&lead, &format!("/api/v1/cases/{case_id}/assignee"), json!({"user_id": "sachbearbeitung-halle"})).await;
    assert_eq!(status, 404, "not staff of this authority");
    let (status, _) = app.put(&lead, &format!("/api/v1/cases/{case_id}/assignee"), json!({"user_id": "sachbearbeitung-2-leipzig"})).await;
    assert_eq!(status, 204);
    let (_, mine) = app.get(&colleague, "/api/v1/cases?assignee=me").await;
    assert!(mine.as_array().unwrap().iter().any(|c| c["id"] == case_id.as_str()), "{mine}");
    let (_, theirs) = app.get(&cw, "/api/v1/cases?assignee=me").await;
    assert!(theirs.as_array().unwrap().is_empty());
    let (_, none) = app.get(&cw, "/api/v1/cases?assignee=none").await;
    assert!(!none.as_array().unwrap().iter().any(|c| c["id"] == case_id.as_str()));
    // taken, it is in review
    let (_, by_status) = app.get(&cw, "/api/v1/cases?status=in_review&service=bewohnerparkausweis&sort=deadline").await;
    assert_eq!(by_status.as_array().unwrap().len(), 1);
    let (_, submitted) = app.get(&cw, "/api/v1/cases?status=submitted").await;
    assert!(submitted.as_array().unwrap().is_empty());
    let (_, decided) = app.get(&cw, "/api/v1/cases?status=decided").await;
    assert!(decided.as_array().unwrap().is_empty());
    let (_, overdue) = app.get(&cw, "/api/v1/cases?overdue=true").await;
    assert!(overdue.as_array().unwrap().is_empty(), "a new case is not overdue");
    let (status, body) = app.get(&cw, "/api/v1/cases?sort=sideways").await;
    assert_eq!(status, 422, "{body}");
    // Lead times for the team lead only.
    let (status, _) = app.get(&cw, "/api/v1/lead-times").await;
    assert_eq!(status, 403);
    let (status, body) = app.get(&lead, "/api/v1/lead-times").await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["open"], 1, "{body}");
    let (status, _) = app.post(&cw, &format!("/api/v1/cases/{case_id}/release"), json!({})).await;
    assert_eq!(status, 409, "not hers to give back");
    let (status, _) = app.post(&colleague, &format!("/api/v1/cases/{case_id}/release"), json!({})).await;
    assert_eq!(status, 204);
    // Two claims at once: exactly one wins.
    let claim = format!("/api/v1/cases/{case_id}/claim");
    let a = app.post(&cw, &claim, json!({}));
    let b = app.post(&colleague, &claim, json!({}));
    let ((sa, _), (sb, _)) = tokio::join!(a, b);
    let mut statuses = [sa, sb];
    statuses.sort();
    assert_eq!(statuses, [204, 409]);
}

async fn memo_drafts_cite_real_sources(app: TestApp) {
    let (_, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let cw = app.caseworker("leipzig").to_owned();
    let (status, draft) = app.post(&cw, &format!("/api/v1/cases/{case_id}/memo-draft"), json!({})).await;
    assert_eq!(status, 200, "{draft}");
    let titles: Vec<&str> = draft["sections"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Sachverhalt", "Prüfung", "Ergebnis"]);
    let fields: Vec<String> = crate::common::valid_data().as_object().unwrap().keys().map(|k| format!("field:{k}")).collect();
    for s in draft["sections"].as_array().unwrap() {
        for st in s["statements"].as_array().unwrap() {
            let sources: Vec<&str> = st["sources"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            assert!(!sources.is_empty(), "{st}");
            for src in sources {
                let known = src == "case" || src.starts_with("rule:") || src.starts_with("evidence:") || fields.iter().any(|f| f == src);
                assert!(known, "unknown source {src}");
            }
        }
    }
    assert!(draft["text"].as_str().unwrap().contains("[field:kennzeichen]"));
    let (status, _) = app.post(&cw, &format!("/api/v1/cases/{case_id}/memos"), json!({"text": "   "})).await;
    assert_eq!(status, 422);
    let (status, _) = app.post(&cw, &format!("/api/v1/cases/{case_id}/memos"), json!({"text": draft["text"]})).await;
    assert_eq!(status, 201);
    let (_, case) = app.get(&cw, &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(case["memos"].as_array().unwrap().len(), 1);
    assert_eq!(case["memos"][0]["author"], "Katrin Müller");
}

async fn client_token(app: &TestApp, authority: &str) -> String {
    let c = app.tokens.clients.iter().find(|c| c.authority_id == authority).unwrap();
    let r = app
        .http
        .post(app.url("/api/v1/procedures/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &c.client_id), ("client_secret", &c.client_secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn event(app: &TestApp, token: &str, case_id: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = app.http.post(app.url(&format!("/api/v1/procedures/submissions/{case_id}/events"))).bearer_auth(token).json(&body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    crate::common::json_of(r.send().await.unwrap()).await
}

async fn specialist_procedures_pull_and_report_idempotently(app: TestApp) {
    let (app_id, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    // Wrong secret, wrong grant.
    let c = app.tokens.clients.iter().find(|c| c.authority_id == "leipzig").unwrap();
    let r = app.http.post(app.url("/api/v1/procedures/token")).form(&[("grant_type", "client_credentials"), ("client_id", c.client_id.as_str()), ("client_secret", "falsch")]).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app.http.post(app.url("/api/v1/procedures/token")).json(&json!({"grant_type": "password", "client_id": c.client_id})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // JSON works as well as a form; percent-encoded secrets are decoded.
    let r = app.http.post(app.url("/api/v1/procedures/token")).json(&json!({"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": c.client_secret})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = format!("grant_type=client_credentials&client_id={}&client_secret={}", c.client_id, c.client_secret.replace('-', "%2D"));
    let r = app.http.post(app.url("/api/v1/procedures/token")).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.post(app.url("/api/v1/procedures/token")).header("content-type", "application/x-www-form-urlencoded").body("grant_type=client_credentials&client_id=%ZZ").send().await.unwrap();
    assert!([400, 401].contains(&r.status().as_u16()));
    // A citizen's token is not a client's.
    let (status, _) = app.get(app.citizen(0), "/api/v1/procedures/submissions").await;
    assert_eq!(status, 401);

    let leipzig = client_token(&app, "leipzig").await;
    let halle = client_token(&app, "halle").await;
    let (status, list) = app.get(&leipzig, "/api/v1/procedures/submissions").await;
    assert_eq!(status, 200);
    assert!(list.as_array().unwrap().iter().any(|s| s["id"] == case_id.as_str()), "{list}");
    let (_, other) = app.get(&halle, "/api/v1/procedures/submissions").await;
    assert!(!other.as_array().unwrap().iter().any(|s| s["id"] == case_id.as_str()));
    let (status, sub) = app.get(&leipzig, &format!("/api/v1/procedures/submissions/{case_id}")).await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["data"]["kennzeichen"], "L-AB 1234");
    assert_eq!(sub["applicant"]["family_name"], "Schmidt");
    // Another authority's client: not found, for reading and for reporting.
    let (status, _) = app.get(&halle, &format!("/api/v1/procedures/submissions/{case_id}")).await;
    assert_eq!(status, 404);
    let (status, _) = event(&app, &halle, &case_id, Some("k-1"), json!({"kind": "received"})).await;
    assert_eq!(status, 404);

    let (status, _) = event(&app, &leipzig, &case_id, None, json!({"kind": "received"})).await;
    assert_eq!(status, 400, "an idempotency key is required");
    let (status, _) = event(&app, &leipzig, &case_id, Some("k-1"), json!({"kind": "lost"})).await;
    assert_eq!(status, 422);
    let (status, first) = event(&app, &leipzig, &case_id, Some("k-1"), json!({"kind": "received", "note": "Eingang bestätigt"})).await;
    assert_eq!(status, 201, "{first}");
    for _ in 0..3 {
        let (status, again) = event(&app, &leipzig, &case_id, Some("k-1"), json!({"kind": "received", "note": "Eingang bestätigt"})).await;
        assert_eq!(status, 200);
        assert_eq!(again["id"], first["id"], "a retry returns the stored event");
    }
    let (status, _) = event(&app, &leipzig, &case_id, Some("k-1"), json!({"kind": "accepted"})).await;
    assert_eq!(status, 409, "the same key for another event");
    let (status, _) = event(&app, &leipzig, &case_id, Some("k-2"), json!({"kind": "accepted", "note": "Angenommen"})).await;
    assert_eq!(status, 201);
    // Received: no longer new; the citizen sees the events once each.
    let (_, list) = app.get(&leipzig, "/api/v1/procedures/submissions").await;
    assert!(!list.as_array().unwrap().iter().any(|s| s["id"] == case_id.as_str()));
    // The admin revokes the client: its token stops working at once; another authority's admin
    // cannot.
    let admin = staff(&app, "fachadministration-leipzig");
    let (_, clients) = app.get(&admin, "/api/v1/admin/clients").await;
    assert_eq!(clients.as_array().unwrap().len(), 1, "{clients}");
    let r = app.http.delete(app.url(&format!("/api/v1/admin/clients/{}", c.client_id))).bearer_auth(app.caseworker("leipzig")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let halle_client = &app.tokens.clients.iter().find(|c| c.authority_id == "halle").unwrap().client_id;
    let r = app.http.delete(app.url(&format!("/api/v1/admin/clients/{halle_client}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 404, "another authority's client");
    let r = app.http.delete(app.url(&format!("/api/v1/admin/clients/{}", c.client_id))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = app.get(&leipzig, "/api/v1/procedures/submissions").await;
    assert_eq!(status, 401, "a revoked client's token no longer works");
    let (_, application) = app.get(app.citizen(0), &format!("/api/v1/applications/{app_id}")).await;
    let kinds: Vec<&str> = application["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["received", "accepted"]);
    assert_eq!(application["status"], "in_review");
}

/// Every role against every route of the workspace and the API: what it may reach answers
/// 2xx, what it may not answers 401, 403 or (for another authority's data) 404.
async fn each_role_reaches_exactly_its_routes(app: TestApp) {
    let (app_id, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let lead = staff(&app, "teamleitung-leipzig");
    let dpo = staff(&app, "datenschutz-leipzig");
    let admin = staff(&app, "fachadministration-leipzig");
    let client = client_token(&app, "leipzig").await;
    let roles: Vec<(&str, String)> = vec![
        ("citizen", app.citizen(0).to_owned()),
        ("other_citizen", app.citizen(1).to_owned()),
        ("caseworker", app.caseworker("leipzig").to_owned()),
        ("other_caseworker", app.caseworker("halle").to_owned()),
        ("team_lead", lead),
        ("other_team_lead", staff(&app, "teamleitung-halle")),
        ("data_protection", dpo),
        ("admin", admin),
        ("procedure", client),
        ("nobody", "kein-token".to_owned()),
    ];
    let c = case_id.as_str();
    let a = app_id.as_str();
    // (path, who gets 200) — everyone else gets 401, 403 or 404.
    let reads: Vec<(String, &[&str])> = vec![
        ("/api/v1/cases".into(), &["caseworker", "other_caseworker", "team_lead", "other_team_lead"]),
        (format!("/api/v1/cases/{c}"), &["caseworker", "team_lead"]),
        ("/api/v1/lead-times".into(), &["team_lead", "other_team_lead"]),
        ("/api/v1/privacy/transfers".into(), &["data_protection"]),
        ("/api/v1/privacy/audit".into(), &["data_protection"]),
        ("/api/v1/admin/services".into(), &["admin"]),
        ("/api/v1/procedures/submissions".into(), &["procedure"]),
        (format!("/api/v1/procedures/submissions/{c}"), &["procedure"]),
        ("/api/v1/mailbox".into(), &["citizen", "other_citizen"]),
        (format!("/api/v1/applications/{a}"), &["citizen"]),
        ("/api/v1/me/transfers".into(), &["citizen", "other_citizen"]),
    ];
    for (path, allowed) in &reads {
        for (role, token) in &roles {
            let (status, body) = app.get(token, path).await;
            if allowed.contains(role) {
                assert_eq!(status, 200, "{role} GET {path}: {body}");
            } else {
                assert!([401, 403, 404].contains(&status), "{role} GET {path} answered {status}: {body}");
                let text = body.to_string();
                assert!(!text.contains("Schmidt") && !text.contains(&number), "{role} GET {path} leaked case data: {text}");
            }
        }
    }
    // The data protection officer sees transfers and events, never case contents.
    let (_, audit) = app.get(&roles[6].1, "/api/v1/privacy/audit").await;
    assert!(audit.as_array().unwrap().iter().any(|e| e["subject_id"] == c));
    assert!(!audit.to_string().contains("L-AB 1234"));
    // State changes: only the right role.
    let writes: Vec<(&str, String, Value, &[&str])> = vec![
        ("POST", format!("/api/v1/cases/{c}/questions"), json!({"question": "Frage?"}), &["caseworker", "team_lead"]),
        ("POST", format!("/api/v1/cases/{c}/memos"), json!({"text": "Vermerk"}), &["caseworker", "team_lead"]),
        ("PUT", format!("/api/v1/cases/{c}/assignee"), json!({"user_id": null}), &["team_lead"]),
        ("POST", "/api/v1/admin/clients".into(), json!({"name": "Fachverfahren Test"}), &["admin"]),
    ];
    for (method, path, body, allowed) in &writes {
        for (role, token) in &roles {
            let (status, answer) = if *method == "PUT" { app.put(token, path, body.clone()).await } else { app.post(token, path, body.clone()).await };
            if allowed.contains(role) {
                assert!((200..300).contains(&status), "{role} {method} {path}: {status} {answer}");
            } else {
                assert!([401, 403, 404].contains(&status), "{role} {method} {path} answered {status}: {answer}");
            }
        }
    }
    // Pages: each staff role lands on its own area and is refused the others'.
    let pages: [(&str, &str, &[&str]); 4] = [
        ("sachbearbeitung-leipzig", "caseworker", &["/arbeitsplatz"]),
        ("teamleitung-leipzig", "team_lead", &["/arbeitsplatz", "/arbeitsplatz/kennzahlen"]),
        ("datenschutz-leipzig", "data_protection", &["/datenschutz"]),
        ("fachadministration-leipzig", "admin", &["/verwaltung"]),
    ];
    let all = ["/arbeitsplatz", "/arbeitsplatz/kennzahlen", "/datenschutz", "/verwaltung", "/postfach"];
    for (persona, role, allowed) in pages {
        let browser = browser(&app, persona).await;
        for path in all {
            let (status, _, doc) = page(&browser, app.url(path)).await;
            if allowed.contains(&path) {
                assert_eq!(status, 200, "{role} {path}");
            } else {
                assert_eq!(status, 403, "{role} {path}");
                assert!(!text(&doc, "main").contains(&number));
            }
        }
        let (status, _, _) = page(&browser, app.url(&format!("/arbeitsplatz/vorgaenge/{c}"))).await;
        assert_eq!(status, if matches!(role, "caseworker" | "team_lead") { 200 } else { 403 }, "{role} case page");
    }
}

/// An OpenAI-compatible chat endpoint on loopback that answers as told: `good` rephrases and
/// keeps the sources, `invent` cites a source the case does not have, `broken` answers prose.
async fn model_endpoint(mode: &'static str) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |axum::Json(request): axum::Json<Value>| async move {
            let input: Value = serde_json::from_str(request["messages"][1]["content"].as_str().unwrap()).unwrap();
            let mut sections = input["sections"].clone();
            for s in sections.as_array_mut().unwrap() {
                for st in s["statements"].as_array_mut().unwrap() {
                    st["text"] = json!(format!("Überarbeitet: {}", st["text"].as_str().unwrap()));
                }
            }
            if mode == "invent" {
                sections[0]["statements"][0]["sources"] = json!(["field:erfunden"]);
            }
            let content = if mode == "broken" { "Gern! Hier ist der Vermerk.".to_owned() } else { format!("```json\n{}\n```", json!({"sections": sections})) };
            axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memo_rephrasing_keeps_its_citations_or_is_refused() {
    crate::common::run(crate::common::Backend::Sqlite, |app: TestApp| async move {
        let (_, number) = app.submitted_application(0).await;
        let case_id = app.case_id("leipzig", &number).await;
        let authority = amtsweg_domain::AuthorityId::parse("leipzig").unwrap();
        let actor = amtsweg_store::Actor { id: amtsweg_domain::UserId::parse("sachbearbeitung-leipzig").unwrap(), role: amtsweg_domain::Role::Caseworker };
        let case = app.store.read_case(&authority, &amtsweg_domain::CaseId::parse(&case_id).unwrap(), &actor).await.unwrap().unwrap();
        let timeout = std::time::Duration::from_secs(5);
        let model = |url: &str| amtsweg_app::model::ModelClient::new(url, "test", timeout);

        let good = amtsweg_app::memo::draft_for(Some(&model(&model_endpoint("good").await)), &case, &[], true).await;
        assert!(good.rephrased, "{:?}", good.notice);
        assert!(good.text.contains("Überarbeitet:") && good.text.contains("[field:kennzeichen]"));

        for mode in ["invent", "broken"] {
            let refused = amtsweg_app::memo::draft_for(Some(&model(&model_endpoint(mode).await)), &case, &[], true).await;
            assert!(!refused.rephrased, "{mode}");
            assert!(refused.notice.is_some(), "{mode}");
            assert!(!refused.text.contains("Überarbeitet:") && !refused.text.contains("erfunden"), "{mode}: the plain draft stands");
        }
        let down = amtsweg_app::memo::draft_for(Some(&model("http://127.0.0.1:9/v1")), &case, &[], true).await;
        assert!(down.notice.unwrap().contains("nicht erreichbar"));
        let none = amtsweg_app::memo::draft_for(None, &case, &[], true).await;
        assert!(none.notice.unwrap().contains("kein Sprachmodell"));
    })
    .await;
}

async fn caseworkers_open_uploaded_documents_of_their_cases_only(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    let pdf = amtsweg_documents::testing::pdf("Fahrzeugschein");
    let form = reqwest::multipart::Form::new()
        .text("type", "urn:amtsweg:evidence:vehicle-holder")
        .part("file", reqwest::multipart::Part::bytes(pdf.clone()).file_name("fahrzeugschein.pdf"));
    let r = app.http.post(app.url(&format!("/api/v1/applications/{id}/evidence"))).bearer_auth(&anna).multipart(form).send().await.unwrap();
    let (status, body) = crate::common::json_of(r).await;
    assert_eq!(status, 201, "{body}");
    let evidence_id = body["id"].as_str().unwrap().to_owned();
    let (_, submitted) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    let case_id = app.case_id("leipzig", submitted["case_number"].as_str().unwrap()).await;
    let path = format!("/api/v1/cases/{case_id}/evidence/{evidence_id}");
    let (status, kind, bytes) = fetch(&app, app.caseworker("leipzig"), &path).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert_eq!(bytes, pdf);
    assert!(app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &case_id).await.unwrap().iter().any(|e| e.kind == "evidence_viewed"), "the read is recorded");
    let (status, _, _) = fetch(&app, app.caseworker("halle"), &path).await;
    assert_eq!(status, 404);
    let (status, _, _) = fetch(&app, &staff(&app, "datenschutz-leipzig"), &path).await;
    assert_eq!(status, 403);
    let (status, _, _) = fetch(&app, app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}/evidence/unbekannt")).await;
    assert_eq!(status, 404);
}

async fn metrics_show_automation_backlog_and_lead_times(app: TestApp) {
    app.submitted_application(0).await;
    let (_, number) = app.submitted_application(0).await;
    let case_id = app.case_id("leipzig", &number).await;
    let (status, _) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case_id}/decision"), json!({"outcome": "approved", "reason": "Passt."})).await;
    assert_eq!(status, 200);
    let text = app.metrics().await;
    assert!(text.contains("amtsweg_cases_open{authority=\"leipzig\"} 1"), "{text}");
    assert!(text.contains("amtsweg_cases_overdue{authority=\"leipzig\"} 0"), "{text}");
    assert!(text.contains("amtsweg_decision_lead_time_seconds_count{mode=\"manual\"} 1"), "{text}");
    assert!(text.contains("amtsweg_decisions_automated_total"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
}

async fn admins_change_rules_that_fit_the_service(app: TestApp) {
    let admin = staff(&app, "fachadministration-leipzig");
    let (status, services) = app.get(&admin, "/api/v1/admin/services").await;
    assert_eq!(status, 200);
    assert!(services.as_array().unwrap().iter().any(|s| s["service_id"] == "energiepreispauschale" && s["rules"]["automation"] == true));
    // A rule naming a field the form does not have is refused, naming the rule.
    let bad = json!({"automation": false, "rules": [{"id": "x", "label": "X", "check": {"form": {"is_true": "gibt_es_nicht"}}, "passed": "ja", "failed": "nein"}]});
    let (status, body) = app.put(&admin, "/api/v1/admin/services/bewohnerparkausweis/rules", bad).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("gibt_es_nicht"), "{body}");
    // Turning automation off: the next matching application goes to a person.
    let mut rules = services.as_array().unwrap().iter().find(|s| s["service_id"] == "bewohnerparkausweis").unwrap()["rules"].clone();
    rules["automation"] = json!(false);
    let (status, body) = app.put(&admin, "/api/v1/admin/services/bewohnerparkausweis/rules", rules).await;
    assert_eq!(status, 200, "{body}");
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    fetch_evidence(&app, &anna, &id, "urn:amtsweg:evidence:main-residence").await;
    fetch_evidence(&app, &anna, &id, "urn:amtsweg:evidence:vehicle-holder").await;
    let (_, body) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(body["status"], "submitted", "{body}");
    assert!(body["rules"].as_array().unwrap().iter().all(|r| r["result"] == "passed"));
    let (status, _) = app.put(app.caseworker("leipzig"), "/api/v1/admin/services/bewohnerparkausweis/rules", json!({})).await;
    assert_eq!(status, 403);
    // Leipzig's rules are Leipzig's: Erfurt still decides its Energiepreispauschale at once, and
    // the change is recorded with the admin as actor.
    let events = app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), "bewohnerparkausweis").await.unwrap();
    let change = events.iter().find(|e| e.kind == "decision_rules_changed").expect("recorded");
    assert_eq!((change.actor_id.as_deref(), change.authority_id.as_deref()), (Some("fachadministration-leipzig"), Some("leipzig")));
    let (_, services) = app.get(&admin, "/api/v1/admin/services").await;
    assert_eq!(services.as_array().unwrap().iter().find(|s| s["service_id"] == "bewohnerparkausweis").unwrap()["rules"]["automation"], false);
    let erfurt = app.store.decision_rules(&amtsweg_domain::ServiceId::parse("bewohnerparkausweis").unwrap(), &amtsweg_domain::AuthorityId::parse("erfurt").unwrap()).await.unwrap();
    assert!(erfurt.is_none(), "no rules of its own: the service's apply");
}

async fn a_bescheid_whose_writing_failed_is_delivered_by_its_job(app: TestApp) {
    // A citizen of this test's own, in Leipzig; a caseworker decides, and the Bescheid is not
    // written (as if the PDF failed): a delivery job waits for it.
    let token = app.with_citizen("Jobst", "147130000000").await;
    let (status, draft) = app.post(&token, "/api/v1/applications", serde_json::json!({"service_id": "bewohnerparkausweis"})).await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap();
    let (status, _) = app.put(&token, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    assert_eq!(status, 200);
    let (status, submitted) = app.post(&token, &format!("/api/v1/applications/{id}/submit"), serde_json::json!({})).await;
    assert_eq!(status, 200, "{submitted}");
    let number = submitted["case_number"].as_str().unwrap();
    let case_id = amtsweg_domain::CaseId::parse(&app.case_id("leipzig", number).await).unwrap();
    let authority = amtsweg_domain::AuthorityId::parse("leipzig").unwrap();
    let actor = amtsweg_store::Actor { id: amtsweg_domain::UserId::parse("sachbearbeitung-leipzig").unwrap(), role: amtsweg_domain::Role::Caseworker };
    let message = amtsweg_domain::records::NewMessage { sender: "Stadt Leipzig".into(), subject: format!("Bescheid ({number})"), body: "Bewilligt.".into() };
    app.store.decide(&authority, &case_id, &actor, amtsweg_domain::Outcome::Approved, "Passt.", &message, false).await.unwrap();
    assert!(app.store.case_document(&authority, &case_id, "bescheid").await.unwrap().is_none());
    let job = amtsweg_app::jobs::JobKind::DeliverBescheid { authority: authority.clone(), case: case_id.clone() };
    amtsweg_app::jobs::enqueue(&app.platform, &job).await.unwrap();
    assert_eq!(app.run_pending_jobs().await, 1, "the delivery job, and nothing else, was due");
    assert!(app.store.case_document(&authority, &case_id, "bescheid").await.unwrap().is_some(), "the job delivered the Bescheid");
    assert_eq!(app.run_pending_jobs().await, 0, "done once");
    let (_, mailbox) = app.get(&token, "/api/v1/mailbox").await;
    let m = mailbox.as_array().unwrap().iter().find(|m| m["subject"].as_str().unwrap().contains(number)).unwrap();
    let (status, kind, _) = fetch(&app, &token, m["document_url"].as_str().unwrap()).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert_eq!(app.store.job_counts().await.unwrap().failed, 0);
}

async fn a_bescheid_left_undelivered_is_issued_later(app: TestApp) {
    let (_, number) = app.submitted_application(0).await;
    let case_id = amtsweg_domain::CaseId::parse(&app.case_id("leipzig", &number).await).unwrap();
    let authority = amtsweg_domain::AuthorityId::parse("leipzig").unwrap();
    let actor = amtsweg_store::Actor { id: amtsweg_domain::UserId::parse("sachbearbeitung-leipzig").unwrap(), role: amtsweg_domain::Role::Caseworker };
    // The decision is stored, then the process stops before the Bescheid is written.
    let message = amtsweg_domain::records::NewMessage { sender: "Stadt Leipzig".into(), subject: format!("Bescheid ({number})"), body: "Bewilligt.".into() };
    app.store.decide(&authority, &case_id, &actor, amtsweg_domain::Outcome::Approved, "Passt.", &message, false).await.unwrap();
    let platform = crate::common::test_platform(app.store.clone());
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    assert_eq!(amtsweg_app::casework::deliver_missing(&platform, time::OffsetDateTime::now_utc() - time::Duration::minutes(1)).await.unwrap(), 0, "a minute's grace");
    assert_eq!(amtsweg_app::casework::deliver_missing(&platform, later).await.unwrap(), 1);
    assert_eq!(amtsweg_app::casework::deliver_missing(&platform, later).await.unwrap(), 0, "once only");
    let (_, mailbox) = app.get(app.citizen(0), "/api/v1/mailbox").await;
    let m = mailbox.as_array().unwrap().iter().find(|m| m["subject"].as_str().unwrap().contains(&number)).unwrap();
    let (status, kind, _) = fetch(&app, app.citizen(0), m["document_url"].as_str().unwrap()).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
}
