//! The error of the application layer. One enum for what can go wrong in a use case; the web
//! crate maps it once to a status code and a JSON body or an HTML page. Causes are logged with
//! their chain; people only ever see the German [`AppError::message`].

use amtsweg_domain::FieldError;
use amtsweg_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden(&'static str),
    /// A form's CSRF token is missing or wrong (a security event).
    #[error("csrf token refused")]
    CsrfRefused(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("bad request")]
    BadRequest(String),
    #[error("conflict")]
    Conflict(String),
    /// No authority on the platform handles the service where the citizen lives: the service's
    /// name and the place's regional key, for the message to the citizen.
    #[error("no responsible authority")]
    NoResponsibleAuthority { service: String, region: String },
    /// The login's level of assurance is below what the service needs: log in again (step-up).
    #[error("level of assurance too low")]
    LevelTooLow { required: amtsweg_domain::AssuranceLevel, service: amtsweg_domain::ServiceId },
    /// Too many requests from this client (rate limit); retry after the seconds given.
    #[error("rate limited")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("register unavailable")]
    Unavailable(String),
    /// Too many writes wait already (launch-day overload): try again after the seconds given.
    #[error("overloaded")]
    Overloaded { retry_after_secs: u64 },
    #[error("not found in register")]
    NotInRegister,
    #[error("register answer untrustworthy")]
    Untrustworthy,
    #[error("store: {0}")]
    Store(StoreError),
    /// Another internal failure; the text is for the log (it never carries personal data).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Taken => AppError::Conflict("Der Vorgang ist bereits jemand anderem zugewiesen.".into()),
            StoreError::Answered => AppError::Conflict("Diese Rückfrage ist bereits beantwortet.".into()),
            StoreError::KeyReused => AppError::Conflict("Der Idempotenzschlüssel wurde bereits für ein anderes Ereignis verwendet.".into()),
            StoreError::PreviewSettled => AppError::Conflict("Über diesen Nachweis ist bereits entschieden.".into()),
            StoreError::Overloaded => AppError::Overloaded { retry_after_secs: 1 },
            StoreError::Conflict { current } => AppError::Conflict(format!(
                "Das ist im aktuellen Status des Antrags („{}“) nicht möglich.",
                current.label()
            )),
            other => AppError::Store(other),
        }
    }
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) | AppError::CsrfRefused(_) => "forbidden",
            AppError::LevelTooLow { .. } => "level_too_low",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Invalid(_) => "invalid",
            AppError::BadRequest(_) => "bad_request",
            AppError::Conflict(_) => "conflict",
            AppError::NoResponsibleAuthority { .. } => "no_responsible_authority",
            AppError::Unavailable(_) => "register_unavailable",
            AppError::Overloaded { .. } => "overloaded",
            AppError::NotInRegister => "not_found_in_register",
            AppError::Untrustworthy => "register_untrustworthy",
            AppError::Store(_) | AppError::Internal(_) => "internal",
        }
    }

    /// The German message for the person on the other end.
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound => "Die angeforderte Seite oder Ressource wurde nicht gefunden.".into(),
            AppError::Unauthenticated => "Bitte melden Sie sich an.".into(),
            AppError::Forbidden(why) | AppError::CsrfRefused(why) => (*why).into(),
            AppError::LevelTooLow { required, .. } => format!(
                "Für diese Leistung ist eine Anmeldung mit dem Vertrauensniveau „{}“ nötig{}. Bitte melden Sie sich dafür erneut an; Ihre Angaben bleiben erhalten.",
                required.as_str(),
                if *required == amtsweg_domain::AssuranceLevel::Hoch { ", zum Beispiel mit der Online-Ausweisfunktion Ihres Personalausweises" } else { "" }
            ),
            AppError::TooManyRequests { retry_after_secs } => format!(
                "Es kamen zu viele Anfragen in kurzer Zeit. Bitte versuchen Sie es in {retry_after_secs} Sekunden noch einmal."
            ),
            AppError::Overloaded { retry_after_secs } => format!(
                "Gerade stellen sehr viele Menschen gleichzeitig Anträge. Ihre Angaben aus diesem Schritt sind noch nicht gespeichert; bitte senden Sie sie in {retry_after_secs} Sekunde{} noch einmal.",
                if *retry_after_secs == 1 { "" } else { "n" }
            ),
            AppError::Invalid(_) => "Die Angaben sind unvollständig oder fehlerhaft. Bitte prüfen Sie die markierten Felder.".into(),
            AppError::BadRequest(m) | AppError::Conflict(m) | AppError::Unavailable(m) => m.clone(),
            AppError::NotInRegister => "Das Register kennt zu Ihren Angaben keinen solchen Nachweis. Bitte prüfen Sie Ihre Angaben oder laden Sie den Nachweis hoch.".into(),
            AppError::Untrustworthy => "Die Antwort des Registers war nicht vertrauenswürdig und wurde verworfen. Bitte versuchen Sie es später erneut oder laden Sie den Nachweis hoch.".into(),
            AppError::NoResponsibleAuthority { service, region } => format!(
                "Für „{service}“ ist an Ihrem Wohnort (Regionalschlüssel {region}) keine Behörde zuständig, die Anträge über amtsweg annimmt. Ihr Antrag bleibt als Entwurf gespeichert."
            ),
            AppError::Store(_) | AppError::Internal(_) => "Es ist ein technischer Fehler aufgetreten. Ihre Angaben sind nicht verloren; bitte versuchen Sie es später erneut.".into(),
        }
    }

    /// Logs the cause of an internal failure with its chain (never personal data: the store's
    /// errors carry no stored values, and internal texts are written for the log).
    pub fn log(&self) {
        if let AppError::Store(e) = self {
            // The store's errors never carry stored values; log the chain for operators.
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        if let AppError::Internal(e) = self {
            tracing::error!(error = %e, "request failed");
        }
    }
}

