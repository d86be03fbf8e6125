//! Once-only evidence through the API: consent, fetch from a register node over the signed EDM
//! exchange, attach; refusals; the transfer log each citizen sees (and only their own).

use crate::common::TestApp;
use crate::on_both_stores;
use serde_json::json;

on_both_stores!(
    consent_fetch_attach_and_the_transfer_log,
    without_consent_nothing_is_fetched,
    a_register_that_is_down_is_logged_and_explained,
    transfers_are_deleted_after_two_years,
    altered_and_replayed_answers_are_refused_and_logged,
    preview_then_accept_or_discard,
    uploads_instead_are_checked_by_content_and_stored_encrypted,
    the_check_page_offers_upload_instead,
    a_slow_register_times_out_and_is_logged,
);

async fn consent_fetch_attach_and_the_transfer_log(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let path = format!("/api/v1/applications/{id}/evidence");
    let (status, body) = app.post(&anna, &path, json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "attached");
    assert_eq!(body["register"], "melderegister");
    assert_eq!(body["content"]["ars"], "147130000000");
    assert_eq!(body["content"]["main_residence"], true);
    let (status, body) = app.post(&anna, &path, json!({"type": "urn:amtsweg:evidence:vehicle-holder", "source": "register", "consent": true})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["content"]["vehicles"][0]["plate"], "L-AB 1234");
    let (_, attached) = app.get(&anna, &path).await;
    assert_eq!(attached.as_array().unwrap().len(), 2);
    // After submission the caseworker in Leipzig sees both with their source; Halle does not.
    let (status, _) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    assert_eq!(status, 200);
    let (status, submitted) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 200);
    let case = app.case_id("leipzig", submitted["case_number"].as_str().unwrap()).await;
    let katrin = crate::pages::browser(&app, "sachbearbeitung-leipzig").await;
    let (_, _, case_page) = crate::pages::page(&katrin, app.url(&format!("/arbeitsplatz/vorgaenge/{case}"))).await;
    let shown = crate::pages::text(&case_page, "main");
    assert!(shown.contains("abgerufen aus dem melderegister mit Zustimmung") && shown.contains("fahrzeugregister"), "{shown}");
    let foreign = app.store.case_evidence(&amtsweg_domain::AuthorityId::parse("halle").unwrap(), &amtsweg_domain::CaseId::parse(&case).unwrap()).await.unwrap();
    assert!(foreign.is_empty());

    // Jonas has no car: the register says so, and that exchange is logged too.
    let jonas = app.citizen(1).to_owned();
    let his = app.draft(1).await;
    let (status, body) = app
        .post(&jonas, &format!("/api/v1/applications/{his}/evidence"), json!({"type": "urn:amtsweg:evidence:vehicle-holder", "source": "register", "consent": true}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "not_found_in_register");

    // Each sees exactly their own transfers.
    let (_, mine) = app.get(&anna, "/api/v1/me/transfers").await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|t| t["authority"] == "Stadt Leipzig" && t["idnr_used"] == true && t["outcome"] == "delivered"));
    assert!(mine.iter().any(|t| t["register"] == "fahrzeugregister" && t["legal_basis"].as_str().unwrap().contains("StVG")));
    assert!(mine.iter().all(|t| t["request_hash"].as_str().unwrap().len() == 64 && t["consent"].as_str().unwrap().contains(&id)));
    let (_, his_log) = app.get(&jonas, "/api/v1/me/transfers").await;
    assert_eq!(his_log.as_array().unwrap().len(), 1);
    assert_eq!(his_log[0]["outcome"], "not_found");
    // Another citizen's application: 404, and nothing fetched.
    let (status, _) = app.post(&jonas, &path, json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true})).await;
    assert_eq!(status, 404);
    let (_, his_log) = app.get(&jonas, "/api/v1/me/transfers").await;
    assert_eq!(his_log.as_array().unwrap().len(), 1);
    // Staff have no cockpit of their own.
    let (status, _) = app.get(app.caseworker("leipzig"), "/api/v1/me/transfers").await;
    assert_eq!(status, 403);
}

