//! The real FIM schemas as forms: every field of each schema appears on some page, every select
//! offers exactly its code list, the API validates nested data by FIM paths, and the rules act.

use crate::common::{TestApp, fim_fixtures};
use crate::on_both_stores;
use crate::pages::{browser, csrf, page, select};
use amtsweg_fim::codelist::CodeLists;
use amtsweg_fim::model::FieldKind;
use serde_json::json;
use std::collections::BTreeSet;

on_both_stores!(every_field_of_the_real_schemas_is_on_a_page, the_api_validates_nested_fim_data_with_rules, pages_save_drafts_and_repeat_without_javascript);

fn schema(file: &str) -> (amtsweg_fim::Message, CodeLists) {
    let path = fim_fixtures().join(file);
    let xml = std::fs::read_to_string(&path).unwrap();
    let lists = amtsweg_app::catalog::load_code_lists(path.parent().unwrap()).unwrap();
    (amtsweg_fim::parse(&xml).unwrap(), lists)
}

async fn every_field_of_the_real_schemas_is_on_a_page(app: TestApp) {
    let anna = browser(&app, "buerger-1").await;
    for (file, _, _, _) in amtsweg_demo::FIM_SERVICES {
        let (message, lists) = schema(file);
        let service = amtsweg_app::catalog::service_id_for(&message.schema.id);
        let (_, _, service_page) = page(&anna, app.url(&format!("/leistungen/{service}"))).await;
        let token = csrf(&service_page);
        let r = anna.post(app.url(&format!("/leistungen/{service}/antrag"))).form(&[("_csrf", token.as_str())]).send().await.unwrap();
        assert_eq!(r.status(), 200, "{service}");
        let first = r.url().path().to_owned();
        let (_, _, first_page) = page(&anna, app.url(&first)).await;
        let heading = select(&first_page, "h1")[0].text().collect::<String>();
        // "… – Seite 1 von 9": the number after the last "von".
        let pages: usize = heading.rsplit(" von ").next().and_then(|s| s.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap_or(1);
        let mut seen = BTreeSet::new();
        let mut selects = 0;
        for n in 1..=pages {
            let (status, _, doc) = page(&anna, app.url(&format!("{first}/{n}"))).await;
            assert_eq!(status, 200, "{service} page {n}");
            for el in select(&doc, "input[id], select[id], textarea[id], p.form-label-text[id]") {
                let id = el.value().attr("id").unwrap();
                let field = id.split('.').rev().find(|s| s.starts_with('F')).unwrap_or("").trim_end_matches("-nein");
                seen.insert(field.to_owned());
            }
            for s in select(&doc, "select") {
                let id = s.value().attr("id").unwrap();
                let field_id = id.split('.').rev().find(|s| s.starts_with('F')).unwrap();
                let field = message.schema.field_uses().into_iter().find(|f| f.id == field_id).unwrap();
                let expected: Vec<String> = lists.resolve(field.code_list.as_ref().unwrap()).unwrap().entries.iter().map(|e| e.code.clone()).collect();
                let offered: Vec<String> = s
                    .select(&scraper::Selector::parse("option").unwrap())
                    .filter_map(|o| o.value().attr("value").filter(|v| !v.is_empty()).map(str::to_owned))
                    .collect();
                assert_eq!(offered, expected, "{service}: options of {id}");
                selects += 1;
            }
        }
        let expected: BTreeSet<String> =
            message.schema.field_uses().iter().filter(|f| f.kind != FieldKind::Hidden).map(|f| f.id.clone()).collect();
        let missing: Vec<_> = expected.difference(&seen).collect();
        assert!(missing.is_empty(), "{service}: fields on no page: {missing:?}");
        assert!(pages > 1, "{service} has one page per top-level group");
        let has_selects = message.schema.field_uses().iter().any(|f| f.kind == FieldKind::Select && f.code_list.as_ref().is_some_and(|r| lists.resolve(r).is_some()));
        assert_eq!(selects > 0, has_selects, "{service}");
    }
}

async fn the_api_validates_nested_fim_data_with_rules(app: TestApp) {
    let anna = app.citizen(0).to_owned();
    let (status, created) = app.post(&anna, "/api/v1/applications", json!({"service_id": "s00000094"})).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/applications/{id}/data");
    // Errors name FIM paths.
    let (status, body) = app.put(&anna, &path, json!({"G00000253": {"G60000088": {"G60000086": {"F60000246": "1"}}}})).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"F00000463"), "{fields:?}");
    assert!(fields.contains(&"G00000253.F60000319"), "{fields:?}");
    assert!(fields.contains(&"G00000253.G60000088.G60000086.F60000246"), "{fields:?}");
    assert!(fields.contains(&"G00000253.G60000088.G60000086.F60000243"), "{fields:?}");
    // A complete, valid submission.
    let mut data = json!({
        "F00000463": "001",
        "G00000253": {
            "F60000319": "Muster GmbH",
            "G00001408": {"F60000240": "0341 123456", "F00002408": false},
            "G00001914": {"F60000227": "Schmidt"},
            "G60000088": {"G60000086": {"F60000243": "Marktplatz", "F60000244": "1", "F60000246": "04109", "F60000247": "Leipzig"}}
        },
        "G00000255": {
            "F00000462": "001", "F00000467": "2027-03-01", "F60000227": "Beispiel", "F60000228": "Maria",
            "G60000083": {"F60000233": 1990},
            "G60000093": {"F60000263": "001", "G60000088": {"G60000086": {"F60000243": "Ring", "F60000246": "04109", "F60000247": "Leipzig"}}}
        },
        "G00000258": {"F00000464": false, "F00000465": false, "F00000466": true}
    });
    let (status, body) = app.put(&anna, &path, data.clone()).await;
    assert_eq!(status, 200, "{body}");
    // Rule R00000849: "Sonstiges" (999) makes F00000601 required.
    data["F00000463"] = json!("999");
    let (status, body) = app.put(&anna, &path, data.clone()).await;
    assert_eq!(status, 422);
    assert_eq!(body["fields"][0]["field"], "F00000601", "{body}");
    data["F00000601"] = json!("Werkstudentin");
    let (status, _) = app.put(&anna, &path, data.clone()).await;
    assert_eq!(status, 200);
    // Rule R00000042: the expected date of birth is required for a pregnant woman ("001").
    data["G00000255"].as_object_mut().unwrap().remove("F00000467");
    let (status, body) = app.put(&anna, &path, data.clone()).await;
    assert_eq!(status, 422);
    assert_eq!(body["fields"][0]["field"], "G00000255.F00000467", "{body}");
    data["G00000255"]["F00000467"] = json!("2027-03-01");
    // Repeatable field 2:5: at least two lines of a foreign address.
    data["G00000255"]["G60000093"] = json!({"F60000263": "002", "G60000091": {"F60000261": "152", "G60000092": {"F60000262": ["ul. Długa 1"]}}});
    let (status, body) = app.put(&anna, &path, data.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "G00000255.G60000093.G60000091.G60000092.F60000262", "{body}");
    data["G00000255"]["G60000093"]["G60000091"]["G60000092"]["F60000262"] = json!(["ul. Długa 1", "00-001 Warszawa"]);
    let (status, body) = app.put(&anna, &path, data.clone()).await;
    assert_eq!(status, 200, "{body}");
    // The submission goes to the authority, stored keyed by FIM ids.
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, stored) = app.get(&anna, &format!("/api/v1/applications/{id}")).await;
    assert_eq!(stored["data"]["G00000253"]["F60000319"], "Muster GmbH");
}

