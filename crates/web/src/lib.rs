//! The web layer of amtsweg: the citizen portal, the caseworker workspace and the JSON API, on
//! one axum router over one [`Store`](amtsweg_store::Store).
//!
//! - `portal/`: pages for citizens (services, application form, check your answers, receipt,
//!   my applications, mailbox) and the demo login.
//! - `workspace/`: pages for staff (inbox, case file, decision).
//! - `api/`: JSON under `/api/v1/`, with the OpenAPI document generated from the handlers.
//! - `applying.rs` and `deciding.rs`: the use cases that pages and API share.

pub mod api;
mod applying;
mod assets;
pub mod bescheid;
pub mod casework;
pub mod auth;
pub mod catalog;
pub mod assistant;
mod deciding;
pub mod evidence;
pub mod demo;
pub mod error;
mod forms;
pub mod memo;
pub use amtsweg_assist::model;
pub mod oidc;
pub mod oversight;
pub mod metrics;
mod pages;
mod portal;
pub mod ledger;
pub mod retention;
pub mod security;
pub mod staff_login;
pub mod uploads;
mod workspace;

use amtsweg_store::DynStore;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

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
    pub store: DynStore,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<metrics::Metrics>,
    /// The connection to the registers, when configured.
    pub exchange: Option<Arc<evidence::Exchange>>,
    /// The key uploaded documents are encrypted with.
    pub upload_key: Arc<uploads::UploadKey>,
    /// The ledger's signing key (checkpoints).
    pub ledger_key: Arc<amtsweg_ledger::LogKey>,
    /// Shares checkpoints between concurrent requests for receipts.
    pub checkpointer: Arc<ledger::Checkpointer>,
    /// A self-hosted language model, only when the admin configured one.
    pub model: Option<Arc<model::ModelClient>>,
    /// The citizen assistant and its knowledge base.
    pub assistant: assistant::AssistantState,
    /// Citizen login through an OpenID Connect provider, when configured.
    pub oidc: Option<Arc<oidc::OidcLogin>>,
    /// Rate limits per client (off unless configured: `serve` turns them on).
    pub limits: Arc<security::RateLimits>,
}

impl AppState {
    pub fn new(store: DynStore, config: WebConfig) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source");
        let ledger_key = amtsweg_ledger::LogKey::from_seed("amtsweg.invalid/ledger", seed).expect("a valid origin");
        Self {
            store,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::new()),
            exchange: None,
            upload_key: Arc::new(uploads::UploadKey::random()),
            ledger_key: Arc::new(ledger_key),
            checkpointer: Arc::default(),
            model: None,
            assistant: assistant::AssistantState::default(),
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

    pub fn with_oidc(mut self, login: oidc::OidcLogin) -> Self {
        self.oidc = Some(Arc::new(login));
        self
    }

    /// The assistant over a knowledge base (kept in `dir` when given).
    pub fn with_assistant(mut self, assistant: amtsweg_assist::Assistant, dir: Option<PathBuf>) -> Self {
        self.assistant = assistant::AssistantState { assistant: Arc::new(assistant), dir };
        self
    }

    pub fn with_model(mut self, model: model::ModelClient) -> Self {
        self.model = Some(Arc::new(model));
        self
    }

    /// The ledger's key (a random one otherwise: checkpoints then cannot be checked after a restart).
    pub fn with_ledger_key(mut self, key: amtsweg_ledger::LogKey) -> Self {
        self.ledger_key = Arc::new(key);
        self
    }

    pub fn with_upload_key(mut self, key: uploads::UploadKey) -> Self {
        self.upload_key = Arc::new(key);
        self
    }

    pub fn with_exchange(mut self, exchange: evidence::Exchange) -> Self {
        self.exchange = Some(Arc::new(exchange));
        self
    }
}

/// The whole application as one router.
pub fn app(state: AppState) -> Router {
    let csp = security::content_security_policy(&state.oidc.as_ref().map(|o| o.provider_origins()).unwrap_or_default());
    let (api_router, mut openapi) = api::router().split_for_parts();
    api::document_common_errors(&mut openapi);
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api_router)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(portal::router())
        .merge(workspace::router())
        .merge(workspace::oversight_router())
        .merge(assets::router(&state.config.kern_dir))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics::render))
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::load_session))
        .layer(axum::middleware::from_fn_with_state(state.limits.clone(), security::rate_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn(security::refuse_oversized))
        .layer(axum::middleware::from_fn_with_state(csp, security::headers))
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
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "Speicher nicht erreichbar").into_response()
        }
    }
}

/// Serves the app on `listener` until `shutdown` completes; returns once connections drained.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    retention::spawn(state.store.clone());
    ledger::spawn(state.store.clone(), state.ledger_key.clone(), std::time::Duration::from_secs(10));
    casework::spawn(state.clone());
    let limits = state.limits.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.forget_idle();
        }
    });
    // The catalog's service descriptions into the assistant's knowledge base: at once when it
    // is full text only (well under a second), in the background when passages are embedded.
    let (store, assistant) = (state.store.clone(), state.assistant.clone());
    let sync = async move {
        if let Err(e) = assistant::sync_catalog(&store, &assistant).await {
            tracing::warn!(error = %e, "the catalog could not be indexed for the assistant");
        }
    };
    if state.assistant.assistant.embedder().is_some() {
        tokio::spawn(sync);
    } else {
        sync.await;
    }
    if let Some(oidc) = &state.oidc {
        oidc.warm_up().await;
    }
    let router = app(state);
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
