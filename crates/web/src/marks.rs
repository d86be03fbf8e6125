//! The security events a handler or an error attaches to its response, for `siem.rs` to record:
//! a leaf that everything answering a request may use.

use amtsweg_app::security::SecurityEvent;
use axum::response::Response;

/// Events a handler or an error attached to its response.
#[derive(Clone, Default)]
pub struct SecurityMark(pub Vec<SecurityEvent>);

/// Attaches an event to a response.
pub fn mark(response: &mut Response, event: SecurityEvent) {
    match response.extensions_mut().get_mut::<SecurityMark>() {
        Some(mark) => mark.0.push(event),
        None => {
            response.extensions_mut().insert(SecurityMark(vec![event]));
        }
    }
}
