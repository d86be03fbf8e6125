//! The citizen assistant through the API and the chat page: answers from service descriptions
//! with their source, declines what no text answers, hands the question to an authority's
//! inbox, and never lets identifiers into a question it searches with.

use crate::common::TestApp;
use crate::on_both_stores;
use crate::pages::{browser, csrf, page, post_form, text};
use serde_json::{Value, json};

on_both_stores!(
    a_question_about_a_service_is_answered_from_its_description,
    a_question_outside_every_text_is_declined_and_handed_over,
    the_chat_page_works_without_javascript,
    bad_questions_get_clear_errors,
    a_question_in_another_language_is_answered_in_it,
    answers_come_from_the_askers_authority_first,
);

async fn ask(app: &TestApp, question: &str) -> (u16, Value) {
    let r = app.http.post(app.url("/api/v1/assistant/ask")).json(&json!({"question": question})).send().await.unwrap();
    crate::common::json_of(r).await
}

async fn a_question_about_a_service_is_answered_from_its_description(app: TestApp) {
    // Anyone may ask; no login.
    let (status, body) = ask(&app, "Welche Voraussetzungen gelten für den Bewohnerparkausweis?").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answered"], true, "{body}");
    let cited: Vec<&str> = body["citations"].as_array().unwrap().iter().map(|c| c["doc_id"].as_str().unwrap()).collect();
    assert_eq!(cited, ["leistung/bewohnerparkausweis"], "{body}");
    assert!(body["answer"].as_str().unwrap().contains("Hauptwohnsitz"), "the answering sentence is in the answer: {body}");
    let source = &body["sources"][0];
    assert_eq!(source["url"], "/leistungen/bewohnerparkausweis");
    assert!(source["quotes"].as_array().unwrap().iter().any(|q| q.as_str().unwrap().contains("Voraussetzung ist")), "{body}");
    // The cited indices point at the quoted sentences.
    assert_eq!(source["sentences"].as_array().unwrap().len(), source["quotes"].as_array().unwrap().len());

    // A compound the text only has inside a longer word still finds it.
    let (status, body) = ask(&app, "Wie hoch ist die Energiepauschale für Studierende?").await;
    assert_eq!(status, 200);
    assert_eq!(body["answered"], true, "{body}");
    assert_eq!(body["citations"][0]["doc_id"], "leistung/energiepreispauschale", "{body}");
    assert!(body["answer"].as_str().unwrap().contains("200 Euro"), "{body}");
}