async fn without_consent_nothing_is_fetched(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let path = format!("/api/v1/applications/{id}/evidence");
    for body in [
        json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register"}),
        json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": false}),
        json!({"type": "urn:amtsweg:evidence:enrolment", "source": "register", "consent": true}),
        json!({"type": "urn:amtsweg:evidence:main-residence", "source": "brieftaube", "consent": true}),
    ] {
        let (status, answer) = app.post(&anna, &path, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(!answer["fields"].as_array().unwrap().is_empty());
    }
    let (_, log) = app.get(&anna, "/api/v1/me/transfers").await;
    assert_eq!(log, json!([]), "nothing was asked of any register");
    // Tom lives in Dresden: no authority on the platform could ask on his behalf.
    let tom = app.citizen(4).to_owned();
    let his = app.draft(4).await;
    let (status, answer) = app
        .post(&tom, &format!("/api/v1/applications/{his}/evidence"), json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"], "no_responsible_authority");
}

async fn a_register_that_is_down_is_logged_and_explained(app: TestApp) {
    // A second server on the same store whose vehicle register is unreachable.
    let exchange = amtsweg_demo::start_registers(&["fahrzeugregister"]).await.unwrap();
    let base = crate::common::another_node(app.store.clone(), true, |p| p.with_exchange(exchange)).await;
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let (status, _) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    assert_eq!(status, 200);
    let r = app
        .http
        .post(format!("{base}/api/v1/applications/{id}/evidence"))
        .bearer_auth(&anna)
        .json(&json!({"type": "urn:amtsweg:evidence:vehicle-holder", "source": "register", "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "register_unavailable");
    assert!(body["message"].as_str().unwrap().contains("Ihre Angaben bleiben gespeichert"));
    let (_, log) = app.get(&anna, "/api/v1/me/transfers").await;
    assert_eq!(log[0]["outcome"], "unavailable");
    // The draft keeps everything.
    let (_, draft) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(draft["data"]["kennzeichen"], "L-AB 1234");
}

async fn transfers_are_deleted_after_two_years(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let (status, _) = app
        .post(&anna, &format!("/api/v1/applications/{id}/evidence"), json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true}))
        .await;
    assert_eq!(status, 201);
    let now = time::OffsetDateTime::now_utc();
    // A day before the two years are over: kept.
    assert_eq!(amtsweg_app::retention::sweep(&app.store, now + time::Duration::days(2 * 365)).await.unwrap(), 0);
    let (_, log) = app.get(&anna, "/api/v1/me/transfers").await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    // Two years and a few days later: gone, from the API and the page.
    assert_eq!(amtsweg_app::retention::sweep(&app.store, now + time::Duration::days(2 * 365 + 5)).await.unwrap(), 1);
    let (_, log) = app.get(&anna, "/api/v1/me/transfers").await;
    assert_eq!(log, json!([]));
}

/// A register that misbehaves in front of a real one: it alters the answer, or sends back an
/// answer that belongs to an earlier request.
#[derive(Clone)]
struct Misbehaving {
    real: String,
    mode: &'static str,
    earlier: std::sync::Arc<tokio::sync::Mutex<Option<(reqwest::header::HeaderMap, Vec<u8>)>>>,
}

async fn misbehave(axum::extract::State(m): axum::extract::State<Misbehaving>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut forward = reqwest::Client::new().post(&m.real).body(body.to_vec());
    for name in ["amtsweg-key-id", "amtsweg-signature", "amtsweg-batch", "content-type"] {
        if let Some(v) = headers.get(name) {
            forward = forward.header(name, v.to_str().unwrap());
        }
    }
    let answer = forward.send().await.unwrap();
    let mut out_headers = answer.headers().clone();
    let mut out_body = answer.bytes().await.unwrap().to_vec();
    let mut earlier = m.earlier.lock().await;
    match m.mode {
        "tamper" => {
            let text = String::from_utf8(out_body).unwrap().replace("Melderegister", "Melderegistre");
            out_body = text.into_bytes();
        }
        "slow" => tokio::time::sleep(std::time::Duration::from_millis(1500)).await,
        "replay" => match earlier.take() {
            // The first answer passes; later requests get that first answer again.
            None => *earlier = Some((out_headers.clone(), out_body.clone())),
            Some((h, b)) => {
                out_headers = h.clone();
                out_body = b.clone();
                *earlier = Some((h, b));
            }
        },
        _ => {}
    }
    let mut response = (axum::http::StatusCode::OK, out_body).into_response();
    for name in ["amtsweg-key-id", "amtsweg-signature", "amtsweg-batch", "amtsweg-request-digest", "content-type"] {
        if let Some(v) = out_headers.get(name) {
            response.headers_mut().insert(name, v.to_str().unwrap().parse().unwrap());
        }
    }
    response
}

async fn app_with_misbehaving_register(app: &TestApp, mode: &'static str) -> String {
    let mut exchange = amtsweg_demo::start_registers(&[]).await.unwrap();
    exchange.timeout = std::time::Duration::from_millis(500);
    let real = exchange.registers["melderegister"].clone();
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}/edm", proxy.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/edm", axum::routing::post(misbehave))
        .with_state(Misbehaving { real, mode, earlier: Default::default() });
    tokio::spawn(async move { axum::serve(proxy, router).await });
    exchange.registers.insert("melderegister".into(), proxy_url);
    crate::common::another_node(app.store.clone(), true, |p| p.with_exchange(exchange)).await
}

async fn fetch_residence(app: &TestApp, base: &str, citizen: usize) -> (u16, serde_json::Value) {
    let id = app.draft(citizen).await;
    let r = app
        .http
        .post(format!("{base}/api/v1/applications/{id}/evidence"))
        .bearer_auth(app.citizen(citizen))
        .json(&json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true}))
        .send()
        .await
        .unwrap();
    crate::common::json_of(r).await
}

