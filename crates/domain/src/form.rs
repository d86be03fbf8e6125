//! The form model of a service: groups of fields with data types and constraints, validation of
//! submitted values with German messages, and the JSON Schema that the API publishes.
//!
//! Services modelled by hand and (later) services imported from FIM schemas share this model.
//! Stored values are JSON: strings for text, dates (ISO 8601) and selections, booleans and
//! numbers for their types.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use time::{Date, format_description::BorrowedFormatItem, macros::format_description};

/// The values of one application, keyed by field id.
pub type FormData = Map<String, Value>;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormModel {
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub data_type: DataType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Constraints::is_empty")]
    pub constraints: Constraints,
    /// The choices of a `select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Browser autofill hint (`autocomplete` attribute), WCAG 1.3.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
    #[serde(skip)]
    compiled_pattern: OnceLock<Option<Regex>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Text,
    LongText,
    Date,
    Bool,
    Integer,
    Number,
    Select,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Constraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// A pattern the whole value must match (XSD style: implicitly anchored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What to tell the citizen when the pattern does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<f64>,
    /// Earliest date allowed, relative to today in days (0 = today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_date_offset_days: Option<i64>,
}

impl Constraints {
    fn is_empty(&self) -> bool {
        self.min_length.is_none()
            && self.max_length.is_none()
            && self.pattern.is_none()
            && self.min_value.is_none()
            && self.max_value.is_none()
            && self.min_date_offset_days.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// One problem with one field, in German, for the person who entered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

const GERMAN_DATE: &[BorrowedFormatItem<'static>] = format_description!("[day].[month].[year]");
const ISO_DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Parses `TT.MM.JJJJ` (also with one-digit day or month) or `JJJJ-MM-TT`.
pub fn parse_date(input: &str) -> Option<Date> {
    let input = input.trim();
    if let Ok(d) = Date::parse(input, ISO_DATE) {
        return Some(d);
    }
    let parts: Vec<&str> = input.split('.').collect();
    if parts.len() == 3 && parts[2].len() == 4 {
        let padded = format!("{:0>2}.{:0>2}.{}", parts[0], parts[1], parts[2]);
        return Date::parse(&padded, GERMAN_DATE).ok();
    }
    None
}

pub fn format_date_german(date: Date) -> String {
    date.format(GERMAN_DATE).unwrap_or_default()
}

/// Formats a number the German way: `1.234,5`.
pub fn format_number_german(value: f64) -> String {
    let negative = value < 0.0;
    let text = format!("{:.2}", value.abs());
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let frac = frac.trim_end_matches('0');
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped},{frac}") }
}

/// Parses a German or plain number: `1.234,5`, `1234,5`, `1234.5`.
fn parse_number(input: &str) -> Option<f64> {
    let s = input.trim().replace(' ', "");
    let normalised = if s.contains(',') { s.replace('.', "").replace(',', ".") } else { s };
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

impl Field {
    fn pattern(&self) -> Option<&Regex> {
        self.compiled_pattern
            .get_or_init(|| {
                let p = self.constraints.pattern.as_deref()?;
                Regex::new(&format!("^(?:{p})$")).ok()
            })
            .as_ref()
    }

    pub fn is_select(&self) -> bool {
        self.data_type == DataType::Select
    }

    /// The value as a person reads it: dates as `TT.MM.JJJJ`, yes/no, the label of a choice.
    pub fn display_value(&self, value: &Value) -> String {
        match (self.data_type, value) {
            (DataType::Bool, Value::Bool(b)) => if *b { "Ja" } else { "Nein" }.to_owned(),
            (DataType::Date, Value::String(s)) => {
                parse_date(s).map(format_date_german).unwrap_or_else(|| s.clone())
            }
            (DataType::Select, Value::String(s)) => self
                .options
                .iter()
                .find(|c| &c.value == s)
                .map(|c| c.label.clone())
                .unwrap_or_else(|| s.clone()),
            (DataType::Integer | DataType::Number, Value::Number(n)) => {
                n.as_f64().map(format_number_german).unwrap_or_default()
            }
            (_, Value::String(s)) => s.clone(),
            (_, Value::Null) => String::new(),
            (_, other) => other.to_string(),
        }
    }

    /// The value as an HTML input shows it again (the inverse of the web's parsing).
    pub fn input_value(&self, value: &Value) -> String {
        match (self.data_type, value) {
            (DataType::Bool, Value::Bool(b)) => if *b { "true" } else { "" }.to_owned(),
            (DataType::Integer | DataType::Number, Value::Number(n)) => {
                n.as_f64().map(|v| v.to_string().replace('.', ",")).unwrap_or_default()
            }
            _ => self.display_value(value),
        }
    }

    /// Converts what an HTML form sent for this field into its JSON value. `None` means empty.
    fn parse_input(&self, raw: &str) -> Result<Option<Value>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        Ok(Some(match self.data_type {
            DataType::Bool => Value::Bool(matches!(raw, "true" | "on" | "ja" | "1")),
            DataType::Date => match parse_date(raw) {
                Some(d) => Value::String(d.to_string()),
                None => {
                    return Err(format!(
                        "Bitte geben Sie „{}“ als Datum im Format TT.MM.JJJJ ein, zum Beispiel 01.03.2027.",
                        self.label
                    ));
                }
            },
            DataType::Integer => match parse_number(raw) {
                Some(v) if v.fract() == 0.0 => json!(v as i64),
                _ => return Err(format!("Bitte geben Sie bei „{}“ eine ganze Zahl ein.", self.label)),
            },
            DataType::Number => match parse_number(raw) {
                Some(v) => json!(v),
                None => return Err(format!("Bitte geben Sie bei „{}“ eine Zahl ein.", self.label)),
            },
            DataType::Text | DataType::LongText | DataType::Select => Value::String(raw.to_owned()),
        }))
    }

    /// Checks one present value; returns the normalised value.
    fn check(&self, value: &Value, today: Date) -> Result<Value, String> {
        let label = &self.label;
        match self.data_type {
            DataType::Bool => match value {
                Value::Bool(_) => Ok(value.clone()),
                _ => Err(format!("„{label}“ muss ja oder nein sein (true oder false).")),
            },
            DataType::Integer | DataType::Number => {
                let Some(v) = value.as_f64() else {
                    return Err(format!("Bitte geben Sie bei „{label}“ eine Zahl ein."));
                };
                if self.data_type == DataType::Integer && v.fract() != 0.0 {
                    return Err(format!("Bitte geben Sie bei „{label}“ eine ganze Zahl ein."));
                }
                if let Some(min) = self.constraints.min_value.filter(|m| v < *m) {
                    return Err(format!("„{label}“ muss mindestens {} sein.", format_number_german(min)));
                }
                if let Some(max) = self.constraints.max_value.filter(|m| v > *m) {
                    return Err(format!("„{label}“ darf höchstens {} sein.", format_number_german(max)));
                }
                Ok(value.clone())
            }
            DataType::Date => {
                let Some(date) = value.as_str().and_then(parse_date) else {
                    return Err(format!(
                        "Bitte geben Sie „{label}“ als Datum im Format TT.MM.JJJJ ein, zum Beispiel 01.03.2027."
                    ));
                };
                if let Some(offset) = self.constraints.min_date_offset_days {
                    let earliest = today.saturating_add(time::Duration::days(offset));
                    if date < earliest {
                        return Err(format!(
                            "„{label}“ darf nicht vor dem {} liegen.",
                            format_date_german(earliest)
                        ));
                    }
                }
                Ok(Value::String(date.to_string()))
            }
            DataType::Select => {
                let Some(s) = value.as_str() else {
                    return Err(format!("Bitte wählen Sie bei „{label}“ eine der Möglichkeiten aus."));
                };
                if self.options.iter().any(|c| c.value == s) {
                    Ok(value.clone())
                } else {
                    Err(format!("Bitte wählen Sie bei „{label}“ eine der angebotenen Möglichkeiten aus."))
                }
            }
            DataType::Text | DataType::LongText => {
                let Some(s) = value.as_str() else {
                    return Err(format!("Bitte geben Sie bei „{label}“ einen Text ein."));
                };
                let s = s.trim();
                let len = s.chars().count();
                if let Some(min) = self.constraints.min_length.filter(|m| len < *m) {
                    return Err(format!("„{label}“ muss mindestens {min} Zeichen lang sein."));
                }
                if let Some(max) = self.constraints.max_length.filter(|m| len > *m) {
                    return Err(format!("„{label}“ darf höchstens {max} Zeichen lang sein."));
                }
                if let Some(re) = self.pattern() {
                    if !re.is_match(s) {
                        return Err(self.constraints.pattern_message.clone().unwrap_or_else(|| {
                            format!("„{label}“ hat nicht die erwartete Form.")
                        }));
                    }
                }
                Ok(Value::String(s.to_owned()))
            }
        }
    }
}

impl FormModel {
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.groups.iter().flat_map(|g| g.fields.iter())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().find(|f| f.id == id)
    }

    /// Checks complete form data: no unknown fields, every required field present, every value
    /// of its type and within its constraints. Returns the normalised data, or every problem
    /// found, in the order of the form.
    pub fn validate(&self, data: &FormData, today: Date) -> Result<FormData, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut clean = FormData::new();
        for key in data.keys() {
            if self.field(key).is_none() {
                errors.push(FieldError::new(key.clone(), "Dieses Feld gibt es im Formular nicht."));
            }
        }
        for field in self.fields() {
            match data.get(&field.id) {
                None | Some(Value::Null) => {
                    if field.required {
                        errors.push(FieldError::new(&field.id, required_message(field)));
                    }
                }
                Some(Value::String(s)) if s.trim().is_empty() && field.data_type != DataType::Bool => {
                    if field.required {
                        errors.push(FieldError::new(&field.id, required_message(field)));
                    }
                }
                Some(value) => match field.check(value, today) {
                    Ok(v) => {
                        if field.required && field.data_type == DataType::Bool && v == Value::Bool(false) {
                            errors.push(FieldError::new(&field.id, required_message(field)));
                        }
                        clean.insert(field.id.clone(), v);
                    }
                    Err(message) => errors.push(FieldError::new(&field.id, message)),
                },
            }
        }
        if errors.is_empty() { Ok(clean) } else { Err(errors) }
    }