async fn pages_save_drafts_and_repeat_without_javascript(app: TestApp) {
    let marie = browser(&app, "buerger-3").await;
    let (_, _, service_page) = page(&marie, app.url("/leistungen/s00000094")).await;
    let token = csrf(&service_page);
    let r = marie.post(app.url("/leistungen/s00000094/antrag")).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    let form = r.url().path().to_owned();
    // Page 1 is the employer: fill the required fields and save; the draft keeps them.
    let page1: Vec<(&str, &str)> = vec![
        ("_csrf", &token),
        ("G00000253.F60000319", "Muster GmbH"),
        ("G00000253.G00001408.F60000240", "0341 123456"),
        ("G00000253.G00001408.F00002408", "false"),
        ("G00000253.G00001914.F60000227", "Schmidt"),
        ("G00000253.G60000088.G60000086.F60000243", "Marktplatz"),
        ("G00000253.G60000088.G60000086.F60000246", "06108"),
        ("G00000253.G60000088.G60000086.F60000247", "Halle (Saale)"),
    ];
    let r = marie.post(app.url(&form)).form(&page1).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.url().path().ends_with("/formular/2"), "{}", r.url());
    let (_, _, again) = page(&marie, app.url(&form)).await;
    // An input's value, or a textarea's text.
    let value = |doc: &scraper::Html, id: &str| {
        let el = select(doc, &format!("[id=\"{id}\"]"))[0];
        el.value().attr("value").map(str::to_owned).or_else(|| Some(el.text().collect::<String>()))
    };
    assert_eq!(value(&again, "G00000253.F60000319").as_deref(), Some("Muster GmbH"), "the draft is resumed");
    // Page 2 holds the woman's foreign address with "Anschriftzeile" (2 to 5 lines): add and remove.
    let line = "G00000255.G60000093.G60000091.G60000092.F60000262";
    let (_, _, p2) = page(&marie, app.url(&format!("{form}/2"))).await;
    assert_eq!(select(&p2, &format!("[id^=\"{line}.\"]")).len(), 2, "two lines at least");
    let add = format!("add:{line}");
    let r = marie.post(app.url(&format!("{form}/2"))).form(&[("_csrf", token.as_str()), (&format!("{line}.0"), "ul. Długa 1"), (&format!("{line}.1"), "Warszawa"), ("_aktion", add.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert_eq!(select(&doc, &format!("input[id^=\"{line}.\"]")).len(), 3, "a third line was added");
    assert_eq!(value(&doc, &format!("{line}.0")).as_deref(), Some("ul. Długa 1"), "what was typed is kept");
    assert!(select(&doc, "#fehlerliste").is_empty(), "adding does not check the page");
    let remove = format!("remove:{line}.2");
    let r = marie
        .post(app.url(&format!("{form}/2")))
        .form(&[("_csrf", token.as_str()), (&format!("{line}.0"), "ul. Długa 1"), (&format!("{line}.1"), "Warszawa"), (&format!("{line}.2"), ""), ("_aktion", remove.as_str())])
        .send()
        .await
        .unwrap();
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    assert_eq!(select(&doc, &format!("input[id^=\"{line}.\"]")).len(), 2, "the third line was removed");
    // Saving page 2 empty: errors in an error summary that links to the fields.
    let r = marie.post(app.url(&format!("{form}/2"))).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let doc = scraper::Html::parse_document(&r.text().await.unwrap());
    let links: Vec<String> = select(&doc, "#fehlerliste a").iter().map(|a| a.value().attr("href").unwrap().to_owned()).collect();
    assert!(links.contains(&"#G00000255.F60000227".to_owned()), "{links:?}");
    for l in &links {
        assert_eq!(select(&doc, &format!("[id=\"{}\"]", &l[1..])).len(), 1, "{l} points at a field");
    }
    // Page 1 is still saved.
    let (_, stored) = app.get(app.citizen(2), "/api/v1/applications").await;
    let draft = stored.as_array().unwrap().iter().find(|a| a["service_id"] == "s00000094").unwrap();
    assert_eq!(draft["data"]["G00000253"]["F60000319"], "Muster GmbH");
}
