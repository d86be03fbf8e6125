//! The metrics over HTTP: every request counted and timed by its route pattern, and
//! `GET /metrics` in the Prometheus text format.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Middleware: counts and times every request by its route pattern.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    state.app.metrics.http_request(method.as_str(), route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` on its own listener (`metrics_listen`, for the monitoring network): everything,
/// with the backlog per authority.
pub async fn render_full(State(state): State<AppState>) -> Response {
    render(&state, true).await
}

/// `GET /metrics` on the application's listener: with `metrics_token` configured only for that
/// bearer token (everything); without one, public, and then without the figures per authority.
pub async fn render_public(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(token) = state.metrics_token.as_deref() else { return render(&state, false).await };
    let sent = crate::auth::bearer_token(&headers).unwrap_or("");
    if !amtsweg_app::accounts::constant_time_eq(sent.as_bytes(), token.as_bytes()) {
        let mut response = (axum::http::StatusCode::UNAUTHORIZED, "Die Metriken brauchen das konfigurierte Token (Authorization: Bearer …).\n").into_response();
        response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        return response;
    }
    render(&state, true).await
}

/// The metrics; with `per_authority`, the backlog per authority (open and overdue cases) read
/// from the store at scrape time, so that every app node reports the same figures.
async fn render(state: &AppState, per_authority: bool) -> Response {
    let mut text = state.app.metrics.encode();
    if !per_authority {
        return ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response();
    }
    match state.app.store.backlog().await {
        Ok(rows) => {
            let eof = text.rfind("# EOF").unwrap_or(text.len());
            let mut extra = String::from("# HELP amtsweg_cases_open Cases submitted and not yet decided.\n# TYPE amtsweg_cases_open gauge\n");
            for (authority, open, _) in &rows {
                extra.push_str(&format!("amtsweg_cases_open{{authority=\"{authority}\"}} {open}\n"));
            }
            extra.push_str("# HELP amtsweg_cases_overdue Open cases past their deadline.\n# TYPE amtsweg_cases_overdue gauge\n");
            for (authority, _, overdue) in &rows {
                extra.push_str(&format!("amtsweg_cases_overdue{{authority=\"{authority}\"}} {overdue}\n"));
            }
            text.insert_str(eof, &extra);
        }
        Err(e) => tracing::warn!(error = %e, "backlog not read for metrics"),
    }
    match state.app.store.report_backlog(time::OffsetDateTime::now_utc()).await {
        Ok(rows) => {
            let eof = text.rfind("# EOF").unwrap_or(text.len());
            let mut extra = String::from("# HELP amtsweg_reports_open Reports of the Mängelmelder not yet closed.\n# TYPE amtsweg_reports_open gauge\n");
            for (authority, category, department, open, _) in &rows {
                extra.push_str(&format!("amtsweg_reports_open{{authority=\"{authority}\",category=\"{category}\",department=\"{department}\"}} {open}\n"));
            }
            extra.push_str("# HELP amtsweg_reports_overdue Open reports past their category's deadline.\n# TYPE amtsweg_reports_overdue gauge\n");
            for (authority, category, department, _, overdue) in &rows {
                extra.push_str(&format!("amtsweg_reports_overdue{{authority=\"{authority}\",category=\"{category}\",department=\"{department}\"}} {overdue}\n"));
            }
            text.insert_str(eof, &extra);
        }
        Err(e) => tracing::warn!(error = %e, "report backlog not read for metrics"),
    }
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
