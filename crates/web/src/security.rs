//! Security headers on every response, and rate limits per client.
//!
//! No page runs any script (the portal works without JavaScript altogether) and none has inline
//! style, so the policy allows no script at all (`script-src 'none'`): stricter than nonces. A
//! script added one day would need a per-response nonce in this policy.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The policy, with the login provider's origins added to `form-action`: the logout form's
/// answer sends the browser on to the provider, and browsers hold redirects after a form to
/// `form-action`.
pub fn content_security_policy(provider_origins: &[String]) -> HeaderValue {
    let allowed: Vec<&str> = provider_origins
        .iter()
        .map(String::as_str)
        .filter(|o| o.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b','))
        .collect();
    let policy = if allowed.is_empty() {
        CSP.to_owned()
    } else {
        CSP.replace("form-action 'self'", &format!("form-action 'self' {}", allowed.join(" ")))
    };
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(CSP))
}

/// The security headers of every response, as layers (`tower-http`): the policy, no sniffing,
/// no framing, no referrer to other sites, and `no-store` unless a handler allowed caching.
pub fn with_headers<S: Clone + Send + Sync + 'static>(router: axum::Router<S>, csp: HeaderValue) -> axum::Router<S> {
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // A page may ask for less (the invitation page: no referrer at all).
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, csp))
}

/// Largest FIM import (schema and code lists together) and responsibility file.
pub const MAX_FIM_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// Largest request body accepted anywhere (forms and JSON).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Bodies larger than this are not even drained: the connection is closed after the answer.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Refuses a request whose declared length is over the limit with a proper answer (JSON for the
/// API, a German page otherwise). The body is read and discarded first (up to a few MiB), so
/// that the client, still sending, receives the answer instead of a reset connection.
pub async fn refuse_oversized(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Evidence uploads, FIM schemas and responsibility imports may be larger than forms and JSON.
    let path = req.uri().path();
    let limit = if path == "/maengel/melden" {
        crate::maengel::MAX_REPORT_BYTES
    } else if path.ends_with("/evidence") || path.ends_with("/nachweise/hochladen") {
        amtsweg_app::uploads::MAX_UPLOAD_BYTES + 64 * 1024
    } else if path.ends_with("/services/fim") || path.ends_with("/leistungen/fim") || path.ends_with("/responsibilities/import") || path.ends_with("/zustaendigkeiten/import")
        || path == "/verwaltung/maengel/flaechen" || path == "/verwaltung/maengel/adressen"
    {
        MAX_FIM_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let Some(length) = declared.filter(|l| *l > limit) else {
        return next.run(req).await;
    };
    let is_api = req.uri().path().starts_with("/api/");
    let path_is_report = req.uri().path() == "/maengel/melden";
    // Photos from phones come large: a report's form is read further, so that the citizen sees
    // the German page instead of a reset connection.
    let drain = if path_is_report { 4 * DRAIN_LIMIT } else { DRAIN_LIMIT };
    if length <= drain {
        let _ = axum::body::to_bytes(req.into_body(), drain).await;
    }
    let message = if path_is_report {
        format!(
            "Die Fotos sind zusammen zu groß: höchstens {} Fotos mit je {} MB. Bitte verkleinern Sie die Fotos oder senden Sie weniger.",
            amtsweg_app::reports::MAX_PHOTOS,
            amtsweg_app::reports::MAX_PHOTO_BYTES / 1024 / 1024
        )
    } else {
        format!("Die Anfrage ist zu groß (höchstens {} KiB).", limit / 1024)
    };
    if is_api {
        crate::error::api_error(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    } else if path_is_report {
        crate::pages::error_page(axum::http::StatusCode::PAYLOAD_TOO_LARGE, &message)
    } else {
        crate::pages::error_page(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Die gesendeten Angaben sind zu umfangreich. Bitte kürzen Sie Ihre Eingaben und versuchen Sie es noch einmal.",
        )
    }
}

/// Requests per client (IP address) for the three kinds of request that are limited. Zero turns
/// a limit off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Logins (every step of every way in) per minute.
    pub login_per_minute: u32,
    /// Questions to the assistant per minute.
    pub assistant_per_minute: u32,
    /// API requests per second (bursts of five seconds' worth are allowed).
    pub api_per_second: u32,
    /// Reports sent from the Mängelmelder's form (and e-mail confirmations) per minute: each
    /// may make the city's relay send a mail.
    pub reports_per_minute: u32,
}

impl RateLimitSettings {
    pub const OFF: Self = Self { login_per_minute: 0, assistant_per_minute: 0, api_per_second: 0, reports_per_minute: 0 };
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self { login_per_minute: 30, assistant_per_minute: 30, api_per_second: 100, reports_per_minute: 10 }
    }
}

