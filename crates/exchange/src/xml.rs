//! A namespace-aware element tree from one pull-parser pass, for located errors.
//!
//! Built for the exchange's hot path: the elements live in one arena in document order, names and
//! texts are slices of the message wherever it needs no unescaping (never validated or copied a
//! second time), and only byte offsets are kept; a line and column are counted only when an
//! error is reported. quick-xml's plain reader does the tokenizing and the well-formedness checks
//! (matching end tags, attribute syntax, duplicate attributes); the namespace scopes are resolved
//! here, once per declaration rather than once per event, to an index into the document's few
//! namespaces.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
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
    /// Index into [`Document::namespaces`]; 0 is "no namespace", 1 the `xml` prefix's.
    namespace: u16,
    local: &'a str,
    qualified: &'a str,
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
    /// The innermost namespace declaration in scope ([`Document::bindings`]), for QNames in
    /// attribute values (`xsi:type`).
    scope: u32,
}

/// A parsed message.
pub struct Document<'a> {
    src: &'a str,
    namespaces: Vec<Cow<'a, str>>,
    elements: Vec<Element<'a>>,
    attributes: Vec<(&'a str, Cow<'a, str>)>,
    /// The namespace of each attribute (index into `namespaces`; 0: none).
    attribute_namespaces: Vec<u16>,
    /// Every namespace declaration: prefix, namespace index, the declaration in scope before.
    bindings: Vec<(&'a str, u16, u32)>,
}

const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

impl<'a> Document<'a> {
    pub fn root(&self) -> Node<'_> {
        Node { doc: self, index: 0 }
    }

    fn namespace_index(&mut self, ns: Cow<'a, str>) -> u16 {
        if let Some(i) = self.namespaces.iter().position(|n| *n == ns) {
            return i as u16;
        }
        self.namespaces.push(ns);
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
        self.element().local
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
    /// The value of the first attribute with this local name, whatever its namespace (`xsi:type`
    /// is found as `type`); namespace declarations are not attributes here.
    pub fn attribute(&self, local: &str) -> Option<&'d str> {
        let r = &self.element().attributes;
        self.doc.attributes[r.start as usize..r.end as usize].iter().find(|(k, _)| *k == local).map(|(_, v)| v.as_ref())
    }
    /// The value of the attribute with this namespace and local name (`xsi:type` as
    /// `attribute_in(XSI, "type")`, whatever its prefix).
    pub fn attribute_in(&self, namespace: &str, local: &str) -> Option<&'d str> {
        let r = &self.element().attributes;
        (r.start as usize..r.end as usize)
            .find(|&i| self.doc.attributes[i].0 == local && self.doc.namespaces[self.doc.attribute_namespaces[i] as usize] == *namespace)
            .map(|i| self.doc.attributes[i].1.as_ref())
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
    /// Every element below this one, in document order.
    pub fn descendants(&self) -> impl Iterator<Item = Node<'d>> + 'd {
        let doc = self.doc;
        (self.index + 1..self.element().end).map(move |index| Node { doc, index })
    }
    /// The namespace a prefix ("" for the default) names where this element stands.
    pub fn namespace_of(&self, prefix: &str) -> Option<&'d str> {
        if prefix == "xml" {
            return Some(XML_NAMESPACE);
        }
        match resolve(&self.doc.bindings, self.element().scope, prefix) {
            Some(ns) => Some(&self.doc.namespaces[ns as usize]),
            None => prefix.is_empty().then_some(""),
        }
    }
    /// A QName in an attribute value (`xsi:type="rs:AuthorizationExceptionType"`) as
    /// namespace and local name, resolved where the element stands; `None` when its prefix is
    /// not declared.
    pub fn qname(&self, value: &'d str) -> Option<(&'d str, &'d str)> {
        let (prefix, local) = split_name(value.trim())?;
        Some((self.namespace_of(prefix)?, local))
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

/// `part` (bytes the reader handed out of `src`) as the same slice of `src`: no second UTF-8
/// check, no copy. `None` when `part` does not lie inside `src` on character boundaries.
fn slice<'a>(src: &'a str, part: &[u8]) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    src.get(start..start.checked_add(part.len())?)
}

/// A text as the reader gave it: a slice of `src` unless its line ends need normalising (XML 1.0:
/// `\r\n` and `\r` become `\n`).
fn content<'a>(src: &'a str, raw: &[u8], normalised: impl FnOnce() -> Result<Cow<'a, str>, String>) -> Result<Cow<'a, str>, String> {
    if !raw.contains(&b'\r')
        && let Some(s) = slice(src, raw)
    {
        return Ok(Cow::Borrowed(s));
    }
    normalised()
}

