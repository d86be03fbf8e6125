//! From an XDatenfelder schema to the form model of amtsweg: one page per top-level group (the
//! top-level fields together on a page of their own), cardinalities, field kinds, data types,
//! constraints, code lists resolved into choices, and the rules written for the schema.

use crate::codelist::CodeLists;
use crate::model::{self, Child, DataType as X, Element, FieldKind as K, Schema};
use amtsweg_domain::form::{Constraints, DataType, Field, FieldKind, Group, Item, Rule, field};
use amtsweg_domain::FormModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rules written for one schema, by the group they sit on (`""`: the schema itself). Kept in a
/// JSON file beside the schema: `{"schema": "S00000186", "rules": {"": [...], "G00001377": [...]}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub schema: String,
    #[serde(default)]
    pub rules: BTreeMap<String, Vec<Rule>>,
}

/// Something that keeps a schema from becoming a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    pub element: String,
    pub message: String,
}

pub struct Options<'a> {
    pub code_lists: &'a CodeLists,
    pub rules: Option<&'a RuleFile>,
    /// Code lists (by canonical URI or version URI) accepted as free text when unresolved.
    pub accept_free_text: &'a [String],
}

pub fn to_form(schema: &Schema, options: &Options) -> Result<FormModel, Vec<ImportProblem>> {
    let mut problems = Vec::new();
    if let Some(r) = options.rules {
        if r.schema != schema.id {
            problems.push(ImportProblem {
                element: schema.id.clone(),
                message: format!("Die Regeldatei gehört zum Schema {}, nicht zu {}.", r.schema, schema.id),
            });
        }
    }
    let mut groups = Vec::new();
    let mut loose: Vec<Item> = Vec::new();
    let mut section = 0;
    let flush = |loose: &mut Vec<Item>, groups: &mut Vec<Group>, section: &mut usize| {
        if !loose.is_empty() {
            *section += 1;
            groups.push(Group {
                id: format!("_angaben{section}"),
                title: "Weitere Angaben".into(),
                hint: None,
                legal_basis: None,
                nested: false,
                min: 1,
                max: Some(1),
                items: std::mem::take(loose),
                rules: Vec::new(),
            });
        }
    };
    for child in &schema.items {
        match &child.element {
            Element::Group(_) => {
                flush(&mut loose, &mut groups, &mut section);
                if let Item::Group(g) = convert(child, options, &mut problems) {
                    groups.push(g);
                }
            }
            Element::Field(_) => loose.push(convert(child, options, &mut problems)),
        }
    }
    flush(&mut loose, &mut groups, &mut section);
    let rules = options.rules.and_then(|r| r.rules.get("")).cloned().unwrap_or_default();
    let model = FormModel { groups, rules };
    if let Some(file) = options.rules {
        check_rule_paths(&model, file, &mut problems);
    }
    problems.dedup();
    if problems.is_empty() { Ok(model) } else { Err(problems) }
}

