//! Forms as pages: the view of one page of a form (fields, groups, repeatable groups with add
//! and remove buttons that work without JavaScript), and the answers for the review page.
//!
//! A page is drawn from a flat list of [`Block`]s (open a fieldset, a field, close it, a button),
//! so that groups nest to any depth without recursive templates.

use amtsweg_domain::form::{DataType, Field, FieldKind, Group, Item, Page, join, lookup};
use amtsweg_domain::{FieldError, FormData};
use serde_json::Value;

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One form field as the template draws it.
pub struct FieldView {
    /// The field path: input name and element id.
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    /// `text`, `textarea`, `date`, `time`, `datetime`, `checkbox`, `yesno`, `select`, `number`,
    /// `file`, `label`, `locked`.
    pub kind: &'static str,
    pub input_mode: &'static str,
    pub value: String,
    pub checked: bool,
    pub required: bool,
    pub error: Option<String>,
    pub options: Vec<ChoiceView>,
    pub autocomplete: String,
    pub max_length: Option<usize>,
    pub accept: String,
}

impl FieldView {
    pub fn described_by(&self) -> String {
        crate::pages::described_by(&self.id, self.hint.is_some(), self.error.is_some())
    }
}

pub enum Block {
    /// Opens a fieldset; `level` 0 is a page section.
    Open { id: String, legend: String, hint: Option<String>, legal_basis: Option<String>, error: Option<String> },
    Field(FieldView),
    /// A hidden marker that keeps an (empty) instance of a repeatable group across submits.
    Marker { name: String },
    /// Removes one instance of a repeatable group or field.
    Remove { target: String, label: String },
    /// Adds an instance.
    Add { target: String, label: String },
    Close,
}

/// What the page shows: the stored data, or what was just sent (after an error or an add or
/// remove), with the problems found.
pub struct Source<'a> {
    pub data: &'a FormData,
    pub raw: Option<&'a [(String, String)]>,
    pub errors: &'a [FieldError],
}

impl Source<'_> {
    fn error(&self, path: &str) -> Option<String> {
        self.errors.iter().find(|e| e.field == path).map(|e| e.message.clone())
    }

    fn raw_value(&self, path: &str) -> Option<String> {
        self.raw.map(|raw| raw.iter().rev().find(|(k, _)| k == path).map(|(_, v)| v.clone()).unwrap_or_default())
    }

    fn stored(&self, path: &str) -> Option<&Value> {
        lookup(self.data, path)
    }

    /// Instance numbers of a repeatable element at `path`.
    fn instances(&self, path: &str, min: u32) -> Vec<usize> {
        let mut found = match self.raw {
            Some(raw) => amtsweg_domain::form::indices(raw, path),
            None => match self.stored(path) {
                Some(Value::Array(a)) => (0..a.len()).collect(),
                _ => Vec::new(),
            },
        };
        let least = (min.max(1)) as usize;
        let mut next = found.last().map(|n| n + 1).unwrap_or(0);
        while found.len() < least {
            found.push(next);
            next += 1;
        }
        found
    }
}

fn field_view(f: &Field, path: &str, src: &Source) -> FieldView {
    let value = match src.raw_value(path) {
        Some(v) => v,
        None => src.stored(path).map(|v| f.input_value(v)).unwrap_or_default(),
    };
    let (kind, input_mode) = match (f.kind, f.data_type) {
        (FieldKind::Label, _) => ("label", ""),
        (FieldKind::Locked, _) => ("locked", ""),
        (_, DataType::Text | DataType::TextLatin) => ("text", ""),
        (_, DataType::LongText) => ("textarea", ""),
        (_, DataType::Date) => ("date", ""),
        (_, DataType::Time) => ("time", ""),
        (_, DataType::DateTime) => ("datetime", ""),
        (_, DataType::Bool) if f.confirmation => ("checkbox", ""),
        (_, DataType::Bool) => ("yesno", ""),
        (_, DataType::Select) if f.is_select() => ("select", ""),
        (_, DataType::Select) => ("text", ""),
        (_, DataType::Integer) => ("number", "numeric"),
        (_, DataType::Number | DataType::Currency) => ("number", "decimal"),
        (_, DataType::File) => ("file", ""),
    };
    let default_hint = match f.data_type {
        DataType::Date => Some("Bitte im Format TT.MM.JJJJ, zum Beispiel 01.03.2027."),
        DataType::Time => Some("Bitte im Format HH:MM, zum Beispiel 14:30."),
        DataType::DateTime => Some("Bitte im Format TT.MM.JJJJ HH:MM, zum Beispiel 01.03.2027 14:30."),
        DataType::Currency => Some("Betrag in Euro, zum Beispiel 1.234,50."),
        _ => None,
    };
    let value = if kind == "locked" { f.content.clone().unwrap_or(value) } else { value };
    FieldView {
        id: path.to_owned(),
        label: if kind == "label" { f.content.clone().filter(|c| !c.is_empty()).unwrap_or_else(|| f.label.clone()) } else { f.label.clone() },
        // The expected format is always said, also after a help text of the schema.
        hint: match (f.hint.as_deref().map(str::trim).filter(|h| !h.is_empty()), default_hint) {
            (Some(h), Some(d)) => Some(format!("{h} {d}")),
            (Some(h), None) => Some(h.to_owned()),
            (None, d) => d.map(str::to_owned),
        },
        kind,
        input_mode,
        checked: matches!(value.as_str(), "true" | "on"),
        options: f.options.iter().map(|c| ChoiceView { value: c.value.clone(), label: c.label.clone(), selected: c.value == value }).collect(),
        required: f.is_required(),
        error: src.error(path),
        autocomplete: f.autocomplete.clone().unwrap_or_default(),
        max_length: f.constraints.max_length,
        accept: f.constraints.media_types.join(","),
        value,
    }
}

