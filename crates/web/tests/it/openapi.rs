//! The OpenAPI document is generated from the handlers; this snapshot makes every change to the
//! API visible in review. Update with `AMTSWEG_UPDATE_SNAPSHOTS=1 cargo test -p amtsweg-web --test it openapi`.

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
    let pretty = serde_json::to_string_pretty(&spec).unwrap() + "\n";
    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var("AMTSWEG_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        std::fs::write(&snapshot, &pretty).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).expect("snapshot exists (create it with AMTSWEG_UPDATE_SNAPSHOTS=1)");
    assert!(expected == pretty, "the OpenAPI document changed; review and update the snapshot (AMTSWEG_UPDATE_SNAPSHOTS=1)");
}