async fn a_question_outside_every_text_is_declined_and_handed_over(app: TestApp) {
    let question = "Wann hat das Schwimmbad am Sonntag geöffnet?";
    let (status, body) = ask(&app, question).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answered"], false, "{body}");
    assert!(body["citations"].as_array().unwrap().is_empty(), "{body}");
    assert!(body["answer"].as_str().unwrap().contains("keine Antwort"), "{body}");
    let recipients = body["handover"].as_array().unwrap();
    assert!(recipients.iter().any(|r| r["id"] == "leipzig"), "{body}");

    // Handing over needs a citizen.
    let r = app.http.post(app.url("/api/v1/assistant/handover")).json(&json!({"question": question, "authority_id": "leipzig"})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (status, body) = app.post(app.caseworker("leipzig"), "/api/v1/assistant/handover", json!({"question": question, "authority_id": "leipzig"})).await;
    assert_eq!(status, 403, "{body}");
    // An unknown authority is a clear error on the field.
    let (status, body) = app.post(app.citizen(0), "/api/v1/assistant/handover", json!({"question": question, "authority_id": "atlantis"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "authority_id", "{body}");

    let (status, body) = app.post(app.citizen(0), "/api/v1/assistant/handover", json!({"question": question, "authority_id": "leipzig", "topic": "Freizeit"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["question"], question);

    // It is in Leipzig's inbox, with who asked; Halle sees nothing of it.
    let (status, list) = app.get(app.caseworker("leipzig"), "/api/v1/inquiries").await;
    assert_eq!(status, 200);
    let found = list.as_array().unwrap().iter().find(|q| q["id"] == body["id"]).expect("the inquiry is in Leipzig's inbox");
    assert_eq!(found["question"], question);
    assert_eq!(found["from"], "Anna Schmidt");
    assert_eq!(found["topic"], "Freizeit");
    let (status, list) = app.get(app.caseworker("halle"), "/api/v1/inquiries").await;
    assert_eq!(status, 200);
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    // Citizens do not read inboxes.
    let (status, _) = app.get(app.citizen(0), "/api/v1/inquiries").await;
    assert_eq!(status, 403);

    // Leipzig answers; the answer is in Anna's mailbox, once.
    let inquiry = body["id"].as_str().unwrap();
    let path = format!("/api/v1/inquiries/{inquiry}/answer");
    let (status, _) = app.post(app.caseworker("halle"), &path, json!({"answer": "Von Halle."})).await;
    assert_eq!(status, 404, "another authority's question is not found");
    let (status, _) = app.post(app.citizen(0), &path, json!({"answer": "Selbst."})).await;
    assert_eq!(status, 403);
    let (status, body) = app.post(app.caseworker("leipzig"), &path, json!({"answer": "  "})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "answer");
    let answer = "Das Sportbad hat sonntags von 8 bis 18 Uhr geöffnet.";
    let (status, body) = app.post(app.caseworker("leipzig"), &path, json!({"answer": answer})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answer"], answer);
    assert!(body["answered_at"].is_string());
    let (status, _) = app.post(app.caseworker("leipzig"), &path, json!({"answer": "Noch einmal."})).await;
    assert_eq!(status, 409);
    let (_, mailbox) = app.get(app.citizen(0), "/api/v1/mailbox").await;
    let message = mailbox.as_array().unwrap().iter().find(|m| m["subject"] == "Antwort auf Ihre Frage").expect("the answer is in the mailbox");
    assert_eq!(message["sender"], "Stadt Leipzig");
    assert!(message["body"].as_str().unwrap().contains(question) && message["body"].as_str().unwrap().contains(answer), "{message}");
    assert!(message["application_id"].is_null());
    let (_, other) = app.get(app.citizen(1), "/api/v1/mailbox").await;
    assert!(other.as_array().unwrap().iter().all(|m| m["subject"] != "Antwort auf Ihre Frage"), "{other}");
}

async fn the_chat_page_works_without_javascript(app: TestApp) {
    // Anonymous: ask, get the answer with its source as a page.
    let anonymous = reqwest::Client::new();
    let (status, _, html) = page(&anonymous, app.url("/assistent")).await;
    assert_eq!(status, 200);
    assert!(text(&html, "h1").contains("Fragen an die Verwaltung"));
    let (status, _, html) = post_form(&anonymous, app.url("/assistent"), &[("question", "Welche Voraussetzungen gelten für den Bewohnerparkausweis?")]).await;
    assert_eq!(status, 200);
    assert!(text(&html, "#answer").contains("Hauptwohnsitz"), "{}", html.html());
    assert!(!crate::pages::select(&html, "#sources a[href='/leistungen/bewohnerparkausweis']").is_empty(), "the source is linked");

    // Declined, anonymous: asked to log in to send it.
    let (_, _, html) = post_form(&anonymous, app.url("/assistent"), &[("question", "Wann hat das Schwimmbad am Sonntag geöffnet?")]).await;
    assert!(text(&html, "#handover").contains("melden Sie sich bitte an"), "{}", html.html());

    // Logged in as a citizen (Marie Fischer, Halle): send it to Halle from the page.
    let citizen = browser(&app, &app.tokens.citizens[2].user_id).await;
    let (_, _, html) = page(&citizen, app.url("/assistent")).await;
    let token = csrf(&html);
    let (_, _, html) = post_form(&citizen, app.url("/assistent"), &[("_csrf", token.as_str()), ("question", "Wann hat das Schwimmbad am Sonntag geöffnet?")]).await;
    assert!(!crate::pages::select(&html, "form[action='/assistent/weitergeben']").is_empty(), "{}", html.html());
    // Without the CSRF token nothing is sent.
    let (status, _, _) = post_form(&citizen, app.url("/assistent/weitergeben"), &[("question", "Schwimmbad am Sonntag?"), ("authority_id", "halle")]).await;
    assert_eq!(status, 403);
    // Without an authority: the error is on the select.
    let (status, _, html) =
        post_form(&citizen, app.url("/assistent/weitergeben"), &[("_csrf", token.as_str()), ("question", "Schwimmbad am Sonntag?"), ("authority_id", "")]).await;
    assert_eq!(status, 422);
    assert!(!crate::pages::select(&html, "#authority-error").is_empty());
    let (status, _, html) =
        post_form(&citizen, app.url("/assistent/weitergeben"), &[("_csrf", token.as_str()), ("question", "Schwimmbad am Sonntag?"), ("authority_id", "halle")]).await;
    assert_eq!(status, 200);
    assert!(text(&html, "#handover-done").contains("erhalten"));
    let (_, list) = app.get(app.caseworker("halle"), "/api/v1/inquiries").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["question"], "Schwimmbad am Sonntag?");

    // Halle's caseworker sees it on the workspace page.
    let halle = app.tokens.caseworkers.iter().find(|c| c.authority_id == "halle").unwrap().user_id.clone();
    let staff = browser(&app, &halle).await;
    let (status, _, html) = page(&staff, app.url("/arbeitsplatz/anfragen")).await;
    assert_eq!(status, 200);
    assert!(text(&html, "#inquiries").contains("Schwimmbad am Sonntag?"), "{}", html.html());
}

async fn bad_questions_get_clear_errors(app: TestApp) {
    let (status, body) = ask(&app, "   ").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "question");
    let (status, body) = ask(&app, &"Parkausweis ".repeat(200)).await;
    assert_eq!(status, 422, "{body}");
    let r = app.http.post(app.url("/api/v1/assistant/ask")).json(&json!({"question": "x", "extra": 1})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 422, "unknown fields are refused");
    let (status, _, html) = post_form(&app.http, app.url("/assistent"), &[("question", "")]).await;
    assert_eq!(status, 422);
    assert!(text(&html, "#question-error").contains("Bitte geben Sie Ihre Frage ein."));
}

/// The catalog's texts are German: a question in English (asked for, or recognised) or Arabic
/// gets the German sentences with a note in its language, or a decline in it; the page marks
/// each part with its language.
async fn a_question_in_another_language_is_answered_in_it(app: TestApp) {
    let question = "Which requirements apply to the Bewohnerparkausweis?";
    let r = app.http.post(app.url("/api/v1/assistant/ask")).json(&json!({"question": question, "language": "en"})).send().await.unwrap();
    let (status, body) = crate::common::json_of(r).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["language"], "en", "{body}");
    if body["answered"] == true {
        assert_eq!(body["citations"][0]["language"], "de", "{body}");
        assert_eq!(body["sources"][0]["language"], "de", "{body}");
        assert!(body["note"].as_str().unwrap().contains("only available in German"), "{body}");
    } else {
        assert!(body["answer"].as_str().unwrap().starts_with("I cannot find"), "{body}");
    }
    // Recognised from the question when the request does not say.
    let (status, body) = ask(&app, "أين يمكنني الحصول على تصريح وقوف السيارات للمقيمين؟").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["language"], "ar", "{body}");
    // A language that is no ISO 639-1 code is an error on its field.
    let r = app.http.post(app.url("/api/v1/assistant/ask")).json(&json!({"question": question, "language": "English"})).send().await.unwrap();
    let (status, body) = crate::common::json_of(r).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "language", "{body}");

    // The chat page: the language chosen stays chosen, and each part carries its language.
    let anonymous = reqwest::Client::new();
    let (status, _, html) = post_form(&anonymous, app.url("/assistent"), &[("question", question), ("language", "en")]).await;
    assert_eq!(status, 200);
    assert!(!crate::pages::select(&html, "#language option[value='en'][selected]").is_empty(), "{}", html.html());
    assert!(!crate::pages::select(&html, "#question-asked[lang='en']").is_empty(), "{}", html.html());
    assert!(!crate::pages::select(&html, "#answer-text[lang]").is_empty(), "{}", html.html());
    let (status, _, html) = post_form(&anonymous, app.url("/assistent"), &[("question", "أين يمكنني الحصول على تصريح وقوف السيارات للمقيمين؟")]).await;
    assert_eq!(status, 200);
    assert!(!crate::pages::select(&html, "#question-asked[lang='ar'][dir='auto']").is_empty(), "{}", html.html());
    assert!(crate::pages::select(&html, "#language option[selected]").is_empty(), "automatic (the first option) stays chosen: {}", html.html());
}

/// Two authorities' texts on the same topic: whoever is known to live in Leipzig (chosen on the
/// page or sent as `region`, logged in, or naming the city) is answered from Leipzig's text,
/// someone in Halle from Halle's; without that the words decide.
async fn answers_come_from_the_askers_authority_first(app: TestApp) {
    use amtsweg_assist::Document;
    // The server serves only after its start-up catalog sync, which rebuilds the knowledge base
    // too: the first answer means it is done, and it cannot replace what this test builds.
    let (status, _, _) = page(&reqwest::Client::new(), app.url("/assistent")).await;
    assert_eq!(status, 200);
    let state = &app.platform.assistant;
    let document = |id: &str, title: &str, authority: &str, text: &str| Document {
        id: id.into(),
        title: title.into(),
        text: text.into(),
        url: None,
        authority: Some(authority.into()),
        region: None,
        origin: "import".into(),
        language: "de".into(),
    };
    let mut documents = state.assistant.kb().documents().to_vec();
    documents.push(document("sperrmuell-halle", "Sperrmüll abholen lassen", "halle", "Sperrmüll abholen lassen\nDie Abholung von Sperrmüll bestellen Sie online.\nSperrmüll wird nach der Bestellung innerhalb von zwei Wochen abgeholt."));
    documents.push(document("sperrmuell-leipzig", "Sperrmüll", "leipzig", "Sperrmüll\nDie Stadtreinigung holt zweimal im Jahr Sperrmüll nach der Bestellung kostenlos ab.\nDen Termin vereinbaren Sie telefonisch."));
    amtsweg_app::assistant::rebuild(state, documents).await.unwrap();

    let question = "Wann wird Sperrmüll nach der Bestellung abgeholt?";
    let ask_as = |body: Value| {
        let app = &app;
        async move { crate::common::json_of(app.http.post(app.url("/api/v1/assistant/ask")).json(&body).send().await.unwrap()).await }
    };
    // The ranking shows in the authority suggested for a hand-over (the closest text's), and
    // in the sources when answered.
    let first = |body: &Value| -> String {
        let suggested = body["handover"].as_array().unwrap().iter().find(|r| r["suggested"] == true).map(|r| r["id"].as_str().unwrap().to_owned()).unwrap_or_default();
        if body["answered"] == true {
            assert_eq!(body["sources"][0]["doc_id"].as_str().unwrap(), format!("sperrmuell-{suggested}"), "{body}");
        }
        suggested
    };
    let (status, body) = ask_as(json!({"question": question})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(first(&body), "halle", "without knowing the asker, the words decide: {body}");
    assert_eq!(body["region"], Value::Null, "{body}");
    let (status, body) = ask_as(json!({"question": question, "region": "147130000000"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(first(&body), "leipzig", "{body}");
    assert_eq!(body["region"], "147130000000", "{body}");
    let (_, body) = ask_as(json!({"question": format!("Ich wohne in Leipzig. {question}")})).await;
    assert_eq!(first(&body), "leipzig", "the city named in the question: {body}");
    let (_, body) = ask_as(json!({"question": format!("Ich wohne in Halle. {question}"), "region": "147130000000"})).await;
    assert_eq!(first(&body), "halle", "the city named wins over the region sent: {body}");
    assert_eq!(body["region"], "150020000000", "{body}");
    // A question no text answers goes to the asker's own authority.
    let (_, body) = ask_as(json!({"question": "Wann hat das Schwimmbad am Sonntag geöffnet?", "region": "160510000000"})).await;
    assert_eq!(body["answered"], false, "{body}");
    assert_eq!(first(&body), "erfurt", "{body}");
    // A region that is no ARS is an error on its field, beside the other fields' errors.
    let (status, body) = ask_as(json!({"question": " ", "region": "1471"})).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["question", "region"], "{body}");

    // The chat page: the place chosen stays chosen and is said; anything else offered is ignored.
    let anonymous = reqwest::Client::new();
    let (status, _, html) = page(&anonymous, app.url("/assistent")).await;
    assert_eq!(status, 200);
    assert!(!crate::pages::select(&html, "#region option[value='147130000000']").is_empty(), "{}", html.html());
    let (status, _, html) = post_form(&anonymous, app.url("/assistent"), &[("question", question), ("region", "147130000000")]).await;
    assert_eq!(status, 200);
    assert!(!crate::pages::select(&html, "#region option[value='147130000000'][selected]").is_empty(), "{}", html.html());
    assert!(text(&html, "#answer-place").contains("Stadt Leipzig"), "{}", html.html());
    if crate::pages::select(&html, "#sources").is_empty() {
        assert!(!crate::pages::select(&html, "#authority option[value='leipzig'][selected]").is_empty() || text(&html, "#handover").contains("melden Sie sich"), "{}", html.html());
    } else {
        assert!(text(&html, "#sources").contains("Stadtreinigung"), "{}", html.html());
    }
    let (_, _, html) = post_form(&anonymous, app.url("/assistent"), &[("question", question), ("region", "999999999999")]).await;
    assert!(crate::pages::select(&html, "#answer-place").is_empty(), "a place not offered is not used: {}", html.html());
    // Logged in, the citizen's own region counts (Marie Fischer lives in Halle, Anna Schmidt in Leipzig).
    for (n, city, place) in [(2, "halle", "Halle"), (0, "leipzig", "Leipzig")] {
        let citizen = browser(&app, &app.tokens.citizens[n].user_id).await;
        let (_, _, html) = page(&citizen, app.url("/assistent")).await;
        let (status, _, html) = post_form(&citizen, app.url("/assistent"), &[("_csrf", &csrf(&html)), ("question", "Wann hat das Schwimmbad am Sonntag geöffnet?")]).await;
        assert_eq!(status, 200);
        assert!(text(&html, "#answer-place").contains(place), "{}", html.html());
        assert!(!crate::pages::select(&html, &format!("#authority option[value='{city}'][selected]")).is_empty(), "the hand-over suggests the citizen's authority: {}", html.html());
    }
}

/// An OpenAI-compatible chat endpoint on loopback: `good` phrases the answer and cites a
/// sentence it was given, `invent` cites a sentence it was not given, `prose` answers without
/// JSON, `decline` says the texts do not answer. It also records what it was sent.
async fn chat_endpoint(mode: &'static str, seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |axum::Json(request): axum::Json<Value>| async move {
            let user = request["messages"][1]["content"].as_str().unwrap().to_owned();
            seen.lock().unwrap().push(user.clone());
            let content = match mode {
                "good" => json!({"answered": true, "answer": "Sie zahlen 96 Euro im Jahr für den ersten Hund.", "citations": [{"doc_id": "hundesteuer", "sentences": [2]}]}).to_string(),
                "invent" => json!({"answered": true, "answer": "Die Steuer entfällt für Rentner.", "citations": [{"doc_id": "hundesteuer", "sentences": [40]}]}).to_string(),
                "decline" => json!({"answered": false, "answer": "", "citations": []}).to_string(),
                _ => "Gern! Die Hundesteuer ist niedrig.".to_owned(),
            };
            axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_phrases_answers_only_with_sentences_that_exist() {
    use amtsweg_assist::{Assistant, Document, KnowledgeBase, model::ModelClient};
    let documents = vec![Document {
        id: "hundesteuer".into(),
        title: "Hundesteuer".into(),
        text: "Hundesteuer\nWer einen Hund hält, muss ihn anmelden.\nDie Steuer für den ersten Hund beträgt 96 Euro im Jahr.".into(),
        url: None,
        authority: None,
        region: None,
        origin: "import".into(),
        language: "de".into(),
    }];
    // Not redacted here: the assistant removes the IdNr itself before the model sees anything.
    let question = "Wie viel Euro beträgt die Steuer für den ersten Hund? Meine IdNr ist 12345678901.";
    let timeout = std::time::Duration::from_secs(5);
    for (mode, phrased) in [("good", true), ("invent", false), ("prose", false), ("decline", true)] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let url = chat_endpoint(mode, seen.clone()).await;
        let assistant = Assistant::new(KnowledgeBase::in_memory(documents.clone()).unwrap()).with_model(ModelClient::new(&url, "test", timeout));
        let (answer, _) = assistant.ask(question, None).await.unwrap();
        assert_eq!(answer.phrased, phrased && mode == "good", "{mode}: {answer:?}");
        match mode {
            "good" => {
                assert_eq!(answer.answer, "Sie zahlen 96 Euro im Jahr für den ersten Hund.");
                assert_eq!(answer.citations[0].sentences, [2]);
            }
            "decline" => assert!(!answer.answered, "the model may decline: {answer:?}"),
            // Refused: the extractive answer stands, with its real sentence.
            _ => {
                assert!(answer.answered && answer.answer.contains("96 Euro"), "{mode}: {answer:?}");
                assert!(!answer.answer.contains("Rentner") && !answer.answer.contains("niedrig"));
            }
        }
        let sent = seen.lock().unwrap().join("\n");
        assert!(sent.contains("[hundesteuer#2] Die Steuer für den ersten Hund beträgt 96 Euro im Jahr."), "the passages go to the model: {sent}");
        assert!(!sent.contains("12345678901"), "identifiers never reach the model");
    }
    // A model that is down: the extractive answer.
    let assistant = Assistant::new(KnowledgeBase::in_memory(documents).unwrap()).with_model(ModelClient::new("http://127.0.0.1:9/v1", "test", timeout));
    let (answer, _) = assistant.ask(question, None).await.unwrap();
    assert!(answer.answered && !answer.phrased && answer.answer.contains("96 Euro"), "{answer:?}");
}
