//! Security events from HTTP: a handler (or an error) marks its response with the events it
//! knows of (a login and its failure, a lockout, a refused CSRF token); this middleware adds
//! what the answer itself says (access denied, a change by the operator or an admin), fills in
//! the route pattern, the method, who asked and a hash of the client's address, and records
//! them. It sits inside the session middleware, so that it sees who is logged in.

use crate::login::session::SessionContext;
use crate::state::AppState;
use amtsweg_app::security::{Action, SecurityEvent};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

use crate::marks::SecurityMark;

/// Routes whose successful changes are the operator's or a service admin's.
fn configuration_route(path: &str) -> bool {
    ["/api/v1/platform/", "/betrieb", "/api/v1/admin/", "/verwaltung"].iter().any(|p| path.starts_with(p))
}

pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Every request passes here: only cheap clones before the answer (reference counts, the
    // header's bytes); the hash and the user's look-up only when there is something to record.
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let session = req.extensions().get::<Arc<SessionContext>>().cloned();
    let authorization = req.headers().get(axum::http::header::AUTHORIZATION).cloned();
    let bearer = authorization.as_ref().and_then(crate::auth::bearer_of);
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let client_ip = peer.map(|p| state.limits.client_of(p, req.headers()));
    let mut response = next.run(req).await;
    let mut events = response.extensions_mut().remove::<SecurityMark>().map(|m| m.0).unwrap_or_default();
    let status = response.status();
    let path = route.as_ref().map_or("", MatchedPath::as_str);
    let authenticated = session.is_some() || bearer.is_some();
    let client = || client_ip.map(|ip| state.app.security.client_hash(&ip));
    let already = |events: &[SecurityEvent], action| events.iter().any(|e| e.action == action);
    // What the answer says, once per client, reason and route a minute (a flood of refusals
    // is not a flood of writes).
    let mut denied = None;
    if authenticated && !already(&events, Action::CsrfRefused) {
        if status == StatusCode::FORBIDDEN {
            denied = Some("role");
        } else if status == StatusCode::NOT_FOUND && path.contains('{') {
            denied = Some("not-found-or-foreign");
        }
    }
    if status == StatusCode::UNAUTHORIZED && bearer.is_some() && path.starts_with("/api/") {
        denied = Some("invalid-token");
    }
    if let Some(reason) = denied {
        let key = format!("denied:{reason}:{path}:{}", client().as_deref().unwrap_or("-"));
        if state.app.security.first_this_minute(key) {
            events.push(SecurityEvent::new(Action::AccessDenied, false).reason(reason));
        }
    }
    let changed = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) && (status.is_success() || status.is_redirection());
    if changed && configuration_route(path) {
        events.push(SecurityEvent::new(Action::ConfigurationChange, true));
    }
    if events.is_empty() {
        return response;
    }
    // Who asked: the session's user, or (looked up only now, when there is something to record)
    // the token's.
    let user = match (session, bearer) {
        (Some(session), _) => Some(session.user.clone()),
        (None, Some(token)) if status != StatusCode::UNAUTHORIZED => state.app.accounts().user_by_token(token).await.ok().flatten(),
        _ => None,
    };
    let client = client();
    for mut event in events {
        if event.user.is_none() {
            if let Some(user) = &user {
                event = event.by(user);
            }
        }
        event.route = event.route.or_else(|| route.as_ref().map(|r| r.as_str().to_owned()));
        event.method.get_or_insert_with(|| method.to_string());
        event.client = event.client.or_else(|| client.clone());
        state.app.record_security(event).await;
    }
    response
}