    /// Turns the name/value pairs of an HTML form into form data and validates it. Values that
    /// cannot even be read (a date that is no date) are reported like any other problem.
    pub fn validate_form_input(
        &self,
        input: &[(String, String)],
        today: Date,
    ) -> Result<FormData, Vec<FieldError>> {
        let mut data = FormData::new();
        let mut parse_errors = Vec::new();
        for field in self.fields() {
            let raw = input.iter().rev().find(|(k, _)| k == &field.id).map(|(_, v)| v.as_str());
            match raw.map(|r| field.parse_input(r)) {
                Some(Ok(Some(v))) => {
                    data.insert(field.id.clone(), v);
                }
                Some(Ok(None)) | None => {}
                Some(Err(message)) => parse_errors.push(FieldError::new(&field.id, message)),
            }
        }
        match self.validate(&data, today) {
            Ok(clean) if parse_errors.is_empty() => Ok(clean),
            Ok(_) => Err(parse_errors),
            Err(errors) => {
                // Keep the order of the form: merge, skipping fields that already failed to parse.
                let mut all = Vec::new();
                for field in self.fields() {
                    if let Some(e) = parse_errors.iter().find(|e| e.field == field.id) {
                        all.push(e.clone());
                    } else if let Some(e) = errors.iter().find(|e| e.field == field.id) {
                        all.push(e.clone());
                    }
                }
                Err(all)
            }
        }
    }

