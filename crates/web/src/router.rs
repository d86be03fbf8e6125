//! The whole application as one router: the API with its OpenAPI document, the portal, the
//! login, the workspace, assets, health and metrics, under the layers every request passes
//! (session, rate limit, metrics, size limit, security headers, trace).

use crate::security::MAX_BODY_BYTES;
use crate::state::AppState;
use crate::{api, assets, auth, error, login, maengel, metrics, open311, operator, portal, security, siem, throttle, workspace};
use axum::Router;
use std::sync::Arc;

/// `GET /metrics` alone, for a listener of its own.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics::render_full)).with_state(state)
}

/// The application's router; `/metrics` on it only when `with_metrics` (otherwise it has a
/// listener of its own: [`metrics_router`]).
pub fn app_with(state: AppState, with_metrics: bool) -> Router {
    let csp = security::content_security_policy(&state.oidc.as_ref().map(|o| o.provider_origins()).unwrap_or_default());
    let (api_router, mut openapi) = api::router().split_for_parts();
    api::document_common_errors(&mut openapi);
    let openapi = Arc::new(openapi);
    let router = Router::new()
        .merge(api_router)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(portal::router())
        .merge(login::router())
        .merge(workspace::router())
        .merge(workspace::oversight_router())
        .merge(operator::router())
        .merge(open311::router())
        .merge(maengel::router())
        .merge(assets::router(&state.config.kern_dir))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readyz));
    let router = if with_metrics { router.route("/metrics", axum::routing::get(metrics::render_public)) } else { router };
    let router = router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), siem::record))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::load_session))
        .layer(axum::middleware::from_fn_with_state(state.clone(), throttle::rate_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn(security::refuse_oversized));
    security::with_headers(router, csp)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Only the route pattern: URLs may carry ids, and nothing personal goes to logs.
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".to_owned());
                tracing::info_span!("request", method = %req.method(), route = %route)
            }),
        )
        .with_state(state)
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match state.app.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Speicher nicht erreichbar").into_response()
        }
    }
}