/// `prefix:local` or `local`, each part non-empty and at most one colon (Namespaces in XML 1.0).
fn split_name(name: &str) -> Option<(&str, &str)> {
    match name.split_once(':') {
        None => Some(("", name)),
        Some((prefix, local)) if !prefix.is_empty() && !local.is_empty() && !local.contains(':') => Some((prefix, local)),
        Some(_) => None,
    }
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

/// The namespace a prefix ("" for the default namespace) is bound to, from the declaration
/// `head` of [`Document::bindings`] back through those in scope before it.
fn resolve(bindings: &[(&str, u16, u32)], mut head: u32, prefix: &str) -> Option<u16> {
    if prefix == "xml" {
        return Some(1);
    }
    while head != NONE {
        let (p, ns, prev) = bindings[head as usize];
        if p == prefix {
            return Some(ns);
        }
        head = prev;
    }
    None
}

/// Where the parser stands in the chain of namespace declarations: the innermost one in scope,
/// and for each open element the one in scope before it opened.
struct Scopes {
    marks: Vec<u32>,
    head: u32,
}

impl Scopes {
    fn declare<'a>(&mut self, doc: &mut Document<'a>, prefix: &'a str, ns: u16) {
        doc.bindings.push((prefix, ns, self.head));
        self.head = (doc.bindings.len() - 1) as u32;
    }
}

/// Reads one start (or empty) tag: its attributes into the arena, its namespace declarations
/// into the scopes; returns the element's namespace index.
fn start_tag<'a>(doc: &mut Document<'a>, scopes: &mut Scopes, e: &BytesStart<'a>, qualified: &'a str, offset: u64) -> Result<u16, XmlError> {
    let src = doc.src;
    let unreadable = || syntax(src, offset, "ein Name ist kein gültiges UTF-8");
    let bad_name = |name: &str| syntax(src, offset, format!("„{name}“ ist kein gültiger Name mit Namensraum"));
    let undeclared = |prefix: &str| XmlError {
        message: format!("Der Namensraum-Präfix „{prefix}“ ist nicht deklariert."),
        element: Some(qualified.to_owned()),
        location: Location::of(src, offset as usize),
    };
    // Attribute prefixes are resolved after all declarations of this tag are known.
    let mut prefixed: Vec<(usize, &'a str)> = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| syntax(src, offset, err))?;
        let key = slice(src, a.key.into_inner()).ok_or_else(unreadable)?;
        let value: Cow<'a, str> = if a.value.contains(&b'&') {
            Cow::Owned(a.unescape_value().map_err(|err| syntax(src, offset, err))?.into_owned())
        } else {
            Cow::Borrowed(slice(src, &a.value).ok_or_else(unreadable)?)
        };
        let (prefix, local) = split_name(key).ok_or_else(|| bad_name(key))?;
        let reserved = |ns: &str| ns == XML_NAMESPACE || ns == XMLNS_NAMESPACE;
        if key == "xmlns" {
            if reserved(&value) {
                return Err(syntax(src, offset, "der voreingestellte Namensraum darf kein reservierter sein"));
            }
            let ns = if value.is_empty() { 0 } else { doc.namespace_index(value) };
            scopes.declare(doc, "", ns);
        } else if prefix == "xmlns" {
            match local {
                "xml" if value == XML_NAMESPACE => {}
                "xml" | "xmlns" => return Err(syntax(src, offset, format!("der Präfix „{local}“ ist reserviert"))),
                _ if value.is_empty() => return Err(syntax(src, offset, format!("der Präfix „{local}“ wird an keinen Namensraum gebunden"))),
                _ if reserved(&value) => return Err(syntax(src, offset, format!("der Präfix „{local}“ wird an einen reservierten Namensraum gebunden"))),
                _ => {
                    let ns = doc.namespace_index(value);
                    scopes.declare(doc, local, ns);
                }
            }
        } else {
            if !prefix.is_empty() {
                prefixed.push((doc.attributes.len(), prefix));
            }
            doc.attributes.push((local, value));
            doc.attribute_namespaces.push(0);
        }
    }
    // Two attributes with the same namespace and local name are one attribute given twice; only
    // prefixed ones can be (the reader refuses the same written name twice, and an unprefixed
    // attribute is in no namespace, which no prefix can name).
    let mut resolved: Vec<(u16, &str)> = Vec::new();
    for &(i, prefix) in &prefixed {
        let ns = resolve(&doc.bindings, scopes.head, prefix).ok_or_else(|| undeclared(prefix))?;
        let local = doc.attributes[i].0;
        if resolved.contains(&(ns, local)) {
            return Err(syntax(src, offset, format!("das Attribut „{local}“ ist doppelt")));
        }
        resolved.push((ns, local));
        doc.attribute_namespaces[i] = ns;
    }
    let (prefix, _) = split_name(qualified).ok_or_else(|| bad_name(qualified))?;
    if prefix == "xmlns" {
        return Err(bad_name(qualified));
    }
    match resolve(&doc.bindings, scopes.head, prefix) {
        Some(ns) => Ok(ns),
        None if prefix.is_empty() => Ok(0),
        None => Err(undeclared(prefix)),
    }
}

