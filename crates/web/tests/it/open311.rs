//! The Open311 GeoReport v2 server: one test per obligation of the spec text
//! (`GeoReport/v2/index.md` of open311/open311.github.io; the list with quotes is in
//! `docs/open311-research.md`), each on SQLite and on PostgreSQL. The tests share one app per
//! backend with the demo's Mängelmelder (Leipzig and Halle, synthetic reports), started once
//! on a runtime of its own; tests that post create their own reports and look only at those.

use crate::common::{Backend, TestApp};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The shared app of one backend.
pub struct Shared {
    pub base: String,
    pub api_key: String,
    pub api_key_halle: String,
    pub http: reqwest::Client,
    /// The app's store, and the runtime it lives on (for the few reads past the API).
    pub store: amtsweg_store::DynStore,
    pub runtime: tokio::runtime::Handle,
}

/// Reports the shared apps start with.
const SEEDED: usize = 120;

fn shared(backend: Backend) -> Option<&'static Shared> {
    static SQLITE: OnceLock<Option<Shared>> = OnceLock::new();
    static POSTGRES: OnceLock<Option<Shared>> = OnceLock::new();
    let cell = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    cell.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let Some(app) = TestApp::start(backend).await else {
                    tx.send(None).unwrap();
                    return;
                };
                let app = app.with_maengel(SEEDED).await;
                let open311 = app.tokens.open311.clone().unwrap();
                tx.send(Some(Shared {
                    base: app.base.clone(),
                    api_key: open311.api_key,
                    api_key_halle: open311.api_key_halle,
                    // No pooled connections: each test runs on a runtime of its own, and a connection
                    // kept from one that ended is dead.
                    http: reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap(),
                    store: app.store.clone(),
                    runtime: tokio::runtime::Handle::current(),
                }))
                .unwrap();
                // Serves until the test process ends.
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
    .as_ref()
}

macro_rules! spec_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = tokio::task::spawn_blocking(|| super::shared(crate::common::Backend::Sqlite)).await.unwrap();
                    super::$name(app.unwrap()).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = tokio::task::spawn_blocking(|| super::shared(crate::common::Backend::Postgres)).await.unwrap() else {
                        eprintln!("skipped on PostgreSQL: AMTSWEG_TEST_POSTGRES_URL is not set (it is mandatory with CI=true)");
                        return;
                    };
                    super::$name(app).await
                }
            }
        )*
    };
}

spec_tests!(
    discovery_is_served_as_xml_and_json,
    discovery_has_all_required_fields,
    discovery_formats_match_served_formats,
    datetimes_always_include_timezone,
    responses_are_utf8_with_charset_header,
    utf8_input_round_trips,
    xml_has_declaration_with_utf8_encoding,
    every_resource_is_served_as_xml,
    format_is_chosen_by_extension,
    unknown_extension_is_404,
    content_type_headers_match_spec,
    xml_has_no_namespace,
    json_and_xml_carry_same_content,
    jurisdiction_id_is_required_with_several_jurisdictions,
    empty_parameter_equals_absent_parameter,
    services_lists_all_service_types,
    service_has_all_spec_fields,
    service_metadata_and_type_use_spec_values,
    services_unknown_jurisdiction_is_404,
    services_missing_jurisdiction_is_400,
    definition_exists_for_every_metadata_true_service,
    definition_echoes_service_code,
    attribute_has_all_spec_fields,
    attribute_order_is_positive_and_unique,
    attribute_datatype_in_spec_enum,
    list_attributes_have_values,
    definition_unknown_service_code_is_404,
    definition_missing_service_code_is_400,
    post_accepts_form_urlencoded,
    post_without_api_key_is_403,
    post_with_invalid_api_key_is_403,
    post_with_another_authoritys_key_is_403,
    post_missing_service_code_is_400,
    post_unknown_service_code_is_404,
    post_without_location_is_400,
    post_lat_without_long_is_400,
    post_accepts_each_location_form,
    post_parses_attribute_array_syntax,
    post_missing_required_attribute_is_400,
    post_multivaluelist_accepts_repeated_values,
    post_stores_optional_fields,
    post_description_over_4000_chars_is_400,
    post_outside_every_area_is_400_in_german,
    post_returns_service_request_id,
    post_returns_id_xor_token,
    token_resolves_to_service_request_id,
    unknown_token_is_404,
    errors_use_spec_shape_in_xml_and_json,
    error_http_status_follows_spec,
    error_description_names_offending_parameter,
    requests_by_ids_overrides_other_filters,
    requests_filter_by_service_codes,
    requests_filter_by_requested_datetime_range,
    requests_invalid_date_is_400,
    requests_range_over_90_days_is_rejected,
    requests_default_range_is_90_days,
    requests_default_limit_is_1000,
    requests_filter_by_status,
    request_has_all_spec_fields,
    request_status_is_open_or_closed,
    closed_request_updated_datetime_is_close_time,
    request_address_specific_to_general,
    requests_jurisdiction_errors,
    requests_pagination_page_and_page_size,
    single_request_is_list_of_one,
    single_request_unknown_id_is_404,
    no_personal_field_in_any_public_response,
    service_request_updates_list_status_changes,
    service_request_update_post_is_idempotent,
);

// --- helpers ------------------------------------------------------------------------------------

