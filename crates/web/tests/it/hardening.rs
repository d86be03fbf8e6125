//! Issue 22, the findings of an outside probe, one test each (named after the finding).

use crate::common::{Backend, METRICS_TOKEN, TestApp};
use crate::on_both_stores;
use crate::pages::{browser, page, select, text};
use serde_json::json;

on_both_stores!(
    finding_1_who_decided_is_recorded_where_people_look,
    finding_1_the_authority_may_let_only_the_assignee_decide,
    finding_2_metrics_grow_without_bound_and_publish_per_authority_figures,
    finding_6_reading_a_case_never_changes_it
);

fn staff_token(app: &TestApp, user_id: &str) -> String {
    app.tokens.staff.iter().find(|s| s.user_id == user_id).unwrap_or_else(|| panic!("{user_id}")).token.clone()
}

/// Finding 1: a case assigned to one caseworker could be decided by a colleague, and the
/// history said only "entschieden", with no name. Now every entry names the acting person and
/// role (the citizen sees the role only), and a decision instead of the assignee is marked.
async fn finding_1_who_decided_is_recorded_where_people_look(app: TestApp) {
    let (application, number) = app.submitted_application(0).await;
    let case = app.case_id("leipzig", &number).await;
    let jana = staff_token(&app, "sachbearbeitung-2-leipzig");
    let (status, body) = app.post(&jana, &format!("/api/v1/cases/{case}/claim"), json!({})).await;
    assert_eq!(status, 204, "{body}");
    // Katrin (not the assignee) decides: allowed by default, and marked.
    let (status, body) = app
        .post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/decision"), json!({"outcome": "approved", "reason": "Alle Voraussetzungen sind erfüllt."}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, file) = app.get(&jana, &format!("/api/v1/cases/{case}")).await;
    let history = file["history"].as_array().expect("a history in the case file");
    let entry = |kind: &str| history.iter().find(|e| e["kind"] == kind).unwrap_or_else(|| panic!("{kind} in {history:?}")).clone();
    let decided = entry("decision_issued");
    assert_eq!(decided["actor_name"], "Katrin Müller", "{decided}");
    assert_eq!(decided["actor_role"], "caseworker");
    assert_eq!(decided["actor_role_label"], "Sachbearbeitung");
    assert_eq!(entry("decided_for_assignee")["actor_name"], "Katrin Müller");
    assert_eq!(entry("case_assigned")["actor_name"], "Jana Vogel");
    assert_eq!(entry("case_created")["actor_role"], "citizen", "the citizen's submission made the case");
    assert!(history.iter().all(|e| e["actor_role"].is_string() && e["label"].is_string()), "{history:?}");

    // The workspace page names who acted on each entry.
    let katrin = browser(&app, "sachbearbeitung-leipzig").await;
    let (status, _, doc) = page(&katrin, app.url(&format!("/arbeitsplatz/vorgaenge/{case}"))).await;
    assert_eq!(status, 200);
    let entries: Vec<String> = select(&doc, "#history li").iter().map(|e| e.text().collect()).collect();
    assert!(entries.iter().any(|e| e.contains("entschieden – Katrin Müller (Sachbearbeitung)")), "{entries:?}");
    assert!(entries.iter().any(|e| e.contains("anstelle der zugewiesenen Person entschieden – Katrin Müller")), "{entries:?}");
    assert!(entries.iter().any(|e| e.contains("zugewiesen – Jana Vogel (Sachbearbeitung)")), "{entries:?}");

    // The citizen sees the roles, never the names.
    let (status, mine) = app.get(app.citizen(0), &format!("/api/v1/applications/{application}")).await;
    assert_eq!(status, 200);
    let trail = mine["history"].as_array().expect("a history in the application");
    let decided = trail.iter().find(|e| e["kind"] == "decision_issued").expect("the decision in the citizen's history");
    assert_eq!(decided["actor_role_label"], "Sachbearbeitung");
    assert!(trail.iter().all(|e| e.get("actor_name").is_none()), "{trail:?}");
    assert!(!mine.to_string().contains("Katrin") && !mine.to_string().contains("Jana"), "{mine}");
    let anna = browser(&app, "buerger-1").await;
    let (_, _, doc) = page(&anna, app.url(&format!("/antraege/{application}"))).await;
    let shown = text(&doc, "#history");
    assert!(shown.contains("eingereicht – Sie") && shown.contains("entschieden – Sachbearbeitung"), "{shown}");
    assert!(!shown.contains("Katrin") && !shown.contains("Jana"), "{shown}");
    // Another citizen's application has no history for me.
    let (status, _) = app.get(app.citizen(1), &format!("/api/v1/applications/{application}")).await;
    assert_eq!(status, 404);
}

