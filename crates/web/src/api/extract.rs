//! A JSON body extractor whose every rejection is a JSON error with a German message: syntax
//! errors 400, wrong types or missing fields 422, wrong content type 415, too large 413.

use crate::error::api_error;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's text names the field and the expected type, never the value sent.
            let detail = e.body_text();
            let detail = detail.rsplit_once(": ").map(|(_, d)| d.to_owned()).unwrap_or(detail);
            api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("Der Inhalt der Anfrage hat nicht die erwartete Form ({detail})."),
            )
        }
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
            format!("Die Anfrage ist zu groß (höchstens {} KiB).", crate::MAX_BODY_BYTES / 1024),
        ),
        other => api_error(other.status(), "bad_request", "Die Anfrage konnte nicht gelesen werden."),
    }
}

pub async fn api_not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", "Diese Adresse gibt es in der API nicht.")
}
