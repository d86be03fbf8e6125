//! Prometheus metrics: requests by method, route pattern and status, their durations, and the
//! business counters. Labels carry route patterns only, never ids or personal data.

use crate::AppState;
use amtsweg_domain::Outcome;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

type DurationFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
    submissions: Counter,
    decisions: Family<OutcomeLabels, Counter>,
    automated: Counter,
    lead_times: Family<ModeLabels, Histogram, fn() -> Histogram>,
    assistant: Family<OutcomeLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: String,
}

fn lead_time_histogram() -> Histogram {
    // One second to about four months.
    Histogram::new(exponential_buckets(1.0, 4.0, 13))
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("amtsweg");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        let submissions = Counter::default();
        let decisions = Family::<OutcomeLabels, Counter>::default();
        let automated = Counter::default();
        let lead_times: Family<ModeLabels, Histogram, fn() -> Histogram> = Family::new_with_constructor(lead_time_histogram);
        registry.register("decisions_automated", "Decisions issued by the rules alone (§ 35a VwVfG)", automated.clone());
        registry.register("decision_lead_time_seconds", "Time from submission to decision, by mode", lead_times.clone());
        registry.register("http_requests", "HTTP requests by route pattern and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request duration", durations.clone());
        registry.register("applications_submitted", "Applications submitted", submissions.clone());
        registry.register("decisions", "Decisions issued", decisions.clone());
        let assistant = Family::<OutcomeLabels, Counter>::default();
        registry.register("assistant_questions", "Questions to the assistant, by whether it answered or declined", assistant.clone());
        Self { registry, requests, durations, submissions, decisions, automated, lead_times, assistant }
    }

    pub fn assistant_question(&self, answered: bool) {
        let outcome = if answered { "answered" } else { "declined" };
        self.assistant.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
    }

    pub fn submission(&self) {
        self.submissions.inc();
    }

    pub fn decision(&self, outcome: Outcome) {
        self.decisions.get_or_create(&OutcomeLabels { outcome: outcome.as_str().to_owned() }).inc();
    }

    pub fn automated_decision(&self) {
        self.automated.inc();
    }

    pub fn lead_time(&self, automated: bool, seconds: f64) {
        let mode = if automated { "automated" } else { "manual" };
        self.lead_times.get_or_create(&ModeLabels { mode: mode.into() }).observe(seconds);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts and times every request by its route pattern.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let m = &state.metrics;
    m.requests.get_or_create(&RequestLabels { method, route: route.clone(), status: response.status().as_u16() }).inc();
    m.durations.get_or_create(&RouteLabels { route }).observe(started.elapsed().as_secs_f64());
    response
}

/// The metrics, with the backlog per authority (open and overdue cases) read from the store at
/// scrape time, so that every app node reports the same figures.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.encode();
    match state.store.backlog().await {
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
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}
