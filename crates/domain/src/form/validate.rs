//! Validation of form data: the tree walk over groups and fields with their cardinalities and
//! rules, and the reading of HTML form input (flat name/value pairs named by field path).

use super::rules::{Rule, lookup};
use super::{Field, FieldError, FieldKind, FormData, FormModel, Group, Item, Page, join};
use serde_json::{Map, Value};
use std::collections::HashSet;
use time::Date;

/// A field or group as a member of a data scope (section groups are dissolved into their parent).
#[derive(Clone, Copy)]
pub(crate) enum Member<'a> {
    Field(&'a Field),
    Group(&'a Group),
}

impl<'a> Member<'a> {
    pub(crate) fn id(&self) -> &'a str {
        match self {
            Member::Field(f) => &f.id,
            Member::Group(g) => &g.id,
        }
    }
}

/// The members and rules of a scope whose items are `items` (plus the rules of sections).
pub(crate) fn members_in<'a>(items: impl IntoIterator<Item = &'a Item>, rules: &mut Vec<&'a Rule>) -> Vec<Member<'a>> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Field(f) => out.push(Member::Field(f)),
            Item::Group(g) if g.nested => out.push(Member::Group(g)),
            Item::Group(g) => {
                rules.extend(g.rules.iter());
                out.extend(members_in(&g.items, rules));
            }
        }
    }
    out
}

/// The members of the top level: nested page groups, and the contents of section pages.
pub(crate) fn top_members<'a>(groups: impl IntoIterator<Item = &'a Group>, rules: &mut Vec<&'a Rule>) -> Vec<Member<'a>> {
    let mut out = Vec::new();
    for g in groups {
        if g.nested {
            out.push(Member::Group(g));
        } else {
            rules.extend(g.rules.iter());
            out.extend(members_in(&g.items, rules));
        }
    }
    out
}

pub(crate) fn is_filled(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => a.iter().any(is_filled),
        Value::Object(o) => o.values().any(is_filled),
        _ => true,
    }
}

struct Walk {
    today: Date,
    errors: Vec<FieldError>,
}

