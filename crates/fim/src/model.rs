//! What an XDatenfelder message says, independent of its version.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum XdfVersion {
    #[serde(rename = "2.0")]
    V2,
    #[serde(rename = "3.0.0")]
    V3,
}

impl XdfVersion {
    pub fn label(self) -> &'static str {
        match self {
            Self::V2 => "XDatenfelder 2.0",
            Self::V3 => "XDatenfelder 3.0.0",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub version: XdfVersion,
    pub message_id: String,
    /// A Stammdatenschema, or (message `datenfeldgruppe.0103`) a single group shown as one.
    pub schema: Schema,
    pub is_group_message: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Schema {
    pub id: String,
    pub version: String,
    pub name: String,
    /// The title for people (`bezeichnungEingabe`, XDF 3 `bezeichnung`), else the name.
    pub label: String,
    pub description: String,
    pub help: String,
    /// Legal basis (`bezug`), several in XDF 3.
    pub legal_basis: Vec<String>,
    /// Release status as in the file (XDF 2 `status`, XDF 3 `freigabestatus` code).
    pub status: String,
    pub items: Vec<Child>,
    pub rules: Vec<Rule>,
}

/// Cardinality `min:max` (`0:1`, `1:1`, `0:*`, `1:5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cardinality {
    pub min: u32,
    /// `None`: unbounded.
    pub max: Option<u32>,
}

impl Cardinality {
    pub fn parse(s: &str) -> Option<Self> {
        let (min, max) = s.trim().split_once(':')?;
        let min: u32 = min.trim().parse().ok()?;
        let max = match max.trim() {
            "*" => None,
            m => Some(m.parse::<u32>().ok()?),
        };
        if max.is_some_and(|m| m < min || m == 0) {
            return None;
        }
        Some(Self { min, max })
    }

    pub fn is_repeatable(self) -> bool {
        self.max != Some(1)
    }

    pub fn is_required(self) -> bool {
        self.min > 0
    }
}

/// One entry of a structure: a field or group with its cardinality there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Child {
    pub cardinality: Cardinality,
    pub legal_basis: Vec<String>,
    pub element: Element,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element {
    Field(Field),
    Group(Group),
}

impl Element {
    pub fn id(&self) -> &str {
        match self {
            Element::Field(f) => &f.id,
            Element::Group(g) => &g.id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub version: String,
    pub name: String,
    pub label: String,
    pub help: String,
    pub legal_basis: Vec<String>,
    pub items: Vec<Child>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Input,
    Select,
    Label,
    Hidden,
    Locked,
}

impl FieldKind {
    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "input" => Self::Input,
            "select" => Self::Select,
            "label" => Self::Label,
            "hidden" => Self::Hidden,
            "locked" => Self::Locked,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Text,
    /// DIN SPEC 91379 characters only (XDF 3).
    TextLatin,
    Date,
    Time,
    Datetime,
    Bool,
    Num,
    NumInt,
    NumCurrency,
    File,
    Obj,
}

impl DataType {
    pub fn parse(code: &str, version: XdfVersion) -> Option<Self> {
        Some(match (code, version) {
            ("text", _) => Self::Text,
            ("date", _) => Self::Date,
            ("bool", _) => Self::Bool,
            ("num", _) => Self::Num,
            ("num_int", _) => Self::NumInt,
            ("num_currency", _) => Self::NumCurrency,
            ("file", _) => Self::File,
            ("obj", _) => Self::Obj,
            ("text_latin", XdfVersion::V3) => Self::TextLatin,
            ("time", XdfVersion::V3) => Self::Time,
            ("datetime", XdfVersion::V3) => Self::Datetime,
            _ => return None,
        })
    }
}

/// Constraints (`praezisierung`): XDF 2 as JSON text, XDF 3 as attributes and elements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub min_value: Option<String>,
    pub max_value: Option<String>,
    /// XSD-style pattern (implicitly anchored), may use `\p{L}`.
    pub pattern: Option<String>,
    /// Largest file in bytes.
    pub max_size: Option<u64>,
    pub media_types: Vec<String>,
}

/// Where a select field's entries come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeListRef {
    pub id: String,
    pub canonical_identification: String,
    pub version: String,
    pub canonical_version_uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value {
    pub code: String,
    pub name: String,
    pub help: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub version: String,
    pub name: String,
    pub label: String,
    pub help: String,
    pub legal_basis: Vec<String>,
    pub kind: FieldKind,
    pub data_type: DataType,
    pub constraints: Constraints,
    /// `inhalt`: the text of a label field, or a default value.
    pub content: String,
    pub code_list: Option<CodeListRef>,
    /// XDF 3 inline values (`werte`).
    pub values: Vec<Value>,
    pub rules: Vec<Rule>,
}

/// A rule as the export carries it: prose (the scripts are empty stubs in real exports).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub version: String,
    pub name: String,
    pub description: String,
    pub definition: String,
    pub script: String,
}

impl Schema {
    /// Every field use in the schema, depth first (a field used twice appears twice).
    pub fn field_uses(&self) -> Vec<&Field> {
        fn walk<'a>(items: &'a [Child], out: &mut Vec<&'a Field>) {
            for c in items {
                match &c.element {
                    Element::Field(f) => out.push(f),
                    Element::Group(g) => walk(&g.items, out),
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }

    /// Every group use, depth first.
    pub fn group_uses(&self) -> Vec<&Group> {
        fn walk<'a>(items: &'a [Child], out: &mut Vec<&'a Group>) {
            for c in items {
                if let Element::Group(g) = &c.element {
                    out.push(g);
                    walk(&g.items, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }

    /// Every rule attached anywhere, depth first (the schema's first).
    pub fn all_rules(&self) -> Vec<&Rule> {
        let mut out: Vec<&Rule> = self.rules.iter().collect();
        for g in self.group_uses() {
            out.extend(g.rules.iter());
        }
        for f in self.field_uses() {
            out.extend(f.rules.iter());
        }
        out
    }
}
