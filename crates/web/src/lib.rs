//! The web layer of amtsweg: the citizen portal, the caseworker workspace and the JSON API, on
//! one axum router over the application layer.
//!
//! - `portal/`: pages for citizens (services, application form, check your answers, receipt,
//!   my applications, mailbox, Datenschutzcockpit, assistant).
//! - `workspace/`: pages for staff (inbox, case file, decision).
//! - `api/`: JSON under `/api/v1/`, with the OpenAPI document generated from the handlers.
//! - `operator/`: pages for the platform operator under `/betrieb`, and the invitation page.
//! - `login/`: citizen login through OpenID Connect, staff password and one-time code, sessions.
//!
//! Every use case lives in the application layer (`amtsweg-app`); this crate only turns HTTP
//! into calls of its desks and their answers into pages and JSON.

mod api;
mod assets;
mod auth;
mod error;
mod forms;
mod login;
mod maengel;
mod marks;
mod metrics;
pub mod open311;
mod operator;
mod pages;
mod portal;
mod router;
mod security;
mod server;
mod siem;
mod state;
mod throttle;
mod workspace;

pub use login::oidc::{OidcLogin, OidcSettings};
pub use security::RateLimitSettings;
pub use server::Application;
pub use state::{AppState, WebConfig};