impl Walk {
    fn error(&mut self, path: String, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    fn scope(&mut self, members: &[Member], rules: &[&Rule], data: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
        let mut inactive: HashSet<&str> = HashSet::new();
        let mut required: HashSet<&str> = HashSet::new();
        for rule in rules {
            let applies = rule.applies(data, self.today);
            if !applies {
                inactive.extend(rule.show.iter().map(String::as_str));
            } else {
                required.extend(rule.require.iter().map(String::as_str));
            }
        }
        for key in data.keys() {
            if !members.iter().any(|m| m.id() == key) {
                self.error(join(prefix, key), "Dieses Feld gibt es im Formular nicht.");
            }
        }
        let mut clean = Map::new();
        for m in members {
            let id = m.id();
            if inactive.contains(id) {
                continue;
            }
            let path = join(prefix, id);
            let must = required.contains(id);
            match m {
                Member::Field(f) => self.field(f, data.get(id), path, must, &mut clean),
                Member::Group(g) => self.group(g, data.get(id), path, must, &mut clean),
            }
        }
        // Requirements that reach into a non-repeating group: `G2.F3`.
        for deep in required.iter().filter(|p| p.contains('.')) {
            if inactive.iter().any(|i| deep.starts_with(&format!("{i}."))) {
                continue;
            }
            let filled = lookup(&clean, deep).is_some_and(is_filled);
            if !filled && !self.errors.iter().any(|e| e.field == join(prefix, deep)) {
                let label = find_field(members, deep).map(|f| f.required_message()).unwrap_or_else(|| "Bitte füllen Sie dieses Feld aus.".into());
                self.error(join(prefix, deep), label);
            }
        }
        for rule in rules {
            if let Some(check) = &rule.check {
                if rule.applies(&clean, self.today) && !check.assert.holds(&clean, self.today) {
                    self.error(join(prefix, &check.field), check.message.clone());
                }
            }
        }
        clean
    }

    fn field(&mut self, f: &Field, value: Option<&Value>, path: String, extra_required: bool, clean: &mut Map<String, Value>) {
        if !f.has_value() {
            return;
        }
        if matches!(f.kind, FieldKind::Hidden | FieldKind::Locked) {
            if let Some(content) = f.content.as_deref().filter(|c| !c.trim().is_empty()) {
                if let Ok(Some(v)) = f.parse_input(content) {
                    clean.insert(f.id.clone(), v);
                }
            }
            return;
        }
        let required = f.is_required() || extra_required;
        if f.is_repeatable() {
            let values: Vec<&Value> = match value {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.iter().filter(|v| is_filled(v)).collect(),
                Some(v) if is_filled(v) => vec![v],
                Some(_) => Vec::new(),
            };
            let mut out = Vec::new();
            for (i, v) in values.iter().enumerate() {
                match f.check(v, self.today) {
                    Ok(x) => out.push(x),
                    Err(m) => self.error(join(&path, &i.to_string()), m),
                }
            }
            let min = if extra_required { f.min.max(1) } else { f.min };
            if values.len() < min as usize {
                if values.is_empty() && min <= 1 {
                    self.error(path.clone(), f.required_message());
                } else {
                    self.error(path.clone(), format!("Bitte geben Sie bei „{}“ mindestens {min} Werte an.", f.label));
                }
            }
            if let Some(max) = f.max.filter(|m| values.len() > *m as usize) {
                self.error(path.clone(), format!("Bei „{}“ sind höchstens {max} Werte möglich.", f.label));
            }
            if !out.is_empty() {
                clean.insert(f.id.clone(), Value::Array(out));
            }
            return;
        }
        match value {
            None | Some(Value::Null) => {
                if required {
                    self.error(path, f.required_message());
                }
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                if required {
                    self.error(path, f.required_message());
                }
            }
            Some(v) => match f.check(v, self.today) {
                Ok(x) => {
                    if required && f.confirmation && x == Value::Bool(false) {
                        self.error(path, f.required_message());
                    } else {
                        clean.insert(f.id.clone(), x);
                    }
                }
                Err(m) => self.error(path, m),
            },
        }
    }

    fn group(&mut self, g: &Group, value: Option<&Value>, path: String, extra_required: bool, clean: &mut Map<String, Value>) {
        let mut rules: Vec<&Rule> = g.rules.iter().collect();
        let members = members_in(&g.items, &mut rules);
        let empty = Map::new();
        if g.is_repeatable() {
            let mut instances: Vec<(usize, &Map<String, Value>)> = Vec::new();
            match value {
                None | Some(Value::Null) => {}
                Some(Value::Array(a)) => {
                    for (i, v) in a.iter().enumerate() {
                        match v {
                            Value::Object(o) if o.values().any(is_filled) => instances.push((i, o)),
                            Value::Object(_) | Value::Null => {}
                            _ => self.error(join(&path, &i.to_string()), format!("Ein Eintrag von „{}“ muss ein JSON-Objekt sein.", g.title)),
                        }
                    }
                }
                Some(Value::Object(o)) if o.values().any(is_filled) => instances.push((0, o)),
                Some(Value::Object(_)) => {}
                Some(_) => {
                    self.error(path, format!("„{}“ muss eine Liste von Einträgen sein.", g.title));
                    return;
                }
            }
            let min = if extra_required { g.min.max(1) } else { g.min };
            if instances.is_empty() && min > 0 {
                // Show what the first entry needs.
                self.scope(&members, &rules, &empty, &join(&path, "0"));
                if min > 1 {
                    self.error(path.clone(), format!("Bitte geben Sie bei „{}“ mindestens {min} Einträge an.", g.title));
                }
                return;
            }
            if instances.len() < min as usize {
                self.error(path.clone(), format!("Bitte geben Sie bei „{}“ mindestens {min} Einträge an.", g.title));
            }
            if let Some(max) = g.max.filter(|m| instances.len() > *m as usize) {
                self.error(path.clone(), format!("Bei „{}“ sind höchstens {max} Einträge möglich.", g.title));
            }
            let mut out = Vec::new();
            for (n, (_, data)) in instances.into_iter().enumerate() {
                out.push(Value::Object(self.scope(&members, &rules, data, &join(&path, &n.to_string()))));
            }
            if !out.is_empty() {
                clean.insert(g.id.clone(), Value::Array(out));
            }
            return;
        }
        let data = match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.error(path, format!("„{}“ muss ein JSON-Objekt sein.", g.title));
                return;
            }
        };
        let present = data.is_some_and(|o| o.values().any(is_filled));
        if present || g.min > 0 || extra_required {
            let c = self.scope(&members, &rules, data.unwrap_or(&empty), &path);
            if !c.is_empty() {
                clean.insert(g.id.clone(), Value::Object(c));
            }
        }
    }
}