/// Finding 1, enforced: an authority that lets only the assignee (or a team lead) decide
/// refuses everyone else, in the API and on the page; off by default.
async fn finding_1_the_authority_may_let_only_the_assignee_decide(app: TestApp) {
    let operator = app.tokens.operator.token.clone();
    let (status, body) = app.patch(&operator, "/api/v1/platform/authorities/leipzig", json!({"assignee_decides": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assignee_decides"], true);
    let decision = json!({"outcome": "rejected", "reason": "Der Wohnsitz liegt nicht im Gebiet."});
    let (_, number) = app.submitted_application(0).await;
    let case = app.case_id("leipzig", &number).await;
    // Unassigned: a caseworker must take it first.
    let (status, body) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/decision"), decision.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("übernehmen Sie den Fall zuerst"), "{body}");
    let jana = staff_token(&app, "sachbearbeitung-2-leipzig");
    assert_eq!(app.post(&jana, &format!("/api/v1/cases/{case}/claim"), json!({})).await.0, 204);
    // Assigned to Jana: Katrin is refused, on the API and on the page (no decision form).
    let (status, body) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/decision"), decision.clone()).await;
    assert_eq!(status, 403, "{body}");
    let katrin = browser(&app, "sachbearbeitung-leipzig").await;
    let (_, _, doc) = page(&katrin, app.url(&format!("/arbeitsplatz/vorgaenge/{case}"))).await;
    assert!(text(&doc, "#decision-barrier").contains("jemand anderem zugewiesen"));
    assert!(select(&doc, "form[action$='/entscheidung']").is_empty(), "no decision form for Katrin");
    let (_, file) = app.get(&jana, &format!("/api/v1/cases/{case}")).await;
    assert!(file["decision"].is_null() && file["status"] == "in_review", "nothing decided: {file}");
    // The store holds the rule in the same statement as the decision (no race with a
    // reassignment between the check and the decision).
    let katrin = amtsweg_store::Actor { id: amtsweg_domain::UserId::parse("sachbearbeitung-leipzig").unwrap(), role: amtsweg_domain::Role::Caseworker };
    let message = amtsweg_domain::records::NewMessage { sender: "Stadt Leipzig".into(), subject: "Bescheid".into(), body: "Text".into() };
    let authority = amtsweg_domain::AuthorityId::parse("leipzig").unwrap();
    let case_id = amtsweg_domain::CaseId::parse(&case).unwrap();
    let raced = app.store.decide(&authority, &case_id, &katrin, amtsweg_domain::Outcome::Approved, "Passt.", &message, true).await;
    assert!(matches!(raced, Err(amtsweg_store::StoreError::Taken)), "{raced:?}");
    // The assignee decides; no mark.
    let (status, body) = app.post(&jana, &format!("/api/v1/cases/{case}/decision"), decision.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (_, file) = app.get(&jana, &format!("/api/v1/cases/{case}")).await;
    assert!(file["history"].as_array().unwrap().iter().all(|e| e["kind"] != "decided_for_assignee"), "{file}");
    // A team lead may decide a colleague's case, marked as such.
    let (_, number) = app.submitted_application(1).await;
    let case = app.case_id("leipzig", &number).await;
    assert_eq!(app.post(&jana, &format!("/api/v1/cases/{case}/claim"), json!({})).await.0, 204);
    let (status, body) = app.post(&staff_token(&app, "teamleitung-leipzig"), &format!("/api/v1/cases/{case}/decision"), decision).await;
    assert_eq!(status, 200, "{body}");
    let (_, file) = app.get(&jana, &format!("/api/v1/cases/{case}")).await;
    let marked = file["history"].as_array().unwrap().iter().find(|e| e["kind"] == "decided_for_assignee").cloned().expect("marked");
    assert_eq!(marked["actor_name"], "Petra Lange");
    assert_eq!(marked["actor_role"], "team_lead");
}

/// Finding 6: opening a case page moved the case into review and wrote an audit entry, so a
/// cross-site link did that in a caseworker's name. Now a read changes nothing but is recorded
/// as a read; the first action (here: taking the case) puts it into review.
async fn finding_6_reading_a_case_never_changes_it(app: TestApp) {
    let (application, number) = app.submitted_application(0).await;
    let case = app.case_id("leipzig", &number).await;
    let katrin = browser(&app, "sachbearbeitung-leipzig").await;
    for _ in 0..2 {
        let (status, _, doc) = page(&katrin, app.url(&format!("/arbeitsplatz/vorgaenge/{case}"))).await;
        assert_eq!(status, 200);
        assert_eq!(text(&doc, "#status").trim(), "Eingereicht", "the page shows the status it found");
    }
    let (_, file) = app.get(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}")).await;
    assert_eq!(file["status"], "submitted", "{file}");
    let kinds: Vec<&str> = file["history"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(!kinds.contains(&"case_in_review"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "case_viewed").count(), 3, "each read is recorded: {kinds:?}");
    let (_, mine) = app.get(app.citizen(0), &format!("/api/v1/applications/{application}")).await;
    assert_eq!(mine["status"], "submitted");
    // The first action moves it.
    assert_eq!(app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/claim"), json!({})).await.0, 204);
    let (_, file) = app.get(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}")).await;
    assert_eq!(file["status"], "in_review");
    let review = file["history"].as_array().unwrap().iter().find(|e| e["kind"] == "case_in_review").cloned().expect("in review");
    assert_eq!(review["actor_name"], "Katrin Müller");
}


/// Finding 2: any method name became a label value of `amtsweg_http_requests_total`, and the
/// public `/metrics` published open and overdue cases per authority.
async fn finding_2_metrics_grow_without_bound_and_publish_per_authority_figures(app: TestApp) {
    let made_up = "Q".repeat(5000);
    let method = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
    let r = app.http.request(method, app.url("/api/v1/services")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = app.http.request(reqwest::Method::from_bytes(b"BREW").unwrap(), app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    app.submitted_application(0).await;
    let text = app.metrics().await;
    let methods: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("amtsweg_http_requests_total{"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.iter().all(|m| ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"].contains(m)), "{methods:?}");
    assert!(methods.contains("other") && !text.contains("QQQQ") && !text.contains("BREW"));
    assert!(text.contains("amtsweg_cases_open{authority=\"leipzig\"}"), "with the token: everything");
    // Without the token: refused here (a token is configured).
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app.http.get(app.url("/metrics")).bearer_auth("falsch").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app.http.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200, "the configured token opens them");
}

/// Finding 2, the other ways: public without a token (then without the figures per
/// authority), everything on the listener of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_2_public_metrics_leave_out_the_figures_per_authority() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = TestApp::start_on(Backend::Sqlite, listener, |mut state| {
        state.metrics_token = None;
        state
    })
    .await
    .unwrap();
    app.submitted_application(0).await;
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("amtsweg_http_requests_total") && text.trim_end().ends_with("# EOF"), "{text}");
    assert!(!text.contains("authority="), "no figures per authority in public: {text}");
    app.cleanup().await;
}

on_both_stores!(finding_5_free_text_cannot_lie_about_itself);

/// Finding 5: free text kept U+202E (right-to-left override) and NUL, which then rendered on
/// staff pages and in the Bescheid. Now every typed field is cleaned at the boundary, in the
/// API (raw and as `\u` escapes) and in page forms: NFC, no bidi controls, no control
/// characters but tab and line breaks. The FIM validation still runs on what is left.
async fn finding_5_free_text_cannot_lie_about_itself(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let mut data = crate::common::valid_data();
    data["kennzeichen"] = json!("L-AB\u{202E} 1234\u{0}");
    let (status, body) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), data).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["kennzeichen"], "L-AB 1234", "{body}");
    // Escaped in the JSON text, the same.
    let raw = r#"{"kennzeichen": "L-CD\u202e 99\u0000", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true}"#;
    let r = app.http.put(app.url(&format!("/api/v1/applications/{id}/data"))).bearer_auth(&anna).header("content-type", "application/json").body(raw).send().await.unwrap();
    let (status, body) = crate::common::json_of(r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["kennzeichen"], "L-CD 99");
    // What is left is still checked against the form: a plate of only controls is empty.
    let mut data = crate::common::valid_data();
    data["kennzeichen"] = json!("\u{202E}\u{0}");
    let (status, body) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), data).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let case = app.case_id("leipzig", body["case_number"].as_str().unwrap()).await;

    // A memo through a page form, a decision reason through the API.
    let katrin = browser(&app, "sachbearbeitung-leipzig").await;
    let (_, _, doc) = page(&katrin, app.url(&format!("/arbeitsplatz/vorgaenge/{case}/vermerk"))).await;
    let token = crate::pages::csrf(&doc);
    let r = katrin
        .post(app.url(&format!("/arbeitsplatz/vorgaenge/{case}/vermerk")))
        .form(&[("_csrf", token.as_str()), ("memo", "Gepru\u{308}ft\u{202E}tlhazeb\u{0}\r\nZweite Zeile")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let reason = "Bewilligt\u{2066} fu\u{308}r\u{7} Sie.\u{202D}";
    let (status, body) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/decision"), json!({"outcome": "approved", "reason": reason})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reason"], "Bewilligt für Sie.");
    let (_, file) = app.get(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}")).await;
    assert_eq!(file["memos"][0]["text"], "Geprüfttlhazeb\r\nZweite Zeile", "{file}");
    assert_eq!(file["decision"]["reason"], "Bewilligt für Sie.");
    assert_eq!(file["data"]["kennzeichen"], "L-CD 99");
    let stored = file.to_string();
    for bad in ['\u{202E}', '\u{202D}', '\u{2066}', '\u{0}', '\u{7}'] {
        assert!(!stored.contains(bad), "{bad:?} stored");
    }
}

