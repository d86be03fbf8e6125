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
//! Conditions: `filled`, `empty`, `is_true`, `distinct`, `any_true` (a path), `equals`, `one_of`
//! and `contains` (a path and values), `count_true`, `not_after` (a date or number not after
//! another), `days_ahead` and `years_ago` (a date against today), and `all`, `any`, `not`.

use super::values::parse_date;
use time::Date;
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
    /// Some yes/no value within a group is yes.
    AnyTrue(String),
    /// The number of yes values within a group (or of a single field).
    CountTrue { field: String, equals: usize },
    /// A date lies fewer than `less_than` days after today (negative: before today).
    DaysAhead { field: String, less_than: i64 },
    /// A date lies more than `more_than` years before today.
    YearsAgo { field: String, more_than: i32 },
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

fn count_true(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Bool(true)) => 1,
        Some(Value::Array(a)) => a.iter().map(|x| count_true(Some(x))).sum(),
        Some(Value::Object(o)) => o.values().map(|x| count_true(Some(x))).sum(),
        _ => 0,
    }
}

fn date_at(data: &Map<String, Value>, path: &str) -> Option<Date> {
    lookup(data, path).and_then(Value::as_str).and_then(parse_date)
}

impl Condition {
    /// Whether the condition holds for `data` (a scope's data) on the day `today`.
    pub fn holds(&self, data: &Map<String, Value>, today: Date) -> bool {
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
            Condition::AnyTrue(p) => count_true(lookup(data, p)) > 0,
            Condition::CountTrue { field, equals } => count_true(lookup(data, field)) == *equals,
            Condition::DaysAhead { field, less_than } => {
                date_at(data, field).is_some_and(|d| (d - today).whole_days() < *less_than)
            }
            Condition::YearsAgo { field, more_than } => date_at(data, field).is_some_and(|d| {
                let limit = today.replace_year(today.year() - more_than).unwrap_or_else(|_| today.saturating_sub(time::Duration::days(365 * i64::from(*more_than))));
                d < limit
            }),
            Condition::All(cs) => cs.iter().all(|c| c.holds(data, today)),
            Condition::Any(cs) => cs.iter().any(|c| c.holds(data, today)),
            Condition::Not(c) => !c.holds(data, today),
        }
    }

    /// Every path the condition reads.
    pub fn paths(&self) -> Vec<&str> {
        match self {
            Condition::Filled(p) | Condition::Empty(p) | Condition::IsTrue(p) | Condition::Distinct(p) | Condition::AnyTrue(p) => vec![p],
            Condition::Equals { field, .. }
            | Condition::OneOf { field, .. }
            | Condition::Contains { field, .. }
            | Condition::CountTrue { field, .. }
            | Condition::DaysAhead { field, .. }
            | Condition::YearsAgo { field, .. } => vec![field],
            Condition::NotAfter { field, other } => vec![field, other],
            Condition::All(cs) | Condition::Any(cs) => cs.iter().flat_map(|c| c.paths()).collect(),
            Condition::Not(c) => c.paths(),
        }
    }
}

impl Rule {
    pub fn applies(&self, data: &Map<String, Value>, today: Date) -> bool {
        self.when.as_ref().is_none_or(|c| c.holds(data, today))
    }
}
