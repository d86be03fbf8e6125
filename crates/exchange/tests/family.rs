//! Issue 21: a generated family of EDM messages against xmllint. From each sample message in
//! ../shared/fixtures/oots/samples, variants are derived by removing, one at a time, each
//! element and each attribute (namespace declarations aside); by other prefixes for the same
//! namespaces and by default namespaces; and by whitespace and comments between elements.
//! xmllint with the OOTS driver schema decides which variants are valid. Every valid variant
//! must be read, reporting what it still carries; every invalid one must be refused, with the
//! element, line and column inside the message. The exceptions are listed below with the reason.

use amtsweg_exchange::inspect;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const SAMPLES: [&str; 5] = [
    "birth-request.xml",
    "birth-response.xml",
    "education-preview-error.xml",
    "education-request-with-preview.xml",
    "education-request-after-preview.xml",
];

fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/oots");
    assert!(dir.is_dir(), "the shared fixtures are missing: {}", dir.display());
    dir
}

struct Variant {
    /// `sample: what changed`.
    name: String,
    xml: String,
    /// The text taken out (a removal), whose facts the summary no longer needs to report.
    removed: String,
}

/// The spans of every element below the root (start of `<` to the end of its end tag) and of
/// every attribute that is not a namespace declaration (with its leading whitespace).
fn parts(xml: &str) -> (Vec<(String, std::ops::Range<usize>)>, Vec<(String, std::ops::Range<usize>)>) {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<(String, usize)> = Vec::new();
    // The names of the enclosing rim:Slot elements, to say which slot a part belongs to.
    let mut slots: Vec<Option<String>> = Vec::new();
    let mut elements = Vec::new();
    let mut attributes = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().expect("the samples are well-formed");
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let slot_name = (e.local_name().as_ref() == b"Slot")
                    .then(|| e.attributes().flatten().find(|a| a.key.as_ref() == b"name").map(|a| String::from_utf8_lossy(&a.value).into_owned()))
                    .flatten();
                let context = slot_name.clone().or_else(|| slots.iter().rev().flatten().next().cloned()).map(|s| format!(" in slot {s}")).unwrap_or_default();
                // The tag's text from '<' to '>': its attributes by position.
                let start = xml[before..after].find('<').map(|i| before + i).unwrap();
                let tag = &xml[start..after];
                let mut i = 1 + name.len();
                let bytes = tag.as_bytes();
                while i < tag.len() {
                    let ws = i;
                    while i < tag.len() && bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    if i >= tag.len() || bytes[i] == b'/' || bytes[i] == b'>' {
                        break;
                    }
                    let key_start = i;
                    while bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    let key = tag[key_start..i].to_owned();
                    while bytes[i] != b'"' && bytes[i] != b'\'' {
                        i += 1;
                    }
                    let quote = bytes[i];
                    i += 1;
                    while bytes[i] != quote {
                        i += 1;
                    }
                    i += 1;
                    if key != "xmlns" && !key.starts_with("xmlns:") {
                        attributes.push((format!("@{key} of <{name}>{context}"), start + ws..start + i));
                    }
                }
                if matches!(event, Event::Start(_)) {
                    open.push((format!("{name}>{context}"), start));
                    slots.push(slot_name);
                } else if !open.is_empty() {
                    elements.push((format!("<{name}>{context}"), start..after));
                }
            }
            Event::End(_) => {
                let (name, start) = open.pop().unwrap();
                slots.pop();
                if !open.is_empty() {
                    elements.push((format!("<{name}"), start..after));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (elements, attributes)
}

fn removals(sample: &str, xml: &str) -> Vec<Variant> {
    let (elements, attributes) = parts(xml);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    elements
        .into_iter()
        .chain(attributes)
        .map(|(what, span)| {
            let n = seen.entry(what.clone()).or_default();
            *n += 1;
            Variant {
                name: format!("{sample}: without {what} #{n}"),
                xml: format!("{}{}", &xml[..span.start], &xml[span.end..]),
                removed: xml[span.clone()].to_owned(),
            }
        })
        .collect()
}

/// The prefixes of the samples' namespaces, renamed and made the default namespace.
fn rewritings(sample: &str, xml: &str) -> Vec<Variant> {
    let mut out = Vec::new();
    let rename = |xml: &str, from: &str, to: &str| -> String {
        let qualified = |p: &str| if p.is_empty() { String::new() } else { format!("{p}:") };
        xml.replace(&format!("<{from}:"), &format!("<{}", qualified(to)))
            .replace(&format!("</{from}:"), &format!("</{}", qualified(to)))
            .replace(&format!("xmlns:{from}="), &if to.is_empty() { "xmlns=".to_owned() } else { format!("xmlns:{to}=") })
            // QNames in attribute values (xsi:type) use the prefix too.
            .replace(&format!("=\"{from}:"), &format!("=\"{}", qualified(to)))
            .replace(&format!(" {from}:type="), &format!(" {}type=", qualified(to)))
    };
    for (from, to) in [("rim", "r"), ("query", "q4"), ("rs", "status"), ("sdg", "p4s"), ("xsi", "inst")] {
        if xml.contains(&format!("xmlns:{from}=")) {
            out.push(Variant { name: format!("{sample}: prefix {from} as {to}"), xml: rename(xml, from, to), removed: String::new() });
        }
    }
    let all = [("rim", "a"), ("query", "b"), ("rs", "c"), ("sdg", "d")].iter().fold(xml.to_owned(), |x, (f, t)| rename(&x, f, t));
    out.push(Variant { name: format!("{sample}: every prefix renamed"), xml: all, removed: String::new() });
    for from in ["rim", "sdg", "query"] {
        // Only where no element is without a prefix already (that would change its namespace).
        if xml.contains(&format!("xmlns:{from}=")) && !xml.contains("xmlns=") {
            out.push(Variant { name: format!("{sample}: {from} as the default namespace"), xml: rename(xml, from, ""), removed: String::new() });
        }
    }
    out
}

/// Whitespace, line ends and comments between elements.
fn spacing(sample: &str, xml: &str) -> Vec<Variant> {
    // Between two tags ("><"), never inside a comment (the samples' comments quote markup).
    let between = |xml: &str, filler: &str| {
        let mut out = String::with_capacity(xml.len() * 2);
        let mut rest = xml;
        loop {
            let gap = rest.find("><");
            let comment = rest.find("<!--");
            match (gap, comment) {
                (Some(g), Some(c)) if c < g + 1 => {
                    let end = rest[c..].find("-->").map(|e| c + e + 3).unwrap_or(rest.len());
                    out.push_str(&rest[..end]);
                    rest = &rest[end..];
                }
                (Some(g), _) => {
                    out.push_str(&rest[..=g]);
                    out.push_str(filler);
                    rest = &rest[g + 1..];
                }
                (None, _) => break,
            }
        }
        out.push_str(rest);
        out
    };
    let compact: String = {
        // Everything between tags that is only whitespace goes.
        let mut out = String::new();
        let mut rest = xml;
        while let Some(i) = rest.find('>') {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            let ws = rest.len() - rest.trim_start().len();
            if rest[ws..].starts_with('<') {
                rest = &rest[ws..];
            }
        }
        out.push_str(rest);
        out
    };
    vec![
        Variant { name: format!("{sample}: comments between elements"), xml: between(xml, "<!-- Kommentar -->"), removed: String::new() },
        Variant { name: format!("{sample}: tabs and line breaks between elements"), xml: between(xml, "\r\n\t \n"), removed: String::new() },
        Variant { name: format!("{sample}: no whitespace between elements"), xml: compact.clone(), removed: String::new() },
        Variant { name: format!("{sample}: CRLF line ends"), xml: xml.replace('\n', "\r\n"), removed: String::new() },
        Variant { name: format!("{sample}: comments in a compact message"), xml: between(&compact, "<!-- k -->"), removed: String::new() },
        // RegRep's own optional `type` of a slot (not xsi:type), with a value that is no QName.
        Variant { name: format!("{sample}: a slot with RegRep's type attribute"), xml: xml.replacen("<rim:Slot name=", "<rim:Slot type=\"urn:amtsweg:test:slot\" name=", 1), removed: String::new() },
    ]
}

/// xmllint's verdict on each file (`true`: valid), all files in one run per batch.
fn xmllint(files: &[PathBuf]) -> Option<Vec<bool>> {
    let xsd = fixtures().join("xsd/sdg/oots_driver_v1.0.0.xsd");
    let mut verdicts = Vec::new();
    for batch in files.chunks(200) {
        let out = match Command::new("xmllint").args(["--noout", "--nonet", "--schema"]).arg(&xsd).args(batch).output() {
            Ok(out) => out,
            Err(e) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "xmllint is required in CI: {e}");
                eprintln!("skipped: xmllint not installed (Debian package libxml2-utils)");
                return None;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        for file in batch {
            let name = file.display().to_string();
            let valid = stderr.lines().any(|l| l == format!("{name} validates"));
            let invalid = stderr.lines().any(|l| l == format!("{name} fails to validate"));
            assert!(valid != invalid, "xmllint said nothing clear about {name}:\n{stderr}");
            verdicts.push(valid);
        }
    }
    Some(verdicts)
}

/// The summary's leaves: path → texts.
fn leaves(value: &Value, path: String, out: &mut BTreeMap<String, Vec<String>>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, format!("{path}/{k}"), out)),
        // Lists by their values, not their positions: removing the first of two items moves
        // the second.
        Value::Array(items) => items.iter().for_each(|v| leaves(v, format!("{path}/*"), out)),
        Value::String(s) if !s.is_empty() => out.entry(path).or_default().push(s.clone()),
        Value::Bool(b) => out.entry(path).or_default().push(b.to_string()),
        _ => {}
    }
}

