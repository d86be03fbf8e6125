//! One pass of a pull parser (quick-xml) over the file into a compact element tree that keeps,
//! for every element, where its start tag and its end tag end. Namespaces are resolved here:
//! the root's namespace decides the XDatenfelder version, and every element must be in that
//! namespace (only the `code` elements of code values are in none).

use crate::error::{Location, ParseError};
use crate::model::XdfVersion;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

pub const NS_XDF1: &str = "urn:xoev-de:fim:standard:xdatenfelder_1";
pub const NS_XDF2: &str = "urn:xoev-de:fim:standard:xdatenfelder_2";
pub const NS_XDF3: &str = "urn:xoev-de:fim:standard:xdatenfelder_3.0.0";

#[derive(Debug, Clone)]
pub struct Node {
    /// Local name.
    pub name: String,
    /// Whether the element is in no namespace (only `code` may be).
    pub unqualified: bool,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    /// After the start tag.
    pub opened: Location,
    /// After the end tag (or the empty-element tag).
    pub closed: Location,
}

impl Node {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// How the element is written in the file, for messages.
    pub fn display(&self) -> String {
        if self.unqualified { self.name.clone() } else { format!("xdf:{}", self.name) }
    }

    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.children.is_empty()
    }
}

pub struct Tree {
    pub version: XdfVersion,
    pub root: Node,
}

/// Turns byte offsets into lines and columns. The pull parser's offsets only grow, so the
/// position is advanced from the last one: linear in the file, also when it is one long line.
struct Positions<'a> {
    src: &'a [u8],
    /// (offset, line, column) of the last position asked for.
    last: std::cell::Cell<(usize, u32, u32)>,
}

impl<'a> Positions<'a> {
    fn new(src: &'a str) -> Self {
        Self { src: src.as_bytes(), last: std::cell::Cell::new((0, 1, 0)) }
    }

    fn at(&self, offset: u64) -> Location {
        let offset = (offset as usize).min(self.src.len());
        let (mut from, mut line, mut column) = self.last.get();
        if offset < from {
            // Only for an error position behind the last event: count from the start.
            (from, line, column) = (0, 1, 0);
        }
        for &b in &self.src[from..offset] {
            if b == b'\n' {
                line += 1;
                column = 0;
            } else if b & 0xC0 != 0x80 {
                column += 1;
            }
        }
        self.last.set((offset, line, column));
        Location { line, column }
    }
}

fn syntax(positions: &Positions, offset: u64, what: impl std::fmt::Display) -> ParseError {
    ParseError::new(format!("Die Datei ist kein wohlgeformtes XML ({what})."), None, positions.at(offset))
}

