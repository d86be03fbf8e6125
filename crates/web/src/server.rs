//! Start-up: the application binds its listeners, tells their addresses, and runs until told to
//! stop, with the background worker of the application layer beside it (started and stopped
//! with the server).

use crate::state::AppState;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The platform, bound and ready to run.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    worker: bool,
}

impl Application {
    /// Binds the listeners: the app on `listen`, the metrics on `metrics_listen` when given
    /// (then `/metrics` is only served there).
    /// A failure names the address that could not be bound.
    pub async fn build(state: AppState, listen: &str, metrics_listen: Option<&str>) -> std::io::Result<Self> {
        let bind = |addr: &str| {
            let addr = addr.to_owned();
            async move { TcpListener::bind(&addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}"))) }
        };
        let listener = bind(listen).await?;
        let metrics = match metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Self { state, listener, metrics, worker: true })
    }

    /// The application on a listener bound beforehand (tests: port 0).
    pub fn on(state: AppState, listener: TcpListener) -> Self {
        Self { state, listener, metrics: None, worker: true }
    }

    /// Without the background worker: nothing runs unless asked (tests drain the jobs
    /// themselves, so that no worker races them).
    pub fn without_worker(mut self) -> Self {
        self.worker = false;
        self
    }

    /// Where the app listens.
    pub fn address(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Where the metrics listen, when on their own listener.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// Serves until `shutdown` completes; then stops taking connections, lets running requests
    /// finish, stops the background worker (a job under way ends first) and returns.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Self { state, listener, metrics, worker } = self;
        let worker = worker.then(|| amtsweg_app::jobs::worker::Worker::start(state.app.clone()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let limits = state.limits.clone();
        let mut forget = stopped.clone();
        let forgetter = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = every.tick() => limits.forget_idle(),
                    _ = forget.changed() => break,
                }
            }
        });
        // The catalog's service descriptions into this node's knowledge base: at once when it
        // is full text only (well under a second), in the background when passages are embedded.
        let app = state.app.clone();
        let sync = async move {
            if let Err(e) = app.index_catalog().await {
                tracing::warn!(error = e.code(), "the catalog could not be indexed for the assistant");
            }
        };
        if state.app.assistant.assistant.embedder().is_some() {
            tokio::spawn(sync);
        } else {
            sync.await;
        }
        if let Some(oidc) = &state.oidc {
            oidc.warm_up().await;
        }
        let metrics_server = metrics.map(|listener| {
            let router = crate::router::metrics_router(state.clone());
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.changed().await;
                    })
                    .await
            })
        });
        let router = crate::router::app_with(state, metrics_server.is_none());
        let result = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        let _ = forgetter.await;
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        if let Some(worker) = worker {
            worker.stop().await;
        }
        result
    }
}
