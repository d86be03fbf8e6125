//! The form model of a service: pages of groups and fields with data types, cardinalities,
//! constraints and rules; validation of submitted values with German messages located by field
//! path; and the JSON Schema that the API publishes.
//!
//! Services modelled by hand and services imported from FIM schemas share this model. Data is
//! JSON keyed by element ids: a field's value under its id; a FIM group's data (`nested`) under
//! the group's id, an array of objects when the group repeats; a repeating field an array. Groups
//! that are only sections of a hand-made page (`nested: false`) add no level.
//!
//! A field path names one place in the data: ids and indices joined by dots, e.g.
//! `G60000001.0.F60000002`. Errors, input names and rule references use it.

mod answers;
mod rules;
mod schema;
mod validate;
mod values;

pub use answers::{AnswerView, PageAnswers, answers};
pub use rules::{Check, Condition, Rule, lookup};
pub use validate::indices;
pub use values::{format_date_german, format_number_german, parse_date};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The values of one application, keyed by element id.
pub type FormData = Map<String, Value>;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormModel {
    /// The top-level groups. A page is a nested (FIM) group, or a run of consecutive section
    /// groups.
    pub groups: Vec<Group>,
    /// Rules on the top level of the data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Rule>,
}

fn one() -> u32 {
    1
}

fn max_one() -> Option<u32> {
    Some(1)
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// The group's data lives under its id (FIM groups); otherwise its fields sit in the
    /// parent's data.
    #[serde(default)]
    pub nested: bool,
    /// Least number of instances (0: optional).
    #[serde(default = "one")]
    pub min: u32,
    /// Largest number of instances; `None`: unbounded.
    #[serde(default = "max_one")]
    pub max: Option<u32>,
    #[schema(no_recursion, value_type = Vec<Object>)]
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    Field(Field),
    Group(Group),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Entered by the person.
    #[default]
    Input,
    /// Chosen from a list (the data type is `select`).
    Select,
    /// Text shown on the page, no value.
    Label,
    /// Not shown; its value is its content.
    Hidden,
    /// Shown, not changeable; its value is its content.
    Locked,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default)]
    pub kind: FieldKind,
    pub data_type: DataType,
    /// Least number of values (0: optional, 1: required).
    #[serde(default)]
    pub min: u32,
    /// Largest number of values; more than one makes the value a list.
    #[serde(default = "max_one")]
    pub max: Option<u32>,
    #[serde(default, skip_serializing_if = "Constraints::is_empty")]
    pub constraints: Constraints,
    /// The choices of a `select` field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Browser autofill hint (`autocomplete` attribute), WCAG 1.3.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
    /// A yes/no field that is a confirmation: a checkbox that must be ticked when required.
    /// Other yes/no fields are questions answered Ja or Nein.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirmation: bool,
    /// Text of a label, or the value of a hidden or locked field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    #[serde(skip)]
    compiled_pattern: OnceLock<Option<Regex>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Text,
    LongText,
    /// Text of the characters of DIN SPEC 91379 (Latin script, with its diacritics).
    TextLatin,
    Date,
    Time,
    DateTime,
    Bool,
    Integer,
    Number,
    /// An amount in euros, at most two decimals.
    Currency,
    Select,
    /// A document: `{"name", "media_type", "size"}` (upload comes with its own issue).
    File,
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
    /// Largest document in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
    /// A select field whose code list could not be resolved and that the admin accepted as
    /// free text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub free_text: bool,
}

impl Constraints {
    fn is_empty(&self) -> bool {
        self.min_length.is_none()
            && self.max_length.is_none()
            && self.pattern.is_none()
            && self.min_value.is_none()
            && self.max_value.is_none()
            && self.min_date_offset_days.is_none()
            && self.max_size.is_none()
            && self.media_types.is_empty()
            && !self.free_text
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// One problem at one place, in German, for the person who entered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field path (`kennzeichen`, `G60000001.0.F60000002`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Joins a path prefix and a segment.
pub fn join(prefix: &str, segment: &str) -> String {
    if prefix.is_empty() { segment.to_owned() } else { format!("{prefix}.{segment}") }
}

impl Field {
    pub fn is_required(&self) -> bool {
        self.min > 0
    }

    pub fn is_repeatable(&self) -> bool {
        self.max != Some(1)
    }

    /// Whether the field carries a value in the data (labels do not).
    pub fn has_value(&self) -> bool {
        self.kind != FieldKind::Label
    }

    pub(crate) fn pattern(&self) -> Option<&Regex> {
        self.compiled_pattern
            .get_or_init(|| {
                let p = self.constraints.pattern.as_deref()?;
                Regex::new(&format!("^(?:{})$", values::xsd_to_regex(p))).ok()
            })
            .as_ref()
    }

    pub fn is_select(&self) -> bool {
        self.data_type == DataType::Select && !self.constraints.free_text
    }

    /// The compiled pattern, `None` when there is none or it does not compile.
    pub fn check_pattern(&self) -> Option<&Regex> {
        self.pattern()
    }
}

impl Group {
    pub fn is_repeatable(&self) -> bool {
        self.max != Some(1)
    }
}

/// One page of a form: a nested group, or a run of section groups.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub number: usize,
    pub title: &'a str,
    pub groups: Vec<&'a Group>,
}

impl Page<'_> {
    /// Whether a field path belongs to this page.
    pub fn owns(&self, path: &str) -> bool {
        let head = path.split('.').next().unwrap_or(path);
        self.groups.iter().any(|g| {
            if g.nested { g.id == head } else { g.items.iter().any(|i| item_owns(i, head)) }
        })
    }
}