pub fn read(src: &str) -> Result<Tree, ParseError> {
    let positions = Positions::new(src);
    let mut reader = NsReader::from_str(src);
    // Not trimmed: entity references split text events, and spaces around them count.
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let mut namespace: Option<(XdfVersion, &'static str)> = None;
    let mut root: Option<Node> = None;
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((resolved, event)) => (Ns::from(resolved), event),
            Err(e) => return Err(syntax(&positions, reader.error_position(), e)),
        };
        let offset = reader.buffer_position();
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let qualified = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let at = positions.at(offset);
                let unqualified = match (&resolved, namespace) {
                    (Ns::Bound(ns), None) => {
                        let ns = String::from_utf8_lossy(ns).into_owned();
                        namespace = Some(match ns.as_str() {
                            NS_XDF2 => (XdfVersion::V2, NS_XDF2),
                            NS_XDF3 => (XdfVersion::V3, NS_XDF3),
                            NS_XDF1 => {
                                return Err(ParseError::new(
                                    "Dies ist eine Datei im Format XDatenfelder 1. Unterstützt werden XDatenfelder 2.0 und 3.0.0; bitte exportieren Sie das Schema im neueren Format.",
                                    Some(&qualified),
                                    at,
                                ));
                            }
                            other => {
                                return Err(ParseError::new(
                                    format!("Unbekannter XDatenfelder-Namensraum „{other}“. Erwartet wird {NS_XDF2} oder {NS_XDF3}."),
                                    Some(&qualified),
                                    at,
                                ));
                            }
                        });
                        false
                    }
                    (_, None) => {
                        return Err(ParseError::new(
                            "Das Wurzelelement gehört zu keinem XDatenfelder-Namensraum.",
                            Some(&qualified),
                            at,
                        ));
                    }
                    (Ns::Bound(ns), Some((_, expected))) => {
                        if ns.as_slice() != expected.as_bytes() {
                            return Err(ParseError::new(
                                format!(
                                    "Das Element gehört zum Namensraum „{}“, erwartet wird {expected}.",
                                    String::from_utf8_lossy(ns)
                                ),
                                Some(&qualified),
                                at,
                            ));
                        }
                        false
                    }
                    (Ns::Unbound, Some(_)) => true,
                    (Ns::Unknown(prefix), Some(_)) => {
                        return Err(ParseError::new(
                            format!("Der Namensraum-Präfix „{}“ ist nicht deklariert.", String::from_utf8_lossy(prefix)),
                            Some(&qualified),
                            at,
                        ));
                    }
                };
                let mut attributes = Vec::new();
                for attr in e.attributes() {
                    let attr = attr.map_err(|err| syntax(&positions, offset, err))?;
                    let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
                    let value = attr.unescape_value().map_err(|err| syntax(&positions, offset, err))?.into_owned();
                    attributes.push((key, value));
                }
                let node = Node { name: local, unqualified, attributes, text: String::new(), children: Vec::new(), opened: at, closed: at };
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, node, &positions, offset)?;
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let mut node = stack.pop().ok_or_else(|| syntax(&positions, offset, "schließendes Element ohne öffnendes"))?;
                node.closed = positions.at(offset);
                attach(&mut stack, &mut root, node, &positions, offset)?;
            }
            Event::Text(t) => {
                let text = t.xml_content().map_err(|err| syntax(&positions, offset, err))?;
                push_text(&mut stack, &text, &positions, offset)?;
            }
            Event::CData(c) => {
                let text = c.decode().map_err(|err| syntax(&positions, offset, err))?;
                push_text(&mut stack, &text, &positions, offset)?;
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|err| syntax(&positions, offset, err))? {
                    Some(c) => c.to_string(),
                    None => match r.decode().map_err(|err| syntax(&positions, offset, err))?.as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(syntax(&positions, offset, format!("unbekannte Entität &{other};"))),
                    },
                };
                push_text(&mut stack, &text, &positions, offset)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(syntax(&positions, src.len() as u64, "die Datei endet mitten in einem Element"));
    }
    match (root, namespace) {
        (Some(root), Some((version, _))) => Ok(Tree { version, root }),
        _ => Err(syntax(&positions, src.len() as u64, "kein Wurzelelement")),
    }
}

/// The namespace of an element, owned (the reader's borrow ends before the position is read).
enum Ns {
    Bound(Vec<u8>),
    Unbound,
    Unknown(Vec<u8>),
}

impl From<ResolveResult<'_>> for Ns {
    fn from(r: ResolveResult<'_>) -> Self {
        match r {
            ResolveResult::Bound(ns) => Ns::Bound(ns.as_ref().to_vec()),
            ResolveResult::Unbound => Ns::Unbound,
            ResolveResult::Unknown(p) => Ns::Unknown(p),
        }
    }
}

fn push_text(stack: &mut [Node], text: &str, positions: &Positions, offset: u64) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(node) => {
            node.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(syntax(positions, offset, "Text außerhalb des Wurzelelements")),
    }
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node, positions: &Positions, offset: u64) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err(syntax(positions, offset, "mehr als ein Wurzelelement")),
    }
    Ok(())
}
