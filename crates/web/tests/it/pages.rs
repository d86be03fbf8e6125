//! The whole path through the pages, as a browser without JavaScript would walk it, and what a
//! person or a screen reader gets on an invalid form.

use crate::common::TestApp;
use crate::on_both_stores;
use scraper::{Html, Selector};

on_both_stores!(citizen_and_caseworker_walk_the_whole_path, invalid_form_keeps_values_and_marks_fields, forms_need_the_csrf_token, security_headers_and_cookie_flags);

/// A browser-like client logged in as a demo persona.
pub async fn browser(app: &TestApp, persona: &str) -> reqwest::Client {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let token = login_form_token(app, &client).await;
    let r = client.post(app.url("/anmelden")).form(&[("persona", persona), ("_csrf", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 200, "login as {persona}");
    client
}

/// The login page's form token (its cookie lands in `client`'s store).
pub async fn login_form_token(app: &TestApp, client: &reqwest::Client) -> String {
    let r = client.get(app.url("/anmelden")).send().await.unwrap();
    csrf(&Html::parse_document(&r.text().await.unwrap()))
}

pub fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

pub fn text(doc: &Html, css: &str) -> String {
    select(doc, css).iter().map(|e| e.text().collect::<String>()).collect::<Vec<_>>().join(" ")
}

pub fn csrf(doc: &Html) -> String {
    select(doc, "input[name=_csrf]").first().expect("a form with a CSRF token").value().attr("value").unwrap().to_owned()
}

pub async fn page(client: &reqwest::Client, url: String) -> (u16, String, Html) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let final_url = r.url().path().to_owned();
    (status, final_url, Html::parse_document(&r.text().await.unwrap()))
}

pub async fn post_form(client: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (u16, String, Html) {
    let r = client.post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let final_url = r.url().path().to_owned();
    (status, final_url, Html::parse_document(&r.text().await.unwrap()))
}

fn assert_layout(doc: &Html) {
    assert_eq!(select(doc, "html")[0].value().attr("lang"), Some("de"));
    assert_eq!(select(doc, "h1").len(), 1, "exactly one h1");
    assert_eq!(select(doc, "main#inhalt").len(), 1);
    assert_eq!(select(doc, "a.skip-link[href='#inhalt']").len(), 1);
}

/// Starts an application as `client`, returns its form URL and the CSRF token.
pub async fn start_application(app: &TestApp, client: &reqwest::Client) -> (String, String) {
    let (status, _, doc) = page(client, app.url("/leistungen/bewohnerparkausweis")).await;
    assert_eq!(status, 200);
    assert_layout(&doc);
    let token = csrf(&doc);
    let (status, path, doc) = post_form(client, app.url("/leistungen/bewohnerparkausweis/antrag"), &[("_csrf", &token)]).await;
    assert_eq!(status, 200);
    assert!(path.ends_with("/formular"), "{path}");
    assert_layout(&doc);
    (path, token)
}

const VALID: [(&str, &str); 5] =
    [("kennzeichen", "L-XY 42"), ("halter", "leasing"), ("beginn", "01.03.2099"), ("gueltigkeit", "24"), ("richtigkeit", "true")];

async fn citizen_and_caseworker_walk_the_whole_path(app: TestApp) {
    // anyone sees the services
    let (status, _, home) = page(&app.http, app.url("/")).await;
    assert_eq!(status, 200);
    assert_layout(&home);
    assert!(text(&home, "main").contains("Bewohnerparkausweis"));

    let anna = browser(&app, "buerger-1").await;
    let (form_path, token) = start_application(&app, &anna).await;
    let mut form: Vec<(&str, &str)> = VALID.to_vec();
    form.push(("_csrf", &token));
    let (status, path, check) = post_form(&anna, app.url(&form_path), &form).await;
    assert_eq!(status, 200);
    assert!(path.ends_with("/pruefen"), "{path}");
    assert_layout(&check);
    let answers = text(&check, "dl");
    assert!(answers.contains("L-XY 42") && answers.contains("01.03.2099") && answers.contains("2 Jahre"), "{answers}");
    assert!(answers.contains("Eine Leasing- oder Mietfirma"));
    // Evidence: nothing without consent; with it, fetched from the register and shown.
    let evidence_url = path.replace("/pruefen", "/nachweise");
    let (status, _, refused) = post_form(&anna, app.url(&evidence_url), &[("_csrf", &token), ("nachweis", "urn:amtsweg:evidence:main-residence")]).await;
    assert_eq!(status, 422);
    assert!(text(&refused, "main").contains("Ohne Ihre ausdrückliche Zustimmung"));
    let (status, _, fetched) = post_form(
        &anna,
        app.url(&evidence_url),
        &[("_csrf", &token), ("nachweis", "urn:amtsweg:evidence:main-residence"), ("zustimmung", "true")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(text(&fetched, "#nachweise ~ .evidence-card").contains("Hauptwohnsitz: 04107 Leipzig"), "{}", text(&fetched, "main"));
    let (_, _, cockpit) = page(&anna, app.url("/meine-daten")).await;
    assert!(text(&cockpit, "table").contains("Nachweis übermittelt"));
    assert!(text(&cockpit, "table").contains("Stadt Leipzig"));
    let submit = path.replace("/pruefen", "/absenden");
    let (status, path, receipt) = post_form(&anna, app.url(&submit), &[("_csrf", &token)]).await;
    assert_eq!(status, 200);
    assert!(path.ends_with("/bestaetigung"), "{path}");
    let case_number = text(&receipt, "#aktenzeichen");
    assert!(case_number.starts_with("L-2"), "{case_number}");
    assert!(text(&receipt, "main").contains("Stadt Leipzig"));

    let (_, _, mine) = page(&anna, app.url("/antraege")).await;
    assert_layout(&mine);
    assert!(text(&mine, "table").contains(&case_number));
    assert!(text(&mine, "table").contains("Eingereicht"));

    // the caseworker of Leipzig
    let katrin = browser(&app, "sachbearbeitung-leipzig").await;
    let (status, _, inbox) = page(&katrin, app.url("/arbeitsplatz")).await;
    assert_eq!(status, 200);
    assert_layout(&inbox);
    let link = select(&inbox, "table a").into_iter().find(|a| a.text().collect::<String>() == case_number).expect("case in inbox");
    let case_path = link.value().attr("href").unwrap().to_owned();
    let (status, _, case) = page(&katrin, app.url(&case_path)).await;
    assert_eq!(status, 200);
    assert_layout(&case);
    assert!(text(&case, "main").contains("Anna Schmidt"));
    assert!(text(&case, "#status").contains("Eingereicht"), "reading the case does not move it");
    let token = csrf(&case);
    // no reason: the error summary points at the field
    let (status, _, invalid) = post_form(&katrin, app.url(&format!("{case_path}/entscheidung")), &[("_csrf", &token), ("outcome", "approved")]).await;
    assert_eq!(status, 422);
    assert_eq!(select(&invalid, "#fehlerliste a[href='#reason']").len(), 1);
    assert_eq!(select(&invalid, "textarea#reason[aria-invalid=true]").len(), 1);
    assert_eq!(select(&invalid, "#outcome-approved[checked]").len(), 1, "the choice is kept");
    let (status, _, decided) = post_form(
        &katrin,
        app.url(&format!("{case_path}/entscheidung")),
        &[("_csrf", &token), ("outcome", "approved"), ("reason", "Hauptwohnsitz und Fahrzeug passen.")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(text(&decided, "main").contains("Bewilligt"));

    // delivered to Anna's mailbox
    let (_, _, mailbox) = page(&anna, app.url("/postfach")).await;
    assert_layout(&mailbox);
    assert!(text(&mailbox, "main").contains("Ungelesen"));
    let href = select(&mailbox, ".message-list a")[0].value().attr("href").unwrap().to_owned();
    let (status, _, message) = page(&anna, app.url(&href)).await;
    assert_eq!(status, 200);
    assert!(text(&message, "main").contains("Hauptwohnsitz und Fahrzeug passen."));
    assert!(text(&message, "main").contains(&case_number));
    let (_, _, mailbox) = page(&anna, app.url("/postfach")).await;
    assert!(!text(&mailbox, "main").contains("Ungelesen"));
    let (_, _, mine) = page(&anna, app.url("/antraege")).await;
    assert!(text(&mine, "table").contains("Entschieden"));
    // The cockpit page exists for citizens (its contents are tested with the evidence).
    let (status, _, cockpit) = page(&anna, app.url("/meine-daten")).await;
    assert_eq!(status, 200);
    assert_layout(&cockpit);

    // outside demo mode there is no persona picker
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = amtsweg_web::AppState::new(
        crate::common::test_platform(app.store.clone()),
        amtsweg_web::WebConfig { demo: false, secure_cookies: true, kern_dir: "/nonexistent".into() },
    );
    tokio::spawn(amtsweg_web::Application::on(state, listener).without_worker().run_until_stopped(std::future::pending()));
    let r = app.http.get(format!("{base}/anmelden")).send().await.unwrap();
    // Behind TLS our cookies carry the __Host- prefix (no other host can plant them).
    let form_cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(form_cookie.starts_with("__Host-amtsweg_form=") && form_cookie.contains("; Path=/;") && form_cookie.ends_with("; Secure"), "{form_cookie}");
    let login = scraper::Html::parse_document(&r.text().await.unwrap());
    assert!(select(&login, "input[name=persona]").is_empty());
    let r = app.http.post(format!("{base}/anmelden")).form(&[("persona", "buerger-1")]).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("set-cookie").is_none());
}

async fn invalid_form_keeps_values_and_marks_fields(app: TestApp) {
    let anna = browser(&app, "buerger-1").await;
    let (form_path, token) = start_application(&app, &anna).await;
    let (status, _, doc) = post_form(
        &anna,
        app.url(&form_path),
        &[("_csrf", &token), ("kennzeichen", "kein Kennzeichen"), ("beginn", "32.13.2020"), ("telefon", "0341 123456")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(select(&doc, "title")[0].text().collect::<String>().starts_with("Fehler: "));
    // the summary links to each field with a problem, in the order of the form
    let links: Vec<String> = select(&doc, "#fehlerliste a").iter().map(|a| a.value().attr("href").unwrap().to_owned()).collect();
    assert_eq!(links, ["#kennzeichen", "#halter", "#beginn", "#gueltigkeit", "#richtigkeit"]);
    for id in ["kennzeichen", "halter", "beginn", "gueltigkeit", "richtigkeit"] {
        let field = &select(&doc, &format!("#{id}"))[0];
        assert_eq!(field.value().attr("aria-invalid"), Some("true"), "{id}");
        let described = field.value().attr("aria-describedby").unwrap_or_default();
        assert!(described.split(' ').any(|d| d == format!("{id}-error")), "{id}: {described}");
        assert_eq!(select(&doc, &format!("#{id}-error")).len(), 1, "{id}");
        // every input has a label
        assert_eq!(select(&doc, &format!("label[for={id}]")).len(), 1, "{id}");
    }
    // every value entered is still there, also the valid one
    assert_eq!(select(&doc, "#kennzeichen")[0].value().attr("value"), Some("kein Kennzeichen"));
    assert_eq!(select(&doc, "#beginn")[0].value().attr("value"), Some("32.13.2020"));
    assert_eq!(select(&doc, "#telefon")[0].value().attr("value"), Some("0341 123456"));
    assert!(select(&doc, "#telefon")[0].value().attr("aria-invalid").is_none());
    assert!(text(&doc, "#beginn-error").contains("TT.MM.JJJJ"));
}

async fn forms_need_the_csrf_token(app: TestApp) {
    let anna = browser(&app, "buerger-1").await;
    let (form_path, _) = start_application(&app, &anna).await;
    for token in [None, Some("falsch")] {
        let mut form: Vec<(&str, &str)> = VALID.to_vec();
        if let Some(t) = token {
            form.push(("_csrf", t));
        }
        let (status, _, doc) = post_form(&anna, app.url(&form_path), &form).await;
        assert_eq!(status, 403);
        assert!(text(&doc, "main").contains("Formular ist abgelaufen"));
        let (status, _, _) = post_form(&anna, app.url("/leistungen/bewohnerparkausweis/antrag"), &form).await;
        assert_eq!(status, 403);
    }
    // an oversized form gets a German error page, not a crash
    let huge = "x".repeat(200 * 1024);
    let (status, _, doc) = post_form(&anna, app.url(&form_path), &[("kennzeichen", huge.as_str())]).await;
    assert_eq!(status, 413);
    assert!(text(&doc, "main").contains("zu umfangreich"));
    assert_eq!(select(&doc, "html")[0].value().attr("lang"), Some("de"));
    // nothing was saved or started
    let (_, apps) = app.get(app.citizen(0), "/api/v1/applications").await;
    assert_eq!(apps.as_array().unwrap().len(), 1);
    assert_eq!(apps[0]["data"], serde_json::json!({}));
}

async fn security_headers_and_cookie_flags(app: TestApp) {
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/assistent", "/api/v1/services", "/gibt-es-nicht"] {
        let r = client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        for directive in ["default-src 'self'", "script-src 'none'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
    }
    // The session cookie is HttpOnly and SameSite.
    let token = login_form_token(&app, &client).await;
    let r = client.post(app.url("/anmelden")).form(&[("persona", app.tokens.citizens[0].user_id.as_str()), ("_csrf", &token)]).send().await.unwrap();
    let cookie = r.headers().get("set-cookie").expect("a session cookie").to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}
