//! The Mängelmelder's pages, on both stores: a citizen reports by address with a photo (the
//! photo comes back without its GPS position, upright, within 2048 px), duplicates nearby are
//! offered, the department moderates and closes it, the logged-in reporter finds the status in
//! the mailbox; no personal field of a reporter in any public page; bad input (no place, a
//! HEIC photo, a photo over 10 MB, a point outside every area) gets a German message and
//! stores nothing; after the retention period the personal data is gone and the ledger still
//! verifies.

use crate::common::TestApp;
use crate::on_both_stores;
use crate::pages::{browser, csrf, page, select, text};
use scraper::Html;

on_both_stores!(
    a_citizen_reports_with_a_photo_and_the_department_moderates_and_closes_it,
    bad_reports_get_german_messages_and_store_nothing,
    no_personal_field_of_a_reporter_in_any_public_page,
    after_retention_the_reporters_data_is_gone_and_the_ledger_verifies,
    staff_of_another_authority_cannot_reach_a_report,
    the_service_admin_sets_up_the_maengelmelder_on_its_page,
    a_report_that_is_not_ours_is_handed_over_to_the_other_authority,
    overdue_reports_are_noted_once_and_shown_in_the_workspace,
    a_citizen_places_the_problem_on_the_map_from_the_operators_tile_server,
    a_reporter_without_login_confirms_the_address_once_and_then_hears_by_email,
);

async fn count(app: &TestApp) -> usize {
    app.store.reports(&amtsweg_domain::reports::ReportFilter { limit: 100_000, ..Default::default() }).await.unwrap().len()
}

/// Sends the report form of `query` (the page that shows it) with `fields` and `photos`;
/// returns the status, the final path and the page.
async fn send(app: &TestApp, client: &reqwest::Client, query: &str, fields: &[(&str, &str)], photos: Vec<Vec<u8>>) -> (u16, String, Html) {
    let (status, _, form_page) = page(client, app.url(&format!("/maengel/melden?{query}&neu=1"))).await;
    assert_eq!(status, 200, "{}", form_page.html());
    let token = csrf(&form_page);
    let hidden: Vec<(String, String)> = select(&form_page, "form[enctype] input[type=hidden]")
        .iter()
        .map(|i| (i.value().attr("name").unwrap().to_owned(), i.value().attr("value").unwrap_or_default().to_owned()))
        .collect();
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in hidden.into_iter().filter(|(k, _)| k != "_csrf") {
        form = form.text(k, v);
    }
    form = form.text("_csrf", token);
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (i, photo) in photos.into_iter().enumerate() {
        form = form.part("foto", reqwest::multipart::Part::bytes(photo).file_name(format!("foto{i}.jpg")).mime_str("image/jpeg").unwrap());
    }
    let r = client.post(app.url("/maengel/melden")).multipart(form).send().await.unwrap();
    let status = r.status().as_u16();
    let path = r.url().path().to_owned();
    (status, path, Html::parse_document(&r.text().await.unwrap()))
}

