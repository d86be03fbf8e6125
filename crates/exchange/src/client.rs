//! Asking a register node for evidence: a signed EDM request over HTTP POST, and a response
//! that must be signed by the pinned key of exactly that node and bound to exactly this request.

use crate::edm::{Kind, Summary, read_response};
use crate::seal::{BodyDigest, Identity, PinnedKeys, SealError, SealHeaders, digest};
use crate::write::{self, Request};
use std::time::Duration;

#[derive(Debug)]
pub enum Outcome {
    Evidence { media_type: String, document: Vec<u8>, summary: Summary },
    PreviewRequired { location: Option<String> },
    /// The node answered with an exception (not found, no explicit request, …).
    Refused { code: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the register node cannot be reached")]
    Unreachable,
    #[error("the register node did not answer in time")]
    Timeout,
    #[error("the register node refused the request (HTTP {0})")]
    Status(u16),
    #[error("the response is not trustworthy: {0}")]
    Seal(SealError),
    #[error("the response is malformed: {0}")]
    Malformed(String),
}

pub struct Peer<'a> {
    pub id: &'a str,
    pub url: &'a str,
}

/// A request written and hashed once: the bytes that are sent, and their digest, which the
/// request's seal covers, the response must be bound to, and the transfer log records.
pub struct Prepared<'r> {
    request: &'r Request,
    body: axum::body::Bytes,
    digest: BodyDigest,
}

impl Prepared<'_> {
    pub fn digest(&self) -> &BodyDigest {
        &self.digest
    }
}

pub fn prepare(request: &Request) -> Prepared<'_> {
    let body = axum::body::Bytes::from(write::request(request));
    let digest = digest(&body);
    Prepared { request, body, digest }
}

/// Writes, signs and sends `request`, and checks the answer.
pub async fn fetch(http: &reqwest::Client, me: &Identity, pinned: &PinnedKeys, peer: &Peer<'_>, request: &Request, timeout: Duration) -> Result<Outcome, FetchError> {
    send(http, me, pinned, peer, &prepare(request), timeout).await
}

/// Signs and sends a prepared request, and checks the answer.
pub async fn send(http: &reqwest::Client, me: &Identity, pinned: &PinnedKeys, peer: &Peer<'_>, prepared: &Prepared<'_>, timeout: Duration) -> Result<Outcome, FetchError> {
    let Prepared { request, body, digest: request_digest } = prepared;
    let mut call = http.post(peer.url).timeout(timeout).header("content-type", "application/xml; charset=utf-8").body(body.clone());
    for (name, value) in me.seal_request_digest(peer.id, request_digest).await {
        call = call.header(name, value);
    }
    let response = call.send().await.map_err(|e| if e.is_timeout() { FetchError::Timeout } else { FetchError::Unreachable })?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| if e.is_timeout() { FetchError::Timeout } else { FetchError::Unreachable })?;
    let seal = SealHeaders::read(|name| headers.get(name).and_then(|v| v.to_str().ok()));
    pinned.open_response_digest(peer.id, request_digest, &seal, &bytes).map_err(FetchError::Seal)?;
    let xml = std::str::from_utf8(&bytes).map_err(|_| FetchError::Malformed("kein UTF-8".into()))?;
    let (summary, document) = read_response(xml).map_err(|e| FetchError::Malformed(e.to_string()))?;
    if summary.request_id != request.id {
        return Err(FetchError::Malformed("die Antwort nennt eine andere Anfrage".into()));
    }
    match summary.kind {
        Kind::Exception => {
            let e = summary.exception.clone().unwrap_or_default();
            if e.preview_required {
                Ok(Outcome::PreviewRequired { location: e.preview_location })
            } else {
                Ok(Outcome::Refused { code: e.code, message: e.message })
            }
        }
        Kind::Response => {
            let (media_type, document) = document.ok_or_else(|| FetchError::Malformed("die Antwort enthält keinen Nachweis".into()))?;
            Ok(Outcome::Evidence { media_type, document, summary })
        }
        Kind::Request => Err(FetchError::Malformed("eine Anfrage statt einer Antwort".into())),
    }
}