fn items_blocks(items: &[Item], prefix: &str, src: &Source, out: &mut Vec<Block>) {
    for item in items {
        match item {
            Item::Field(f) if f.kind == FieldKind::Hidden => {}
            Item::Field(f) if f.is_repeatable() => {
                let path = join(prefix, &f.id);
                out.push(Block::Open { id: path.clone(), legend: f.label.clone(), hint: f.hint.clone(), legal_basis: None, error: src.error(&path) });
                let instances = src.instances(&path, f.min);
                let count = instances.len();
                for (n, i) in instances.into_iter().enumerate() {
                    let p = join(&path, &i.to_string());
                    let mut view = field_view(f, &p, src);
                    view.label = format!("{} ({})", f.label, n + 1);
                    view.hint = None;
                    out.push(Block::Field(view));
                    if count > f.min.max(1) as usize {
                        out.push(Block::Remove { target: p, label: format!("{} ({}) entfernen", f.label, n + 1) });
                    }
                }
                if f.max.is_none_or(|m| (count as u32) < m) {
                    out.push(Block::Add { target: path.clone(), label: format!("Weiteren Wert hinzufügen: {}", f.label) });
                }
                out.push(Block::Close);
            }
            Item::Field(f) => out.push(Block::Field(field_view(f, &join(prefix, &f.id), src))),
            Item::Group(g) if !g.nested => {
                out.push(Block::Open { id: join(prefix, &g.id), legend: g.title.clone(), hint: g.hint.clone(), legal_basis: g.legal_basis.clone(), error: None });
                items_blocks(&g.items, prefix, src, out);
                out.push(Block::Close);
            }
            Item::Group(g) => group_blocks(g, prefix, src, out),
        }
    }
}

fn group_blocks(g: &Group, prefix: &str, src: &Source, out: &mut Vec<Block>) {
    let path = join(prefix, &g.id);
    if !g.is_repeatable() {
        let hint = match (&g.hint, g.min) {
            (Some(h), _) if !h.trim().is_empty() => Some(h.clone()),
            (_, 0) => Some("Diese Angaben sind freiwillig oder nur nötig, wenn sie auf Sie zutreffen.".to_owned()),
            _ => None,
        };
        out.push(Block::Open { id: path.clone(), legend: g.title.clone(), hint, legal_basis: g.legal_basis.clone(), error: src.error(&path) });
        items_blocks(&g.items, &path, src, out);
        out.push(Block::Close);
        return;
    }
    out.push(Block::Open { id: path.clone(), legend: g.title.clone(), hint: g.hint.clone(), legal_basis: g.legal_basis.clone(), error: src.error(&path) });
    let instances = src.instances(&path, g.min);
    let count = instances.len();
    for (n, i) in instances.into_iter().enumerate() {
        let p = join(&path, &i.to_string());
        out.push(Block::Open { id: p.clone(), legend: format!("{} {}", g.title, n + 1), hint: None, legal_basis: None, error: None });
        out.push(Block::Marker { name: join(&p, "_") });
        items_blocks(&g.items, &p, src, out);
        if count > g.min.max(1) as usize {
            out.push(Block::Remove { target: p.clone(), label: format!("{} {} entfernen", g.title, n + 1) });
        }
        out.push(Block::Close);
    }
    if g.max.is_none_or(|m| (count as u32) < m) {
        out.push(Block::Add { target: path.clone(), label: format!("Weiteren Eintrag hinzufügen: {}", g.title) });
    }
    out.push(Block::Close);
}

/// The blocks of one page.
pub fn page_blocks(page: &Page, src: &Source) -> Vec<Block> {
    let mut out = Vec::new();
    for g in &page.groups {
        if g.nested {
            group_blocks(g, "", src, &mut out);
        } else {
            out.push(Block::Open { id: g.id.clone(), legend: g.title.clone(), hint: g.hint.clone(), legal_basis: g.legal_basis.clone(), error: None });
            items_blocks(&g.items, "", src, &mut out);
            out.push(Block::Close);
        }
    }
    out
}

/// Applies an add or remove button to what was sent: returns the input to show again.
pub fn apply_action(input: &[(String, String)], action: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = input.iter().filter(|(k, _)| !k.starts_with('_')).cloned().collect();
    if let Some(target) = action.strip_prefix("add:") {
        let next = amtsweg_domain::form::indices(&out, target).last().map(|n| n + 1).unwrap_or(1);
        // An instance is known by its marker; a repeatable field by its (empty) value.
        out.push((join(&join(target, &next.to_string()), "_"), String::new()));
        out.push((join(target, &next.to_string()), String::new()));
    } else if let Some(target) = action.strip_prefix("remove:") {
        let below = format!("{target}.");
        out.retain(|(k, _)| k != target && !k.starts_with(&below));
    }
    out
}

pub use amtsweg_domain::form::{AnswerView, PageAnswers, answers};
