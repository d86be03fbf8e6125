//! A register node over HTTP: `POST /edm` takes a signed EDM evidence request and answers a
//! signed EDM response bound to it (or an `rs:Exception`); `POST /plain` answers the same
//! question as unsigned JSON (the benchmark's baseline); `GET /healthz`.
//!
//! Nothing personal is logged: only the outcome and the requester's id.

use crate::edm::{Kind as MessageKind, inspect};
use crate::register::Register;
use crate::seal::{Identity, PinnedKeys, SealHeaders, digest};
use crate::write::{self, ErrorResponse, EvidenceTypeRef, NOT_FOUND, Party, Response, Subject};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use std::sync::Arc;

pub struct Node {
    pub register: Register,
    pub identity: Identity,
    pub peers: PinnedKeys,
    /// The key date for enrolment (`YYYY-MM-DD`).
    pub key_date: String,
    /// Whether the person must preview the evidence before it is given (`EDM:ERR:0002`).
    pub preview: bool,
    /// Open previews: location → (IdNr, evidence type).
    pub previews: std::sync::Mutex<std::collections::HashMap<String, (String, String)>>,
    /// Wait this long before answering (to rehearse a slow register).
    pub delay: std::time::Duration,
}

impl Node {
    pub fn new(register: Register, identity: Identity, peers: PinnedKeys, key_date: String, preview: bool) -> Self {
        Self { register, identity, peers, key_date, preview, previews: Default::default(), delay: std::time::Duration::ZERO }
    }

    /// Answers only after `delay` (to rehearse timeouts against a slow register).
    pub fn with_delay(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Node {
    fn party(&self) -> Party {
        Party { id: self.identity.id.clone(), scheme: "urn:amtsweg:register".into(), name: self.register.kind.label().into() }
    }
}

pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/edm", post(edm))
        .route("/plain", post(plain))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .with_state(node)
}

fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn refuse(status: StatusCode, message: &str) -> HttpResponse {
    (status, [("content-type", "text/plain; charset=utf-8")], message.to_owned()).into_response()
}

async fn edm(State(node): State<Arc<Node>>, headers: HeaderMap, body: Bytes) -> HttpResponse {
    if !node.delay.is_zero() {
        tokio::time::sleep(node.delay).await;
    }
    let seal = SealHeaders::read(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    // Hashed once: for checking the request's seal and for binding the response to it.
    let request_digest = digest(&body);
    let requester = match node.peers.open_request_digest(&node.identity.id, &seal, &request_digest) {
        Ok(peer) => peer,
        Err(e) => {
            tracing::warn!(reason = %e, "refused an evidence request");
            return refuse(StatusCode::UNAUTHORIZED, "Die Anfrage ist nicht gültig signiert.");
        }
    };
    let Ok(xml) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "Die Anfrage ist kein UTF-8.");
    };
    let summary = match inspect(xml) {
        Ok(s) if s.kind == MessageKind::Request => s,
        Ok(_) => return refuse(StatusCode::BAD_REQUEST, "Erwartet wird eine EDM-Anfrage (query:QueryRequest)."),
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("Die Anfrage ist fehlerhaft: {e}")),
    };
    let requester_party = summary.requester.clone().map(|a| Party { id: a.id, scheme: a.scheme, name: a.name }).unwrap_or(Party {
        id: requester.clone(),
        scheme: "urn:amtsweg:authority".into(),
        name: requester.clone(),
    });
    let person = summary.person.clone().unwrap_or_default();
    let evidence_type = summary.evidence_type.clone().unwrap_or_default();
    let error = |code: &str, ty: &str, message: &str, preview_location: Option<String>| {
        write::error(&ErrorResponse {
            request_id: summary.request_id.clone(),
            response_id: uuid::Uuid::new_v4().to_string(),
            issued: now(),
            provider: node.party(),
            requester: requester_party.clone(),
            code: code.into(),
            exception_type: ty.into(),
            message: message.into(),
            detail: String::new(),
            preview_location,
        })
    };
    // A preview is owed when the node asks for one and this is not the request after it.
    let preview_done = summary.preview_location.as_ref().is_some_and(|location| {
        let open = node.previews.lock().expect("not poisoned").remove(location);
        open.is_some_and(|(idnr, ty)| idnr == person.identifier && ty == evidence_type.id)
    });
    let found = node.register.evidence(&person.identifier, &person.family_name, &person.date_of_birth, &node.key_date);
    let answer = if summary.explicit_request != Some(true) {
        tracing::info!(%requester, outcome = "no_explicit_request", "evidence request");
        error("EDM:ERR:0001", "rs:AuthorizationExceptionType", "Die Anfrage beruht nicht auf einer ausdrücklichen Anfrage der Person.", None)
    } else if evidence_type.id != node.register.kind.evidence_type() {
        tracing::info!(%requester, outcome = "unknown_evidence_type", "evidence request");
        error(NOT_FOUND, "rs:ObjectNotFoundExceptionType", "Diesen Nachweistyp führt das Register nicht.", None)
    } else if node.preview && !preview_done && found.is_some() {
        let location = format!("urn:amtsweg:preview:{}", uuid::Uuid::new_v4());
        node.previews.lock().expect("not poisoned").insert(location.clone(), (person.identifier.clone(), evidence_type.id.clone()));
        tracing::info!(%requester, outcome = "preview_required", "evidence request");
        error(write::PREVIEW_REQUIRED, "rs:AuthorizationExceptionType", "Vorschau erforderlich: Die Person muss den Nachweis sehen, bevor er übermittelt wird.", Some(location))
    } else {
        match found {
            None => {
                tracing::info!(%requester, outcome = "not_found", "evidence request");
                error(NOT_FOUND, "rs:ObjectNotFoundExceptionType", "Zu dieser Person ist im Register nichts verzeichnet.", None)
            }
            Some(document) => {
                tracing::info!(%requester, outcome = "evidence", "evidence request");
                write::response(&Response {
                    request_id: summary.request_id.clone(),
                    response_id: uuid::Uuid::new_v4().to_string(),
                    issued: now(),
                    provider: node.party(),
                    requester: requester_party.clone(),
                    evidence_id: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                    evidence_type: EvidenceTypeRef { id: evidence_type.id.clone(), classification: evidence_type.classification.clone(), title: evidence_type.title.clone() },
                    subject: Subject {
                        identifier: person.identifier.clone(),
                        scheme: person.scheme.clone(),
                        family_name: person.family_name.clone(),
                        given_name: person.given_name.clone(),
                        date_of_birth: person.date_of_birth.clone(),
                        level_of_assurance: person.level_of_assurance.clone(),
                    },
                    issuing_date: now().chars().take(10).collect(),
                    document: serde_json::to_vec(&document).expect("JSON"),
                    media_type: "application/json".into(),
                })
            }
        }
    };
    let signed = node.identity.seal_response(&request_digest, answer.as_bytes()).await;
    let mut response = (StatusCode::OK, [("content-type", "application/xml; charset=utf-8")], answer).into_response();
    for (name, value) in signed {
        if let Ok(v) = value.parse() {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

#[derive(serde::Deserialize)]
struct PlainQuery {
    idnr: String,
    family_name: String,
    date_of_birth: String,
}

/// The same question as unsigned JSON: the baseline the benchmark compares the exchange with.
async fn plain(State(node): State<Arc<Node>>, axum::Json(q): axum::Json<PlainQuery>) -> HttpResponse {
    match node.register.evidence(&q.idnr, &q.family_name, &q.date_of_birth, &node.key_date) {
        Some(doc) => axum::Json(doc).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