fn item_owns(item: &Item, head: &str) -> bool {
    match item {
        Item::Field(f) => f.id == head,
        Item::Group(g) if g.nested => g.id == head,
        Item::Group(g) => g.items.iter().any(|i| item_owns(i, head)),
    }
}

impl FormModel {
    /// The pages, in order, numbered from 1.
    pub fn pages(&self) -> Vec<Page<'_>> {
        let mut pages: Vec<Page> = Vec::new();
        for g in &self.groups {
            match pages.last_mut() {
                Some(last) if !g.nested && last.groups.iter().all(|x| !x.nested) => last.groups.push(g),
                _ => pages.push(Page { number: pages.len() + 1, title: &g.title, groups: vec![g] }),
            }
        }
        pages
    }

    /// Compiles every field's pattern now (otherwise at first use): a model that is kept and
    /// cloned (the store's form cache) then carries its compiled patterns along.
    pub fn compile_patterns(&self) {
        for f in self.fields() {
            let _ = f.pattern();
        }
    }

    /// Every field, depth first.
    pub fn fields(&self) -> Vec<&Field> {
        fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Field>) {
            for i in items {
                match i {
                    Item::Field(f) => out.push(f),
                    Item::Group(g) => walk(&g.items, out),
                }
            }
        }
        let mut out = Vec::new();
        for g in &self.groups {
            walk(&g.items, &mut out);
        }
        out
    }

    /// Finds a field by its path (indices are skipped).
    pub fn field_at(&self, path: &str) -> Option<&Field> {
        let segments: Vec<&str> = path.split('.').filter(|s| s.parse::<usize>().is_err()).collect();
        fn find<'a>(items: &'a [Item], segments: &[&str]) -> Option<&'a Field> {
            let (head, rest) = segments.split_first()?;
            for i in items {
                match i {
                    Item::Field(f) if rest.is_empty() && f.id == *head => return Some(f),
                    Item::Group(g) if g.nested && g.id == *head => return find(&g.items, rest),
                    Item::Group(g) if !g.nested => {
                        if let Some(f) = find(&g.items, segments) {
                            return Some(f);
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        self.groups.iter().find_map(|g| {
            if g.nested {
                (g.id == segments[0]).then(|| find(&g.items, &segments[1..])).flatten()
            } else {
                find(&g.items, &segments)
            }
        })
    }
}

/// Builds a field; used by services modelled by hand.
pub fn field(id: &str, label: &str, data_type: DataType) -> Field {
    Field {
        id: id.to_owned(),
        label: label.to_owned(),
        hint: None,
        kind: if data_type == DataType::Select { FieldKind::Select } else { FieldKind::Input },
        data_type,
        min: 0,
        max: Some(1),
        constraints: Constraints::default(),
        options: Vec::new(),
        autocomplete: None,
        confirmation: false,
        content: None,
        legal_basis: None,
        compiled_pattern: OnceLock::new(),
    }
}

impl Field {
    pub fn required(mut self) -> Self {
        self.min = self.min.max(1);
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
    pub fn kind(mut self, kind: FieldKind) -> Self {
        self.kind = kind;
        self
    }
    pub fn repeat(mut self, min: u32, max: Option<u32>) -> Self {
        self.min = min;
        self.max = max;
        self
    }
    pub fn confirmation(mut self) -> Self {
        self.confirmation = true;
        self
    }
    pub fn content(mut self, content: &str) -> Self {
        self.content = Some(content.to_owned());
        self
    }
}

/// A section of a hand-made page: its fields sit directly in the data.
pub fn section(id: &str, title: &str, fields: Vec<Field>) -> Group {
    Group {
        id: id.to_owned(),
        title: title.to_owned(),
        hint: None,
        legal_basis: None,
        nested: false,
        min: 1,
        max: Some(1),
        items: fields.into_iter().map(Item::Field).collect(),
        rules: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
