//! The JSON API under `/api/v1/`. Every handler is annotated for OpenAPI, and the document at
//! `/api/openapi.json` is generated from the same router that serves the requests.

mod applications;
mod assistant;
mod cases;
mod evidence;
mod extract;
mod ledger;
mod mailbox;
pub mod procedures;
mod oversight;
mod platform;
mod services;

use crate::state::AppState;
use crate::error::ErrorBody;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::{ApiJson, ApiQuery};
pub use cases::{case_filter, file_response, pdf_response};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "amtsweg API",
        description = "Anträge stellen, Vorgänge entscheiden, Bescheide zustellen. Fehler antworten mit `{error, message, fields}`; `message` ist deutsch.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2")
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "services", description = "Leistungen und ihre Formulare"),
        (name = "applications", description = "Anträge der angemeldeten Bürgerin oder des angemeldeten Bürgers"),
        (name = "cases", description = "Vorgänge der eigenen Behörde"),
        (name = "mailbox", description = "Postfach"),
        (name = "privacy", description = "Datenschutz: Übermittlungen und Protokoll der eigenen Behörde, ohne Inhalte"),
        (name = "admin", description = "Fachadministration: Entscheidungsregeln, API-Clients"),
        (name = "platform", description = "Plattformbetrieb: Behörden, Zuständigkeiten, Leistungen aus FIM-Schemata, Mitarbeitende"),
        (name = "procedures", description = "Schnittstelle für Fachverfahren einer Behörde: Client-Credentials, neue Anträge abholen, Statusmeldungen"),
        (name = "assistant", description = "Assistent: Fragen beantworten aus den Texten der Verwaltung, mit Quellen; unbeantwortete Fragen an die zuständige Behörde"),
        (name = "ledger", description = "Das fälschungssichere Protokoll: Checkpoints, Schlüssel, Beweise (öffentlich)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Documents the answers every operation can give before its handler runs: 400 for a body that
/// is not JSON or a query string that does not parse, and for operations with a body 413 (too
/// large) and 415 (not JSON); for operations with a token 401 and 403 (each role meets the
/// others' routes), and for paths with an id 404. Called on the document after the routes are
/// collected.
pub fn document_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let error = |description: &str| -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build()
            .into()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        for operation in [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut operation.responses.responses;
            responses.entry("400".into()).or_insert_with(|| error("Die Anfrage ist fehlerhaft (kein gültiges JSON oder ungültige Angaben in der Adresse)."));
            if secured {
                responses.entry("401".into()).or_insert_with(|| error("Kein gültiges Token."));
                responses.entry("403".into()).or_insert_with(|| error("Diese Rolle darf das nicht."));
            }
            if path.contains('{') {
                responses.entry("404".into()).or_insert_with(|| error("Nicht gefunden (oder nicht Ihres)."));
            }
            // Every API route is rate-limited per client (`Retry-After` says when to retry).
            responses.entry("429".into()).or_insert_with(|| error("Zu viele Anfragen von diesem Client; bitte nach der in Retry-After genannten Zeit erneut versuchen."));
            if operation.request_body.is_some() {
                responses.entry("413".into()).or_insert_with(|| error("Die Anfrage ist zu groß."));
                responses.entry("415".into()).or_insert_with(|| error("Der Inhalt hat nicht den erwarteten Typ."));
            }
        }
    }
}

use crate::security::MAX_FIM_UPLOAD_BYTES;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(services::list))
        .routes(routes!(services::show))
        .routes(routes!(applications::list, applications::create))
        .routes(routes!(applications::show))
        .routes(routes!(applications::put_data))
        .routes(routes!(applications::submit))
        .routes(routes!(applications::withdraw))
        .routes(routes!(applications::receipts))
        .routes({
            // Uploads may be larger than the other bodies.
            let (schemas, paths, method_router) = routes!(evidence::fetch, evidence::list);
            let limit = axum::extract::DefaultBodyLimit::max(amtsweg_app::uploads::MAX_UPLOAD_BYTES + 64 * 1024);
            (schemas, paths, method_router.layer(limit))
        })
        .routes(routes!(evidence::transfers))
        .routes(routes!(evidence::transfer_receipt))
        .routes(routes!(evidence::accept))
        .routes(routes!(evidence::discard))
        .routes(routes!(cases::list))
        .routes(routes!(cases::show))
        .routes(routes!(cases::decide))
        .routes(routes!(cases::claim))
        .routes(routes!(cases::release))
        .routes(routes!(cases::assign))
        .routes(routes!(cases::ask))
        .routes(routes!(cases::memo_draft))
        .routes(routes!(cases::save_memo))
        .routes(routes!(cases::bescheid))
        .routes(routes!(cases::uploaded))
        .routes(routes!(cases::lead_times))
        .routes(routes!(mailbox::list))
        .routes(routes!(mailbox::document))
        .routes(routes!(mailbox::answer))
        .routes(routes!(oversight::transfers))
        .routes(routes!(oversight::audit))
        .routes(routes!(oversight::services))
        .routes(routes!(oversight::set_rules))
        .routes(routes!(oversight::clients, oversight::create_client))
        .routes(routes!(oversight::revoke_client))
        .routes(routes!(platform::authorities, platform::create_authority))
        .routes(routes!(platform::authority, platform::edit_authority))
        .routes(routes!(platform::responsibilities, platform::add_responsibility))
        .routes({
            let (schemas, paths, method_router) = routes!(platform::import_responsibilities);
            (schemas, paths, method_router.layer(axum::extract::DefaultBodyLimit::max(MAX_FIM_UPLOAD_BYTES)))
        })
        .routes(routes!(platform::resolve))
        .routes({
            // Schemas and code lists may be larger than the other bodies.
            let (schemas, paths, method_router) = routes!(platform::import_fim);
            (schemas, paths, method_router.layer(axum::extract::DefaultBodyLimit::max(MAX_FIM_UPLOAD_BYTES)))
        })
        .routes(routes!(platform::edit_service))
        .routes(routes!(platform::staff, platform::invite))
        .routes(routes!(platform::issue_token))
        .routes(routes!(platform::deactivate))
        .routes(routes!(platform::reset))
        .routes(routes!(platform::security_events))
        .routes(routes!(procedures::token))
        .routes(routes!(procedures::submissions))
        .routes(routes!(procedures::submission))
        .routes(routes!(procedures::event))
        .routes(routes!(assistant::ask))
        .routes(routes!(assistant::handover))
        .routes(routes!(assistant::inquiries))
        .routes(routes!(assistant::answer_inquiry))
        .routes(routes!(ledger::checkpoint))
        .routes(routes!(ledger::key))
        .routes(routes!(ledger::inclusion))
        .routes(routes!(ledger::consistency))
        .fallback(extract::api_not_found)
}

/// Parses an id from a URL; anything that is not a well-formed id is simply not found.
fn parse_id<T>(raw: &str, parse: fn(&str) -> Option<T>) -> Result<T, crate::error::ApiError> {
    parse(raw).ok_or(crate::error::ApiError(crate::error::AppError::NotFound))
}