fn find_field<'a>(members: &[Member<'a>], path: &str) -> Option<&'a Field> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    members.iter().find(|m| m.id() == head).and_then(|m| match (m, rest) {
        (Member::Field(f), None) => Some(*f),
        (Member::Group(g), Some(rest)) => {
            let mut ignored = Vec::new();
            find_field(&members_of(g, &mut ignored), rest)
        }
        _ => None,
    })
}

fn members_of<'a>(g: &'a Group, rules: &mut Vec<&'a Rule>) -> Vec<Member<'a>> {
    members_in(&g.items, rules)
}

/// Reads HTML form input (names are field paths) for the given members into JSON.
fn read_input(members: &[Member], input: &[(String, String)], prefix: &str, data: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
    for m in members {
        let path = join(prefix, m.id());
        match m {
            Member::Field(f) => {
                if !f.has_value() || matches!(f.kind, FieldKind::Hidden | FieldKind::Locked) {
                    continue;
                }
                if f.is_repeatable() {
                    let mut values = Vec::new();
                    for i in indices(input, &path) {
                        let name = join(&path, &i.to_string());
                        if let Some((_, raw)) = input.iter().rev().find(|(k, _)| *k == name) {
                            match f.parse_input(raw) {
                                Ok(Some(v)) => values.push(v),
                                Ok(None) => {}
                                Err(message) => errors.push(FieldError::new(name, message)),
                            }
                        }
                    }
                    if !values.is_empty() {
                        data.insert(f.id.clone(), Value::Array(values));
                    }
                } else if let Some((_, raw)) = input.iter().rev().find(|(k, _)| *k == path) {
                    match f.parse_input(raw) {
                        Ok(Some(v)) => {
                            data.insert(f.id.clone(), v);
                        }
                        Ok(None) => {}
                        Err(message) => errors.push(FieldError::new(path, message)),
                    }
                }
            }
            Member::Group(g) => {
                let mut rules = Vec::new();
                let inner = members_in(&g.items, &mut rules);
                if g.is_repeatable() {
                    let mut list = Vec::new();
                    for i in indices(input, &path) {
                        let mut obj = Map::new();
                        read_input(&inner, input, &join(&path, &i.to_string()), &mut obj, errors);
                        list.push(Value::Object(obj));
                    }
                    if !list.is_empty() {
                        data.insert(g.id.clone(), Value::Array(list));
                    }
                } else {
                    let mut obj = Map::new();
                    read_input(&inner, input, &path, &mut obj, errors);
                    if !obj.is_empty() {
                        data.insert(g.id.clone(), Value::Object(obj));
                    }
                }
            }
        }
    }
}

