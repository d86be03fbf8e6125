//! A namespace-aware element tree from one pull-parser pass, for located errors.
//!
//! Built for the exchange's hot path: the elements live in one arena in document order, names and
//! texts borrow from the message wherever it needs no unescaping, and only byte offsets are kept;
//! a line and column are counted only when an error is reported.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde::Serialize;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl Location {
    /// Line (from 1) and column (in characters, from 0) where `offset` lies in `src`.
    fn of(src: &str, offset: usize) -> Location {
        let before = &src.as_bytes()[..offset.min(src.len())];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u32;
        let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u32;
        Location { line, column }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("Zeile {}, Spalte {}{}: {message}", location.line, location.column, element.as_ref().map(|e| format!(", <{e}>")).unwrap_or_default())]
pub struct XmlError {
    pub message: String,
    pub element: Option<String>,
    pub location: Location,
}

const NONE: u32 = u32::MAX;

struct Element<'a> {
    /// Index into [`Document::namespaces`]; 0 is "no namespace".
    namespace: u16,
    local: Cow<'a, str>,
    qualified: Cow<'a, str>,
    attributes: std::ops::Range<u32>,
    text: Cow<'a, str>,
    first_child: u32,
    last_child: u32,
    next_sibling: u32,
    /// One past the last descendant: the subtree is `index..end` (document order).
    end: u32,
    /// Byte offsets where the start tag and the end tag end.
    opened: u32,
    closed: u32,
}

/// A parsed message.
pub struct Document<'a> {
    src: &'a str,
    namespaces: Vec<String>,
    elements: Vec<Element<'a>>,
    attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Document<'a> {
    pub fn root(&self) -> Node<'_> {
        Node { doc: self, index: 0 }
    }

    fn namespace_index(&mut self, ns: &[u8]) -> u16 {
        if let Some(i) = self.namespaces.iter().position(|n| n.as_bytes() == ns) {
            return i as u16;
        }
        self.namespaces.push(String::from_utf8_lossy(ns).into_owned());
        (self.namespaces.len() - 1) as u16
    }
}

/// One element of a [`Document`].
#[derive(Clone, Copy)]
pub struct Node<'d> {
    doc: &'d Document<'d>,
    index: u32,
}

impl<'d> Node<'d> {
    fn element(&self) -> &'d Element<'d> {
        &self.doc.elements[self.index as usize]
    }
    pub fn namespace(&self) -> &'d str {
        &self.doc.namespaces[self.element().namespace as usize]
    }
    pub fn name(&self) -> &'d str {
        &self.element().local
    }
    pub fn text(&self) -> &'d str {
        &self.element().text
    }
    pub fn trimmed(&self) -> &'d str {
        self.text().trim()
    }
    fn is(&self, ns: &str, name: &str) -> bool {
        self.name() == name && self.namespace() == ns
    }
    pub fn attribute(&self, local: &str) -> Option<&'d str> {
        let r = &self.element().attributes;
        self.doc.attributes[r.start as usize..r.end as usize].iter().find(|(k, _)| k == local).map(|(_, v)| v.as_ref())
    }
    pub fn children(&self) -> impl Iterator<Item = Node<'d>> + 'd {
        let doc = self.doc;
        let mut next = self.element().first_child;
        std::iter::from_fn(move || {
            (next != NONE).then(|| {
                let node = Node { doc, index: next };
                next = doc.elements[next as usize].next_sibling;
                node
            })
        })
    }
    pub fn child(&self, ns: &str, name: &str) -> Option<Node<'d>> {
        self.children().find(|c| c.is(ns, name))
    }
    pub fn children_named<'q>(&self, ns: &'q str, name: &'q str) -> impl Iterator<Item = Node<'d>> + 'q
    where
        'd: 'q,
    {
        self.children().filter(move |c| c.is(ns, name))
    }
    /// First descendant (depth first, document order) with this name.
    pub fn find(&self, ns: &str, name: &str) -> Option<Node<'d>> {
        (self.index + 1..self.element().end).map(|index| Node { doc: self.doc, index }).find(|n| n.is(ns, name))
    }
    /// Descendants (document order) with this name, not looking inside a match.
    pub fn descendants_named(&self, ns: &str, name: &str) -> Vec<Node<'d>> {
        let mut out = Vec::new();
        let mut index = self.index + 1;
        while index < self.element().end {
            let n = Node { doc: self.doc, index };
            if n.is(ns, name) {
                out.push(n);
                index = n.element().end;
            } else {
                index += 1;
            }
        }
        out
    }
    pub fn error(&self, message: impl Into<String>, at_end: bool) -> XmlError {
        let e = self.element();
        XmlError {
            message: message.into(),
            element: Some(e.qualified.to_string()),
            location: Location::of(self.doc.src, if at_end { e.closed } else { e.opened } as usize),
        }
    }
}