async fn a_citizen_reports_with_a_photo_and_the_department_moderates_and_closes_it(app: TestApp) {
    let app = app.with_maengel(30).await;
    let citizen = browser(&app, "buerger-1").await;
    // Where and what: the address list knows the house; the categories are Leipzig's.
    let (_, _, choose) = page(&citizen, app.url("/maengel/melden?adresse=Grimmaische+Str.+7")).await;
    assert!(text(&choose, "main").contains("Grimmaische Straße 7, 04109 Leipzig"), "{}", text(&choose, "main"));
    assert!(!select(&choose, "input[name=kategorie][value=muell]").is_empty());
    // Dumped rubbish is moderated before publication.
    let photo = amtsweg_documents::testing::jpeg_with_gps(3000, 1000);
    let (status, path, received) = send(&app, &citizen, "adresse=Grimmaische+Str.+7&kategorie=muell", &[("beschreibung", "Zwei Matratzen vor dem Haus Nr. 7, Kennzeichen L-AB 123 daneben."), ("frage-menge", "1,5")], vec![photo]).await;
    assert_eq!((status, path.starts_with("/maengel/eingegangen/")), (200, true), "{}", received.html());
    assert!(text(&received, "main").contains("prüft sie"), "moderated: not public yet");
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let stored = app.store.report(id).await.unwrap().unwrap();
    assert!(!stored.published);
    assert_eq!(stored.reporter.user_id.as_deref(), Some("buerger-1"));
    assert_eq!(stored.answers["menge"], vec!["1,5"]);
    assert_eq!(page(&citizen, app.url(&format!("/maengel/meldungen/{id}"))).await.0, 404, "not public before moderation");

    // The photo as stored: no GPS, upright, at most 2048 px.
    let photo_id = stored.photos[0].clone();
    let (_, _, sealed) = app.store.report_photo(&photo_id).await.unwrap().unwrap();
    let bytes = app.platform.upload_key.open(&sealed).unwrap();
    assert!(!bytes.windows(3).any(|w| w == b"GPS") && !bytes.windows(4).any(|w| w == b"Exif"));
    let picture = image_size(&bytes);
    assert_eq!(picture, (683, 2048));

    // A second citizen nearby sees it? Not before it is published; the department moderates.
    let staff = browser(&app, "sachbearbeitung-leipzig").await;
    let (status, _, list) = page(&staff, app.url("/arbeitsplatz/maengel?stand=ungeprueft")).await;
    assert_eq!(status, 200);
    assert!(!select(&list, &format!("a[href='/arbeitsplatz/maengel/{id}']")).is_empty());
    let (_, _, detail) = page(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await;
    assert!(text(&detail, "main").contains("Kennzeichen L-AB 123"), "the department sees the original");
    let token = csrf(&detail);
    let staff_photo = staff.get(app.url(&format!("/arbeitsplatz/maengel/{id}/fotos/{photo_id}"))).send().await.unwrap();
    assert_eq!(staff_photo.status(), 200);
    let r = staff
        .post(app.url(&format!("/arbeitsplatz/maengel/{id}/fotos/{photo_id}/schwaerzen")))
        .form(&[("_csrf", token.as_str()), ("links", "0"), ("oben", "0"), ("breite", "50"), ("hoehe", "10")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = staff
        .post(app.url(&format!("/arbeitsplatz/maengel/{id}/moderation")))
        .form(&[("_csrf", token.as_str()), ("oeffentlicher_text", "Zwei Matratzen vor dem Haus."), ("veroeffentlichen", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, _, public) = page(&citizen, app.url(&format!("/maengel/meldungen/{id}"))).await;
    assert_eq!(status, 200);
    let public_text = text(&public, "main");
    assert!(public_text.contains("Zwei Matratzen vor dem Haus.") && !public_text.contains("L-AB 123"), "{public_text}");
    let public_photo = reqwest::get(app.url(&format!("/maengel/fotos/{photo_id}"))).await.unwrap();
    assert_eq!(public_photo.status(), 200);
    let redacted = public_photo.bytes().await.unwrap();
    assert_ne!(redacted.as_ref(), bytes.as_slice(), "the blacked-out version is served");

    // Another citizen reporting rubbish at the same house is offered this one.
    let other = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (_, _, offer) = page(&other, app.url("/maengel/melden?adresse=Grimmaische+Str.+7&kategorie=muell")).await;
    assert!(text(&offer, "main").contains(&format!("Nr. {id}")), "the duplicate is shown");
    assert!(text(&offer, "main").contains("Trotzdem neu melden"));
    let support = select(&offer, &format!("form[action='/maengel/meldungen/{id}/unterstuetzen']")).len();
    assert_eq!(support, 1);
    let token = csrf(&offer);
    let r = other.post(app.url(&format!("/maengel/meldungen/{id}/unterstuetzen"))).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.store.report(id).await.unwrap().unwrap().supporters, 1);

    // The department closes it with a note; the citizen finds it in the mailbox.
    let (_, _, detail) = page(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await;
    let token = csrf(&detail);
    let r = staff
        .post(app.url(&format!("/arbeitsplatz/maengel/{id}/status")))
        .form(&[("_csrf", token.as_str()), ("status", "fixed"), ("notiz", "Abgeholt von der Stadtreinigung.")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, mailbox) = page(&citizen, app.url("/postfach")).await;
    let mail = text(&mailbox, "main");
    assert!(mail.contains(&format!("Ihre Meldung Nr. {id}: behoben")), "{mail}");
    assert!(mail.contains(&format!("Ihre Meldung Nr. {id} ist eingegangen")), "{mail}");
    let (_, _, public) = page(&citizen, app.url(&format!("/maengel/meldungen/{id}"))).await;
    assert!(text(&public, "main").contains("behoben – Abgeholt von der Stadtreinigung."));
    // Every step is in the audit trail (and so in the ledger).
    let kinds: Vec<String> = app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &id.to_string()).await.unwrap().iter().map(|e| e.kind.as_str().to_owned()).collect();
    for kind in ["report_received", "report_changed", "report_status_changed", "report_supported", "report_viewed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

fn image_size(bytes: &[u8]) -> (u32, u32) {
    // JPEG SOF0/SOF2 marker: height and width follow.
    let mut i = 2;
    while i + 9 < bytes.len() {
        if bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC2) {
            let h = u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]) as u32;
            let w = u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]) as u32;
            return (w, h);
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    panic!("no frame header")
}

async fn bad_reports_get_german_messages_and_store_nothing(app: TestApp) {
    let app = app.with_maengel(0).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let before = count(&app).await;
    // An address that is not in the list, and one in no area at all (Munich).
    let (status, _, missing) = page(&client, app.url("/maengel/melden?adresse=Nirgendwostra%C3%9Fe+99")).await;
    assert_eq!(status, 422);
    assert!(text(&missing, "main").contains("steht nicht im Adressverzeichnis"));
    let (status, _, munich) = page(&client, app.url("/maengel/melden?lat=48.1374&lon=11.5755")).await;
    assert_eq!(status, 422);
    assert!(text(&munich, "main").contains("keine Behörde"));
    let (status, _, nowhere) = page(&client, app.url("/maengel/melden")).await;
    assert_eq!(status, 422, "no place at all");
    assert!(text(&nowhere, "main").contains("Bitte geben Sie eine Adresse"));
    // A HEIC photo: a visible message, never silently dropped.
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.extend(vec![0u8; 1000]);
    let (status, _, refused) = send(&app, &client, "adresse=Markt+2&kategorie=graffiti", &[("beschreibung", "Graffiti am Rathaus")], vec![heic]).await;
    assert_eq!(status, 422);
    assert!(text(&refused, "main").contains("HEIC"), "{}", text(&refused, "main"));
    assert_eq!(text(&refused, "#beschreibung"), "Graffiti am Rathaus", "what was typed stays");
    // A required question unanswered, a description with markup.
    let (status, _, unanswered) = send(&app, &client, "adresse=Markt+2&kategorie=schlagloch", &[("beschreibung", "Loch")], vec![]).await;
    assert_eq!(status, 422);
    assert!(text(&unanswered, "main").contains("muss beantwortet werden"));
    let (status, _, html) = send(&app, &client, "adresse=Markt+2&kategorie=graffiti", &[("beschreibung", "<script>alert(1)</script>")], vec![]).await;
    assert_eq!(status, 422);
    assert!(text(&html, "main").contains("kein HTML"));
    // A 40 MB photo: refused before it is read, with a German page.
    let big = vec![0xFFu8; 40 * 1024 * 1024];
    let (status, _, form_page) = page(&client, app.url("/maengel/melden?adresse=Markt+2&kategorie=graffiti&neu=1")).await;
    assert_eq!(status, 200);
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf(&form_page))
        .text("adresse", "Markt 2, 04109 Leipzig")
        .text("kategorie", "graffiti")
        .part("foto", reqwest::multipart::Part::bytes(big).file_name("riesig.jpg"));
    let r = client.post(app.url("/maengel/melden")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("Die Fotos sind zusammen zu groß"));
    // No form token: refused.
    let r = reqwest::Client::new().post(app.url("/maengel/melden")).multipart(reqwest::multipart::Form::new().text("kategorie", "graffiti")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(count(&app).await, before, "nothing stored");
}

async fn no_personal_field_of_a_reporter_in_any_public_page(app: TestApp) {
    let app = app.with_maengel(10).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let email = "vertraulich.meldend@example.org";
    let (status, path, _) = send(&app, &client, "adresse=Markt+4&kategorie=baum", &[("beschreibung", "Ast abgebrochen"), ("email", email)], vec![]).await;
    assert_eq!(status, 200, "{path}");
    let id = path.rsplit('/').next().unwrap().to_owned();
    let stored = app.store.report(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.reporter.email.as_deref(), Some(email));
    assert!(stored.published, "trees are published at once");
    let logged_in = browser(&app, "buerger-2").await;
    let (_, path, _) = send(&app, &logged_in, "adresse=Markt+5&kategorie=baum", &[("beschreibung", "Baum schief")], vec![]).await;
    let other_id = path.rsplit('/').next().unwrap().to_owned();
    let name = app.store.user(&amtsweg_domain::UserId::parse("buerger-2").unwrap()).await.unwrap().unwrap().display_name;
    for url in [
        "/maengel/meldungen".to_owned(),
        format!("/maengel/meldungen/{id}"),
        format!("/maengel/meldungen/{other_id}"),
        "/maengel/meldungen?behoerde=leipzig".into(),
        format!("/maengel/melden?adresse=Markt+4&kategorie=baum"),
        format!("/open311/v2/requests/{id}.xml?jurisdiction_id=leipzig"),
        format!("/open311/v2/requests.json?jurisdiction_id=leipzig&service_request_id={id},{other_id}"),
    ] {
        let body = reqwest::get(app.url(&url)).await.unwrap().text().await.unwrap();
        assert!(!body.contains(email) && !body.contains("vertraulich"), "{url}");
        assert!(!body.contains(&name) && !body.contains("buerger-2"), "{url}");
    }
}

async fn after_retention_the_reporters_data_is_gone_and_the_ledger_verifies(app: TestApp) {
    let app = app.with_maengel(0).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (_, path, _) = send(&app, &client, "adresse=Markt+6&kategorie=baum", &[("beschreibung", "Ast"), ("email", "frist@example.org")], vec![]).await;
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let staff = browser(&app, "sachbearbeitung-leipzig").await;
    let (_, _, detail) = page(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await;
    let token = csrf(&detail);
    staff.post(app.url(&format!("/arbeitsplatz/maengel/{id}/status"))).form(&[("_csrf", token.as_str()), ("status", "closed")]).send().await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let retention = time::Duration::days(90);
    // Before the period ends nothing goes; after it, the personal part.
    assert_eq!(amtsweg_app::retention::forget_reporters(&app.store, now + time::Duration::days(89), retention).await.unwrap(), 0);
    assert_eq!(app.store.report(id).await.unwrap().unwrap().reporter.email.as_deref(), Some("frist@example.org"));
    assert_eq!(amtsweg_app::retention::forget_reporters(&app.store, now + time::Duration::days(91), retention).await.unwrap(), 1);
    let report = app.store.report(id).await.unwrap().unwrap();
    assert!(report.reporter.is_empty(), "{:?}", report.reporter);
    assert!(report.personal_deleted_at.is_some());
    assert_eq!(report.public_description, "Ast", "the report stays");
    let kinds: Vec<String> = app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &id.to_string()).await.unwrap().iter().map(|e| e.kind.as_str().to_owned()).collect();
    assert!(kinds.contains(&"data_deleted".to_owned()), "{kinds:?}");
    // The ledger takes the deletion like any other entry and still verifies.
    let key = app.ledger_key();
    let (size, _) = amtsweg_app::ledger::checkpoint(&app.store, &key).await.unwrap().expect("entries to check");
    let verified = amtsweg_app::ledger::verify(&app.store, key.verifier_key()).await.unwrap().expect("the ledger verifies");
    assert_eq!(verified.entries, size);
    let (_, _, detail) = page(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await;
    assert!(text(&detail, "main").contains("gelöscht (Aufbewahrungsfrist abgelaufen)"));
}

async fn staff_of_another_authority_cannot_reach_a_report(app: TestApp) {
    let app = app.with_maengel(0).await;
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (_, path, _) = send(&app, &client, "adresse=Markt+8&kategorie=baum", &[("beschreibung", "Ast")], vec![]).await;
    let id = path.rsplit('/').next().unwrap().to_owned();
    let halle = browser(&app, "sachbearbeitung-halle").await;
    assert_eq!(page(&halle, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await.0, 404);
    let (_, _, list) = page(&halle, app.url("/arbeitsplatz/maengel?stand=alle")).await;
    assert!(select(&list, &format!("a[href='/arbeitsplatz/maengel/{id}']")).is_empty());
    let citizen = browser(&app, "buerger-1").await;
    assert_eq!(page(&citizen, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await.0, 403);
}

async fn the_service_admin_sets_up_the_maengelmelder_on_its_page(app: TestApp) {
    let app = app.with_maengel(0).await;
    let admin = browser(&app, "fachadministration-leipzig").await;
    let (status, _, setup) = page(&admin, app.url("/verwaltung/maengel")).await;
    assert_eq!(status, 200);
    assert!(text(&setup, "main").contains("Amt für Stadtgrün und Gewässer"), "the demo's teams are listed");
    let token = csrf(&setup);
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let url = app.url(path);
        async move {
            let r = admin.post(url).form(&form).send().await.unwrap();
            let status = r.status().as_u16();
            (status, Html::parse_document(&r.text().await.unwrap()))
        }
    };
    let (status, done) = post("/verwaltung/maengel/teams", vec![("_csrf", token.clone()), ("kurzname", "leipzig-bruecken".into()), ("name", "Brückenbau".into())]).await;
    assert_eq!(status, 200);
    assert!(text(&done, "main").contains("Das Team „Brückenbau“ ist gespeichert."));
    // A category: broken JSON and an empty choice list are refused, and what was typed stays.
    let broken = r#"{"code":"bruecke","name":"Brückenschaden""#.to_owned();
    let (status, refused) = post("/verwaltung/maengel/kategorien", vec![("_csrf", token.clone()), ("kategorie", broken.clone())]).await;
    assert_eq!(status, 422);
    assert!(text(&refused, "#fehlerliste").contains("kein gültiges JSON"));
    assert_eq!(text(&refused, "#kategorie-json"), broken);
    let empty_list = r#"{"code":"bruecke","name":"Brückenschaden","attributes":[{"code":"art","description":"Was?","datatype":"singlevaluelist","order":1}]}"#;
    let (status, refused) = post("/verwaltung/maengel/kategorien", vec![("_csrf", token.clone()), ("kategorie", empty_list.into())]).await;
    assert_eq!(status, 422);
    assert!(text(&refused, "#fehlerliste").contains("Auswahlliste"));
    let good = r#"{"code":"bruecke","name":"Brückenschaden","group":"Straße und Verkehr","publication":"immediate","deadline_days":5}"#;
    let (status, _) = post("/verwaltung/maengel/kategorien", vec![("_csrf", token.clone()), ("kategorie", good.into())]).await;
    assert_eq!(status, 200);
    // Areas from a file: a self-crossing outline is refused, nothing stored; a good one is read.
    let upload = |geojson: &str| {
        reqwest::multipart::Form::new()
            .text("_csrf", token.clone())
            .text("kurzname", "bruecken")
            .text("namensfeld", "name")
            .part("datei", reqwest::multipart::Part::bytes(geojson.as_bytes().to_vec()).file_name("flaechen.geojson"))
    };
    let bow_tie = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Schleife"},"geometry":{"type":"Polygon","coordinates":[[[12.3,51.3],[12.4,51.4],[12.4,51.3],[12.3,51.4],[12.3,51.3]]]}}]}"#;
    let r = admin.post(app.url("/verwaltung/maengel/flaechen")).multipart(upload(bow_tie)).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("kreuzt sich selbst"));
    let areas_before = app.store.areas(Some(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap())).await.unwrap().len();
    let square = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Innenstadtbrücken"},"geometry":{"type":"Polygon","coordinates":[[[12.36,51.33],[12.39,51.33],[12.39,51.35],[12.36,51.35],[12.36,51.33]]]}}]}"#;
    let r = admin.post(app.url("/verwaltung/maengel/flaechen")).multipart(upload(square)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.store.areas(Some(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap())).await.unwrap().len(), areas_before + 1);
    let (status, _) = post("/verwaltung/maengel/zuordnungen", vec![("_csrf", token.clone()), ("kategorie", "bruecke".into()), ("flaeche", "bruecken-1".into()), ("team", "leipzig-bruecken".into())]).await;
    assert_eq!(status, 200);
    let (status, again) = post("/verwaltung/maengel/zuordnungen", vec![("_csrf", token.clone()), ("kategorie", "bruecke".into()), ("flaeche", "bruecken-1".into()), ("team", "leipzig-bruecken".into())]).await;
    assert_eq!(status, 422);
    assert!(text(&again, "#fehlerliste").contains("schon ein Team"));
    // A whole region by key: a wrong key is refused, a good one listed with its key.
    let (status, refused) = post("/verwaltung/maengel/regionen", vec![("_csrf", token.clone()), ("kurzname", "sachsen".into()), ("name", "Sachsen".into()), ("ars", "14-7".into())]).await;
    assert_eq!(status, 422);
    assert!(text(&refused, "#fehlerliste").contains("Regionalschlüssel"));
    let (status, listed) = post("/verwaltung/maengel/regionen", vec![("_csrf", token.clone()), ("kurzname", "sachsen".into()), ("name", "Sachsen".into()), ("ars", "14".into())]).await;
    assert_eq!(status, 200);
    assert!(text(&listed, "main").contains("Sachsen (sachsen, Regionalschlüssel 140000000000)"), "{}", text(&listed, "main"));
    // A report at the bridge reaches the new team.
    let citizen = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (status, path, _) = send(&app, &citizen, "adresse=Markt+1&kategorie=bruecke", &[("beschreibung", "Geländer locker")], vec![]).await;
    assert_eq!(status, 200, "{path}");
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(app.store.report(id).await.unwrap().unwrap().department_id, "leipzig-bruecken");
    // A key, shown once; revoked, it opens nothing.
    let (status, issued) = post("/verwaltung/maengel/schluessel", vec![("_csrf", token.clone()), ("name", "Brückenprüfsoftware".into())]).await;
    assert_eq!(status, 200);
    let key = text(&issued, "code.secret");
    assert!(key.starts_with("o311_"), "{key}");
    let hash = amtsweg_app::accounts::hash_secret(&key);
    let found = app.store.open311_key(&hash).await.unwrap().expect("the key works");
    let (_, _, listed) = page(&admin, app.url("/verwaltung/maengel")).await;
    assert!(!listed.html().contains(&key), "shown once, never again");
    let (status, _) = post_owned(&admin, app.url(&format!("/verwaltung/maengel/schluessel/{}/widerrufen", found.id)), vec![("_csrf", token.clone())]).await;
    assert_eq!(status, 200);
    assert!(app.store.open311_key(&hash).await.unwrap().is_none());
    // Only the service admin reaches the page.
    let staff = browser(&app, "sachbearbeitung-leipzig").await;
    assert_eq!(page(&staff, app.url("/verwaltung/maengel")).await.0, 403);
}

async fn post_owned(client: &reqwest::Client, url: String, form: Vec<(&'static str, String)>) -> (u16, Html) {
    let r = client.post(url).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    (status, Html::parse_document(&r.text().await.unwrap()))
}

async fn a_report_that_is_not_ours_is_handed_over_to_the_other_authority(app: TestApp) {
    let app = app.with_maengel(0).await;
    let citizen = browser(&app, "buerger-1").await;
    let photo = amtsweg_documents::testing::jpeg_with_gps(400, 300);
    let (status, path, _) = send(&app, &citizen, "adresse=Markt+8&kategorie=spielplatz", &[("beschreibung", "Schaukel kaputt."), ("frage-seit", "2026-12-01")], vec![photo]).await;
    assert_eq!(status, 200);
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let original = app.store.report(id).await.unwrap().unwrap();
    let staff = browser(&app, "sachbearbeitung-leipzig").await;
    let (_, _, detail) = page(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}"))).await;
    let options: Vec<String> = select(&detail, "select#ziel option").iter().map(|o| o.value().attr("value").unwrap().to_owned()).collect();
    assert!(options.contains(&"halle/spielplatz".to_owned()), "{options:?}");
    assert!(!options.iter().any(|o| o.starts_with("leipzig/")), "not to itself: {options:?}");
    let token = csrf(&detail);

    // Wrong targets are refused and change nothing.
    let before = count(&app).await;
    for target in ["leipzig/spielplatz", "halle/gibt-es-nicht", "niemand/baum", "unsinn"] {
        let (status, refused) = post_owned(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}/weiterleiten")), vec![("_csrf", token.clone()), ("ziel", target.into())]).await;
        assert_eq!(status, 422, "{target}");
        assert!(text(&refused, "main").contains("Bitte wählen Sie eine Behörde und Kategorie aus der Liste."), "{target}");
    }
    assert_eq!(count(&app).await, before);
    assert_eq!(app.store.report(id).await.unwrap().unwrap().status, amtsweg_domain::reports::ReportStatus::Open);

    // Handed over to Halle: the place lies in Leipzig, so Halle's largest area for the category decides.
    let (status, done) = post_owned(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}/weiterleiten")), vec![("_csrf", token.clone()), ("ziel", "halle/spielplatz".into()), ("notiz", "Der Spielplatz gehört zur Wohnungsgesellschaft.".into())]).await;
    assert_eq!(status, 200, "{}", done.html());
    let shown = text(&done, "main");
    let new: i64 = shown.split("die Nummer ").nth(1).and_then(|t| t.split('.').next()).and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("{shown}"));
    let old = app.store.report(id).await.unwrap().unwrap();
    assert_eq!(old.status, amtsweg_domain::reports::ReportStatus::Forwarded);
    assert_eq!(old.forwarded_to.as_deref(), Some("Stadt Halle (Saale)"));
    let handed = app.store.report(new).await.unwrap().unwrap();
    assert_eq!((handed.authority_id.as_str(), handed.category.as_str(), handed.source.as_str()), ("halle", "spielplatz", format!("forwarded:{id}").as_str()));
    assert!(handed.department_id.starts_with("halle-"), "{}", handed.department_id);
    assert!(!handed.published, "the receiving department checks it first");
    assert_eq!((handed.location.clone(), handed.description.clone(), handed.answers.clone()), (original.location.clone(), original.description.clone(), original.answers.clone()));
    assert_eq!(handed.reporter, original.reporter);
    assert_eq!(handed.photos.len(), 1);
    assert_ne!(handed.photos[0], original.photos[0], "a photo of its own");
    let (_, _, sealed) = app.store.report_photo(&handed.photos[0]).await.unwrap().unwrap();
    assert!(app.platform.upload_key.open(&sealed).is_some());
    // Halle's department finds it; Leipzig's note names Halle and the new number, also for the citizen.
    let halle = browser(&app, "sachbearbeitung-halle").await;
    let (status, _, there) = page(&halle, app.url(&format!("/arbeitsplatz/maengel/{new}"))).await;
    assert_eq!(status, 200);
    assert!(text(&there, "main").contains("Schaukel kaputt."));
    let (_, _, mailbox) = page(&citizen, app.url("/postfach")).await;
    let mail = text(&mailbox, "main");
    assert!(mail.contains(&format!("Ihre Meldung Nr. {id}: weitergeleitet")), "{mail}");
    assert!(mail.contains(&format!("Ihre Meldung Nr. {new} ist eingegangen")), "{mail}");
    let notes: Vec<String> = app.store.report_updates(id, false).await.unwrap().into_iter().map(|u| u.note).collect();
    assert!(notes.iter().any(|n| n.contains(&format!("Weitergeleitet an Stadt Halle (Saale), dort Meldung Nr. {new}."))), "{notes:?}");
    // Both are in the audit trail of their authorities; a second hand-over is refused.
    let halle_id = amtsweg_domain::AuthorityId::parse("halle").unwrap();
    assert!(app.store.audit_trail(&halle_id, &new.to_string()).await.unwrap().iter().any(|e| e.kind.as_str() == "report_received"));
    let (status, refused) = post_owned(&staff, app.url(&format!("/arbeitsplatz/maengel/{id}/weiterleiten")), vec![("_csrf", token.clone()), ("ziel", "halle/spielplatz".into())]).await;
    assert_eq!(status, 422);
    assert!(text(&refused, "main").contains("schon erledigt"));

    // Two hand-overs of one report at the same time (a double click, two colleagues): one wins,
    // the other stores nothing.
    let (_, path, _) = send(&app, &citizen, "adresse=Markt+8&kategorie=baum&neu=1", &[("beschreibung", "Ast")], vec![]).await;
    let second: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let before = count(&app).await;
    let url = app.url(&format!("/arbeitsplatz/maengel/{second}/weiterleiten"));
    let form = vec![("_csrf", token.clone()), ("ziel", "halle/baum".to_owned())];
    let (a, b) = tokio::join!(post_owned(&staff, url.clone(), form.clone()), post_owned(&staff, url, form));
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 422]);
    assert_eq!(count(&app).await, before + 1, "one report at Halle, not two");
}

async fn overdue_reports_are_noted_once_and_shown_in_the_workspace(app: TestApp) {
    use amtsweg_domain::reports::ReportFilter;
    let app = app.with_maengel(60).await;
    let now = time::OffsetDateTime::now_utc();
    let leipzig = amtsweg_domain::AuthorityId::parse("leipzig").unwrap();
    let all = app.store.reports(&ReportFilter { limit: 100_000, ..Default::default() }).await.unwrap();
    let overdue: Vec<i64> = all.iter().filter(|r| !r.status.is_closed() && r.deadline_at < now).map(|r| r.id).collect();
    let in_leipzig: Vec<i64> = all.iter().filter(|r| overdue.contains(&r.id) && r.authority_id == leipzig).map(|r| r.id).collect();
    assert!(!in_leipzig.is_empty() && in_leipzig.len() < overdue.len(), "the demo has overdue reports in both cities");

    // The workspace says how many of the member's reports are overdue and links to them.
    let staff = browser(&app, "sachbearbeitung-leipzig").await;
    let (_, _, inbox) = page(&staff, app.url("/arbeitsplatz")).await;
    assert!(text(&inbox, "main").contains(&format!("{} Meldungen im Mängelmelder sind überfällig", in_leipzig.len())), "{}", text(&inbox, "main"));
    let (_, _, list) = page(&staff, app.url("/arbeitsplatz/maengel?stand=ueberfaellig")).await;
    let listed: Vec<i64> = select(&list, "a[href^='/arbeitsplatz/maengel/']").iter().filter_map(|a| a.value().attr("href").unwrap().rsplit('/').next().unwrap().parse().ok()).collect();
    let mut expected = in_leipzig.clone();
    expected.sort_unstable();
    let mut got = listed.clone();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got, expected);

    // The job notes each once, for the department only, audited; a second run notes nothing.
    amtsweg_app::jobs::worker::run(&app.platform, &amtsweg_app::jobs::JobKind::ReportDeadlines).await.unwrap();
    for id in &overdue {
        let notes: Vec<_> = app.store.report_updates(*id, true).await.unwrap().into_iter().filter(|u| u.note == amtsweg_store::OVERDUE_NOTE).collect();
        assert_eq!(notes.len(), 1, "report {id}");
        assert!(notes[0].internal);
        assert!(!app.store.report_updates(*id, false).await.unwrap().iter().any(|u| u.note == amtsweg_store::OVERDUE_NOTE), "not public");
    }
    let not_due = all.iter().find(|r| !overdue.contains(&r.id)).unwrap();
    assert!(!app.store.report_updates(not_due.id, true).await.unwrap().iter().any(|u| u.note == amtsweg_store::OVERDUE_NOTE));
    assert_eq!(app.store.note_overdue_reports(time::OffsetDateTime::now_utc()).await.unwrap(), 0, "noted once");
    assert!(app.store.audit_trail(&leipzig, &in_leipzig[0].to_string()).await.unwrap().iter().any(|e| e.kind.as_str() == "report_changed"));
    let (_, _, detail) = page(&staff, app.url(&format!("/arbeitsplatz/maengel/{}", in_leipzig[0]))).await;
    assert!(text(&detail, "main").contains("Frist überschritten"));
}

/// A tile server of the operator's own over real HTTP: every tile a small PNG; counts requests.
async fn tile_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let tile = amtsweg_documents::testing::png(256, 256);
    let router = axum::Router::new().route(
        "/kacheln/{z}/{x}/{y}",
        axum::routing::get(move |axum::extract::Path((_z, _x, y)): axum::extract::Path<(u8, u32, String)>| {
            let tile = tile.clone();
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if y.ends_with(".png") {
                    ([(axum::http::header::CONTENT_TYPE, "image/png")], tile).into_response()
                } else {
                    axum::http::StatusCode::NOT_FOUND.into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/kacheln/{{z}}/{{x}}/{{y}}.png", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, served)
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()))
}

async fn a_citizen_places_the_problem_on_the_map_from_the_operators_tile_server(app: TestApp) {
    use std::sync::atomic::Ordering;
    let app = app.with_maengel(0).await;
    // Without a tile server (the default) there is no map, and nothing is fetched.
    let (_, _, plain) = page(&app.http, app.url("/maengel")).await;
    assert!(select(&plain, "input[type=image]").is_empty());
    assert_eq!(app.http.get(app.url("/maengel/karte.png?lat=51.34&lon=12.37&z=16")).send().await.unwrap().status(), 404);

    let (tiles, served) = tile_server().await;
    let node = crate::common::another_node(app.store.clone(), true, |p| {
        p.with_map_tiles(amtsweg_app::reports::tiles::MapTiles::new(&tiles, "© Test-Kacheln").unwrap())
    })
    .await;
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{node}{path}");
        async move { client.get(url).send().await.unwrap() }
    };
    // The start page shows all of the installation's areas (Leipzig and Halle) on one map.
    let start = Html::parse_document(&get("/maengel".into()).await.text().await.unwrap());
    let map = select(&start, "form[action='/maengel/karte'] input[type=image][name=karte]");
    assert_eq!(map.len(), 1);
    assert!(map[0].value().attr("alt").unwrap().starts_with("Karte"));
    assert!(text(&start, "#karte").contains("Karte: © Test-Kacheln"));
    let src = map[0].value().attr("src").unwrap().to_owned();
    let hidden = |name: &str| select(&start, &format!("form[action='/maengel/karte'] input[name={name}]"))[0].value().attr("value").unwrap().to_owned();
    let z: u8 = hidden("z").parse().unwrap();
    assert!(z < amtsweg_app::reports::tiles::PLACE_ZOOM, "the whole installation: a coarse view");

    // The picture comes from the tile server, drawn here; a second look is served from memory.
    let r = get(src.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(png_size(&r.bytes().await.unwrap()), (640, 400));
    let fetched = served.load(Ordering::SeqCst);
    assert!(fetched >= 6, "a 640 × 400 view needs at least 3 × 2 tiles, fetched {fetched}");
    get(src).await.bytes().await.unwrap();
    assert_eq!(served.load(Ordering::SeqCst), fetched, "kept in memory");

    // A click on the coarse view zooms in around it.
    let r = get(format!("/maengel/karte?mlat={}&mlon={}&z={z}&karte.x=320&karte.y=200", hidden("mlat"), hidden("mlon"))).await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/maengel?mlat=") && to.ends_with(&format!("&z={}#karte", z + 2)), "{to}");
    // Enter on the picture (0,0) chooses nothing: the same view again.
    let r = get(format!("/maengel/karte?mlat=51.34&mlon=12.37&z=16&karte.x=0&karte.y=0")).await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), "/maengel?mlat=51.340000&mlon=12.370000&z=16#karte");

    // At street level a click places the problem: Leipzig's market, 10 pixels right of the centre.
    let view = amtsweg_places::tiles::View::new(51.3406, 12.3747, 17, 640, 400).unwrap();
    let (lat, lon) = view.place_at(330.0, 200.0);
    let r = get("/maengel/karte?mlat=51.3406&mlon=12.3747&z=17&kategorie=schlagloch&karte.x=330&karte.y=200".into()).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"].to_str().unwrap(), format!("/maengel/melden?lat={lat:.6}&lon={lon:.6}&kategorie=schlagloch"));
    let report = get(format!("/maengel/melden?lat={lat:.6}&lon={lon:.6}&kategorie=schlagloch")).await;
    assert_eq!(report.status(), 200);
    let report = Html::parse_document(&report.text().await.unwrap());
    assert!(text(&report, "main").contains("zuständig: Stadt Leipzig"), "{}", text(&report, "main"));
    // The report page shows the point on the map; a click there moves it, the category stays.
    let moved = select(&report, "form[action='/maengel/karte'] input[type=image]");
    assert!(moved[0].value().attr("src").unwrap().contains(&format!("&plat={lat:.6}&plon={lon:.6}")));
    assert_eq!(select(&report, "form[action='/maengel/karte'] input[name=kategorie]")[0].value().attr("value"), Some("schlagloch"));

    // Bad input: a view without zoom is a clear 400; a view far from every area is not drawn
    // (the tile server is not for the whole world); a tile server that does not answer leaves
    // grey squares.
    assert_eq!(get("/maengel/karte.png?lat=51.34&lon=12.37".into()).await.status(), 400);
    let before = served.load(Ordering::SeqCst);
    assert_eq!(get("/maengel/karte.png?lat=48.14&lon=11.58&z=16".into()).await.status(), 404, "Munich");
    assert_eq!(served.load(Ordering::SeqCst), before);
    assert_eq!(get("/maengel/karte?mlat=x&mlon=12.37&z=12&karte.x=1&karte.y=1".into()).await.status(), 400);
    let dead = crate::common::another_node(app.store.clone(), true, |p| p.with_map_tiles(amtsweg_app::reports::tiles::MapTiles::new("http://127.0.0.1:9/{z}/{x}/{y}.png", "").unwrap())).await;
    let r = reqwest::get(format!("{dead}/maengel/karte.png?lat=51.34&lon=12.37&z=16")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(png_size(&r.bytes().await.unwrap()), (640, 400));
    assert!(amtsweg_app::reports::tiles::MapTiles::new("ftp://kacheln/{z}/{x}/{y}", "").is_err());
    assert!(amtsweg_app::reports::tiles::MapTiles::new("https://kacheln.example/{z}/{x}.png", "").is_err());
}

/// The receiving side of SMTP over real TCP (what a relay does with a message: accept it), for
/// the mails lettre sends: each message's DATA as text.
async fn smtp_receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let keep = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 relay.test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-relay.test\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            keep.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

/// A quoted-printable body, decoded.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

async fn a_reporter_without_login_confirms_the_address_once_and_then_hears_by_email(app: TestApp) {
    let app = app.with_maengel(0).await;
    let (port, mails) = smtp_receiver().await;
    let mailer = amtsweg_app::mail::Mailer::new(&format!("smtp://127.0.0.1:{port}"), "Mängelmelder Leipzig <maengel@leipzig.example>", "https://amtsweg.example").unwrap();
    let platform = crate::common::test_platform(app.store.clone()).with_mailer(mailer);
    let node = crate::common::another_node(app.store.clone(), true, {
        let p = platform.clone();
        move |_| p
    })
    .await;
    let mut on_node = app.clone();
    on_node.base = node.clone();
    let visitor = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let (_, _, form) = page(&visitor, on_node.url("/maengel/melden?adresse=Markt+8&kategorie=baum")).await;
    assert!(text(&form, "#email-hint").contains("Link zur Bestätigung"));
    let (status, path, received) = send(&on_node, &visitor, "adresse=Markt+8&kategorie=baum", &[("beschreibung", "Ast auf dem Gehweg"), ("email", "melder@example.org")], vec![]).await;
    assert_eq!(status, 200);
    assert!(text(&received, "main").contains("haben wir Ihnen einen Link geschickt"));
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    assert!(mails.lock().unwrap().is_empty(), "the link goes out from the jobs worker, not in the citizen's request");
    amtsweg_app::jobs::worker::run_pending(&platform).await.unwrap();

    // One mail with the link.
    let first = mails.lock().unwrap().clone();
    assert_eq!(first.len(), 1);
    assert!(first[0].contains("To: melder@example.org"), "{}", first[0]);
    let body = unquote(&first[0]);
    let prefix = format!("https://amtsweg.example/maengel/bestaetigen/{id}/");
    let token: String = body.split(&prefix).nth(1).unwrap_or_else(|| panic!("{body}")).chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(token.len() >= 20);
    assert!(body.contains(&format!("Meldung Nr. {id}")));

    // An update before the confirmation is not mailed.
    let staff = browser(&app, "sachbearbeitung-leipzig").await;
    let change = |status: &'static str, note: &'static str| {
        let staff = staff.clone();
        let node = node.clone();
        async move {
            let (_, _, detail) = page(&staff, format!("{node}/arbeitsplatz/maengel/{id}")).await;
            let token = csrf(&detail);
            let r = staff.post(format!("{node}/arbeitsplatz/maengel/{id}/status")).form(&[("_csrf", token.as_str()), ("status", status), ("notiz", note)]).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
    };
    change("in_progress", "Wir sehen es uns an.").await;
    amtsweg_app::jobs::worker::run_pending(&platform).await.unwrap();
    assert_eq!(mails.lock().unwrap().len(), 1, "no mail to an address not confirmed");

    // The link shows a button (mail scanners open links); the button confirms, once.
    let (status, _, confirm) = page(&visitor, on_node.url(&format!("/maengel/bestaetigen/{id}/{token}"))).await;
    assert_eq!(status, 200);
    assert!(app.store.report(id).await.unwrap().unwrap().email_confirmed_at.is_none(), "opening the link confirms nothing");
    let form_token = csrf(&confirm);
    let r = visitor.post(on_node.url(&format!("/maengel/bestaetigen/{id}/{token}"))).form(&[("_csrf", form_token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Ihre E-Mail-Adresse ist bestätigt."));
    assert!(app.store.report(id).await.unwrap().unwrap().email_confirmed_at.is_some());
    let again = visitor.post(on_node.url(&format!("/maengel/bestaetigen/{id}/{token}"))).form(&[("_csrf", form_token.as_str())]).send().await.unwrap();
    assert_eq!(again.status(), 404, "a used link");
    let wrong = visitor.post(on_node.url(&format!("/maengel/bestaetigen/{id}/falsch"))).form(&[("_csrf", form_token.as_str())]).send().await.unwrap();
    assert_eq!(wrong.status(), 404);

    // From now on each public change comes by mail; internal notes do not.
    change("fixed", "Der Ast ist weggeräumt.").await;
    amtsweg_app::jobs::worker::run_pending(&platform).await.unwrap();
    let all = mails.lock().unwrap().clone();
    assert_eq!(all.len(), 2);
    let update = unquote(&all[1]);
    assert!(update.contains(&format!("Ihre Meldung Nr. {id} ist jetzt: behoben.")) && update.contains("Der Ast ist weggeräumt."), "{update}");

    // A relay that does not answer loses no report: it is stored, only the mail is missing.
    let dead = crate::common::test_platform(app.store.clone()).with_mailer(amtsweg_app::mail::Mailer::new("smtp://127.0.0.1:9", "m@leipzig.example", "https://amtsweg.example").unwrap());
    let dead_node = crate::common::another_node(app.store.clone(), true, move |_| dead).await;
    let mut on_dead = app.clone();
    on_dead.base = dead_node;
    let (status, path, _) = send(&on_dead, &reqwest::Client::builder().cookie_store(true).build().unwrap(), "adresse=Markt+8&kategorie=baum&neu=1", &[("beschreibung", "Noch ein Ast"), ("email", "melder@example.org")], vec![]).await;
    assert_eq!(status, 200);
    assert!(path.starts_with("/maengel/eingegangen/"));
    // Without a relay configured, e-mail addresses are kept for the department as before.
    assert!(app.platform.mailer.is_none());
    assert!(amtsweg_app::mail::Mailer::new("smtp://127.0.0.1:25", "kein absender", "https://a.example").is_err());
    assert!(amtsweg_app::mail::Mailer::new("smtp://127.0.0.1:25", "m@a.example", "").is_err(), "links need the public address");
}
