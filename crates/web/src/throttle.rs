//! The rate-limit middleware: each request counted against its limit (logins and the assistant
//! in the database, shared by the nodes; the API in this node's memory), 429 with `Retry-After`
//! over it, and one security event per client and kind a minute.

use crate::security::{Limit, Shared};
use crate::state::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Counts a request against a shared limit: `Some(seconds)` to wait when over it. A database
/// that cannot be asked lets the request through (the login itself then fails on it anyway).
async fn over_shared_limit(app: &amtsweg_app::Platform, limit: Shared, client: std::net::IpAddr) -> Option<u64> {
    let store = &app.store;
    // The address is personal data: only a keyed hash of it is kept, and only as long as it counts.
    let key = format!("{}:{}", limit.kind, app.security.client_hash(&client));
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let interval_ms = 60_000 / i64::from(limit.per_minute.max(1));
    match store.take_allowance(&key, now_ms, interval_ms.max(1), i64::from(limit.per_minute)).await {
        Ok(Ok(())) => None,
        Ok(Err(wait_ms)) => Some((wait_ms as u64).div_ceil(1000).max(1)),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit not checked: the database did not answer");
            None
        }
    }
}

/// Middleware: 429 with `Retry-After` when a client is over its limit (JSON for the API, a
/// German page otherwise).
pub async fn rate_limit(axum::extract::State(state): axum::extract::State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.limits;
    // An IPv6 client is its /64: one host can have as many addresses in it as it likes.
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let client = peer.map(|peer| limits.client_of(peer, req.headers())).map(|ip| match ip {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1)))
        }
        std::net::IpAddr::V6(v6) => std::net::IpAddr::V4(v6.to_ipv4_mapped().expect("checked")),
        v4 => v4,
    });
    let (Some(client), Some(limit)) = (client, limits.limit_for(req.method(), req.uri().path())) else {
        return next.run(req).await;
    };
    let retry_after_secs = match limit {
        Limit::Shared(shared) => match over_shared_limit(&state.app, shared, client).await {
            None => return next.run(req).await,
            Some(secs) => secs,
        },
        Limit::Local(limiter) => {
            let Err(not_until) = limiter.check_key(&client) else {
                return next.run(req).await;
            };
            use governor::clock::Clock;
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        }
    };
    tracing::warn!(route = %req.uri().path().split('/').take(4).collect::<Vec<_>>().join("/"), "rate limit reached");
    // One event per client and kind of limit a minute: a flood of refusals is not a flood of writes.
    let kind = match &limit {
        Limit::Shared(shared) => shared.kind,
        Limit::Local(_) => "api",
    };
    if state.app.security.first_this_minute(format!("rate:{kind}:{client}")) {
        let mut event = amtsweg_app::security::SecurityEvent::new(amtsweg_app::security::Action::RateLimited, false).reason(kind);
        event.route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned()).or_else(|| Some(kind.to_owned()));
        event.method = Some(req.method().to_string());
        event.client = Some(state.app.security.client_hash(&client));
        state.app.record_security(event).await;
    }
    let error = crate::error::AppError::TooManyRequests { retry_after_secs: retry_after_secs.max(1) };
    if req.uri().path().starts_with("/api/") {
        axum::response::IntoResponse::into_response(crate::error::ApiError(error))
    } else {
        axum::response::IntoResponse::into_response(crate::error::PageError(error))
    }
}
