//! Daily use: the catalog is searched and grouped by topic; times are shown in German local time.

use crate::common::TestApp;
use crate::on_both_stores;
use crate::pages::{browser, page, select};

on_both_stores!(the_catalog_is_searched_and_grouped, times_are_german_local_time);

async fn the_catalog_is_searched_and_grouped(app: TestApp) {
    let client = reqwest::Client::new();
    let (status, _, doc) = page(&client, app.url("/")).await;
    assert_eq!(status, 200);
    let headings: Vec<String> = select(&doc, "main h2").iter().map(|h| h.text().collect()).collect();
    assert_eq!(headings, ["Arbeit und Arbeitsschutz", "Aufenthalt und Einwanderung", "Bildung und Förderung", "Verkehr und Mobilität"], "topics in order");
    let services = |doc: &scraper::Html| select(doc, "main h3 a").iter().map(|a| a.text().collect::<String>()).collect::<Vec<_>>();
    assert_eq!(services(&doc).len(), 5);
    // Words anywhere in name, summary, topic or description; umlauts and ß either way.
    let (_, _, found) = page(&client, app.url("/?suche=Parkausweis")).await;
    assert_eq!(services(&found), ["Bewohnerparkausweis"]);
    assert!(select(&found, "#treffer")[0].text().collect::<String>().contains("Eine Leistung passt"));
    let (_, _, found) = page(&client, app.url("/?suche=aufenthalt%20blaue")).await;
    assert_eq!(services(&found), ["Blaue Karte EU beantragen"]);
    let (_, _, found) = page(&client, app.url("/?suche=foerderung")).await;
    assert_eq!(services(&found).len(), 1, "ö found as oe");
    let (_, _, none) = page(&client, app.url("/?suche=Hundesteuer")).await;
    assert!(services(&none).is_empty());
    assert!(select(&none, "#treffer")[0].text().collect::<String>().contains("Keine Leistung passt zu „Hundesteuer“"));
    // The API names the topic too.
    let (_, list) = app.get(app.citizen(0), "/api/v1/services").await;
    assert!(list.as_array().unwrap().iter().any(|s| s["id"] == "bewohnerparkausweis" && s["category"] == "Verkehr und Mobilität"));
    // The operator changes a topic; the portal follows.
    let (status, _) = app.patch(&app.tokens.operator.token, "/api/v1/platform/services/bewohnerparkausweis", serde_json::json!({"category": "Parken"})).await;
    assert_eq!(status, 200);
    let (_, _, doc) = page(&client, app.url("/")).await;
    assert!(select(&doc, "main h2").iter().any(|h| h.text().collect::<String>() == "Parken"));
}

async fn times_are_german_local_time(app: TestApp) {
    let before = amtsweg_domain::local_time::berlin(time::OffsetDateTime::now_utc());
    let (id, number) = app.submitted_application(0).await;
    let after = amtsweg_domain::local_time::berlin(time::OffsetDateTime::now_utc());
    let b = browser(&app, "buerger-1").await;
    let (status, _, doc) = page(&b, app.url(&format!("/antraege/{id}/bestaetigung"))).await;
    assert_eq!(status, 200);
    let text = doc.root_element().text().collect::<String>();
    assert!(text.contains(&number), "{text}");
    assert!(!text.contains("UTC"), "no UTC on pages: {text}");
    // The submission's time as "HH:MM Uhr" in German local time (the minute may turn over).
    let shown = |t: time::OffsetDateTime| format!("{:02}:{:02} Uhr", t.hour(), t.minute());
    assert!(text.contains(&shown(before)) || text.contains(&shown(after)), "the submission at {} in German local time: {text}", shown(before));
}