/// Variants where the reader and the schema part, on purpose.
fn listed(name: &str) -> Option<&'static str> {
    // The XSD leaves every rim:Slot optional; EDM 1.0 requires these (TDD, "EDM requirements"):
    // without them a message cannot be checked for its version, dated, or answered.
    // (A response without IssueDateTime is read: an error response dates itself in its
    // exception's Timestamp, and the reader takes either.)
    let request = name.contains("request");
    for slot in ["SpecificationIdentifier", "IssueDateTime", "EvidenceRequest"] {
        if slot == "IssueDateTime" && !request {
            continue;
        }
        let removed_part = [format!("<rim:Slot> in slot {slot}"), format!("<rim:SlotValue> in slot {slot}"), format!("<rim:Value> in slot {slot}"), format!("<sdg:DataServiceEvidenceType> in slot {slot}")];
        if removed_part.iter().any(|p| name.contains(&format!("without {p} #"))) {
            return Some("required by the EDM specification beyond the XSD");
        }
    }
    None
}

#[test]
fn every_variant_xmllint_accepts_is_read_and_every_one_it_refuses_is_refused() {
    let dir = std::env::temp_dir().join(format!("amtsweg-edm-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut variants = Vec::new();
    let mut originals = BTreeMap::new();
    for sample in SAMPLES {
        let xml = std::fs::read_to_string(fixtures().join("samples").join(sample)).unwrap();
        let summary = serde_json::to_value(inspect(&xml).unwrap_or_else(|e| panic!("{sample}: {e}"))).unwrap();
        originals.insert(sample, summary);
        variants.extend(removals(sample, &xml));
        variants.extend(rewritings(sample, &xml));
        variants.extend(spacing(sample, &xml));
    }
    let files: Vec<PathBuf> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let file = dir.join(format!("{i}.xml"));
            std::fs::write(&file, &v.xml).unwrap();
            file
        })
        .collect();
    let Some(verdicts) = xmllint(&files) else { return };
    let _ = std::fs::remove_dir_all(&dir);
    let (mut read, mut refused, mut excepted) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (variant, valid) in variants.iter().zip(verdicts) {
        let sample = variant.name.split(':').next().unwrap();
        let outcome = inspect(&variant.xml);
        if let Some(reason) = listed(&variant.name) {
            excepted += 1;
            // Listed means: the schema admits it, the specification does not, and we refuse.
            if !valid || outcome.is_ok() {
                wrong.push(format!("{}: listed ({reason}), but xmllint says {valid} and the reader {}", variant.name, if outcome.is_ok() { "reads it" } else { "refuses it" }));
            }
            continue;
        }
        match (valid, outcome) {
            (true, Ok(summary)) => {
                read += 1;
                // What the message still carries is reported as before.
                let mut before = BTreeMap::new();
                leaves(&originals[sample], String::new(), &mut before);
                let mut after = BTreeMap::new();
                leaves(&serde_json::to_value(&summary).unwrap(), String::new(), &mut after);
                for (path, values) in before {
                    for value in values {
                        // A fact may go with the part that carried it: its text, or what the
                        // exception said when the whole exception went.
                        let gone = !variant.removed.is_empty()
                            && (variant.removed.contains(&value) || (variant.removed.starts_with("<rs:Exception") && (path == "/kind" || path.starts_with("/exception/"))));
                        if !gone && !after.get(&path).is_some_and(|v| v.contains(&value)) {
                            wrong.push(format!("{}: read, but {path} is {:?} instead of {value:?}", variant.name, after.get(&path)));
                        }
                    }
                }
            }
            (true, Err(e)) => wrong.push(format!("{}: valid for xmllint, refused: {e}", variant.name)),
            (false, Ok(_)) => wrong.push(format!("{}: invalid for xmllint, read", variant.name)),
            (false, Err(e)) => {
                refused += 1;
                let lines = variant.xml.lines().count() as u32;
                if e.location.line == 0 || e.location.line > lines.max(1) {
                    wrong.push(format!("{}: refused outside the message: {e}", variant.name));
                }
                if e.element.is_none() {
                    wrong.push(format!("{}: refused without naming the element: {e}", variant.name));
                }
            }
        }
    }
    println!("EDM family: {} variants, {read} read, {refused} refused, {excepted} listed exceptions", variants.len());
    assert!(wrong.is_empty(), "{} of {} variants disagree with xmllint:\n{}", wrong.len(), variants.len(), wrong.join("\n"));
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(fixtures().join("samples").join(name)).unwrap()
}

