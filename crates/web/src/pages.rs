//! What every page shares: the layout context, rendering, the error pages, and the view models
//! of form fields and date formatting.

use crate::login::session::SessionContext;
use amtsweg_domain::Role;
use amtsweg_domain::form::format_date_german;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;

/// The parts of the layout every page fills.
pub struct Layout {
    pub title: String,
    pub user_name: Option<String>,
    pub is_citizen: bool,
    pub is_staff: bool,
    pub is_operator: bool,
    pub csrf: String,
}

impl Layout {
    pub fn new(title: impl Into<String>, session: Option<&SessionContext>) -> Self {
        Self {
            title: title.into(),
            user_name: session.map(|s| s.user.display_name.clone()),
            is_citizen: session.is_some_and(|s| s.user.role == Role::Citizen),
            is_staff: session.is_some_and(|s| s.user.role.is_staff()),
            is_operator: session.is_some_and(|s| s.user.role == Role::Operator),
            csrf: session.map(|s| s.session.csrf_token.clone()).unwrap_or_default(),
        }
    }
}

pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Interner Fehler").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "shared/error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
    /// A way on (address, label), besides the way home.
    link: Option<(String, String)>,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    error_page_with_link(status, message, None)
}

pub fn error_page_with_link(status: StatusCode, message: &str, link: Option<(String, String)>) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Seite nicht gefunden",
        StatusCode::FORBIDDEN => "Kein Zugriff",
        StatusCode::CONFLICT => "Nicht möglich",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "Angaben nicht verwendbar",
        StatusCode::TOO_MANY_REQUESTS => "Zu viele Anfragen",
        _ => "Ein Fehler ist aufgetreten",
    };
    render(
        status,
        &ErrorPage { layout: Layout::new(heading, None), heading: heading.into(), message: message.into(), link },
    )
}

/// The ids an input's `aria-describedby` names: its hint and its error, when shown.
pub fn described_by(id: &str, hint: bool, error: bool) -> String {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    if error {
        ids.push(format!("{id}-error"));
    }
    ids.join(" ")
}

/// A time as people in Germany read it: German local time (summer time included).
pub fn date_time(t: OffsetDateTime) -> String {
    let t = amtsweg_domain::local_time::berlin(t);
    format!("{}, {:02}:{:02} Uhr", format_date_german(t.date()), t.hour(), t.minute())
}

/// The German local date of an instant.
pub fn date(t: OffsetDateTime) -> String {
    format_date_german(amtsweg_domain::local_time::berlin(t).date())
}

/// Paragraphs of a description (separated by blank lines).
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()
}

/// The name/value pairs of a submitted HTML form, each cleaned as free text
/// (`amtsweg_domain::text`). A body that is too large or not a form gets a German error page
/// (not the framework's plain text).
pub struct PageForm(pub Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for PageForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(mut pairs)) => {
                for (name, value) in &mut pairs {
                    amtsweg_domain::text::clean_in_place(name);
                    amtsweg_domain::text::clean_in_place(value);
                }
                Ok(PageForm(pairs))
            }
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Die gesendeten Angaben sind zu umfangreich. Bitte kürzen Sie Ihre Eingaben und versuchen Sie es noch einmal.",
            )),
            Err(rejection) => Err(error_page(
                if rejection.status().is_client_error() { rejection.status() } else { StatusCode::BAD_REQUEST },
                "Die gesendeten Angaben konnten nicht gelesen werden. Bitte senden Sie das Formular erneut ab.",
            )),
        }
    }
}