fn legal(basis: &[String]) -> Option<String> {
    (!basis.is_empty()).then(|| basis.join("; "))
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn convert(child: &Child, options: &Options, problems: &mut Vec<ImportProblem>) -> Item {
    let (min, max) = (child.cardinality.min, child.cardinality.max);
    match &child.element {
        Element::Group(g) => Item::Group(Group {
            id: g.id.clone(),
            title: if g.label.is_empty() { g.name.clone() } else { g.label.clone() },
            hint: non_empty(&g.help),
            legal_basis: legal(&g.legal_basis).or_else(|| legal(&child.legal_basis)),
            nested: true,
            min,
            max,
            items: g.items.iter().map(|c| convert(c, options, problems)).collect(),
            rules: options.rules.and_then(|r| r.rules.get(&g.id)).cloned().unwrap_or_default(),
        }),
        Element::Field(f) => Item::Field(convert_field(f, min, max, &child.legal_basis, options, problems)),
    }
}

fn convert_field(f: &model::Field, min: u32, max: Option<u32>, basis: &[String], options: &Options, problems: &mut Vec<ImportProblem>) -> Field {
    let data_type = match f.data_type {
        X::Text if f.constraints.max_length.is_some_and(|m| m > 255) => DataType::LongText,
        X::Text => DataType::Text,
        X::TextLatin => DataType::TextLatin,
        X::Date => DataType::Date,
        X::Time => DataType::Time,
        X::Datetime => DataType::DateTime,
        X::Bool => DataType::Bool,
        X::Num => DataType::Number,
        X::NumInt => DataType::Integer,
        X::NumCurrency => DataType::Currency,
        X::File | X::Obj => DataType::File,
    };
    let label = if f.label.is_empty() { f.name.clone() } else { f.label.clone() };
    let kind = match f.kind {
        K::Input => FieldKind::Input,
        K::Select => FieldKind::Select,
        K::Label => FieldKind::Label,
        K::Hidden => FieldKind::Hidden,
        K::Locked => FieldKind::Locked,
    };
    let number = |s: &Option<String>| s.as_deref().and_then(|v| v.replace(',', ".").parse::<f64>().ok());
    let mut constraints = Constraints {
        min_length: f.constraints.min_length,
        max_length: f.constraints.max_length,
        pattern: f.constraints.pattern.clone(),
        pattern_message: f.constraints.pattern.as_ref().map(|_| format!("„{label}“ hat nicht die vorgegebene Form.")),
        min_value: number(&f.constraints.min_value),
        max_value: number(&f.constraints.max_value),
        max_size: f.constraints.max_size,
        media_types: f.constraints.media_types.clone(),
        ..Default::default()
    };
    let mut out = field(&f.id, &label, data_type).kind(kind).repeat(min, max);
    if kind == FieldKind::Select {
        out.data_type = DataType::Select;
        let mut choices: Vec<(String, String)> = f.values.iter().map(|v| (v.code.clone(), if v.name.is_empty() { v.code.clone() } else { v.name.clone() })).collect();
        if choices.is_empty() {
            match &f.code_list {
                Some(reference) => match options.code_lists.resolve(reference) {
                    Some(list) => choices = list.entries.iter().map(|e| (e.code.clone(), e.name.clone())).collect(),
                    None => {
                        let names = [&reference.canonical_version_uri, &reference.canonical_identification];
                        if names.iter().any(|n| !n.is_empty() && options.accept_free_text.contains(n)) {
                            constraints.free_text = true;
                        } else {
                            problems.push(ImportProblem {
                                element: f.id.clone(),
                                message: format!(
                                    "Die Codeliste „{}“ des Auswahlfelds {} („{label}“) wurde nicht gefunden. Geben Sie den Ordner mit den Codelisten an (--codelists) oder lassen Sie für diese Liste Freitext zu (--accept-free-text {}).",
                                    if reference.canonical_version_uri.is_empty() { &reference.canonical_identification } else { &reference.canonical_version_uri },
                                    f.id,
                                    if reference.canonical_version_uri.is_empty() { &reference.canonical_identification } else { &reference.canonical_version_uri },
                                ),
                            });
                        }
                    }
                },
                None => problems.push(ImportProblem { element: f.id.clone(), message: format!("Das Auswahlfeld {} („{label}“) nennt keine Codeliste.", f.id) }),
            }
        }
        out.options = choices.into_iter().map(|(value, label)| amtsweg_domain::form::Choice { value, label }).collect();
    }
    out.constraints = constraints;
    out.hint = non_empty(&f.help);
    out.content = non_empty(&f.content);
    out.legal_basis = legal(&f.legal_basis).or_else(|| legal(basis));
    if data_type == DataType::Bool && kind == FieldKind::Input && out.is_required() && f.label.to_lowercase().contains("bestätig") {
        out.confirmation = true;
    }
    out
}

fn resolves(items: &[Item], path: &str) -> bool {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    items.iter().any(|item| match item {
        Item::Field(f) => rest.is_none() && f.id == head,
        Item::Group(g) if g.nested => g.id == head && rest.is_none_or(|r| resolves(&g.items, r)),
        Item::Group(g) => resolves(&g.items, path),
    })
}

fn rule_paths(rule: &Rule) -> Vec<&str> {
    let mut paths: Vec<&str> = rule.show.iter().chain(rule.require.iter()).map(String::as_str).collect();
    if let Some(c) = &rule.when {
        paths.extend(c.paths());
    }
    if let Some(check) = &rule.check {
        paths.push(&check.field);
        paths.extend(check.assert.paths());
    }
    paths
}

/// Every path a rule names must exist in the scope the rule sits on, and every scope must be a
/// group of the schema: a rule that speaks of nothing would silently never act.
fn check_rule_paths(model: &FormModel, file: &RuleFile, problems: &mut Vec<ImportProblem>) {
    fn groups<'a>(items: &'a [Item], out: &mut Vec<&'a Group>) {
        for i in items {
            if let Item::Group(g) = i {
                out.push(g);
                groups(&g.items, out);
            }
        }
    }
    let top: Vec<Item> = model.groups.iter().cloned().map(Item::Group).collect();
    let mut all = Vec::new();
    groups(&top, &mut all);
    for (scope, rules) in &file.rules {
        let items: &[Item] = if scope.is_empty() {
            &top
        } else {
            match all.iter().find(|g| g.nested && &g.id == scope) {
                Some(g) => &g.items,
                None => {
                    problems.push(ImportProblem { element: scope.clone(), message: format!("Die Regeldatei nennt die Gruppe {scope}, die es im Schema nicht gibt.") });
                    continue;
                }
            }
        };
        for rule in rules {
            for (path, value) in compared_values(rule.when.iter().chain(rule.check.as_ref().map(|c| &c.assert))) {
                if let Some(f) = resolve_field(items, path).filter(|f| f.is_select() && !f.options.is_empty()) {
                    if !value.as_str().is_some_and(|v| f.options.iter().any(|o| o.value == v)) {
                        problems.push(ImportProblem {
                            element: rule.id.clone(),
                            message: format!("Regel {}: „{value}“ ist kein Wert der Codeliste von {path}.", rule.id),
                        });
                    }
                }
            }
            for path in rule_paths(rule) {
                if !resolves(items, path) {
                    problems.push(ImportProblem {
                        element: rule.id.clone(),
                        message: format!("Regel {}: „{path}“ gibt es in {} nicht.", rule.id, if scope.is_empty() { "der obersten Ebene des Schemas".to_owned() } else { format!("der Gruppe {scope}") }),
                    });
                }
            }
        }
    }
}

