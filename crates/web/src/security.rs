//! Security headers on every response. No page has inline script or style, so the policy needs
//! no nonces; the portal works without JavaScript altogether.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

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
    // Evidence uploads may be larger than forms and JSON.
    let limit = if req.uri().path().ends_with("/evidence") || req.uri().path().ends_with("/nachweise/hochladen") {
        crate::uploads::MAX_UPLOAD_BYTES + 64 * 1024
    } else {
        crate::MAX_BODY_BYTES
    };
    let Some(length) = declared.filter(|l| *l > limit) else {
        return next.run(req).await;
    };
    let is_api = req.uri().path().starts_with("/api/");
    if length <= DRAIN_LIMIT {
        let _ = axum::body::to_bytes(req.into_body(), DRAIN_LIMIT).await;
    }
    let message = format!("Die Anfrage ist zu groß (höchstens {} KiB).", crate::MAX_BODY_BYTES / 1024);
    if is_api {
        crate::error::api_error(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    } else {
        crate::pages::error_page(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Die gesendeten Angaben sind zu umfangreich. Bitte kürzen Sie Ihre Eingaben und versuchen Sie es noch einmal.",
        )
    }
}