/// The instance numbers used in names below `path` (`path.0.…`, `path.3`), ascending.
pub fn indices(input: &[(String, String)], path: &str) -> Vec<usize> {
    let prefix = format!("{path}.");
    let mut found: Vec<usize> = input
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(&prefix))
        .filter_map(|rest| rest.split('.').next()?.parse::<usize>().ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

impl FormModel {
    /// Checks data; returns what is valid (normalised, with values of inactive parts dropped)
    /// and every problem, in the order of the form.
    pub fn check(&self, data: &FormData, today: Date) -> (FormData, Vec<FieldError>) {
        let mut rules: Vec<&Rule> = self.rules.iter().collect();
        let members = top_members(&self.groups, &mut rules);
        let mut walk = Walk { today, errors: Vec::new() };
        let clean = walk.scope(&members, &rules, data, "");
        let mut errors = walk.errors;
        sort_errors(self, &mut errors);
        (clean, errors)
    }

    /// Checks complete form data: no unknown fields, every required field present, every value
    /// of its type and within its constraints, every rule kept.
    pub fn validate(&self, data: &FormData, today: Date) -> Result<FormData, Vec<FieldError>> {
        let (clean, errors) = self.check(data, today);
        if errors.is_empty() { Ok(clean) } else { Err(errors) }
    }

    /// Reads the HTML input of some pages (all when `page` is `None`) into JSON; values that
    /// cannot be read are reported.
    pub fn read_input(&self, input: &[(String, String)], page: Option<&Page>) -> (FormData, Vec<FieldError>) {
        let mut rules = Vec::new();
        let members = match page {
            Some(p) => top_members(p.groups.iter().copied(), &mut rules),
            None => top_members(&self.groups, &mut rules),
        };
        let mut data = Map::new();
        let mut errors = Vec::new();
        read_input(&members, input, "", &mut data, &mut errors);
        (data, errors)
    }

    /// Turns a whole HTML form into form data and validates it.
    pub fn validate_form_input(&self, input: &[(String, String)], today: Date) -> Result<FormData, Vec<FieldError>> {
        let (data, read_errors) = self.read_input(input, None);
        let (clean, errors) = self.check(&data, today);
        merge_errors(self, read_errors, errors, clean)
    }

    /// One page of a multi-page form: merges the page's input into the draft and checks the
    /// result; only the page's problems count. Returns the data to store.
    pub fn validate_page(&self, page: &Page, draft: &FormData, input: &[(String, String)], today: Date) -> Result<FormData, Vec<FieldError>> {
        let (page_data, read_errors) = self.read_input(input, Some(page));
        let mut merged: FormData = draft.iter().filter(|(k, _)| !page.owns(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        merged.extend(page_data);
        let (clean, errors) = self.check(&merged, today);
        let errors: Vec<FieldError> = errors.into_iter().filter(|e| page.owns(&e.field)).collect();
        let read_errors: Vec<FieldError> = read_errors.into_iter().filter(|e| page.owns(&e.field)).collect();
        // Keep what other pages had, even where it is still incomplete.
        let mut stored = merged.clone();
        for (k, v) in clean {
            stored.insert(k, v);
        }
        for k in merged.keys() {
            if page.owns(k) && !stored.contains_key(k) {
                stored.remove(k);
            }
        }
        merge_errors(self, read_errors, errors, stored)
    }

    /// The ids at the top level of the data, per page.
    pub fn page_of(&self, path: &str) -> Option<usize> {
        self.pages().iter().find(|p| p.owns(path)).map(|p| p.number)
    }
}

/// Puts errors in the order of the form (unknown fields last); stable.
fn sort_errors(model: &FormModel, errors: &mut [FieldError]) {
    let order = model.ordered_paths();
    let key = |path: &str| {
        let plain: Vec<&str> = path.split('.').filter(|s| s.parse::<usize>().is_err()).collect();
        let indices: Vec<usize> = path.split('.').filter_map(|s| s.parse::<usize>().ok()).collect();
        (order.iter().position(|o| *o == plain.join(".")).unwrap_or(usize::MAX), indices)
    };
    errors.sort_by_cached_key(|e| key(&e.field));
}

fn merge_errors(model: &FormModel, read_errors: Vec<FieldError>, errors: Vec<FieldError>, data: FormData) -> Result<FormData, Vec<FieldError>> {
    if read_errors.is_empty() && errors.is_empty() {
        return Ok(data);
    }
    // A value that could not be read wins over "missing" at the same place.
    let mut all = read_errors;
    for e in errors {
        if !all.iter().any(|r| r.field == e.field) {
            all.push(e);
        }
    }
    sort_errors(model, &mut all);
    Err(all)
}

impl FormModel {
    /// Every group and field path without indices, in the order of the form (groups first).
    pub fn ordered_paths(&self) -> Vec<String> {
        fn walk(members: &[Member], prefix: &str, out: &mut Vec<String>) {
            for m in members {
                let path = join(prefix, m.id());
                out.push(path.clone());
                if let Member::Group(g) = m {
                    let mut ignored = Vec::new();
                    walk(&members_of(g, &mut ignored), &path, out);
                }
            }
        }
        let mut ignored = Vec::new();
        let mut out = Vec::new();
        walk(&top_members(&self.groups, &mut ignored), "", &mut out);
        out
    }
}