struct Got {
    status: u16,
    content_type: String,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn get(app: &Shared, path: &str) -> Got {
    let r = app.http.get(format!("{}/open311/v2/{path}", app.base)).send().await.unwrap();
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    Got { status, content_type, body: r.text().await.unwrap() }
}

async fn post(app: &Shared, path: &str, form: &[(&str, &str)]) -> Got {
    let body = serde_urlencoded::to_string(form).unwrap();
    let r = app
        .http
        .post(format!("{}/open311/v2/{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    Got { status, content_type, body: r.text().await.unwrap() }
}

const J: &str = "jurisdiction_id=leipzig";

/// A point in Leipzig-Mitte.
const LAT: &str = "51.3400";
const LONG: &str = "12.3750";

/// Posts a pothole report in Leipzig with `extra` fields; returns the answer.
async fn post_report(app: &Shared, extra: &[(&str, &str)]) -> Got {
    let mut form = vec![("api_key", app.api_key.as_str()), ("jurisdiction_id", "leipzig"), ("service_code", "schlagloch"), ("attribute[groesse]", "mittel")];
    if !extra.iter().any(|(k, _)| *k == "lat" || *k == "address_string" || *k == "address_id" || *k == "long") {
        form.extend([("lat", LAT), ("long", LONG)]);
    }
    form.extend_from_slice(extra);
    post(app, "requests.json", &form).await
}

async fn new_id(app: &Shared, extra: &[(&str, &str)]) -> String {
    let got = post_report(app, extra).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()[0]["service_request_id"].as_str().unwrap().to_owned()
}

/// The names of list elements and their items (the Spark convention).
const LISTS: &[&str] = &["services", "service_requests", "attributes", "values", "errors", "endpoints", "formats", "service_request_updates"];

/// Reads XML back into JSON by the Spark convention: list elements become arrays, empty
/// elements `null`, every other leaf its text.
fn xml_to_json(xml: &str) -> Value {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    // (name, children as (name, value), text)
    let mut stack: Vec<(String, Vec<(String, Value)>, String)> = vec![("#root".into(), vec![], String::new())];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push((String::from_utf8(e.name().as_ref().to_vec()).unwrap(), vec![], String::new())),
            Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let value = if LISTS.contains(&name.as_str()) { json!([]) } else { Value::Null };
                stack.last_mut().unwrap().1.push((name, value));
            }
            Event::Text(t) => stack.last_mut().unwrap().2.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                let entity = String::from_utf8(r.to_vec()).unwrap();
                let c = match entity.as_str() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("entity {other}"),
                };
                stack.last_mut().unwrap().2.push_str(c);
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().unwrap();
                let value = if LISTS.contains(&name.as_str()) {
                    Value::Array(children.into_iter().map(|(_, v)| v).collect())
                } else if children.is_empty() {
                    if text.is_empty() { Value::Null } else { Value::String(text) }
                } else {
                    Value::Object(children.into_iter().collect())
                };
                stack.last_mut().unwrap().1.push((name, value));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().unwrap().1.pop().unwrap().1
}

/// JSON with every scalar as the text XML would carry.
fn as_text(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(as_text).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
        other => other.clone(),
    }
}

/// Every datetime field of a JSON answer.
fn datetimes(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k.ends_with("datetime") || k == "changeset" {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    datetimes(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| datetimes(v, out)),
        _ => {}
    }
}

/// The resources a client reads, with the query each needs.
async fn readable(app: &Shared) -> Vec<String> {
    let first = get(app, &format!("requests.json?{J}")).await.json()[0]["service_request_id"].as_str().unwrap().to_owned();
    vec![
        "discovery".into(),
        format!("services.{{}}?{J}"),
        format!("services/schlagloch.{{}}?{J}"),
        format!("services/graffiti.{{}}?{J}"),
        format!("requests.{{}}?{J}"),
        format!("requests/{first}.{{}}?{J}"),
        format!("servicerequestupdates.{{}}?{J}&start_date=2020-01-01T00:00:00Z"),
        format!("services/gibt-es-nicht.{{}}?{J}"),
        "services.{}".into(),
    ]
}

fn with_format(template: &str, format: &str) -> String {
    if template.contains("{}") { template.replace("{}", format) } else { format!("{template}.{format}") }
}

// --- general --------------------------------------------------------------------------------------

async fn discovery_is_served_as_xml_and_json(app: &Shared) {
    assert_eq!(get(app, "discovery.xml").await.status, 200);
    assert_eq!(get(app, "discovery.json").await.status, 200);
}

