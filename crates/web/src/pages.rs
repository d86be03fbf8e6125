//! What every page shares: the layout context, rendering, the error pages, and the view models
//! of form fields and date formatting.

use crate::auth::{MaybeSession, SessionContext};
use amtsweg_domain::form::{DataType, Field, format_date_german};
use amtsweg_domain::{FieldError, FormData, FormModel, Role};
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
    pub csrf: String,
}

impl Layout {
    pub fn new(title: impl Into<String>, session: Option<&SessionContext>) -> Self {
        Self {
            title: title.into(),
            user_name: session.map(|s| s.user.display_name.clone()),
            is_citizen: session.is_some_and(|s| s.user.role == Role::Citizen),
            is_staff: session.is_some_and(|s| s.user.role.is_staff()),
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
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Seite nicht gefunden",
        StatusCode::FORBIDDEN => "Kein Zugriff",
        StatusCode::CONFLICT => "Nicht möglich",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "Angaben nicht verwendbar",
        _ => "Ein Fehler ist aufgetreten",
    };
    render(
        status,
        &ErrorPage { layout: Layout::new(heading, None), heading: heading.into(), message: message.into() },
    )
}

pub async fn not_found(uri: axum::http::Uri, MaybeSession(_): MaybeSession) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::error::api_error(StatusCode::NOT_FOUND, "not_found", "Diese Adresse gibt es in der API nicht.");
    }
    error_page(StatusCode::NOT_FOUND, "Die Seite, die Sie aufrufen wollten, gibt es nicht (mehr). Bitte prüfen Sie die Adresse.")
}

pub fn date_time(t: OffsetDateTime) -> String {
    // Shown in German local time is a later step (time zone data); UTC is labelled as such.
    format!("{}, {:02}:{:02} Uhr (UTC)", format_date_german(t.date()), t.hour(), t.minute())
}

pub fn date(t: OffsetDateTime) -> String {
    format_date_german(t.date())
}

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One form field as the template draws it.
pub struct FieldView {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    /// `text`, `textarea`, `date`, `checkbox`, `select`, `number`.
    pub kind: &'static str,
    pub input_mode: &'static str,
    pub value: String,
    pub checked: bool,
    pub required: bool,
    pub error: Option<String>,
    pub options: Vec<ChoiceView>,
    pub autocomplete: String,
    pub max_length: Option<usize>,
}

impl FieldView {
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

pub struct GroupView {
    pub title: String,
    pub hint: Option<String>,
    pub fields: Vec<FieldView>,
}

fn kind(field: &Field) -> (&'static str, &'static str) {
    match field.data_type {
        DataType::Text => ("text", ""),
        DataType::LongText => ("textarea", ""),
        DataType::Date => ("date", ""),
        DataType::Bool => ("checkbox", ""),
        DataType::Select => ("select", ""),
        DataType::Integer => ("number", "numeric"),
        DataType::Number => ("number", "decimal"),
    }
}

/// The groups of a form, with the values to show: what was typed (`raw`, after an error) or
/// what is stored (`data`).
pub fn form_view(
    form: &FormModel,
    data: &FormData,
    raw: Option<&[(String, String)]>,
    errors: &[FieldError],
) -> Vec<GroupView> {
    form.groups
        .iter()
        .map(|g| GroupView {
            title: g.title.clone(),
            hint: g.hint.clone(),
            fields: g
                .fields
                .iter()
                .map(|f| {
                    let value = match raw {
                        Some(raw) => raw.iter().rev().find(|(k, _)| k == &f.id).map(|(_, v)| v.clone()).unwrap_or_default(),
                        None => data.get(&f.id).map(|v| f.input_value(v)).unwrap_or_default(),
                    };
                    let (kind, input_mode) = kind(f);
                    FieldView {
                        id: f.id.clone(),
                        label: f.label.clone(),
                        hint: f.hint.clone().or_else(|| {
                            (f.data_type == DataType::Date)
                                .then(|| "Bitte im Format TT.MM.JJJJ, zum Beispiel 01.03.2027.".to_owned())
                        }),
                        kind,
                        input_mode,
                        checked: matches!(value.as_str(), "true" | "on"),
                        options: f
                            .options
                            .iter()
                            .map(|c| ChoiceView { value: c.value.clone(), label: c.label.clone(), selected: c.value == value })
                            .collect(),
                        value,
                        required: f.required,
                        error: errors.iter().find(|e| e.field == f.id).map(|e| e.message.clone()),
                        autocomplete: f.autocomplete.clone().unwrap_or_default(),
                        max_length: f.constraints.max_length,
                    }
                })
                .collect(),
        })
        .collect()
}

/// One answer on a check-your-answers or case page.
pub struct AnswerView {
    pub id: String,
    pub label: String,
    pub value: String,
}

pub fn answers(form: &FormModel, data: &FormData) -> Vec<AnswerView> {
    form.fields()
        .map(|f| AnswerView {
            id: f.id.clone(),
            label: f.label.clone(),
            value: data.get(&f.id).map(|v| f.display_value(v)).filter(|s| !s.is_empty()).unwrap_or_else(|| "keine Angabe".into()),
        })
        .collect()
}

/// Paragraphs of a description (separated by blank lines).
pub fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()
}

/// The name/value pairs of a submitted HTML form. A body that is too large or not a form gets
/// a German error page (not the framework's plain text).
pub struct PageForm(pub Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for PageForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(axum::Form(pairs)) => Ok(PageForm(pairs)),
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
