//! What every handler gets: the application layer, the web configuration, the login provider
//! and the rate limits.

use crate::login::oidc::OidcLogin;
use crate::security::{RateLimitSettings, RateLimits};
use amtsweg_app::Platform;
use std::path::PathBuf;
use std::sync::Arc;

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
    pub oidc: Option<Arc<OidcLogin>>,
    /// Rate limits per client (off unless configured: `serve` turns them on).
    pub limits: Arc<RateLimits>,
    /// The bearer token `/metrics` on the application's listener asks for (with the figures per
    /// authority); unset: public, without them.
    pub metrics_token: Option<Arc<String>>,
    /// Issues and checks the login forms' tokens (before a session exists).
    pub form_tokens: Arc<crate::login::form_token::FormTokens>,
}

impl AppState {
    pub fn new(app: Platform, config: WebConfig) -> Self {
        Self {
            app,
            config: Arc::new(config),
            oidc: None,
            limits: Arc::new(RateLimits::new(RateLimitSettings::OFF, Vec::new())),
            metrics_token: None,
            form_tokens: Arc::new(crate::login::form_token::FormTokens::random()),
        }
    }

    /// The login forms' tokens signed with a key from a secret every node has (the upload key),
    /// so that a login page from one node is accepted by another.
    pub fn with_form_secret(mut self, secret: &[u8]) -> Self {
        self.form_tokens = Arc::new(crate::login::form_token::FormTokens::from_secret(secret));
        self
    }

    /// The invitation link, on this server as the browser (or API client) reached it: its `Host`
    /// (checked), `https` behind TLS (`secure_cookies`).
    pub fn invitation_link(&self, headers: &axum::http::HeaderMap, invitation: &amtsweg_app::operator::Invitation) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
            .unwrap_or("localhost");
        let scheme = if self.config.secure_cookies { "https" } else { "http" };
        format!("{scheme}://{host}{}", invitation.path)
    }

    /// `/metrics` on the application's listener only for this bearer token.
    pub fn with_metrics_token(mut self, token: impl Into<String>) -> Self {
        self.metrics_token = Some(Arc::new(token.into())).filter(|t| !t.is_empty());
        self
    }

    /// Rate limits per client; behind `trusted_proxies` the client is read from
    /// `X-Forwarded-For`.
    pub fn with_rate_limits(mut self, settings: RateLimitSettings, trusted_proxies: Vec<ipnet::IpNet>) -> Self {
        self.limits = Arc::new(RateLimits::new(settings, trusted_proxies));
        self
    }

    pub fn with_oidc(mut self, login: OidcLogin) -> Self {
        self.oidc = Some(Arc::new(login));
        self
    }
}

