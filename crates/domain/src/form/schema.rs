//! The form as JSON Schema (draft 2020-12): the structure that `PUT …/data` accepts. Rules that
//! depend on other values are not expressed in it; the server checks them.

use super::validate::{Member, members_in, top_members};
use super::{DataType, Field, FieldKind, FormModel};
use serde_json::{Map, Value, json};

fn field_schema(f: &Field) -> Value {
    let mut p = Map::new();
    p.insert("title".into(), json!(f.label));
    if let Some(h) = &f.hint {
        p.insert("description".into(), json!(h));
    }
    let c = &f.constraints;
    match f.data_type {
        DataType::Text | DataType::LongText | DataType::TextLatin => {
            p.insert("type".into(), json!("string"));
            if let Some(v) = c.min_length {
                p.insert("minLength".into(), json!(v));
            }
            if let Some(v) = c.max_length {
                p.insert("maxLength".into(), json!(v));
            }
            if let Some(v) = &c.pattern {
                p.insert("pattern".into(), json!(format!("^(?:{})$", super::values::xsd_to_regex(v))));
            }
        }
        DataType::Date => {
            p.insert("type".into(), json!("string"));
            p.insert("format".into(), json!("date"));
        }
        DataType::Time => {
            p.insert("type".into(), json!("string"));
            p.insert("pattern".into(), json!("^[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?$"));
        }
        DataType::DateTime => {
            p.insert("type".into(), json!("string"));
            p.insert("pattern".into(), json!("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-2][0-9]:[0-5][0-9](:[0-5][0-9])?$"));
        }
        DataType::Bool => {
            p.insert("type".into(), json!("boolean"));
            if f.confirmation && f.is_required() {
                p.insert("const".into(), json!(true));
            }
        }
        DataType::Integer | DataType::Number | DataType::Currency => {
            let t = if f.data_type == DataType::Integer { "integer" } else { "number" };
            p.insert("type".into(), json!(t));
            if let Some(v) = c.min_value {
                p.insert("minimum".into(), json!(v));
            }
            if let Some(v) = c.max_value {
                p.insert("maximum".into(), json!(v));
            }
            if f.data_type == DataType::Currency {
                p.insert("multipleOf".into(), json!(0.01));
            }
        }
        DataType::Select if f.is_select() => {
            p.insert("type".into(), json!("string"));
            let one_of: Vec<Value> = f.options.iter().map(|o| json!({"const": o.value, "title": o.label})).collect();
            p.insert("oneOf".into(), Value::Array(one_of));
        }
        DataType::Select => {
            p.insert("type".into(), json!("string"));
        }
        DataType::File => {
            p.insert("type".into(), json!("object"));
            p.insert("required".into(), json!(["name"]));
            p.insert(
                "properties".into(),
                json!({"name": {"type": "string", "minLength": 1}, "media_type": {"type": "string"}, "size": {"type": "integer", "minimum": 0}}),
            );
        }
    }
    if matches!(f.kind, FieldKind::Hidden | FieldKind::Locked) {
        if let Some(content) = &f.content {
            p.insert("readOnly".into(), json!(true));
            p.insert("default".into(), json!(content));
        }
    }
    let single = Value::Object(p);
    if f.is_repeatable() {
        let mut a = json!({"type": "array", "title": f.label, "items": single, "minItems": f.min});
        if let Some(max) = f.max {
            a["maxItems"] = json!(max);
        }
        a
    } else {
        single
    }
}

fn object_schema(members: &[Member], title: Option<&str>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for m in members {
        match m {
            Member::Field(f) => {
                if !f.has_value() {
                    continue;
                }
                properties.insert(f.id.clone(), field_schema(f));
                if f.is_required() && !matches!(f.kind, FieldKind::Hidden | FieldKind::Locked) {
                    required.push(json!(f.id));
                }
            }
            Member::Group(g) => {
                let mut ignored = Vec::new();
                let inner = object_schema(&members_in(&g.items, &mut ignored), Some(&g.title));
                let schema = if g.is_repeatable() {
                    let mut a = json!({"type": "array", "title": g.title, "items": inner, "minItems": g.min});
                    if let Some(max) = g.max {
                        a["maxItems"] = json!(max);
                    }
                    a
                } else {
                    inner
                };
                properties.insert(g.id.clone(), schema);
                if g.min > 0 {
                    required.push(json!(g.id));
                }
            }
        }
    }
    let mut o = json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false});
    if let Some(t) = title {
        o["title"] = json!(t);
    }
    o
}

impl FormModel {
    /// The form as a JSON Schema (draft 2020-12) for API clients. Conditional requirements of
    /// rules are left to the server, so `required` lists what is required unconditionally, and
    /// groups that a rule may hide are not listed as required.
    pub fn json_schema(&self) -> Value {
        let mut rules = Vec::new();
        let members = top_members(&self.groups, &mut rules);
        let mut schema = object_schema(&members, None);
        // A group or field that a rule can switch off is not unconditionally required.
        let mut switchable: Vec<String> = rules.iter().flat_map(|r| r.show.clone()).collect();
        for g in &self.groups {
            collect_switchable(&g.items, &mut switchable);
        }
        strip_required(&mut schema, &switchable);
        schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        schema
    }
}

fn collect_switchable(items: &[super::Item], out: &mut Vec<String>) {
    for i in items {
        if let super::Item::Group(g) = i {
            out.extend(g.rules.iter().flat_map(|r| r.show.iter().map(|p| p.rsplit('.').next().unwrap_or(p).to_owned())));
            collect_switchable(&g.items, out);
        }
    }
}

fn strip_required(schema: &mut Value, switchable: &[String]) {
    if let Some(req) = schema.get_mut("required").and_then(Value::as_array_mut) {
        req.retain(|r| !switchable.iter().any(|s| Some(s.as_str()) == r.as_str() || s.rsplit('.').next() == r.as_str()));
    }
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for v in props.values_mut() {
            strip_required(v, switchable);
            if let Some(items) = v.get_mut("items") {
                strip_required(items, switchable);
            }
        }
    }
}
