//! Errors answered over HTTP. The application layer's [`AppError`] is mapped here, once, to a
//! status code ([`status`]) and then to a JSON body for the API ([`ApiError`]) or an HTML page
//! for people ([`PageError`]).

pub use amtsweg_app::AppError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use amtsweg_domain::FieldError;

/// The status code of an error of the application layer.
pub fn status(e: &AppError) -> StatusCode {
    match e {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) | AppError::CsrfRefused(_) | AppError::LevelTooLow { .. } => StatusCode::FORBIDDEN,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Invalid(_) | AppError::NoResponsibleAuthority { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Unavailable(_) | AppError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        AppError::NotInRegister => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Untrustworthy => StatusCode::BAD_GATEWAY,
        AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON error body of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid`, `not_found`.
    pub error: String,
    /// What went wrong, in German.
    pub message: String,
    /// Per-field problems, when the input was invalid.
    pub fields: Vec<FieldError>,
}

/// An error answered as JSON.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    /// A response already made (e.g. by a body extractor).
    Response(Response),
}

#[allow(non_snake_case)]
pub fn ApiError(e: AppError) -> ApiError {
    ApiError::App(e)
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::App(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = match self {
            ApiError::App(e) => e,
            ApiError::Response(r) => return r,
        };
        e.log();
        let fields = match &e {
            AppError::Invalid(f) => f.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody { error: e.code().into(), message: e.message(), fields };
        let mut response = (status(&e), Json(body)).into_response();
        if matches!(e, AppError::Unauthenticated) {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        retry_after(&e, &mut response);
        mark_csrf(&e, &mut response);
        response
    }
}

/// A refused CSRF token is a security event.
fn mark_csrf(e: &AppError, response: &mut Response) {
    if matches!(e, AppError::CsrfRefused(_)) {
        crate::marks::mark(response, amtsweg_app::security::SecurityEvent::new(amtsweg_app::security::Action::CsrfRefused, false));
    }
}

fn retry_after(e: &AppError, response: &mut Response) {
    if let AppError::TooManyRequests { retry_after_secs } | AppError::Overloaded { retry_after_secs } = e {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_secs));
    }
}

/// A JSON error with its own status and message (for rejections of the framework).
pub fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = ErrorBody { error: code.into(), message: message.into(), fields: Vec::new() };
    (status, Json(body)).into_response()
}

/// An error answered as an HTML page with a way back.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        if matches!(e, AppError::Unauthenticated) {
            return axum::response::Redirect::to("/anmelden").into_response();
        }
        if let AppError::LevelTooLow { required, service } = &e {
            let link = (crate::login::paths::step_up_path(*required, &format!("/leistungen/{service}")), "Erneut anmelden".to_owned());
            return crate::pages::error_page_with_link(status(&e), &e.message(), Some(link));
        }
        let mut response = crate::pages::error_page(status(&e), &e.message());
        retry_after(&e, &mut response);
        mark_csrf(&e, &mut response);
        response
    }
}

/// The answer for an address nobody serves: JSON under `/api/`, a page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return api_error(StatusCode::NOT_FOUND, "not_found", "Diese Adresse gibt es in der API nicht.");
    }
    crate::pages::error_page(StatusCode::NOT_FOUND, "Die Seite, die Sie aufrufen wollten, gibt es nicht (mehr). Bitte prüfen Sie die Adresse.")
}

/// The answer for a method an address does not support: JSON under `/api/`, a page elsewhere.
pub async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    let message = "Diese Adresse unterstützt die verwendete HTTP-Methode nicht.";
    if uri.path().starts_with("/api/") {
        return api_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message);
    }
    crate::pages::error_page(StatusCode::METHOD_NOT_ALLOWED, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Too many waiting writes: 503 with `Retry-After`, a message that says the step is not saved.
    #[test]
    fn an_overloaded_store_is_answered_503_with_retry_after() {
        let e = AppError::from(amtsweg_store::StoreError::Overloaded);
        assert!(e.message().contains("noch nicht gespeichert"), "{}", e.message());
        let response = ApiError(e).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
    }
}