fn syntax(src: &str, offset: u64, what: impl std::fmt::Display) -> XmlError {
    XmlError { message: format!("Die Nachricht ist kein wohlgeformtes XML ({what})."), element: None, location: Location::of(src, offset as usize) }
}

/// `part` as a slice of `src` when it lies inside it (quick-xml hands out borrowed bytes of the
/// input wherever nothing had to be unescaped), else an owned copy.
fn keep<'a>(src: &'a str, part: Cow<'_, str>) -> Cow<'a, str> {
    if let Cow::Borrowed(s) = part {
        let (base, start) = (src.as_ptr() as usize, s.as_ptr() as usize);
        if start >= base
            && let Some(inside) = src.get(start - base..start - base + s.len())
        {
            return Cow::Borrowed(inside);
        }
    }
    Cow::Owned(part.into_owned())
}

fn utf8<'b>(bytes: &'b [u8], src: &str, offset: u64) -> Result<&'b str, XmlError> {
    std::str::from_utf8(bytes).map_err(|e| syntax(src, offset, e))
}

fn push_text<'a>(doc: &mut Document<'a>, stack: &[u32], text: Cow<'a, str>) -> Result<(), &'static str> {
    match stack.last() {
        Some(&i) => {
            let t = &mut doc.elements[i as usize].text;
            if t.is_empty() {
                *t = text;
            } else {
                t.to_mut().push_str(&text);
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err("Text außerhalb des Wurzelelements"),
    }
}

pub fn read(src: &str) -> Result<Document<'_>, XmlError> {
    let mut reader = NsReader::from_str(src);
    let mut doc = Document { src, namespaces: vec![String::new()], elements: Vec::with_capacity(64), attributes: Vec::with_capacity(64) };
    let mut stack: Vec<u32> = Vec::with_capacity(16);
    loop {
        let (namespace, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(ns), e)) => (Ok(doc.namespace_index(ns.as_ref())), e),
            Ok((ResolveResult::Unbound, e)) => (Ok(0), e),
            Ok((ResolveResult::Unknown(p), e)) => (Err(String::from_utf8_lossy(&p).into_owned()), e),
            Err(e) => return Err(syntax(src, reader.error_position(), e)),
        };
        let offset = reader.buffer_position();
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let qualified = keep(src, Cow::Borrowed(utf8(e.name().into_inner(), src, offset)?));
                let namespace = namespace.map_err(|p| XmlError {
                    message: format!("Der Namensraum-Präfix „{p}“ ist nicht deklariert."),
                    element: Some(qualified.to_string()),
                    location: Location::of(src, offset as usize),
                })?;
                let local = keep(src, Cow::Borrowed(utf8(e.local_name().into_inner(), src, offset)?));
                let first_attribute = doc.attributes.len() as u32;
                for a in e.attributes() {
                    let a = a.map_err(|err| syntax(src, offset, err))?;
                    let value = a.unescape_value().map_err(|err| syntax(src, offset, err))?;
                    let key = keep(src, Cow::Borrowed(utf8(a.key.local_name().into_inner(), src, offset)?));
                    doc.attributes.push((key, keep(src, value)));
                }
                let index = doc.elements.len() as u32;
                match stack.last() {
                    Some(&parent) => {
                        let p = &mut doc.elements[parent as usize];
                        // Indentation before a child is not the parent's text.
                        if p.text.trim().is_empty() {
                            p.text = Cow::Borrowed("");
                        }
                        match p.last_child {
                            NONE => p.first_child = index,
                            last => doc.elements[last as usize].next_sibling = index,
                        }
                        doc.elements[parent as usize].last_child = index;
                    }
                    None if index > 0 => return Err(syntax(src, offset, "mehr als ein Wurzelelement")),
                    None => {}
                }
                doc.elements.push(Element {
                    namespace,
                    local,
                    qualified,
                    attributes: first_attribute..doc.attributes.len() as u32,
                    text: Cow::Borrowed(""),
                    first_child: NONE,
                    last_child: NONE,
                    next_sibling: NONE,
                    end: index + 1,
                    opened: offset as u32,
                    closed: offset as u32,
                });
                if matches!(event, Event::Start(_)) {
                    stack.push(index);
                }
            }
            Event::End(_) => {
                let index = stack.pop().ok_or_else(|| syntax(src, offset, "schließendes Element ohne öffnendes"))?;
                let end = doc.elements.len() as u32;
                let e = &mut doc.elements[index as usize];
                e.closed = offset as u32;
                e.end = end;
                if e.first_child != NONE && e.text.trim().is_empty() {
                    e.text = Cow::Borrowed("");
                }
            }
            Event::Text(chunk) => {
                let text = chunk.xml_content().map_err(|e| syntax(src, offset, e))?;
                push_text(&mut doc, &stack, text).map_err(|m| syntax(src, offset, m))?;
            }
            Event::CData(c) => {
                let text = c.decode().map_err(|e| syntax(src, offset, e))?;
                push_text(&mut doc, &stack, text).map_err(|m| syntax(src, offset, m))?;
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|e| syntax(src, offset, e))? {
                    Some(c) => c.to_string(),
                    None => match r.decode().map_err(|e| syntax(src, offset, e))?.as_ref() {
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "amp" => "&".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => return Err(syntax(src, offset, format!("unbekannte Entität &{other};"))),
                    },
                };
                push_text(&mut doc, &stack, Cow::Owned(text)).map_err(|m| syntax(src, offset, m))?;
            }
            Event::Eof => break,
            _ => {}
        }
        if offset > u32::MAX as u64 {
            return Err(syntax(src, offset, "die Nachricht ist zu groß"));
        }
    }
    if !stack.is_empty() {
        return Err(syntax(src, src.len() as u64, "die Nachricht endet mitten in einem Element"));
    }
    if doc.elements.is_empty() {
        return Err(syntax(src, src.len() as u64, "kein Wurzelelement"));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_texts_and_offsets() {
        let src = "<a xmlns='urn:x' xmlns:b='urn:y'>\n  <b:c k='1 &amp; 2'>Text &lt;x&gt;</b:c>\n  <d/>\n  <b:c>zwei</b:c>\n</a>";
        let doc = read(src).unwrap();
        let root = doc.root();
        assert_eq!((root.namespace(), root.name()), ("urn:x", "a"));
        assert_eq!(root.text(), "", "indentation is not text");
        let c = root.child("urn:y", "c").unwrap();
        assert_eq!((c.attribute("k"), c.text()), (Some("1 & 2"), "Text <x>"));
        assert_eq!(c.error("x", false).element.as_deref(), Some("b:c"), "errors name the element as written");
        assert_eq!(root.children().count(), 3);
        assert_eq!(root.children_named("urn:y", "c").map(|n| n.text()).collect::<Vec<_>>(), ["Text <x>", "zwei"]);
        assert_eq!(root.find("urn:x", "d").unwrap().name(), "d");
        assert_eq!(root.descendants_named("urn:y", "c").len(), 2);
        let e = root.child("urn:x", "d").unwrap().error("falsch", false);
        assert_eq!(e.location, Location { line: 3, column: 6 });
    }

    #[test]
    fn malformed_input_is_located() {
        let e = read("<a>\n  <b></c>\n</a>").err().unwrap();
        assert_eq!(e.location.line, 2, "{e}");
        assert!(read("<a/><b/>").is_err());
        assert!(read("Text").is_err());
        assert!(read("<a>").is_err());
        assert!(read("<p:a/>").is_err());
    }
}
