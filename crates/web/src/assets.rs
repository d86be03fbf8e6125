//! Static files: the KERN UX design system from its npm package (`@kern-ux/native/dist`, found
//! at the configured folder) and our own small stylesheet, compiled in.

use crate::state::AppState;
use axum::Router;
use axum::http::header;
use axum::routing::get;
use std::path::Path;

const APP_CSS: &str = include_str!("../assets/app.css");

pub fn router(kern_dir: &Path) -> Router<AppState> {
    if !kern_dir.join("kern.min.css").exists() {
        tracing::warn!(path = %kern_dir.display(), "KERN UX not found: pages are served without the design system (run `npm ci`)");
    }
    Router::new()
        .route(
            "/static/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], APP_CSS) }),
        )
        .nest_service("/static/kern", tower_http::services::ServeDir::new(kern_dir))
}
