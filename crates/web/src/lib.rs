//! The web layer of amtsweg: the citizen portal, the caseworker workspace and the JSON API, on
//! one axum router over one [`Store`](amtsweg_store::Store).
//!
//! - `portal/`: pages for citizens (services, application form, check your answers, receipt,
//!   my applications, mailbox) and the demo login.
//! - `workspace/`: pages for staff (inbox, case file, decision).
//! - `api/`: JSON under `/api/v1/`, with the OpenAPI document generated from the handlers.
//! - `login/`: citizen login through OpenID Connect, staff password and one-time code, sessions.
//!
//! Every use case lives in the application layer (`amtsweg-app`); this crate only turns HTTP
//! into calls of its desks and their answers into pages and JSON.

mod api;
mod assets;
mod auth;
mod error;
mod forms;
mod login;
mod metrics;
mod pages;
mod portal;
mod security;
mod server;
mod workspace;

pub use login::oidc::{OidcLogin, OidcSettings};
pub use security::RateLimitSettings;
pub use server::Application;
use amtsweg_app::Platform;
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;

/// Largest request body accepted anywhere (forms and JSON).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Demo mode: the persona picker exists only here.
    pub demo: bool,
    /// Set the `Secure` flag on cookies (behind TLS).
    pub secure_cookies: bool,
    /// Where the KERN UX files (`@kern-ux/native/dist`) are.
    pub kern_dir: PathBuf,
}

#[derive(Clone)]
pub struct AppState {
    /// The application layer: every use case goes through it.
    pub app: Platform,
    pub config: Arc<WebConfig>,
    /// Citizen login through an OpenID Connect provider, when configured.
    pub oidc: Option<Arc<login::oidc::OidcLogin>>,
    /// Rate limits per client (off unless configured: `serve` turns them on).
    pub limits: Arc<security::RateLimits>,
}

impl AppState {
    pub fn new(app: Platform, config: WebConfig) -> Self {
        Self {
            app,
            config: Arc::new(config),
            oidc: None,
            limits: Arc::new(security::RateLimits::new(security::RateLimitSettings::OFF, Vec::new())),
        }
    }

    /// Rate limits per client; behind `trusted_proxies` the client is read from
    /// `X-Forwarded-For`.
    pub fn with_rate_limits(mut self, settings: security::RateLimitSettings, trusted_proxies: Vec<ipnet::IpNet>) -> Self {
        self.limits = Arc::new(security::RateLimits::new(settings, trusted_proxies));
        self
    }

    pub fn with_oidc(mut self, login: login::oidc::OidcLogin) -> Self {
        self.oidc = Some(Arc::new(login));
        self
    }
}

/// The whole application as one router, `/metrics` included.
pub fn app(state: AppState) -> Router {
    app_with(state, true)
}

/// `GET /metrics` alone, for a listener of its own.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", axum::routing::get(metrics::render)).with_state(state)
}

/// The application's router; `/metrics` on it only when `with_metrics`.
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
        .merge(assets::router(&state.config.kern_dir))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readyz));
    let router = if with_metrics { router.route("/metrics", axum::routing::get(metrics::render)) } else { router };
    let router = router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), login::session::load_session))
        .layer(axum::middleware::from_fn_with_state(state.limits.clone(), security::rate_limit))
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