fn resolve_field<'a>(items: &'a [Item], path: &str) -> Option<&'a Field> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    items.iter().find_map(|item| match item {
        Item::Field(f) if rest.is_none() && f.id == head => Some(f),
        Item::Group(g) if g.nested && g.id == head => rest.and_then(|r| resolve_field(&g.items, r)),
        Item::Group(g) if !g.nested => resolve_field(&g.items, path),
        _ => None,
    })
}

/// The (path, value) pairs that conditions compare a field with.
fn compared_values<'a>(conditions: impl Iterator<Item = &'a amtsweg_domain::form::Condition>) -> Vec<(&'a str, &'a serde_json::Value)> {
    use amtsweg_domain::form::Condition as C;
    let mut out = Vec::new();
    fn walk<'a>(c: &'a C, out: &mut Vec<(&'a str, &'a serde_json::Value)>) {
        match c {
            C::Equals { field, value } | C::Contains { field, value } => out.push((field, value)),
            C::OneOf { field, values } => out.extend(values.iter().map(|v| (field.as_str(), v))),
            C::All(cs) | C::Any(cs) => cs.iter().for_each(|c| walk(c, out)),
            C::Not(c) => walk(c, out),
            _ => {}
        }
    }
    for c in conditions {
        walk(c, &mut out);
    }
    out
}
