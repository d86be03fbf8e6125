//! A namespace-aware element tree from one pull-parser pass, with the position where each start
//! tag and end tag ends (line, column in characters), for located errors.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("Zeile {}, Spalte {}{}: {message}", location.line, location.column, element.as_ref().map(|e| format!(", <{e}>")).unwrap_or_default())]
pub struct XmlError {
    pub message: String,
    pub element: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub namespace: String,
    pub name: String,
    /// As written (`query:QueryRequest`), for messages.
    pub qualified: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    pub opened: Location,
    pub closed: Location,
}

impl Node {
    pub fn attribute(&self, local: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == local).map(|(_, v)| v.as_str())
    }
    pub fn child(&self, ns: &str, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.namespace == ns && c.name == name)
    }
    pub fn children_named<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.namespace == ns && c.name == name)
    }
    /// First descendant (depth first) with this name.
    pub fn find(&self, ns: &str, name: &str) -> Option<&Node> {
        self.children.iter().find_map(|c| if c.namespace == ns && c.name == name { Some(c) } else { c.find(ns, name) })
    }
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }
    pub fn error(&self, message: impl Into<String>, at_end: bool) -> XmlError {
        XmlError { message: message.into(), element: Some(self.qualified.clone()), location: if at_end { self.closed } else { self.opened } }
    }
}

/// Line and column of byte offsets that only grow, in time linear in the input (a message may
/// be one long line).
struct Tracker<'a> {
    src: &'a [u8],
    offset: usize,
    line: u32,
    column: u32,
}

impl<'a> Tracker<'a> {
    fn new(src: &'a str) -> Self {
        Self { src: src.as_bytes(), offset: 0, line: 1, column: 0 }
    }

    fn at(&mut self, offset: u64) -> Location {
        let offset = (offset as usize).min(self.src.len());
        if offset < self.offset {
            // Not expected from a pull parser; start over rather than be wrong.
            *self = Tracker { src: self.src, offset: 0, line: 1, column: 0 };
        }
        for &b in &self.src[self.offset..offset] {
            if b == b'\n' {
                self.line += 1;
                self.column = 0;
            } else if b & 0xC0 != 0x80 {
                self.column += 1;
            }
        }
        self.offset = offset;
        Location { line: self.line, column: self.column }
    }
}

fn syntax(t: &mut Tracker, offset: u64, what: impl std::fmt::Display) -> XmlError {
    XmlError { message: format!("Die Nachricht ist kein wohlgeformtes XML ({what})."), element: None, location: t.at(offset) }
}

pub fn read(src: &str) -> Result<Node, XmlError> {
    let mut t = Tracker::new(src);
    let mut reader = NsReader::from_str(src);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let (namespace, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), e)) => (Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()), e),
            Ok((ResolveResult::Unbound, e)) => (Ok(String::new()), e),
            Ok((ResolveResult::Unknown(p), e)) => (Err(String::from_utf8_lossy(&p).into_owned()), e),
            Err(e) => return Err(syntax(&mut t, reader.error_position(), e)),
        };
        let offset = reader.buffer_position();
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let qualified = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let namespace = namespace.map_err(|p| XmlError {
                    message: format!("Der Namensraum-Präfix „{p}“ ist nicht deklariert."),
                    element: Some(qualified.clone()),
                    location: t.at(offset),
                })?;
                let mut attributes = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|err| syntax(&mut t, offset, err))?;
                    let value = a.unescape_value().map_err(|err| syntax(&mut t, offset, err))?.into_owned();
                    attributes.push((String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(), value));
                }
                let node = Node {
                    namespace,
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    qualified,
                    attributes,
                    text: String::new(),
                    children: Vec::new(),
                    opened: t.at(offset),
                    closed: t.at(offset),
                };
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, node).map_err(|m| syntax(&mut t, offset, m))?;
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let mut node = stack.pop().ok_or_else(|| syntax(&mut t, offset, "schließendes Element ohne öffnendes"))?;
                node.closed = t.at(offset);
                attach(&mut stack, &mut root, node).map_err(|m| syntax(&mut t, offset, m))?;
            }
            Event::Text(chunk) => {
                let text = chunk.xml_content().map_err(|e| syntax(&mut t, offset, e))?;
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                } else if !text.trim().is_empty() {
                    return Err(syntax(&mut t, offset, "Text außerhalb des Wurzelelements"));
                }
            }
            Event::CData(c) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&c.decode().map_err(|e| syntax(&mut t, offset, e))?);
                }
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|e| syntax(&mut t, offset, e))? {
                    Some(c) => c.to_string(),
                    None => match r.decode().map_err(|e| syntax(&mut t, offset, e))?.as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(syntax(&mut t, offset, format!("unbekannte Entität &{other};"))),
                    },
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(syntax(&mut t, src.len() as u64, "die Nachricht endet mitten in einem Element"));
    }
    root.ok_or_else(|| syntax(&mut t, src.len() as u64, "kein Wurzelelement"))
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node) -> Result<(), &'static str> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err("mehr als ein Wurzelelement"),
    }
    Ok(())
}
