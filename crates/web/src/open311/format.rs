//! One model, two forms: every Open311 answer is built once as JSON and written as XML by the
//! Spark convention the spec names ("JSON support is based on a programmatic mapping of the XML
//! format"): a JSON array is an XML list element whose items carry the singular name
//! (`services`/`service`, `attributes`/`attribute`, …), `null` is an empty element, booleans are
//! `true`/`false`, and the XML starts with its declaration, without a namespace.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

/// The two formats; the file extension chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// `("services", Some(Xml))` from `services.xml`; `None` for another extension.
    pub fn split(file: &str) -> (&str, Option<Format>) {
        match file.rsplit_once('.') {
            Some((name, "xml")) => (name, Some(Format::Xml)),
            Some((name, "json")) => (name, Some(Format::Json)),
            Some((name, _)) => (name, None),
            None => (file, None),
        }
    }
}

/// The singular name of a list's items, by the list's name.
pub fn item_name(list: &str) -> &'static str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "errors" => "error",
        "endpoints" => "endpoint",
        "formats" => "format",
        "service_request_updates" => "request_update",
        _ => "item",
    }
}

/// The order of an element's children in the spec's examples (JSON objects have none).
fn field_order(element: &str) -> &'static [&'static str] {
    match element {
        "service" => &["service_code", "service_name", "description", "metadata", "type", "keywords", "group"],
        "service_definition" => &["service_code", "attributes"],
        "attribute" => &["variable", "code", "datatype", "required", "datatype_description", "order", "description", "values"],
        "value" => &["key", "name"],
        "request" => &[
            "service_request_id", "token", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
            "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
            "long", "media_url", "account_id",
        ],
        "request_update" => &["update_id", "service_request_id", "status", "description", "media_url", "updated_datetime"],
        "error" => &["code", "description"],
        "discovery" => &["changeset", "contact", "key_service", "endpoints"],
        "endpoint" => &["specification", "url", "changeset", "type", "formats"],
        _ => &[],
    }
}

/// An answer: the root element's name (the list name for arrays) and the JSON.
pub struct Answer {
    pub status: StatusCode,
    pub root: &'static str,
    pub body: Value,
}

impl Answer {
    pub fn ok(root: &'static str, body: Value) -> Self {
        Self { status: StatusCode::OK, root, body }
    }

    pub fn render(self, format: Format) -> Response {
        let (content_type, body) = match format {
            Format::Json => ("application/json; charset=utf-8", self.body.to_string()),
            Format::Xml => ("text/xml; charset=utf-8", to_xml(self.root, &self.body)),
        };
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    }
}

/// The spec's error list: `[{code, description}]`, with the HTTP status of the first.
pub fn errors(status: StatusCode, description: &str) -> Answer {
    Answer { status, root: "errors", body: serde_json::json!([{ "code": status.as_u16(), "description": description }]) }
}

/// The XML form of `value` under the element `root`.
pub fn to_xml(root: &str, value: &Value) -> String {
    let mut writer = quick_xml::Writer::new(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = writer.get_mut().write_all_newline();
    write_element(&mut writer, root, value);
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

trait Newline {
    fn write_all_newline(&mut self) -> std::io::Result<()>;
}

impl Newline for Vec<u8> {
    fn write_all_newline(&mut self) -> std::io::Result<()> {
        self.push(b'\n');
        Ok(())
    }
}

fn write_element(writer: &mut quick_xml::Writer<Vec<u8>>, name: &str, value: &Value) {
    let _ = writer.write_event(Event::Start(BytesStart::new(name)));
    match value {
        Value::Null => {}
        Value::Bool(b) => {
            let _ = writer.write_event(Event::Text(BytesText::new(if *b { "true" } else { "false" })));
        }
        Value::Number(n) => {
            let _ = writer.write_event(Event::Text(BytesText::new(&n.to_string())));
        }
        Value::String(s) => {
            let _ = writer.write_event(Event::Text(BytesText::new(s)));
        }
        Value::Array(items) => {
            let item = item_name(name);
            for v in items {
                write_element(writer, item, v);
            }
        }
        Value::Object(map) => {
            let order = field_order(name);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
            for k in keys {
                write_element(writer, k, &map[k]);
            }
        }
    }
    let _ = writer.write_event(Event::End(BytesEnd::new(name)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_become_lists_of_singular_items() {
        let xml = to_xml("services", &serde_json::json!([{"service_code": "a", "metadata": true, "group": null}]));
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<services><service><service_code>a</service_code><metadata>true</metadata><group></group></service></services>"
        );
    }

    #[test]
    fn text_is_escaped_and_keeps_line_breaks() {
        let xml = to_xml("x", &serde_json::json!({"d": "a < b & c\nzwei"}));
        assert!(xml.contains("<d>a &lt; b &amp; c\nzwei</d>"), "{xml}");
    }

    #[test]
    fn the_extension_chooses_the_format() {
        assert_eq!(Format::split("services.xml"), ("services", Some(Format::Xml)));
        assert_eq!(Format::split("a.b.json"), ("a.b", Some(Format::Json)));
        assert_eq!(Format::split("services.html"), ("services", None));
        assert_eq!(Format::split("services"), ("services", None));
    }
}