#[test]
fn a_newer_minor_version_is_read_with_a_warning_and_another_major_refused() {
    let xml = sample("birth-request.xml");
    assert!(inspect(&xml).unwrap().warnings.is_empty());
    let newer = xml.replace("<rim:Value>oots-edm:v1.0</rim:Value>", "<rim:Value>oots-edm:v1.2</rim:Value>");
    assert_ne!(newer, xml, "the sample declares its version");
    let summary = inspect(&newer).unwrap();
    assert_eq!(summary.warnings.len(), 1, "{summary:?}");
    assert!(summary.warnings[0].contains("oots-edm:v1.2"));
    assert_eq!(summary.request_id, inspect(&xml).unwrap().request_id, "read as 1.0");
    for refused in ["oots-edm:v2.0", "oots-edm:v1.", "oots-edm:v1.01", "oots-edm:v0.9", "edm:v1.1"] {
        let e = inspect(&xml.replace("oots-edm:v1.0", refused)).unwrap_err();
        assert!(e.message.contains("wird nicht unterstützt") && e.element.is_some(), "{refused}: {e}");
    }
}

#[test]
fn preview_required_is_recognised_by_any_of_its_marks() {
    let xml = sample("education-preview-error.xml");
    let full = inspect(&xml).unwrap().exception.unwrap();
    assert!(full.preview_required && full.code == "EDM:ERR:0002" && full.r#type == "rs:AuthorizationExceptionType");
    // The attributes as the sample writes them (its severity ends in a DEL character).
    let attribute = |name: &str| {
        let start = xml.find(&format!(" {name}=\"")).unwrap();
        let end = start + 1 + xml[start + 1..].find('"').unwrap() + 1 + xml[start + 1..].split('"').nth(1).unwrap().len() + 1;
        xml[start..end].to_owned()
    };
    let (severity, code) = (attribute("severity"), attribute("code"));
    assert!(severity.contains("PreviewRequired") && code.contains("EDM:ERR:0002"), "{severity} {code}");
    let location_slot = xml.find(r#"<rim:Slot name="PreviewLocation">"#).unwrap();
    let location_end = location_slot + xml[location_slot..].find("</rim:Slot>").unwrap() + "</rim:Slot>".len();
    let without_location = format!("{}{}", &xml[..location_slot], &xml[location_end..]);
    // Only the code; only the severity; only the location slot: each is enough.
    let only_code = without_location.replace(&severity, "");
    let only_severity = without_location.replace(&code, "");
    let only_location = xml.replace(&severity, "").replace(&code, "");
    for (what, variant) in [("code", &only_code), ("severity", &only_severity), ("location", &only_location)] {
        let e = inspect(variant).unwrap().exception.unwrap();
        assert!(e.preview_required, "by the {what} alone: {e:?}");
    }
    // None of them: another authorisation error, with the XSD's default severity.
    let none = without_location.replace(&severity, "").replace(&code, "");
    let e = inspect(&none).unwrap().exception.unwrap();
    assert!(!e.preview_required && e.code.is_empty());
    assert_eq!(e.severity, amtsweg_exchange::edm::DEFAULT_SEVERITY);
    // The type is reported the same whatever prefix the message gives RegRep's rs namespace,
    // and a prefix that is not declared is refused where it stands.
    let renamed = xml.replace("xmlns:rs=", "xmlns:fehler=").replace("<rs:", "<fehler:").replace("</rs:", "</fehler:").replace("\"rs:", "\"fehler:");
    assert_eq!(inspect(&renamed).unwrap().exception.unwrap().r#type, "rs:AuthorizationExceptionType");
    let undeclared = xml.replace("xsi:type=\"rs:AuthorizationExceptionType\"", "xsi:type=\"unbekannt:AuthorizationExceptionType\"");
    let e = inspect(&undeclared).unwrap_err();
    assert!(e.message.contains("nicht deklarierten") && e.element.as_deref() == Some("rs:Exception"), "{e}");
}
