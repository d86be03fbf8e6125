//! Prometheus metrics: the business counters (submissions, decisions, automated decisions,
//! lead times, assistant questions) and the request counters that the web layer feeds. Labels
//! carry route patterns and outcomes only, never ids or personal data.

use amtsweg_domain::Outcome;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    jobs: Family<JobLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: String,
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
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register("jobs", "Background jobs this process ran, by kind and outcome", jobs.clone());
        Self { registry, requests, durations, submissions, decisions, automated, lead_times, assistant, jobs }
    }

    pub fn assistant_question(&self, answered: bool) {
        let outcome = if answered { "answered" } else { "declined" };
        self.assistant.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
    }

    /// A background job ran (`kind` is one of the fixed job kinds).
    pub fn job(&self, kind: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.jobs.get_or_create(&JobLabels { kind: kind.into(), outcome: outcome.into() }).inc();
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

    /// One HTTP request answered (labels: the route pattern, never the path with its ids).
    pub fn http_request(&self, method: &str, route: String, status: u16, seconds: f64) {
        let method = known_method(method).to_owned();
        self.requests.get_or_create(&RequestLabels { method, route: route.clone(), status }).inc();
        self.durations.get_or_create(&RouteLabels { route }).observe(seconds);
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// A label from a closed set: any other method a client makes up is `other` (a new label value
/// per made-up method would grow the metrics without bound).
pub fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

