//! The OpenAPI document is generated from the handlers; this snapshot (insta) makes every change
//! to the API visible in review. Update with `INSTA_UPDATE=always cargo test -p amtsweg-web --test
//! it openapi` (or `cargo insta review`), then read the diff.

use crate::common::{Backend, TestApp};

#[tokio::test]
async fn openapi_document_matches_snapshot_and_lists_the_api() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let spec: serde_json::Value = app.http.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    let paths = spec["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/services", "get"),
        ("/api/v1/services/{id}", "get"),
        ("/api/v1/applications", "get"),
        ("/api/v1/applications", "post"),
        ("/api/v1/applications/{id}", "get"),
        ("/api/v1/applications/{id}/data", "put"),
        ("/api/v1/applications/{id}/submit", "post"),
        ("/api/v1/applications/{id}/withdraw", "post"),
        ("/api/v1/cases", "get"),
        ("/api/v1/cases/{id}", "get"),
        ("/api/v1/cases/{id}/decision", "post"),
        ("/api/v1/mailbox", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing in OpenAPI");
    }
    insta::assert_json_snapshot!("openapi", spec);
}