pub(crate) type Keyed = governor::RateLimiter<
    std::net::IpAddr,
    governor::state::keyed::DefaultKeyedStateStore<std::net::IpAddr>,
    governor::clock::DefaultClock,
>;

/// A limit per minute held in the database, so that it holds across every app node behind a
/// proxy: a client cannot double its login attempts by landing on two nodes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shared {
    /// `login` or `assistant`: part of the key.
    pub(crate) kind: &'static str,
    pub(crate) per_minute: u32,
}

/// Which limit a request counts against.
pub(crate) enum Limit<'a> {
    Shared(Shared),
    Local(&'a Keyed),
}

/// The limiters: logins and questions to the assistant in the database (GCRA, shared by the
/// nodes), API requests per second in this node's memory (`governor`: a write per API request
/// would cost more than it protects; behind a proxy the proxy caps the sum, see deploy/).
pub struct RateLimits {
    login: Option<Shared>,
    assistant: Option<Shared>,
    reports: Option<Shared>,
    api: Option<Keyed>,
    /// Map pictures (each may fetch tiles from the operator's tile server): in memory, a
    /// fixed allowance per client (a page view needs one).
    map: Keyed,
    /// Reverse proxies whose `X-Forwarded-For` is believed (behind TLS termination every
    /// request comes from the proxy).
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl RateLimits {

    pub fn new(settings: RateLimitSettings, trusted_proxies: Vec<ipnet::IpNet>) -> Self {
        use governor::Quota;
        use std::num::NonZeroU32;
        let shared = |kind, per_minute: u32| (per_minute > 0).then_some(Shared { kind, per_minute });
        Self {
            login: shared("login", settings.login_per_minute),
            assistant: shared("assistant", settings.assistant_per_minute),
            reports: shared("report", settings.reports_per_minute),
            map: Keyed::keyed(Quota::per_second(NonZeroU32::new(2).expect("two")).allow_burst(NonZeroU32::new(20).expect("twenty"))),
            api: NonZeroU32::new(settings.api_per_second).map(|n| {
                let burst = n.saturating_mul(NonZeroU32::new(5).expect("five"));
                Keyed::keyed(Quota::per_second(n).allow_burst(burst))
            }),
            trusted_proxies,
        }
    }

    /// The client a request counts for: the peer, or, when the peer is a trusted proxy, the
    /// nearest address in `X-Forwarded-For` that is not a trusted proxy itself (what is further
    /// left could be made up by the client).
    pub fn client_of(&self, peer: std::net::IpAddr, headers: &axum::http::HeaderMap) -> std::net::IpAddr {
        let trusted = |ip: &std::net::IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let entries: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
        // From the right: what the proxies appended. The first that is not a proxy is the
        // client; an entry that is no address ends the walk (it came from the client).
        for entry in entries.into_iter().rev() {
            match entry.trim().parse::<std::net::IpAddr>() {
                Ok(ip) if trusted(&ip) => continue,
                Ok(ip) => return ip,
                Err(_) => break,
            }
        }
        peer
    }

    /// Forgets clients that are back at a full allowance (keeps this node's memory bounded; the
    /// database's share is swept by the retention job).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.api {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.map.retain_recent();
        self.map.shrink_to_fit();
    }

    pub(crate) fn limit_for(&self, method: &axum::http::Method, path: &str) -> Option<Limit<'_>> {
        let login = path == "/anmelden" && method == axum::http::Method::POST || path.starts_with("/anmelden/");
        let assistant = path == "/api/v1/assistant/ask" || path.starts_with("/assistent");
        let report = method == axum::http::Method::POST && (path == "/maengel/melden" || path.starts_with("/maengel/bestaetigen/"));
        if login {
            self.login.map(Limit::Shared)
        } else if assistant {
            self.assistant.map(Limit::Shared)
        } else if report {
            self.reports.map(Limit::Shared)
        } else if path == "/maengel/karte.png" {
            Some(Limit::Local(&self.map))
        } else if path.starts_with("/api/") {
            self.api.as_ref().map(Limit::Local)
        } else {
            None
        }
    }
}