async fn altered_and_replayed_answers_are_refused_and_logged(app: TestApp) {
    // Altered on the way: the signature no longer matches.
    let base = app_with_misbehaving_register(&app, "tamper").await;
    let (status, body) = fetch_residence(&app, &base, 0).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "register_untrustworthy");
    let (_, log) = app.get(app.citizen(0), "/api/v1/me/transfers").await;
    assert_eq!(log[0]["outcome"], "untrustworthy");
    let (_, attached) = app.get(app.citizen(0), "/api/v1/applications").await;
    assert!(attached.as_array().unwrap().iter().all(|a| a["status"] == "draft"));

    // An earlier, genuine answer sent again for a new request (and for another person's request).
    let base = app_with_misbehaving_register(&app, "replay").await;
    let (status, _) = fetch_residence(&app, &base, 1).await;
    assert_eq!(status, 201, "the first answer is genuine");
    let (status, body) = fetch_residence(&app, &base, 1).await;
    assert_eq!(status, 502, "replayed: {body}");
    let (status, body) = fetch_residence(&app, &base, 2).await;
    assert_eq!(status, 502, "an answer for another request: {body}");
    let (_, log) = app.get(app.citizen(1), "/api/v1/me/transfers").await;
    let outcomes: Vec<&str> = log.as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "untrustworthy").count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "delivered").count(), 1, "{outcomes:?}");
    // Marie never got Jonas's evidence.
    let (_, log) = app.get(app.citizen(2), "/api/v1/me/transfers").await;
    assert_eq!(log[0]["outcome"], "untrustworthy");
}