on_both_stores!(finding_3_login_forms_take_only_tokens_the_server_issued);

/// Finding 3: the login forms took any value that the client set in both cookie and field, so a
/// planted cookie could log a victim into someone else's account; and while logged in, the
/// login page's form was refused. Now the token is one the server signed (and it expires), and
/// someone logged in may also use their session's token.
async fn finding_3_login_forms_take_only_tokens_the_server_issued(app: TestApp) {
    let planted = |token: String, path: &'static str, form: Vec<(&'static str, String)>| {
        let app = app.clone();
        async move {
            let mut form = form;
            form.push(("_csrf", token.clone()));
            app.http.post(app.url(path)).header("cookie", format!("amtsweg_form={token}")).form(&form).send().await.unwrap().status().as_u16()
        }
    };
    // A value the client chose, in cookie and field alike: refused, for both login forms.
    let chosen = "a".repeat(40);
    assert_eq!(planted(chosen.clone(), "/anmelden", vec![("persona", "buerger-1".into())]).await, 403);
    let staff = vec![("benutzername", "katrin.mueller".into()), ("passwort", "falsch".into()), ("code", "000000".into())];
    assert_eq!(planted(chosen, "/anmelden/mitarbeitende", staff).await, 403);
    // What the server issued works; changed in any part, it does not.
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let issued = crate::pages::login_form_token(&app, &client).await;
    assert_eq!(issued.split('.').count(), 3, "nonce, expiry, signature: {issued}");
    let (nonce, rest) = issued.split_once('.').unwrap();
    let (expires, signature) = rest.split_once('.').unwrap();
    let later = format!("{nonce}.{}.{signature}", expires.parse::<i64>().unwrap() + 86_400);
    let flipped = format!("{nonce}.{expires}.{}{}", &signature[..signature.len() - 1], if signature.ends_with('0') { '1' } else { '0' });
    for forged in [later, flipped] {
        assert_eq!(planted(forged, "/anmelden", vec![("persona", "buerger-1".into())]).await, 403);
    }
    // A token the server issued, planted by someone else: the browser tells where the form
    // came from, and only this site's forms are taken.
    for (header, value) in [("origin", "https://boese.example".to_owned()), ("origin", "null".to_owned()), ("sec-fetch-site", "same-site".to_owned()), ("sec-fetch-site", "cross-site".to_owned())] {
        let r = app
            .http
            .post(app.url("/anmelden"))
            .header("cookie", format!("amtsweg_form={issued}"))
            .header(header, value.as_str())
            .form(&[("persona", "buerger-1"), ("_csrf", issued.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
    }
    let own_origin = app.base.clone();
    let r = app
        .http
        .post(app.url("/anmelden"))
        .header("cookie", format!("amtsweg_form={issued}"))
        .header("origin", own_origin.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("persona", "buerger-1"), ("_csrf", issued.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "this site's own form with the token it issued");

    // Logged in, the login page works with its own token and with the session's.
    for which in ["form", "session"] {
        let anna = browser(&app, "buerger-1").await;
        let (status, _, doc) = page(&anna, app.url("/anmelden")).await;
        assert_eq!(status, 200);
        let session_token = select(&doc, "header input[name=_csrf], form[action='/abmelden'] input[name=_csrf]")
            .first()
            .expect("the logout form with the session's token")
            .value()
            .attr("value")
            .unwrap()
            .to_owned();
        let form_token = select(&doc, "form[action='/anmelden'] input[name=_csrf]")[0].value().attr("value").unwrap().to_owned();
        assert_ne!(session_token, form_token);
        let token = if which == "form" { form_token } else { session_token };
        let r = anna.post(app.url("/anmelden")).form(&[("persona", "sachbearbeitung-leipzig"), ("_csrf", token.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 200, "switching persona with the {which} token");
        assert_eq!(r.url().path(), "/arbeitsplatz");
    }
}

on_both_stores!(finding_4_active_documents_do_not_pass_through);

/// Finding 4: uploads that were PDF by magic bytes but carried HTML, PDFs with `/OpenAction`
/// and JavaScript, and a 20,000 × 20,000 PNG were stored and handed to staff unchanged. Now
/// active PDFs are refused with what they contain, and images are decoded and encoded again
/// within 40 megapixels.
async fn finding_4_active_documents_do_not_pass_through(app: TestApp) {
    use amtsweg_documents::testing::{black_png, pdf_with, png};
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("type", "urn:amtsweg:evidence:vehicle-holder")
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        let request = app.http.post(app.url(&format!("/api/v1/applications/{id}/evidence"))).bearer_auth(&anna).multipart(form);
        async move { crate::common::json_of(request.send().await.unwrap()).await }
    };
    let refused = [
        ("seite.pdf", b"%PDF-1.7\n<html><body><script>alert(document.cookie)</script></body></html>".to_vec(), "HTML"),
        ("oeffnen.pdf", pdf_with("Fahrzeugschein", "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", ""), "JavaScript"),
        ("starten.pdf", pdf_with("Fahrzeugschein", "", "/AA << /O << /S /Launch /F (cmd.exe) >> >>"), "von selbst"),
        ("anhang.pdf", pdf_with("Fahrzeugschein", "/Names << /EmbeddedFiles << /Names [(a.exe) 6 0 R] >> >>", ""), "eingebettete Dateien"),
        ("riesig.png", black_png(20_000, 20_000), "20.000 × 20.000"),
    ];
    for (name, bytes, why) in refused {
        let (status, body) = upload(name, bytes).await;
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(body["fields"][0]["field"], "file", "{name}: {body}");
        assert!(body["fields"][0]["message"].as_str().unwrap().contains(why), "{name}: {body}");
    }
    let (_, stored) = app.get(&anna, &format!("/api/v1/applications/{id}/evidence")).await;
    assert_eq!(stored, json!([]), "nothing refused was stored");

    // An image with something appended is stored as a plain image, and that is what staff get.
    let mut picture = png(30, 20);
    picture.extend(b"<script>alert(1)</script>");
    let (status, body) = upload("fahrzeugschein.png", picture.clone()).await;
    assert_eq!(status, 201, "{body}");
    let evidence = body["id"].as_str().unwrap().to_owned();
    let (_, submitted) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    let case = app.case_id("leipzig", submitted["case_number"].as_str().unwrap()).await;
    let r = app.http.get(app.url(&format!("/api/v1/cases/{case}/evidence/{evidence}"))).bearer_auth(app.caseworker("leipzig")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let handed = r.bytes().await.unwrap().to_vec();
    assert!(handed.starts_with(b"\x89PNG\r\n\x1a\n") && handed != picture);
    assert!(!handed.windows(7).any(|w| w == b"<script"), "nothing appended reaches staff");
}
