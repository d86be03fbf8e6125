//! Code lists in OASIS genericode 1.0, as FIM publishes them, and their resolution by
//! `canonicalVersionUri` (falling back to the canonical URI when a reference names no version).

use crate::error::{Location, ParseError};
use crate::model::CodeListRef;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeList {
    pub short_name: String,
    pub version: String,
    pub canonical_uri: String,
    pub canonical_version_uri: String,
    pub entries: Vec<Entry>,
}

fn located(src: &str, offset: u64, message: String) -> ParseError {
    let offset = (offset as usize).min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) as u32;
    ParseError::new(message, None, Location { line, column })
}

/// Reads one genericode file. The code is the column the first key refers to (or `code`), the
/// name the first other required column (or `name`).
pub fn parse_genericode(src: &str) -> Result<CodeList, ParseError> {
    let mut reader = Reader::from_str(src);
    reader.config_mut().expand_empty_elements = true;
    let mut path: Vec<String> = Vec::new();
    let mut list = CodeList { short_name: String::new(), version: String::new(), canonical_uri: String::new(), canonical_version_uri: String::new(), entries: Vec::new() };
    let mut columns: Vec<(String, bool)> = Vec::new();
    let mut key_column: Option<String> = None;
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    let mut value_ref: Option<String> = None;
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(|e| located(src, reader.error_position(), format!("Die Codeliste ist kein wohlgeformtes XML ({e}).")))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let attr = |key: &str| {
                    e.attributes().flatten().find(|a| a.key.local_name().as_ref() == key.as_bytes()).and_then(|a| a.unescape_value().ok()).map(|v| v.into_owned())
                };
                match name.as_str() {
                    "CodeList" if path.is_empty() => {}
                    _ if path.is_empty() => {
                        return Err(located(src, reader.buffer_position(), format!("Keine genericode-Codeliste: Wurzelelement <{name}>.")));
                    }
                    "Column" => columns.push((attr("Id").unwrap_or_default(), attr("Use").as_deref() == Some("required"))),
                    "ColumnRef" if path.last().is_some_and(|p| p == "Key") && key_column.is_none() => key_column = attr("Ref"),
                    "Row" => rows.push(Vec::new()),
                    "Value" => value_ref = attr("ColumnRef"),
                    _ => {}
                }
                text.clear();
                path.push(name);
            }
            Event::Text(t) => text.push_str(&t.xml_content().unwrap_or_default()),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    text.push_str(match r.decode().unwrap_or_default().as_ref() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "apos" => "'",
                        "quot" => "\"",
                        _ => "",
                    });
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = text.trim().to_owned();
                match (parent, name.as_str()) {
                    ("Identification", "ShortName") => list.short_name = value,
                    ("Identification", "Version") => list.version = value,
                    ("Identification", "CanonicalUri") => list.canonical_uri = value,
                    ("Identification", "CanonicalVersionUri") => list.canonical_version_uri = value,
                    ("Value", "SimpleValue") => {
                        if let (Some(row), Some(col)) = (rows.last_mut(), value_ref.clone()) {
                            row.push((col, value));
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let code_col = key_column.or_else(|| columns.iter().find(|(id, _)| id == "code").map(|(id, _)| id.clone())).unwrap_or_else(|| "code".into());
    let name_col = columns
        .iter()
        .find(|(id, _)| id == "name")
        .or_else(|| columns.iter().find(|(id, required)| *required && *id != code_col))
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| "name".into());
    for row in rows {
        let get = |c: &str| row.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone()).unwrap_or_default();
        let code = get(&code_col);
        if !code.is_empty() {
            let name = get(&name_col);
            list.entries.push(Entry { name: if name.is_empty() { code.clone() } else { name }, code });
        }
    }
    if list.canonical_version_uri.is_empty() && list.canonical_uri.is_empty() {
        return Err(located(src, 0, "Die Codeliste nennt weder CanonicalUri noch CanonicalVersionUri.".into()));
    }
    Ok(list)
}

/// Code lists available to an import, found by `canonicalVersionUri`.
#[derive(Debug, Default, Clone)]
pub struct CodeLists {
    by_version_uri: HashMap<String, CodeList>,
    by_uri: HashMap<String, CodeList>,
}

impl CodeLists {
    pub fn add(&mut self, list: CodeList) {
        if !list.canonical_uri.is_empty() {
            self.by_uri.insert(list.canonical_uri.clone(), list.clone());
        }
        if !list.canonical_version_uri.is_empty() {
            self.by_version_uri.insert(list.canonical_version_uri.clone(), list);
        }
    }

    pub fn len(&self) -> usize {
        self.by_version_uri.len().max(self.by_uri.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn resolve(&self, reference: &CodeListRef) -> Option<&CodeList> {
        self.by_version_uri
            .get(&reference.canonical_version_uri)
            .or_else(|| {
                // A reference without version URI: the list by its canonical URI.
                (reference.canonical_version_uri.is_empty() || reference.version.is_empty())
                    .then(|| self.by_uri.get(&reference.canonical_identification))
                    .flatten()
            })
    }
}
