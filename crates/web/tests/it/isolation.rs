//! A citizen never sees another citizen's application; a caseworker never sees another
//! authority's case: foreign, unknown and malformed ids answer 404 on every route, in the API
//! and on the pages, and change nothing.

use crate::common::{TestApp, json_of, valid_data};
use crate::on_both_stores;
use crate::pages::{browser, csrf, page};
use serde_json::json;

on_both_stores!(foreign_ids_answer_404_everywhere);

async fn foreign_ids_answer_404_everywhere(app: TestApp) {
    // Anna (Leipzig) has a submitted application and a draft; Leipzig decides nothing yet.
    let (submitted, number) = app.submitted_application(0).await;
    let draft = app.draft(0).await;
    let case = app.case_id("leipzig", &number).await;
    let (_, before) = app.get(app.citizen(0), &format!("/api/v1/applications/{draft}")).await;

    let unknown = "00000000-0000-4000-8000-000000000000".to_owned();
    let malformed = "..%2F..%2Fetc".to_owned();
    let jonas = app.citizen(1).to_owned(); // another citizen in the same city
    let halle = app.caseworker("halle").to_owned(); // another authority

    // --- API, citizen routes
    for id in [&submitted, &draft, &unknown, &malformed] {
        let routes: Vec<(reqwest::Method, String, serde_json::Value)> = vec![
            (reqwest::Method::GET, format!("/api/v1/applications/{id}"), json!(null)),
            (reqwest::Method::PUT, format!("/api/v1/applications/{id}/data"), valid_data()),
            (reqwest::Method::POST, format!("/api/v1/applications/{id}/submit"), json!({})),
            (reqwest::Method::POST, format!("/api/v1/applications/{id}/withdraw"), json!({})),
        ];
        for (method, path, body) in routes {
            let mut request = app.http.request(method.clone(), app.url(&path)).bearer_auth(&jonas);
            if !body.is_null() {
                request = request.json(&body);
            }
            let (status, answer) = json_of(request.send().await.unwrap()).await;
            assert_eq!(status, 404, "{method} {path} as another citizen: {answer}");
            assert_eq!(answer["error"], "not_found");
        }
    }
    let (_, jonas_list) = app.get(&jonas, "/api/v1/applications").await;
    assert_eq!(jonas_list, json!([]));
    let (_, jonas_mail) = app.get(&jonas, "/api/v1/mailbox").await;
    assert_eq!(jonas_mail, json!([]));

    // --- API, authority routes
    for id in [&case, &unknown, &malformed, &submitted] {
        let (status, _) = app.get(&halle, &format!("/api/v1/cases/{id}")).await;
        assert_eq!(status, 404, "GET case {id} as another authority");
        let (status, _) = app.post(&halle, &format!("/api/v1/cases/{id}/decision"), json!({"outcome": "rejected", "reason": "x"})).await;
        assert_eq!(status, 404, "decide case {id} as another authority");
    }
    let (_, halle_cases) = app.get(&halle, "/api/v1/cases").await;
    assert_eq!(halle_cases, json!([]));
    let (status, _) = app.get(app.caseworker("leipzig"), "/api/v1/services/gibtsnicht").await;
    assert_eq!(status, 404);

    // --- pages
    let jonas_browser = browser(&app, "buerger-2").await;
    let (_, _, home) = page(&jonas_browser, app.url("/")).await;
    let token = csrf(&home);
    for id in [&submitted, &draft, &unknown, &malformed] {
        for path in ["", "/formular", "/pruefen", "/bestaetigung"] {
            let (status, _, _) = page(&jonas_browser, app.url(&format!("/antraege/{id}{path}"))).await;
            assert_eq!(status, 404, "GET /antraege/{id}{path} as another citizen");
        }
        for path in ["/formular", "/absenden", "/zuruecknehmen"] {
            let mut form: Vec<(&str, &str)> = vec![("_csrf", &token)];
            form.extend([("kennzeichen", "L-AB 1"), ("halter", "selbst"), ("beginn", "01.01.2099"), ("gueltigkeit", "12"), ("richtigkeit", "true")]);
            let r = jonas_browser.post(app.url(&format!("/antraege/{id}{path}"))).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 404, "POST /antraege/{id}{path} as another citizen");
        }
    }
    let (_, anna_mail) = app.get(app.citizen(0), "/api/v1/mailbox").await;
    assert_eq!(anna_mail, json!([]));
    let (status, _, _) = page(&jonas_browser, app.url(&format!("/postfach/{unknown}"))).await;
    assert_eq!(status, 404);
    let (status, _, _) = page(&jonas_browser, app.url("/leistungen/gibtsnicht")).await;
    assert_eq!(status, 404);

    let halle_browser = browser(&app, "sachbearbeitung-halle").await;
    let (_, _, inbox) = page(&halle_browser, app.url("/arbeitsplatz")).await;
    assert!(!inbox.html().contains(&number));
    let token = csrf(&inbox);
    for id in [&case, &unknown, &malformed] {
        let (status, _, _) = page(&halle_browser, app.url(&format!("/arbeitsplatz/vorgaenge/{id}"))).await;
        assert_eq!(status, 404, "case page {id} as another authority");
        let r = halle_browser
            .post(app.url(&format!("/arbeitsplatz/vorgaenge/{id}/entscheidung")))
            .form(&[("_csrf", token.as_str()), ("outcome", "rejected"), ("reason", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "decision on {id} as another authority");
    }
    // a citizen is not staff, staff is not a citizen
    let (status, _, _) = page(&jonas_browser, app.url("/arbeitsplatz")).await;
    assert_eq!(status, 403);
    let (status, _, _) = page(&halle_browser, app.url("/antraege")).await;
    assert_eq!(status, 403);

    // nothing changed
    let (_, after) = app.get(app.citizen(0), &format!("/api/v1/applications/{draft}")).await;
    assert_eq!(before, after);
    let (_, still) = app.get(app.citizen(0), &format!("/api/v1/applications/{submitted}")).await;
    assert_eq!(still["status"], "submitted");

    // a message in Anna's mailbox is not Jonas's
    let (status, _) = app
        .post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/decision"), json!({"outcome": "approved", "reason": "Passt."}))
        .await;
    assert_eq!(status, 200);
    let (_, anna_mail) = app.get(app.citizen(0), "/api/v1/mailbox").await;
    let message = anna_mail[0]["id"].as_str().unwrap().to_owned();
    let (status, _, _) = page(&jonas_browser, app.url(&format!("/postfach/{message}"))).await;
    assert_eq!(status, 404);
    let (_, anna_mail) = app.get(app.citizen(0), "/api/v1/mailbox").await;
    assert_eq!(anna_mail[0]["read"], false, "a foreign read marks nothing");
}
