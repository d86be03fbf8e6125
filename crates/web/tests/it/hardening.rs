//! Issue 22, the findings of an outside probe, one test each (named after the finding).

use crate::common::{Backend, METRICS_TOKEN, TestApp};
use crate::on_both_stores;

on_both_stores!(finding_2_metrics_grow_without_bound_and_publish_per_authority_figures);

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