    /// The form as a JSON Schema (draft 2020-12) for API clients.
    pub fn json_schema(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in self.fields() {
            let mut p = Map::new();
            p.insert("title".into(), json!(field.label));
            if let Some(h) = &field.hint {
                p.insert("description".into(), json!(h));
            }
            let c = &field.constraints;
            match field.data_type {
                DataType::Text | DataType::LongText => {
                    p.insert("type".into(), json!("string"));
                    if let Some(v) = c.min_length {
                        p.insert("minLength".into(), json!(v));
                    }
                    if let Some(v) = c.max_length {
                        p.insert("maxLength".into(), json!(v));
                    }
                    if let Some(v) = &c.pattern {
                        p.insert("pattern".into(), json!(format!("^(?:{v})$")));
                    }
                }
                DataType::Date => {
                    p.insert("type".into(), json!("string"));
                    p.insert("format".into(), json!("date"));
                }
                DataType::Bool => {
                    p.insert("type".into(), json!("boolean"));
                    if field.required {
                        p.insert("const".into(), json!(true));
                    }
                }
                DataType::Integer | DataType::Number => {
                    let t = if field.data_type == DataType::Integer { "integer" } else { "number" };
                    p.insert("type".into(), json!(t));
                    if let Some(v) = c.min_value {
                        p.insert("minimum".into(), json!(v));
                    }
                    if let Some(v) = c.max_value {
                        p.insert("maximum".into(), json!(v));
                    }
                }
                DataType::Select => {
                    p.insert("type".into(), json!("string"));
                    let one_of: Vec<Value> = field
                        .options
                        .iter()
                        .map(|o| json!({"const": o.value, "title": o.label}))
                        .collect();
                    p.insert("oneOf".into(), Value::Array(one_of));
                }
            }
            if field.required {
                required.push(json!(field.id));
            }
            properties.insert(field.id.clone(), Value::Object(p));
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

fn required_message(field: &Field) -> String {
    match field.data_type {
        DataType::Select => format!("Bitte wählen Sie bei „{}“ eine Möglichkeit aus.", field.label),
        DataType::Bool => format!("Bitte bestätigen Sie: „{}“", field.label.trim_end_matches('.')),
        DataType::Date => format!("Bitte geben Sie „{}“ an.", field.label),
        _ => format!("Bitte füllen Sie das Feld „{}“ aus.", field.label),
    }
}

/// Builds a field; used by services modelled by hand.
pub fn field(id: &str, label: &str, data_type: DataType) -> Field {
    Field {
        id: id.to_owned(),
        label: label.to_owned(),
        hint: None,
        data_type,
        required: false,
        constraints: Constraints::default(),
        options: Vec::new(),
        autocomplete: None,
        compiled_pattern: OnceLock::new(),
    }
}

impl Field {
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }
    pub fn constraints(mut self, constraints: Constraints) -> Self {
        self.constraints = constraints;
        self
    }
    pub fn options(mut self, options: &[(&str, &str)]) -> Self {
        self.options =
            options.iter().map(|(v, l)| Choice { value: (*v).to_owned(), label: (*l).to_owned() }).collect();
        self
    }
    pub fn autocomplete(mut self, token: &str) -> Self {
        self.autocomplete = Some(token.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn model() -> FormModel {
        FormModel {
            groups: vec![Group {
                id: "g".into(),
                title: "Fahrzeug".into(),
                hint: None,
                fields: vec![
                    field("plate", "Kennzeichen", DataType::Text).required().constraints(Constraints {
                        pattern: Some(r"\p{Lu}{1,3}-\p{Lu}{1,2} [1-9][0-9]{0,3}[EH]?".into()),
                        pattern_message: Some("Bitte geben Sie das Kennzeichen wie L-AB 123 ein.".into()),
                        max_length: Some(12),
                        ..Default::default()
                    }),
                    field("start", "Beginn", DataType::Date).required().constraints(Constraints {
                        min_date_offset_days: Some(0),
                        ..Default::default()
                    }),
                    field("kind", "Halter", DataType::Select).required().options(&[("self", "Ich selbst")]),
                    field("count", "Anzahl", DataType::Integer).constraints(Constraints {
                        min_value: Some(1.0),
                        max_value: Some(3.0),
                        ..Default::default()
                    }),
                    field("ok", "Richtigkeit", DataType::Bool).required(),
                ],
            }],
        }
    }

    const TODAY: Date = date!(2026 - 11 - 22);

    #[test]
    fn valid_data_is_normalised() {
        let data = serde_json::from_value(json!({
            "plate": " L-AB 123 ", "start": "2026-12-01", "kind": "self", "count": 2, "ok": true
        }))
        .unwrap();
        let clean = model().validate(&data, TODAY).unwrap();
        assert_eq!(clean["plate"], "L-AB 123");
    }

    #[test]
    fn every_problem_is_reported_in_form_order() {
        let data = serde_json::from_value(json!({
            "plate": "xyz", "start": "2026-01-01", "kind": "other", "count": 7, "extra": 1
        }))
        .unwrap();
        let errors = model().validate(&data, TODAY).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["extra", "plate", "start", "kind", "count", "ok"]);
        assert!(errors[1].message.contains("L-AB 123"));
        assert!(errors[2].message.contains("22.11.2026"));
        assert!(errors[4].message.contains("höchstens 3"));
    }

    #[test]
    fn wrong_json_types_are_field_errors() {
        let data = serde_json::from_value(json!({
            "plate": 5, "start": true, "kind": ["self"], "count": "zwei", "ok": "ja"
        }))
        .unwrap();
        let errors = model().validate(&data, TODAY).unwrap_err();
        assert_eq!(errors.len(), 5);
    }

    #[test]
    fn html_input_accepts_german_dates_and_numbers() {
        let input: Vec<(String, String)> = [
            ("plate", "L-AB 123"),
            ("start", "1.12.2026"),
            ("kind", "self"),
            ("count", "2"),
            ("ok", "true"),
        ]
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
        let clean = model().validate_form_input(&input, TODAY).unwrap();
        assert_eq!(clean["start"], "2026-12-01");
        assert_eq!(clean["count"], 2);
    }

    #[test]
    fn html_input_reports_unreadable_dates() {
        let input = vec![("start".to_string(), "morgen".to_string())];
        let errors = model().validate_form_input(&input, TODAY).unwrap_err();
        let start = errors.iter().find(|e| e.field == "start").unwrap();
        assert!(start.message.contains("TT.MM.JJJJ"));
        assert_eq!(errors[0].field, "plate");
    }

    #[test]
    fn json_schema_lists_required_fields_and_patterns() {
        let schema = model().json_schema();
        assert_eq!(schema["required"], json!(["plate", "start", "kind", "ok"]));
        assert_eq!(schema["properties"]["start"]["format"], "date");
        assert!(schema["properties"]["plate"]["pattern"].as_str().unwrap().starts_with("^(?:"));
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn german_number_format() {
        assert_eq!(format_number_german(1234.5), "1.234,5");
        assert_eq!(format_number_german(30.0), "30");
        assert_eq!(format_number_german(1234567.0), "1.234.567");
    }
}
