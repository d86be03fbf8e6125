//! Rules of a form, declarative: what FIM exports carry only as German prose, written down so
//! that the form can act on it. A rule sits on a group (or on the form) and speaks about paths
//! relative to that group's data:
//!
//! ```json
//! {"id": "R1", "description": "Die Anschrift ist nur bei Neuanzeigen anzugeben.",
//!  "when": {"equals": {"field": "F1", "value": true}},
//!  "show": ["G2"], "require": ["G2.F3"],
//!  "check": {"assert": {"not_after": {"field": "F4", "other": "F5"}}, "field": "F4",
//!            "message": "Der Beginn muss vor dem Ende liegen."}}
//! ```
//!
//! - `show`: these fields or groups apply only while `when` holds; otherwise their values are
//!   dropped and they are not required.
//! - `require`: these are required while `when` holds.
//! - `check`: while `when` holds (or always), `assert` must hold, else `message` at `field`.
//!
//! Conditions: `filled`, `empty`, `is_true`, `distinct` (a path), `equals`, `one_of` and
//! `contains` (a path and values), `not_after` (a date or number not after another), and `all`,
//! `any`, `not`.

use super::values::parse_date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    /// The rule in words, as the FIM schema states it.
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub show: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub assert: Condition,
    /// Where the error is shown.
    pub field: String,
    /// The German message.
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Filled(String),
    Empty(String),
    IsTrue(String),
    Equals { field: String, value: Value },
    OneOf { field: String, values: Vec<Value> },
    NotAfter { field: String, other: String },
    /// A list value (a repeatable field) contains the value.
    Contains { field: String, value: Value },
    /// No value of a list appears twice.
    Distinct(String),
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

/// The value at a relative path in a scope's data.
pub fn lookup<'a>(data: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('.');
    let mut current = data.get(segments.next()?)?;
    for s in segments {
        current = match current {
            Value::Object(o) => o.get(s)?,
            Value::Array(a) => a.get(s.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn is_filled(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => a.iter().any(|x| is_filled(Some(x))),
        Some(Value::Object(o)) => o.values().any(|x| is_filled(Some(x))),
        Some(_) => true,
    }
}

fn comparable(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_date(s).map(|d| d.to_julian_day() as f64),
        _ => None,
    }
}

impl Condition {
    pub fn holds(&self, data: &Map<String, Value>) -> bool {
        match self {
            Condition::Filled(p) => is_filled(lookup(data, p)),
            Condition::Empty(p) => !is_filled(lookup(data, p)),
            Condition::IsTrue(p) => lookup(data, p) == Some(&Value::Bool(true)),
            Condition::Equals { field, value } => lookup(data, field) == Some(value),
            Condition::OneOf { field, values } => lookup(data, field).is_some_and(|v| values.contains(v)),
            // Holds when either side is missing: the required checks report missing values.
            Condition::NotAfter { field, other } => match (comparable(lookup(data, field)), comparable(lookup(data, other))) {
                (Some(a), Some(b)) => a <= b,
                _ => true,
            },
            Condition::Contains { field, value } => match lookup(data, field) {
                Some(Value::Array(a)) => a.contains(value),
                Some(v) => v == value,
                None => false,
            },
            Condition::Distinct(p) => match lookup(data, p) {
                Some(Value::Array(a)) => a.iter().enumerate().all(|(i, v)| !a[..i].contains(v)),
                _ => true,
            },
            Condition::All(cs) => cs.iter().all(|c| c.holds(data)),
            Condition::Any(cs) => cs.iter().any(|c| c.holds(data)),
            Condition::Not(c) => !c.holds(data),
        }
    }

    /// Every path the condition reads.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Condition::Filled(p) | Condition::Empty(p) | Condition::IsTrue(p) | Condition::Distinct(p) => vec![p],
            Condition::Equals { field, .. } | Condition::OneOf { field, .. } | Condition::Contains { field, .. } => vec![field],
            Condition::NotAfter { field, other } => vec![field, other],
            Condition::All(cs) | Condition::Any(cs) => cs.iter().flat_map(|c| c.paths()).collect(),
            Condition::Not(c) => c.paths(),
        }
    }
}

impl Rule {
    pub fn applies(&self, data: &Map<String, Value>) -> bool {
        self.when.as_ref().is_none_or(|c| c.holds(data))
    }
}