async fn discovery_has_all_required_fields(app: &Shared) {
    let d = get(app, "discovery.json").await.json();
    for field in ["changeset", "contact", "key_service", "endpoints"] {
        assert!(d[field].is_string() || d[field].is_array(), "{field}: {d}");
    }
    let e = &d["endpoints"][0];
    assert_eq!(e["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert!(e["url"].as_str().unwrap().ends_with("/open311/v2/"), "{e}");
    assert!(["production", "test"].contains(&e["type"].as_str().unwrap()));
    assert!(e["changeset"].is_string());
}

async fn discovery_formats_match_served_formats(app: &Shared) {
    let d = get(app, "discovery.json").await.json();
    let formats: Vec<&str> = d["endpoints"][0]["formats"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(formats, ["text/xml", "application/json"]);
    assert!(get(app, &format!("services.xml?{J}")).await.content_type.starts_with("text/xml"));
    assert!(get(app, &format!("services.json?{J}")).await.content_type.starts_with("application/json"));
}

async fn datetimes_always_include_timezone(app: &Shared) {
    let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$").unwrap();
    let mut all = Vec::new();
    for template in readable(app).await {
        datetimes(&get(app, &with_format(&template, "json")).await.json(), &mut all);
    }
    assert!(all.len() > 20, "{all:?}");
    for t in all {
        assert!(re.is_match(&t), "{t}");
    }
}

async fn responses_are_utf8_with_charset_header(app: &Shared) {
    for template in readable(app).await {
        for format in ["xml", "json"] {
            let got = get(app, &with_format(&template, format)).await;
            assert!(got.content_type.ends_with("; charset=utf-8"), "{template}: {}", got.content_type);
        }
    }
    // The categories carry umlauts: they arrive intact.
    assert!(get(app, &format!("services.json?{J}")).await.body.contains("Müllablagerung"));
}

async fn utf8_input_round_trips(app: &Shared) {
    let text = "Straße ä ö ü ß – „Loch“\nzweite Zeile";
    let id = new_id(app, &[("description", text)]).await;
    let json = get(app, &format!("requests/{id}.json?{J}")).await.json();
    assert_eq!(json[0]["description"], text);
    let xml = xml_to_json(&get(app, &format!("requests/{id}.xml?{J}")).await.body);
    assert_eq!(xml[0]["description"], text);
}

async fn xml_has_declaration_with_utf8_encoding(app: &Shared) {
    for template in readable(app).await {
        let got = get(app, &with_format(&template, "xml")).await;
        assert!(got.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{template}: {}", got.body);
    }
}

async fn every_resource_is_served_as_xml(app: &Shared) {
    for template in readable(app).await {
        let got = get(app, &with_format(&template, "xml")).await;
        assert!(got.content_type.starts_with("text/xml"), "{template}");
        xml_to_json(&got.body);
    }
    let posted = post(app, "requests.xml", &[("service_code", "schlagloch")]).await;
    assert_eq!(posted.status, 403);
    assert!(posted.body.contains("<errors><error><code>403</code>"), "{}", posted.body);
}

async fn format_is_chosen_by_extension(app: &Shared) {
    let r = app.http.get(format!("{}/open311/v2/services.xml?{J}", app.base)).header("accept", "application/json").send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    let r = app.http.get(format!("{}/open311/v2/services.json?{J}", app.base)).header("accept", "text/xml").send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
}

async fn unknown_extension_is_404(app: &Shared) {
    for path in [format!("services.html?{J}"), format!("services?{J}"), "discovery.yaml".into(), format!("requests/1.csv?{J}")] {
        assert_eq!(get(app, &path).await.status, 404, "{path}");
    }
}

async fn content_type_headers_match_spec(app: &Shared) {
    assert_eq!(get(app, &format!("services.xml?{J}")).await.content_type, "text/xml; charset=utf-8");
    assert_eq!(get(app, &format!("services.json?{J}")).await.content_type, "application/json; charset=utf-8");
    assert_eq!(get(app, "services.json").await.content_type, "application/json; charset=utf-8", "errors too");
}

async fn xml_has_no_namespace(app: &Shared) {
    for template in readable(app).await {
        assert!(!get(app, &with_format(&template, "xml")).await.body.contains("xmlns"), "{template}");
    }
}

async fn json_and_xml_carry_same_content(app: &Shared) {
    let mut templates = readable(app).await;
    let id = new_id(app, &[]).await;
    let token = token_of(app, &id).await;
    templates.push(format!("tokens/{token}.{{}}?{J}"));
    templates.push(format!("tokens/{}.{{}}?{J}", "0".repeat(32)));
    for template in templates {
        let json = get(app, &with_format(&template, "json")).await;
        let xml = get(app, &with_format(&template, "xml")).await;
        assert_eq!(json.status, xml.status, "{template}");
        assert_eq!(xml_to_json(&xml.body), as_text(&json.json()), "{template}");
    }
    // A post answers alike in both forms (apart from the new id).
    let a = post_report(app, &[]).await.json();
    let mut form = vec![("api_key", app.api_key.as_str()), ("jurisdiction_id", "leipzig"), ("service_code", "schlagloch"), ("attribute[groesse]", "mittel")];
    form.extend([("lat", LAT), ("long", LONG)]);
    let b = xml_to_json(&post(app, "requests.xml", &form).await.body);
    assert_eq!(a[0]["service_notice"], b[0]["service_notice"]);
    assert_eq!(a[0].as_object().unwrap().keys().collect::<Vec<_>>(), b[0].as_object().unwrap().keys().collect::<Vec<_>>());
}

async fn jurisdiction_id_is_required_with_several_jurisdictions(app: &Shared) {
    // The demo serves Leipzig and Halle: without jurisdiction_id the server cannot choose.
    assert_eq!(get(app, "services.json").await.status, 400);
    let halle = get(app, "services.json?jurisdiction_id=halle").await;
    assert_eq!(halle.status, 200);
    assert!(!halle.json().as_array().unwrap().is_empty());
}

async fn empty_parameter_equals_absent_parameter(app: &Shared) {
    let plain = get(app, &format!("requests.json?{J}")).await.body;
    let empty = get(app, &format!("requests.json?{J}&status=&service_code=&start_date=&end_date=&service_request_id=&page=")).await.body;
    assert_eq!(plain, empty);
}

// --- services -------------------------------------------------------------------------------------

async fn services_lists_all_service_types(app: &Shared) {
    let list = get(app, &format!("services.json?{J}")).await.json();
    let codes: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["service_code"].as_str().unwrap()).collect();
    for code in ["schlagloch", "beleuchtung", "muell", "graffiti", "spielplatz", "baum"] {
        assert!(codes.contains(&code), "{codes:?}");
    }
}

async fn service_has_all_spec_fields(app: &Shared) {
    let xml = get(app, &format!("services.xml?{J}")).await.body;
    let first = &xml[xml.find("<service>").unwrap()..xml.find("</service>").unwrap()];
    let order = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"];
    let positions: Vec<usize> = order.iter().map(|f| first.find(&format!("<{f}>")).unwrap_or_else(|| panic!("{f} missing: {first}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "order as in the spec: {first}");
}

async fn service_metadata_and_type_use_spec_values(app: &Shared) {
    for s in get(app, &format!("services.json?{J}")).await.json().as_array().unwrap() {
        assert!(s["metadata"].is_boolean(), "{s}");
        assert!(["realtime", "batch", "blackbox"].contains(&s["type"].as_str().unwrap()), "{s}");
    }
}

async fn services_unknown_jurisdiction_is_404(app: &Shared) {
    let got = get(app, "services.json?jurisdiction_id=atlantis").await;
    assert_eq!(got.status, 404);
    assert_eq!(got.json()[0]["code"], 404);
}

async fn services_missing_jurisdiction_is_400(app: &Shared) {
    let got = get(app, "services.xml").await;
    assert_eq!(got.status, 400);
    assert!(got.body.contains("jurisdiction_id"), "{}", got.body);
}

// --- service definitions ------------------------------------------------------------------------

async fn definition_exists_for_every_metadata_true_service(app: &Shared) {
    for s in get(app, &format!("services.json?{J}")).await.json().as_array().unwrap() {
        let code = s["service_code"].as_str().unwrap();
        let d = get(app, &format!("services/{code}.json?{J}")).await;
        assert_eq!(d.status, 200, "{code}");
        let attributes = d.json()["attributes"].as_array().unwrap().len();
        assert_eq!(s["metadata"].as_bool().unwrap(), attributes > 0, "{code}");
    }
}

async fn definition_echoes_service_code(app: &Shared) {
    assert_eq!(get(app, &format!("services/beleuchtung.json?{J}")).await.json()["service_code"], "beleuchtung");
    assert!(get(app, &format!("services/beleuchtung.xml?{J}")).await.body.contains("<service_definition><service_code>beleuchtung</service_code>"));
}

async fn attribute_has_all_spec_fields(app: &Shared) {
    for code in ["schlagloch", "beleuchtung", "muell", "spielplatz"] {
        for a in get(app, &format!("services/{code}.json?{J}")).await.json()["attributes"].as_array().unwrap() {
            for field in ["variable", "code", "datatype", "required", "datatype_description", "order", "description"] {
                assert!(a.get(field).is_some(), "{code}: {field} in {a}");
            }
            assert!(a["variable"].is_boolean() && a["required"].is_boolean());
        }
    }
}

async fn attribute_order_is_positive_and_unique(app: &Shared) {
    for code in ["schlagloch", "beleuchtung", "spielplatz"] {
        let d = get(app, &format!("services/{code}.json?{J}")).await.json();
        let orders: Vec<i64> = d["attributes"].as_array().unwrap().iter().map(|a| a["order"].as_i64().unwrap()).collect();
        assert!(orders.iter().all(|o| *o >= 1));
        let mut unique = orders.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), orders.len(), "{code}");
    }
}

async fn attribute_datatype_in_spec_enum(app: &Shared) {
    let mut seen = std::collections::BTreeSet::new();
    for code in ["schlagloch", "beleuchtung", "muell", "spielplatz"] {
        for a in get(app, &format!("services/{code}.json?{J}")).await.json()["attributes"].as_array().unwrap() {
            let t = a["datatype"].as_str().unwrap().to_owned();
            assert!(["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"].contains(&t.as_str()));
            seen.insert(t);
        }
    }
    assert_eq!(seen.len(), 6, "the demo uses every datatype: {seen:?}");
}

async fn list_attributes_have_values(app: &Shared) {
    for a in get(app, &format!("services/beleuchtung.json?{J}")).await.json()["attributes"].as_array().unwrap() {
        if a["datatype"].as_str().unwrap().ends_with("valuelist") {
            let values = a["values"].as_array().unwrap();
            assert!(!values.is_empty());
            let keys: std::collections::BTreeSet<&str> = values.iter().map(|v| v["key"].as_str().unwrap()).collect();
            assert_eq!(keys.len(), values.len());
            assert!(values.iter().all(|v| v["name"].is_string()));
        }
    }
}

async fn definition_unknown_service_code_is_404(app: &Shared) {
    let got = get(app, &format!("services/gibt-es-nicht.xml?{J}")).await;
    assert_eq!(got.status, 404);
    assert!(got.body.contains("<code>404</code>"));
}

async fn definition_missing_service_code_is_400(app: &Shared) {
    assert_eq!(get(app, &format!("services/.xml?{J}")).await.status, 400);
}

// --- posting --------------------------------------------------------------------------------------

async fn post_accepts_form_urlencoded(app: &Shared) {
    // Without a charset, as FixMyStreet sends it.
    let body = format!("api_key={}&jurisdiction_id=leipzig&service_code=schlagloch&attribute%5Bgroesse%5D=klein&lat={LAT}&long={LONG}", app.api_key);
    let r = app.http.post(format!("{}/open311/v2/requests.xml", app.base)).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn post_without_api_key_is_403(app: &Shared) {
    let got = post(app, "requests.json", &[("jurisdiction_id", "leipzig"), ("service_code", "schlagloch"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(got.status, 403);
    assert!(got.json()[0]["description"].as_str().unwrap().contains("api_key"));
}

async fn post_with_invalid_api_key_is_403(app: &Shared) {
    let got = post(app, "requests.json", &[("api_key", "o311_falsch"), ("jurisdiction_id", "leipzig"), ("service_code", "schlagloch"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(got.status, 403);
}

async fn post_with_another_authoritys_key_is_403(app: &Shared) {
    let got = post(app, "requests.json", &[("api_key", &app.api_key_halle), ("jurisdiction_id", "leipzig"), ("service_code", "schlagloch"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(got.status, 403, "{}", got.body);
}

async fn post_missing_service_code_is_400(app: &Shared) {
    let got = post(app, "requests.json", &[("api_key", &app.api_key), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(got.status, 400);
    assert!(got.json()[0]["description"].as_str().unwrap().contains("service_code"));
}

async fn post_unknown_service_code_is_404(app: &Shared) {
    let got = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "einhorn"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(got.status, 404, "{}", got.body);
}

async fn post_without_location_is_400(app: &Shared) {
    let before = get(app, &format!("requests.json?{J}")).await.json().as_array().unwrap().len();
    let got = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "schlagloch"), ("attribute[groesse]", "klein"), ("description", "ohne Ort")]).await;
    assert_eq!(got.status, 400);
    assert!(got.json()[0]["description"].as_str().unwrap().contains("lat"), "{}", got.body);
    assert_eq!(get(app, &format!("requests.json?{J}")).await.json().as_array().unwrap().len(), before, "nothing stored");
}

async fn post_lat_without_long_is_400(app: &Shared) {
    for form in [&[("lat", LAT)][..], &[("long", LONG)][..], &[("lat", "91"), ("long", LONG)][..], &[("lat", "nord"), ("long", LONG)][..]] {
        assert_eq!(post_report(app, form).await.status, 400, "{form:?}");
    }
}

async fn post_accepts_each_location_form(app: &Shared) {
    let by_point = new_id(app, &[]).await;
    let by_address = new_id(app, &[("address_string", "Grimmaische Str. 5, Leipzig")]).await;
    let by_id = new_id(app, &[("address_id", "markt 3")]).await;
    let one = get(app, &format!("requests/{by_address}.json?{J}")).await.json();
    assert!(one[0]["address"].as_str().unwrap().starts_with("Grimmaische Straße 5, 04109 Leipzig"), "{one}");
    assert!((one[0]["lat"].as_f64().unwrap() - 51.339).abs() < 0.01);
    assert_eq!(get(app, &format!("requests/{by_id}.json?{J}")).await.json()[0]["address"], "Markt 3, 04109 Leipzig");
    assert_eq!(get(app, &format!("requests/{by_point}.json?{J}")).await.status, 200);
    let unknown = post_report(app, &[("address_string", "Nirgendwostraße 99")]).await;
    assert_eq!(unknown.status, 400);
}

async fn post_parses_attribute_array_syntax(app: &Shared) {
    let ok = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "beleuchtung"), ("attribute[fehler][]", "aus"), ("attribute[mast]", "L-17"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let wrong = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "beleuchtung"), ("attribute[fehler]", "brennt"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(wrong.status, 400, "a value outside the list");
}

async fn post_missing_required_attribute_is_400(app: &Shared) {
    let got = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "schlagloch"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(got.status, 400);
    assert!(got.json()[0]["description"].as_str().unwrap().contains("attribute[groesse]"), "{}", got.body);
}

async fn post_multivaluelist_accepts_repeated_values(app: &Shared) {
    let ok = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "beleuchtung"), ("attribute[fehler][]", "aus"), ("attribute[fehler][]", "tag"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let single = post(app, "requests.json", &[("api_key", &app.api_key), ("service_code", "schlagloch"), ("attribute[groesse][]", "klein"), ("attribute[groesse][]", "gross"), ("lat", LAT), ("long", LONG)]).await;
    assert_eq!(single.status, 400, "a singlevaluelist takes one value");
}

async fn post_stores_optional_fields(app: &Shared) {
    let id = new_id(
        app,
        &[("email", "erika@example.org"), ("first_name", "Erika"), ("last_name", "Mustermann"), ("phone", "0341 123456"), ("device_id", "geraet-42"), ("account_id", "konto-7"), ("description", "Loch"), ("media_url", "https://example.org/foto.jpg"), ("unbekannt", "egal")],
    )
    .await;
    let public = get(app, &format!("requests/{id}.json?{J}")).await;
    assert_eq!(public.json()[0]["media_url"], "https://example.org/foto.jpg");
    assert_eq!(public.json()[0]["description"], "Loch");
    // The personal fields are kept, for the department (and never shown: see the privacy test).
    let store = app.store.clone();
    let n: i64 = id.parse().unwrap();
    let reporter = app.runtime.spawn(async move { store.report(n).await.unwrap().unwrap().reporter }).await.unwrap();
    let expected = amtsweg_domain::reports::Reporter {
        user_id: None,
        email: Some("erika@example.org".into()),
        first_name: Some("Erika".into()),
        last_name: Some("Mustermann".into()),
        phone: Some("0341 123456".into()),
        device_id: Some("geraet-42".into()),
        account_id: Some("konto-7".into()),
    };
    assert!(reporter == expected, "the reporter's fields as posted");
}

async fn post_description_over_4000_chars_is_400(app: &Shared) {
    let long = "ä".repeat(4001);
    assert_eq!(post_report(app, &[("description", &long)]).await.status, 400);
    let exact = "ä".repeat(4000);
    assert_eq!(post_report(app, &[("description", &exact)]).await.status, 200, "4,000 characters (8,000 bytes) are allowed");
    assert_eq!(post_report(app, &[("description", "<b>fett</b>")]).await.status, 400, "no HTML");
}

async fn post_outside_every_area_is_400_in_german(app: &Shared) {
    // In Halle, with Leipzig's key: Halle is named.
    let got = post_report(app, &[("lat", "51.4826"), ("long", "11.9695")]).await;
    assert_eq!(got.status, 400);
    let message = got.json()[0]["description"].as_str().unwrap().to_owned();
    assert!(message.contains("Zuständigkeitsgebiet") && message.contains("Halle"), "{message}");
    // Far away: no authority to name.
    let far = post_report(app, &[("lat", "48.1374"), ("long", "11.5755")]).await;
    assert_eq!(far.status, 400);
    assert!(!far.json()[0]["description"].as_str().unwrap().contains("Zuständig ist"));
}

async fn post_returns_service_request_id(app: &Shared) {
    let got = post_report(app, &[]).await;
    let one = &got.json()[0];
    assert!(one["service_request_id"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(one["service_notice"].is_string());
    assert!(one.get("account_id").is_some());
}

async fn post_returns_id_xor_token(app: &Shared) {
    let one = &post_report(app, &[]).await.json()[0];
    assert!(one.get("service_request_id").is_some() != one.get("token").is_some(), "{one}");
}

/// A report's token, read from the store (realtime posts answer with the id, not the token).
async fn token_of(app: &Shared, id: &str) -> String {
    let store = app.store.clone();
    let id: i64 = id.parse().unwrap();
    app.runtime.spawn(async move { store.report(id).await.unwrap().unwrap().token }).await.unwrap()
}

async fn token_resolves_to_service_request_id(app: &Shared) {
    let id = new_id(app, &[]).await;
    let token = token_of(app, &id).await;
    let json = get(app, &format!("tokens/{token}.json?{J}")).await.json();
    assert_eq!(json, json!([{"service_request_id": id, "token": token}]));
    let xml = get(app, &format!("tokens/{token}.xml?{J}")).await.body;
    assert!(xml.contains(&format!("<service_requests><request><service_request_id>{id}</service_request_id><token>{token}</token></request></service_requests>")), "{xml}");
    assert_eq!(get(app, &format!("tokens/.json?{J}")).await.status, 400, "an empty token");
}

async fn unknown_token_is_404(app: &Shared) {
    assert_eq!(get(app, &format!("tokens/{}.json?{J}", "ab".repeat(16))).await.status, 404);
    assert_eq!(get(app, &format!("tokens/kein-token.xml?{J}")).await.status, 404);
}

// --- errors ---------------------------------------------------------------------------------------

async fn errors_use_spec_shape_in_xml_and_json(app: &Shared) {
    let json = get(app, "services.json?jurisdiction_id=atlantis").await.json();
    assert_eq!(json, json!([{"code": 404, "description": json[0]["description"]}]));
    let xml = get(app, "services.xml?jurisdiction_id=atlantis").await.body;
    assert!(xml.contains("<errors><error><code>404</code><description>"), "{xml}");
}

async fn error_http_status_follows_spec(app: &Shared) {
    assert_eq!(get(app, &format!("requests/999999999.json?{J}")).await.status, 404);
    assert_eq!(post(app, "requests.json", &[("service_code", "schlagloch")]).await.status, 403);
    assert_eq!(get(app, &format!("requests.json?{J}&status=kaputt")).await.status, 400);
}

async fn error_description_names_offending_parameter(app: &Shared) {
    let cases = [
        (get(app, &format!("requests.json?{J}&start_date=gestern")).await, "start_date"),
        (get(app, &format!("requests.json?{J}&status=kaputt")).await, "status"),
        (get(app, &format!("requests.json?{J}&page_size=0")).await, "page_size"),
        (post(app, "requests.json", &[("service_code", "x")]).await, "api_key"),
    ];
    for (got, parameter) in cases {
        assert!(got.json()[0]["description"].as_str().unwrap().contains(parameter), "{parameter}: {}", got.body);
    }
}

// --- reading requests -----------------------------------------------------------------------------

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|r| r["service_request_id"].as_str().unwrap().to_owned()).collect()
}

async fn requests_by_ids_overrides_other_filters(app: &Shared) {
    let a = new_id(app, &[]).await;
    let b = new_id(app, &[]).await;
    let got = get(app, &format!("requests.json?{J}&service_request_id={a},{b}&status=closed&service_code=graffiti&start_date=2020-01-01T00:00:00Z&end_date=2020-01-02T00:00:00Z")).await;
    let mut found = ids(&got.json());
    found.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(found, want);
}

async fn requests_filter_by_service_codes(app: &Shared) {
    let got = get(app, &format!("requests.json?{J}&service_code=graffiti,baum")).await.json();
    let codes: std::collections::BTreeSet<&str> = got.as_array().unwrap().iter().map(|r| r["service_code"].as_str().unwrap()).collect();
    assert!(!codes.is_empty());
    assert!(codes.iter().all(|c| ["graffiti", "baum"].contains(c)), "{codes:?}");
}

async fn requests_filter_by_requested_datetime_range(app: &Shared) {
    let now = time::OffsetDateTime::now_utc();
    let from = now - time::Duration::days(60);
    let to = now - time::Duration::days(30);
    let f = &time::format_description::well_known::Rfc3339;
    let (from_s, to_s) = (from.format(f).unwrap(), to.format(f).unwrap());
    let got = get(app, &format!("requests.json?{J}&start_date={from_s}&end_date={to_s}")).await.json();
    assert!(!got.as_array().unwrap().is_empty());
    for r in got.as_array().unwrap() {
        let t = time::OffsetDateTime::parse(r["requested_datetime"].as_str().unwrap(), f).unwrap();
        assert!(t >= from && t <= to, "{t}");
    }
    // An offset with +, percent-encoded, reads too.
    assert_eq!(get(app, &format!("requests.json?{J}&start_date=2026-11-01T00:00:00%2B01:00")).await.status, 200);
}

async fn requests_invalid_date_is_400(app: &Shared) {
    assert_eq!(get(app, &format!("requests.json?{J}&start_date=2026-13-45")).await.status, 400);
    assert_eq!(get(app, &format!("requests.json?{J}&end_date=morgen")).await.status, 400);
}

async fn requests_range_over_90_days_is_rejected(app: &Shared) {
    assert_eq!(get(app, &format!("requests.json?{J}&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")).await.status, 400);
    assert_eq!(get(app, &format!("requests.json?{J}&start_date=2026-01-01T00:00:00Z&end_date=2026-03-31T00:00:00Z")).await.status, 200);
}

async fn requests_default_range_is_90_days(app: &Shared) {
    let f = &time::format_description::well_known::Rfc3339;
    let now = time::OffsetDateTime::now_utc();
    let plain = get(app, &format!("requests.json?{J}")).await.json();
    for r in plain.as_array().unwrap() {
        let t = time::OffsetDateTime::parse(r["requested_datetime"].as_str().unwrap(), f).unwrap();
        assert!(now - t <= time::Duration::days(90) + time::Duration::minutes(1), "{t}");
    }
    // Older ones exist (the demo spreads them over four months) and are found when asked for.
    let older = (now - time::Duration::days(125)).format(f).unwrap();
    let ninety = (now - time::Duration::days(91)).format(f).unwrap();
    let old = get(app, &format!("requests.json?{J}&start_date={}&end_date={}", older.replace('+', "%2B"), ninety.replace('+', "%2B"))).await.json();
    assert!(!old.as_array().unwrap().is_empty(), "the seed has reports older than 90 days");
}

async fn requests_default_limit_is_1000(app: &Shared) {
    let plain = get(app, &format!("requests.json?{J}")).await.json();
    assert!(plain.as_array().unwrap().len() <= 1000);
    let f = &time::format_description::well_known::Rfc3339;
    let times: Vec<time::OffsetDateTime> = plain.as_array().unwrap().iter().map(|r| time::OffsetDateTime::parse(r["requested_datetime"].as_str().unwrap(), f).unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(get(app, &format!("requests.json?{J}&page_size=1001")).await.status, 400);
}

async fn requests_filter_by_status(app: &Shared) {
    let open = get(app, &format!("requests.json?{J}&status=open")).await.json();
    let closed = get(app, &format!("requests.json?{J}&status=closed")).await.json();
    let both = get(app, &format!("requests.json?{J}&status=open,closed")).await.json();
    assert!(open.as_array().unwrap().iter().all(|r| r["status"] == "open"));
    assert!(closed.as_array().unwrap().iter().all(|r| r["status"] == "closed"));
    assert!(!closed.as_array().unwrap().is_empty());
    assert!(both.as_array().unwrap().len() >= closed.as_array().unwrap().len());
    assert_eq!(get(app, &format!("requests.json?{J}&status=erledigt")).await.status, 400);
}

async fn request_has_all_spec_fields(app: &Shared) {
    let xml = get(app, &format!("requests.xml?{J}")).await.body;
    let first = &xml[xml.find("<request>").unwrap()..xml.find("</request>").unwrap()];
    let order = [
        "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible", "service_notice",
        "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url",
    ];
    let positions: Vec<usize> = order.iter().map(|f| first.find(&format!("<{f}>")).unwrap_or_else(|| panic!("{f} missing: {first}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{first}");
    let json = get(app, &format!("requests.json?{J}")).await.json();
    assert!(json[0]["lat"].is_number() && json[0]["long"].is_number() && json[0]["service_request_id"].is_string());
}

async fn request_status_is_open_or_closed(app: &Shared) {
    for r in get(app, &format!("requests.json?{J}")).await.json().as_array().unwrap() {
        assert!(["open", "closed"].contains(&r["status"].as_str().unwrap()), "{r}");
    }
}

async fn closed_request_updated_datetime_is_close_time(app: &Shared) {
    let closed = get(app, &format!("requests.json?{J}&status=closed")).await.json();
    let f = &time::format_description::well_known::Rfc3339;
    let now = time::OffsetDateTime::now_utc();
    let mut checked = 0;
    for r in closed.as_array().unwrap() {
        let requested = time::OffsetDateTime::parse(r["requested_datetime"].as_str().unwrap(), f).unwrap();
        let updated = time::OffsetDateTime::parse(r["updated_datetime"].as_str().unwrap(), f).unwrap();
        if now - requested < time::Duration::days(2) {
            continue; // closed by another test
        }
        // The demo closes a report 40 hours after it came in.
        assert_eq!(updated - requested, time::Duration::hours(40), "{r}");
        checked += 1;
    }
    assert!(checked > 0);
}

async fn request_address_specific_to_general(app: &Shared) {
    let id = new_id(app, &[("address_string", "Karl-Liebknecht-Straße 20")]).await;
    let r = get(app, &format!("requests/{id}.json?{J}")).await.json();
    assert_eq!(r[0]["address"], "Karl-Liebknecht-Straße 20, 04275 Leipzig", "number and street, then postcode and place");
    assert_eq!(r[0]["zipcode"], "04275");
}

async fn requests_jurisdiction_errors(app: &Shared) {
    assert_eq!(get(app, "requests.json").await.status, 400);
    assert_eq!(get(app, "requests.json?jurisdiction_id=atlantis").await.status, 404);
    let id = new_id(app, &[]).await;
    assert_eq!(get(app, &format!("requests/{id}.json?jurisdiction_id=halle")).await.status, 404, "Leipzig's report is not Halle's");
}

async fn requests_pagination_page_and_page_size(app: &Shared) {
    let all = ids(&get(app, &format!("requests.json?{J}")).await.json());
    assert!(all.len() > 10);
    let page1 = ids(&get(app, &format!("requests.json?{J}&page_size=5")).await.json());
    let page2 = ids(&get(app, &format!("requests.json?{J}&page_size=5&page=2")).await.json());
    assert_eq!(page1.len(), 5);
    assert_eq!(page2.len(), 5);
    assert!(page1.iter().all(|id| !page2.contains(id)));
    for bad in ["page=0", "page_size=0", "page=eins", "page_size=-3"] {
        assert_eq!(get(app, &format!("requests.json?{J}&{bad}")).await.status, 400, "{bad}");
    }
}

async fn single_request_is_list_of_one(app: &Shared) {
    let id = new_id(app, &[]).await;
    let json = get(app, &format!("requests/{id}.json?{J}")).await.json();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["service_request_id"], id.as_str());
    let xml = get(app, &format!("requests/{id}.xml?{J}")).await.body;
    assert!(xml.contains("<service_requests><request><service_request_id>"), "{xml}");
}

async fn single_request_unknown_id_is_404(app: &Shared) {
    assert_eq!(get(app, &format!("requests/987654321.json?{J}")).await.status, 404);
    assert_eq!(get(app, &format!("requests/abc.json?{J}")).await.status, 404);
}

// --- privacy and FixMyStreet's updates -------------------------------------------------------------

async fn no_personal_field_in_any_public_response(app: &Shared) {
    let marker = "Zuverlässig-Geheim";
    let id = new_id(
        app,
        &[("email", "geheim.person@example.org"), ("first_name", marker), ("last_name", marker), ("phone", "0179 5550123"), ("device_id", "geraet-geheim"), ("account_id", "konto-geheim")],
    )
    .await;
    let mut bodies = Vec::new();
    for template in readable(app).await {
        for format in ["xml", "json"] {
            bodies.push(get(app, &with_format(&template, format)).await.body);
        }
    }
    for format in ["xml", "json"] {
        bodies.push(get(app, &format!("requests/{id}.{format}?{J}")).await.body);
        bodies.push(get(app, &format!("requests.{format}?{J}&service_request_id={id}")).await.body);
    }
    for body in bodies {
        for secret in ["geheim.person@example.org", marker, "0179 5550123", "geraet-geheim", "konto-geheim", "@example.org"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }
}

async fn service_request_updates_list_status_changes(app: &Shared) {
    let got = get(app, &format!("servicerequestupdates.json?{J}&start_date=2020-01-01T00:00:00Z")).await.json();
    let list = got.as_array().unwrap();
    assert!(!list.is_empty());
    for u in list {
        for field in ["update_id", "service_request_id", "status", "description", "updated_datetime"] {
            assert!(u.get(field).is_some(), "{field}: {u}");
        }
        assert!(u["update_id"].is_string() && u["service_request_id"].is_string());
    }
    assert!(list.iter().any(|u| u["status"] == "fixed"));
    let again = get(app, &format!("servicerequestupdates.json?{J}&start_date=2020-01-01T00:00:00Z")).await.json();
    assert_eq!(ids_of_updates(&again)[..list.len()], ids_of_updates(&got)[..], "update ids are stable");
}

fn ids_of_updates(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|u| u["update_id"].as_str().unwrap().to_owned()).collect()
}

async fn service_request_update_post_is_idempotent(app: &Shared) {
    let id = new_id(app, &[]).await;
    let external = format!("fms-{id}");
    let form = [
        ("api_key", app.api_key.as_str()),
        ("jurisdiction_id", "leipzig"),
        ("service_request_id", id.as_str()),
        ("update_id", external.as_str()),
        ("status", "FIXED"),
        ("updated_datetime", "2026-12-07T10:00:00+01:00"),
        ("description", "Behoben durch den Bauhof."),
        ("last_name", "-"),
    ];
    let first = post(app, "servicerequestupdates.xml", &form).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first_id = xml_to_json(&first.body)[0]["update_id"].as_str().unwrap().to_owned();
    let second = post(app, "servicerequestupdates.xml", &form).await;
    assert_eq!(xml_to_json(&second.body)[0]["update_id"], first_id.as_str(), "a re-sent update is the same update");
    let r = get(app, &format!("requests/{id}.json?{J}")).await.json();
    assert_eq!(r[0]["status"], "closed");
    assert_eq!(r[0]["status_notes"], "Behoben durch den Bauhof.");
    let listed = get(app, &format!("servicerequestupdates.json?{J}&start_date=2026-12-07T09:00:00Z&end_date=2026-12-07T09:00:00Z")).await.json();
    assert!(listed.as_array().unwrap().iter().any(|u| u["update_id"] == first_id.as_str() && u["status"] == "fixed"), "{listed}");
    // Wrong status, unknown report, no key.
    let mut bad = form.to_vec();
    bad[4] = ("status", "EXPLODIERT");
    assert_eq!(post(app, "servicerequestupdates.json", &bad).await.status, 400);
    let mut unknown = form.to_vec();
    unknown[2] = ("service_request_id", "999999999");
    assert_eq!(post(app, "servicerequestupdates.json", &unknown).await.status, 404);
    assert_eq!(post(app, "servicerequestupdates.json", &form[1..]).await.status, 403);
}