async fn preview_then_accept_or_discard(app: TestApp) {
    // Lena Hoffmann (Erfurt) was enrolled on the key date; the enrolment register asks for a preview.
    let lena = app.citizen(3).to_owned();
    let (status, created) = app.post(&lena, "/api/v1/applications", json!({"service_id": "energiepreispauschale"})).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/applications/{id}/evidence");
    let ask = json!({"type": "urn:amtsweg:evidence:enrolment", "source": "register", "consent": true});
    let (status, body) = app.post(&lena, &path, ask.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "preview_required");
    assert_eq!(body["preview"]["enrolled"], true);
    let evidence = body["evidence_id"].as_str().unwrap().to_owned();
    let (_, listed) = app.get(&lena, &path).await;
    assert_eq!(listed[0]["status"], "preview", "held, not attached");
    // Another citizen cannot decide about it.
    let (status, _) = app.post(app.citizen(0), &format!("{path}/{evidence}/accept"), json!({})).await;
    assert_eq!(status, 404);
    let (status, accepted) = app.post(&lena, &format!("{path}/{evidence}/accept"), json!({})).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "attached");
    let (status, _) = app.post(&lena, &format!("{path}/{evidence}/discard"), json!({})).await;
    assert_eq!(status, 409, "already decided");
    // Asked again: a new preview, this time discarded; its content is forgotten.
    let (_, body) = app.post(&lena, &path, ask).await;
    let second = body["evidence_id"].as_str().unwrap().to_owned();
    let (status, discarded) = app.post(&lena, &format!("{path}/{second}/discard"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(discarded["status"], "discarded");
    assert_eq!(discarded["content"], json!({}));
    // Each exchange is in the log: preview asked, then delivered for the preview, twice.
    let (_, log) = app.get(&lena, "/api/v1/me/transfers").await;
    let outcomes: Vec<&str> = log.as_array().unwrap().iter().map(|t| t["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "preview_required").count(), 2, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "delivered").count(), 2, "{outcomes:?}");
}

async fn uploads_instead_are_checked_by_content_and_stored_encrypted(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let url = app.url(&format!("/api/v1/applications/{id}/evidence"));
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("type", "urn:amtsweg:evidence:main-residence")
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        app.http.post(url.clone()).bearer_auth(&anna).multipart(form).send()
    };
    let pdf = amtsweg_documents::testing::pdf("Meldebescheinigung Anna Schmidt");
    let (status, body) = crate::common::json_of(upload("meldebescheinigung.pdf", pdf).await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["source"], "upload");
    assert_eq!(body["media_type"], "application/pdf");
    assert_eq!(body["content"], serde_json::Value::Null);
    // Stored encrypted: the plain text is nowhere in the store.
    let stored = app.store.evidence(&amtsweg_domain::UserId::parse("buerger-1").unwrap(), &amtsweg_domain::ApplicationId::parse(&id).unwrap()).await.unwrap();
    assert!(!stored[0].document.contains("Meldebescheinigung") && !stored[0].document.contains("PDF"));
    // A program named .pdf is refused by its content.
    let (status, body) = crate::common::json_of(upload("nachweis.pdf", b"MZ\x90\x00 program".to_vec()).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "file");
    // Too large.
    let mut big = b"%PDF-".to_vec();
    big.resize(6 * 1024 * 1024, b'x');
    let r = upload("gross.pdf", big).await.unwrap();
    assert!(r.status() == 422 || r.status() == 413, "{}", r.status());
    // An upload is never a register exchange.
    let (_, log) = app.get(&anna, "/api/v1/me/transfers").await;
    assert_eq!(log, json!([]));
    // Not on another's application.
    let jonas = app.citizen(1).to_owned();
    let form = reqwest::multipart::Form::new().text("type", "urn:amtsweg:evidence:main-residence").part("file", reqwest::multipart::Part::bytes(b"%PDF-1.7".to_vec()));
    let r = app.http.post(url.clone()).bearer_auth(&jonas).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn the_check_page_offers_upload_instead(app: TestApp) {
    use crate::pages::{browser, csrf, page, select, text};
    let anna = browser(&app, "buerger-1").await;
    let id = app.draft(0).await;
    let (status, _) = app.put(app.citizen(0), &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    assert_eq!(status, 200);
    let (_, _, check) = page(&anna, app.url(&format!("/antraege/{id}/pruefen"))).await;
    assert_eq!(select(&check, "form.upload-form input[type=file][name=datei]").len(), 2, "one upload per evidence");
    let token = csrf(&check);
    let upload = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("nachweis", "urn:amtsweg:evidence:vehicle-holder")
            .part("datei", reqwest::multipart::Part::bytes(bytes).file_name("fahrzeugschein.png"));
        anna.post(app.url(&format!("/antraege/{id}/nachweise/hochladen"))).multipart(form).send()
    };
    let r = upload(b"kein Bild".to_vec()).await.unwrap();
    assert_eq!(r.status(), 422);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert!(text(&doc, "main").contains("PDF, PNG oder JPEG"));
    // What only starts like a PNG is refused with what is wrong; a real one is taken.
    let r = upload(b"\x89PNG\r\n\x1a\nbild".to_vec()).await.unwrap();
    assert_eq!(r.status(), 422);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert!(text(&doc, "main").contains("Das Bild lässt sich nicht lesen"));
    let r = upload(amtsweg_documents::testing::png(60, 40)).await.unwrap();
    assert_eq!(r.status(), 200);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert!(text(&doc, "#nachweise ~ .evidence-card").contains("Dokument hochgeladen"));
}

async fn a_slow_register_times_out_and_is_logged(app: TestApp) {
    // The register answers after 1.5 s; the platform waits 0.5 s.
    let base = app_with_misbehaving_register(&app, "slow").await;
    let (status, body) = fetch_residence(&app, &base, 0).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "register_unavailable");
    assert!(body["message"].as_str().unwrap().contains("später erneut"));
    let (_, log) = app.get(app.citizen(0), "/api/v1/me/transfers").await;
    assert_eq!(log[0]["outcome"], "unavailable");
}
