//! A JSON body extractor whose every rejection is a JSON error with a German message: syntax
//! errors 400, wrong types or missing fields 422, wrong content type 415, too large 413. Every
//! string in the body (keys too, and `\u` escapes) is free text cleaned at this boundary
//! (`amtsweg_domain::text`: NFC, no bidi controls, no control characters but tab and line
//! breaks) before any use case sees it.

use crate::error::api_error;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(mut value)) => {
                clean_strings(&mut value);
                serde_path_to_error::deserialize::<_, T>(value).map(ApiJson).map_err(|e| data_error(&e.to_string()))
            }
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Cleans every string of a JSON value, object keys included.
pub fn clean_strings(value: &mut serde_json::Value) {
    use amtsweg_domain::text::{clean, clean_in_place};
    match value {
        serde_json::Value::String(s) => clean_in_place(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(clean_strings),
        serde_json::Value::Object(map) => {
            if map.keys().any(|k| matches!(clean(k), std::borrow::Cow::Owned(_))) {
                *map = std::mem::take(map).into_iter().map(|(k, v)| (clean(&k).into_owned(), v)).collect();
            }
            map.values_mut().for_each(clean_strings);
        }
        _ => {}
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection {
        JsonRejection::JsonDataError(e) => data_error(&e.body_text()),
        JsonRejection::JsonSyntaxError(_) => api_error(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Der Inhalt der Anfrage ist kein gültiges JSON.",
        ),
        JsonRejection::MissingJsonContentType(_) => api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Bitte senden Sie den Inhalt als JSON (Content-Type: application/json).",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Die Anfrage ist zu groß (höchstens {} KiB).", crate::security::MAX_BODY_BYTES / 1024),
        ),
        other => api_error(other.status(), "bad_request", "Die Anfrage konnte nicht gelesen werden."),
    }
}

/// A query string as the API reads it: one that does not parse is a JSON 400, like every other
/// error of the API (axum's own `Query` answers plain text).
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(_) => Err(api_error(StatusCode::BAD_REQUEST, "invalid_query", "Die Angaben in der Adresse (Query-Parameter) fehlen oder sind ungültig.")),
        }
    }
}

pub async fn api_not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", "Diese Adresse gibt es in der API nicht.")
}

/// Turns serde's description of a data error into a German message and a field error. serde
/// quotes the offending value ("invalid type: string `…`"), which may be personal data: only the
/// path and the kind of problem are kept.
fn data_error(text: &str) -> Response {
    let text = text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(text);
    let (path, detail) = match text.split_once(": ") {
        Some((p, d)) if !p.contains(' ') => (p.to_owned(), d),
        _ => (String::new(), text),
    };
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let (field, message) = if let Some(name) = detail.strip_prefix("missing field ").and_then(quoted) {
        (name.clone(), format!("Das Feld „{name}“ fehlt."))
    } else if let Some(name) = detail.strip_prefix("unknown field ").and_then(quoted) {
        (name.clone(), format!("Das Feld „{name}“ ist hier nicht vorgesehen."))
    } else if let Some((_, expected)) = detail.split_once("expected ") {
        let expected = expected.split(" at line").next().unwrap_or(expected);
        let expected = match expected {
            "a string" => "ein Text",
            "a boolean" => "true oder false",
            "a map" | "struct" => "ein JSON-Objekt",
            "a sequence" => "eine Liste",
            e if e.contains("integer") || e.contains("number") => "eine Zahl",
            _ => "ein anderer Typ",
        };
        (path.clone(), format!("Der Wert hat den falschen Typ (erwartet: {expected})."))
    } else {
        (path.clone(), "Der Wert kann nicht verwendet werden.".to_owned())
    };
    let mut body = crate::error::ErrorBody {
        error: "invalid_body".into(),
        message: "Der Inhalt der Anfrage hat nicht die erwartete Form.".into(),
        fields: Vec::new(),
    };
    body.fields.push(amtsweg_domain::FieldError::new(if field.is_empty() { "body".into() } else { field }, message));
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}