pub fn read(src: &str) -> Result<Document<'_>, XmlError> {
    let mut reader = Reader::from_str(src);
    let mut doc = Document {
        src,
        namespaces: vec![Cow::Borrowed(""), Cow::Borrowed(XML_NAMESPACE)],
        elements: Vec::with_capacity(64),
        attributes: Vec::with_capacity(64),
        attribute_namespaces: Vec::with_capacity(64),
        bindings: Vec::with_capacity(8),
    };
    let mut stack: Vec<u32> = Vec::with_capacity(16);
    let mut scopes = Scopes { marks: Vec::with_capacity(16), head: NONE };
    loop {
        let event = reader.read_event().map_err(|e| syntax(src, reader.error_position(), e))?;
        let offset = reader.buffer_position();
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let qualified = slice(src, e.name().into_inner()).ok_or_else(|| syntax(src, offset, "ein Name ist kein gültiges UTF-8"))?;
                let local = split_name(qualified).map_or(qualified, |(_, l)| l);
                let mark = scopes.head;
                let first_attribute = doc.attributes.len() as u32;
                let namespace = start_tag(&mut doc, &mut scopes, e, qualified, offset)?;
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
                    scope: scopes.head,
                });
                if matches!(event, Event::Start(_)) {
                    stack.push(index);
                    scopes.marks.push(mark);
                } else {
                    scopes.head = mark;
                }
            }
            Event::End(_) => {
                let index = stack.pop().ok_or_else(|| syntax(src, offset, "schließendes Element ohne öffnendes"))?;
                scopes.head = scopes.marks.pop().unwrap_or(NONE);
                let end = doc.elements.len() as u32;
                let e = &mut doc.elements[index as usize];
                e.closed = offset as u32;
                e.end = end;
                if e.first_child != NONE && e.text.trim().is_empty() {
                    e.text = Cow::Borrowed("");
                }
            }
            Event::Text(chunk) => {
                let text = content(src, &chunk, || chunk.xml10_content().map(|c| Cow::Owned(c.into_owned())).map_err(|e| e.to_string())).map_err(|e| syntax(src, offset, e))?;
                push_text(&mut doc, &stack, text).map_err(|m| syntax(src, offset, m))?;
            }
            Event::CData(c) => {
                let text = content(src, &c, || c.xml10_content().map(|c| Cow::Owned(c.into_owned())).map_err(|e| e.to_string())).map_err(|e| syntax(src, offset, e))?;
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
    fn namespace_scopes_line_ends_and_references() {
        let src = "<a xmlns='urn:x'><p:b xmlns:p='urn:p' p:k='v'><c xmlns=''>eins\r\nzwei</c><p:d xmlns:p='urn:q'/></p:b><e>&#x41;&amp;<![CDATA[<x>]]></e></a>";
        let doc = read(src).unwrap();
        let root = doc.root();
        assert_eq!(root.attribute("xmlns"), None, "a declaration is not an attribute");
        let b = root.child("urn:p", "b").unwrap();
        assert_eq!(b.attribute("k"), Some("v"));
        let c = b.child("", "c").expect("xmlns='' leaves no namespace");
        assert_eq!(c.text(), "eins\nzwei", "line ends normalised");
        assert!(b.child("urn:q", "d").is_some(), "an inner declaration rebinds the prefix");
        assert_eq!(root.child("urn:x", "e").unwrap().text(), "A&<x>");
        assert!(read("<a><p:b xmlns:p='urn:p'/><p:c/></a>").is_err(), "a declaration ends with its element");
        assert_eq!(read("<a xml:lang='de'/>").unwrap().root().attribute("lang"), Some("de"));
        assert_eq!(read("<a>x\u{85}y\u{2028}z</a>").unwrap().root().text(), "x\u{85}y\u{2028}z", "XML 1.0 line ends only");
    }

    #[test]
    fn namespace_rules_are_kept() {
        for bad in [
            "<r xmlns:xmlns='urn:x'><xmlns:a/></r>",
            "<r xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
            "<r xmlns:xml='urn:x'/>",
            "<r xmlns='http://www.w3.org/2000/xmlns/'/>",
            "<r xmlns:p=''/>",
            "<:r/>",
            "<r xmlns:p='urn:p'><p:a:b/></r>",
            "<r xmlns:p='urn:p'><p:/></r>",
            "<r foo:id='1'/>",
            "<r xmlns:p='urn:x' xmlns:q='urn:x' p:id='1' q:id='2'/>",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let ok = read("<r xmlns:xml='http://www.w3.org/XML/1998/namespace' xmlns:p='urn:p' xmlns:q='urn:q' p:id='1' q:id='2' id='3'/>").unwrap();
        assert_eq!(ok.root().attribute("id"), Some("1"), "attributes are found by local name, first given first");
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
