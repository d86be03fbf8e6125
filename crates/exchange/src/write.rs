//! Writing OOTS EDM 1.0 messages: an evidence request, a response carrying the evidence inline
//! (`rim:RepositoryItem`, base64), and an error response (`rs:Exception`), including "preview
//! required" (`EDM:ERR:0002`). Every message validates against the OOTS driver schema.
//!
//! Every text and attribute value is escaped by [`push_escaped`]: markup characters as entities,
//! and the characters a reader would otherwise change (carriage return; in attributes also tab
//! and line feed) as character references, so a message means for any XML 1.0 reader exactly
//! what it says; characters XML 1.0 does not allow (C0 controls, U+FFFE, U+FFFF) become U+FFFD.


/// An authority or register as EDM names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Identifier, e.g. the authority's ARS or the register's id.
    pub id: String,
    /// EAS scheme, e.g. `urn:cef.eu:names:identifier:EAS:0204` (Leitweg-ID).
    pub scheme: String,
    pub name: String,
}

/// The person an evidence is about, from the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The IdNr, when known (scheme `urn:de:idnr`), else an eIDAS identifier.
    pub identifier: String,
    pub scheme: String,
    pub family_name: String,
    pub given_name: String,
    pub date_of_birth: String,
    /// `High`, `Substantial`, `Low`.
    pub level_of_assurance: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceTypeRef {
    pub id: String,
    pub classification: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `urn:uuid:…`
    pub id: String,
    /// xsd:dateTime
    pub issued: String,
    pub procedure: String,
    pub requirement_id: String,
    pub requirement_name: String,
    pub requester: Party,
    pub provider: Party,
    pub subject: Subject,
    pub evidence_type: EvidenceTypeRef,
    pub preview_possible: bool,
    pub explicit_request: bool,
    /// After a preview: the location the provider gave (OOTS "request after preview").
    pub preview_location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub request_id: String,
    pub response_id: String,
    pub issued: String,
    pub provider: Party,
    pub requester: Party,
    /// `urn:uuid:…` of the evidence object.
    pub evidence_id: String,
    pub evidence_type: EvidenceTypeRef,
    pub subject: Subject,
    pub issuing_date: String,
    /// The evidence document and its media type (e.g. `application/json`).
    pub document: Vec<u8>,
    pub media_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub request_id: String,
    pub response_id: String,
    pub issued: String,
    pub provider: Party,
    pub requester: Party,
    /// `EDM:ERR:0002` (preview required), `EDM:ERR:0004` (no evidence found), …
    pub code: String,
    /// `rs:AuthorizationExceptionType`, `rs:ObjectNotFoundExceptionType`, …
    pub exception_type: String,
    pub message: String,
    pub detail: String,
    pub preview_location: Option<String>,
}

/// The provider needs the person to preview the evidence first.
pub const PREVIEW_REQUIRED: &str = crate::edm::PREVIEW_CODE;
/// No evidence found for the person.
pub const NOT_FOUND: &str = "EDM:ERR:0004";

const NS_DECLS: [(&str, &str); 6] = [
    ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
    ("xmlns:rs", crate::edm::NS_RS),
    ("xmlns:sdg", crate::edm::NS_SDG),
    ("xmlns:rim", crate::edm::NS_RIM),
    ("xmlns:query", crate::edm::NS_QUERY),
    ("xmlns:xlink", "http://www.w3.org/1999/xlink"),
];

/// Appends `value` escaped for a text (`attribute` false) or a double-quoted attribute value.
fn push_escaped(out: &mut String, value: &str, attribute: bool) {
    let bytes = value.as_bytes();
    let (mut last, mut i) = (0, 0);
    while i < bytes.len() {
        let (replacement, width) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' if attribute => ("&quot;", 1),
            b'\t' if attribute => ("&#9;", 1),
            b'\n' if attribute => ("&#10;", 1),
            b'\r' => ("&#13;", 1),
            b'\t' | b'\n' => {
                i += 1;
                continue;
            }
            0..=0x1F => ("\u{FFFD}", 1),
            0xEF if bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) => ("\u{FFFD}", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte or the lead byte of U+FFFE/U+FFFF: a character boundary.
        out.push_str(&value[last..i]);
        out.push_str(replacement);
        i += width;
        last = i;
    }
    out.push_str(&value[last..]);
}

/// Writes straight into one string: the EDM's element names are our constants, and every text
/// and attribute value goes through [`push_escaped`].
struct W(String);

impl W {
    fn new() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        W(out)
    }
    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (k, v) in attrs {
            self.0.push(' ');
            self.0.push_str(k);
            self.0.push_str("=\"");
            push_escaped(&mut self.0, v, true);
            self.0.push('"');
        }
    }
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.0.push('>');
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.0.push_str("/>");
    }
    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }
    fn text_el(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        push_escaped(&mut self.0, text, false);
        self.close(name);
    }
    fn slot_value(&mut self, name: &str, ty: &str, value: &str) {
        self.open("rim:Slot", &[("name", name)]);
        self.open("rim:SlotValue", &[("xsi:type", ty)]);
        self.text_el("rim:Value", &[], value);
        self.close("rim:SlotValue");
        self.close("rim:Slot");
    }
    fn agent(&mut self, slot: &str, p: &Party, collection: bool) {
        self.open("rim:Slot", &[("name", slot)]);
        if collection {
            self.open("rim:SlotValue", &[("xsi:type", "rim:CollectionValueType")]);
            self.open("rim:Element", &[("xsi:type", "rim:AnyValueType")]);
        } else {
            self.open("rim:SlotValue", &[("xsi:type", "rim:AnyValueType")]);
        }
        self.open("sdg:Agent", &[]);
        self.text_el("sdg:Identifier", &[("schemeID", &p.scheme)], &p.id);
        self.text_el("sdg:Name", &[("lang", "DE")], &p.name);
        self.close("sdg:Agent");
        if collection {
            self.close("rim:Element");
        }
        self.close("rim:SlotValue");
        self.close("rim:Slot");
    }
    fn finish(self) -> String {
        self.0
    }
}

fn root_attrs<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = NS_DECLS.to_vec();
    v.extend_from_slice(extra);
    v
}

pub fn request(r: &Request) -> String {
    let mut w = W::new();
    w.open("query:QueryRequest", &root_attrs(&[("id", &r.id)]));
    w.slot_value("SpecificationIdentifier", "rim:StringValueType", crate::edm::SPECIFICATION);
    w.slot_value("IssueDateTime", "rim:DateTimeValueType", &r.issued);
    w.open("rim:Slot", &[("name", "Procedure")]);
    w.open("rim:SlotValue", &[("xsi:type", "rim:InternationalStringValueType")]);
    w.open("rim:Value", &[]);
    w.empty("rim:LocalizedString", &[("xml:lang", "DE"), ("value", &r.procedure)]);
    w.close("rim:Value");
    w.close("rim:SlotValue");
    w.close("rim:Slot");
    w.slot_value("PossibilityForPreview", "rim:BooleanValueType", if r.preview_possible { "true" } else { "false" });
    w.slot_value("ExplicitRequestGiven", "rim:BooleanValueType", if r.explicit_request { "true" } else { "false" });
    if let Some(location) = &r.preview_location {
        w.slot_value("PreviewLocation", "rim:StringValueType", location);
    }
    w.open("rim:Slot", &[("name", "Requirements")]);
    w.open("rim:SlotValue", &[("xsi:type", "rim:CollectionValueType"), ("collectionType", "urn:oasis:names:tc:ebxml-regrep:CollectionType:Set")]);
    w.open("rim:Element", &[("xsi:type", "rim:AnyValueType")]);
    w.open("sdg:Requirement", &[]);
    w.text_el("sdg:Identifier", &[], &r.requirement_id);
    w.text_el("sdg:Name", &[("lang", "DE")], &r.requirement_name);
    w.close("sdg:Requirement");
    w.close("rim:Element");
    w.close("rim:SlotValue");
    w.close("rim:Slot");
    w.agent("EvidenceRequester", &r.requester, true);
    w.agent("EvidenceProvider", &r.provider, false);
    w.empty("query:ResponseOption", &[("returnType", "LeafClassWithRepositoryItem")]);
    w.open("query:Query", &[("queryDefinition", "DocumentQuery")]);
    w.open("rim:Slot", &[("name", "NaturalPerson")]);
    w.open("rim:SlotValue", &[("xsi:type", "rim:AnyValueType")]);
    w.open("sdg:Person", &[]);
    w.text_el("sdg:LevelOfAssurance", &[], &r.subject.level_of_assurance);
    w.text_el("sdg:Identifier", &[("schemeID", &r.subject.scheme)], &r.subject.identifier);
    w.text_el("sdg:FamilyName", &[], &r.subject.family_name);
    w.text_el("sdg:GivenName", &[], &r.subject.given_name);
    w.text_el("sdg:DateOfBirth", &[], &r.subject.date_of_birth);
    w.close("sdg:Person");
    w.close("rim:SlotValue");
    w.close("rim:Slot");
    w.open("rim:Slot", &[("name", "EvidenceRequest")]);
    w.open("rim:SlotValue", &[("xsi:type", "rim:AnyValueType")]);
    w.open("sdg:DataServiceEvidenceType", &[]);
    w.text_el("sdg:Identifier", &[], &r.evidence_type.id);
    w.text_el("sdg:EvidenceTypeClassification", &[], &r.evidence_type.classification);
    w.text_el("sdg:Title", &[("lang", "DE")], &r.evidence_type.title);
    w.open("sdg:DistributedAs", &[]);
    w.text_el("sdg:Format", &[], "application/json");
    w.close("sdg:DistributedAs");
    w.close("sdg:DataServiceEvidenceType");
    w.close("rim:SlotValue");
    w.close("rim:Slot");
    w.close("query:Query");
    w.close("query:QueryRequest");
    w.finish()
}

pub fn response(r: &Response) -> String {
    let mut w = W::new();
    w.open("query:QueryResponse", &root_attrs(&[("requestId", &r.request_id), ("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")]));
    w.slot_value("SpecificationIdentifier", "rim:StringValueType", crate::edm::SPECIFICATION);
    w.slot_value("EvidenceResponseIdentifier", "rim:StringValueType", &r.response_id);
    w.slot_value("IssueDateTime", "rim:DateTimeValueType", &r.issued);
    w.agent("EvidenceProvider", &r.provider, true);
    w.agent("EvidenceRequester", &r.requester, false);
    w.open("rim:RegistryObjectList", &[]);
    w.open("rim:RegistryObject", &[("xsi:type", "rim:ExtrinsicObjectType"), ("id", &r.evidence_id), ("mimeType", &r.media_type)]);
    w.open("rim:Slot", &[("name", "EvidenceMetadata")]);
    w.open("rim:SlotValue", &[("xsi:type", "rim:AnyValueType")]);
    w.open("sdg:Evidence", &[]);
    w.text_el("sdg:Identifier", &[], r.evidence_id.trim_start_matches("urn:uuid:"));
    w.open("sdg:IsAbout", &[]);
    w.open("sdg:NaturalPerson", &[]);
    w.text_el("sdg:Identifier", &[("schemeID", &r.subject.scheme)], &r.subject.identifier);
    w.text_el("sdg:FamilyName", &[], &r.subject.family_name);
    w.text_el("sdg:GivenName", &[], &r.subject.given_name);
    w.text_el("sdg:DateOfBirth", &[], &r.subject.date_of_birth);
    w.close("sdg:NaturalPerson");
    w.close("sdg:IsAbout");
    w.open("sdg:IssuingAuthority", &[]);
    w.text_el("sdg:Identifier", &[("schemeID", &r.provider.scheme)], &r.provider.id);
    w.text_el("sdg:Name", &[("lang", "DE")], &r.provider.name);
    w.close("sdg:IssuingAuthority");
    w.open("sdg:IsConformantTo", &[]);
    w.text_el("sdg:EvidenceTypeClassification", &[], &r.evidence_type.classification);
    w.text_el("sdg:Title", &[("lang", "DE")], &r.evidence_type.title);
    w.close("sdg:IsConformantTo");
    w.text_el("sdg:IssuingDate", &[], &r.issuing_date);
    w.open("sdg:Distribution", &[]);
    w.text_el("sdg:Format", &[], &r.media_type);
    w.close("sdg:Distribution");
    w.close("sdg:Evidence");
    w.close("rim:SlotValue");
    w.close("rim:Slot");
    w.text_el("rim:RepositoryItem", &[], &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &r.document));
    w.close("rim:RegistryObject");
    w.close("rim:RegistryObjectList");
    w.close("query:QueryResponse");
    w.finish()
}

pub fn error(r: &ErrorResponse) -> String {
    let mut w = W::new();
    w.open("query:QueryResponse", &root_attrs(&[("requestId", &r.request_id), ("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure")]));
    w.slot_value("SpecificationIdentifier", "rim:StringValueType", crate::edm::SPECIFICATION);
    w.slot_value("EvidenceResponseIdentifier", "rim:StringValueType", &r.response_id);
    w.agent("ErrorProvider", &r.provider, false);
    w.agent("EvidenceRequester", &r.requester, false);
    w.open(
        "rs:Exception",
        &[
            ("xsi:type", &r.exception_type),
            (
                "severity",
                if r.code == PREVIEW_REQUIRED {
                    crate::edm::PREVIEW_SEVERITY
                } else {
                    "urn:sr.oots.tech.europa.eu:codes:ErrorSeverity:EDMErrorResponse:Error"
                },
            ),
            ("message", &r.message),
            ("detail", &r.detail),
            ("code", &r.code),
        ],
    );
    w.slot_value("Timestamp", "rim:DateTimeValueType", &r.issued);
    if let Some(location) = &r.preview_location {
        w.slot_value("PreviewLocation", "rim:StringValueType", location);
    }
    w.close("rs:Exception");
    w.close("query:QueryResponse");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str, attribute: bool) -> String {
        let mut out = String::new();
        push_escaped(&mut out, value, attribute);
        out
    }

    #[test]
    fn values_mean_what_they_say_to_any_reader() {
        assert_eq!(escaped("a & b <c> \"d\" 'e'", true), "a &amp; b &lt;c&gt; &quot;d&quot; 'e'");
        assert_eq!(escaped("a\tb\nc\r", true), "a&#9;b&#10;c&#13;");
        assert_eq!(escaped("a\tb\nc\r\"", false), "a\tb\nc&#13;\"");
        assert_eq!(escaped("x\u{1}y\u{FFFE}z\u{FFFF}ä", false), "x\u{FFFD}y\u{FFFD}z\u{FFFD}ä");
        assert_eq!(escaped("Müller-Lüdenscheidt", true), "Müller-Lüdenscheidt");
    }

    #[test]
    fn a_request_reads_back_unchanged() {
        let party = Party { id: "leipzig".into(), scheme: "urn:amtsweg:authority".into(), name: "Stadt \"Leipzig\" & Co".into() };
        let request = Request {
            id: "urn:uuid:1".into(),
            issued: "2026-11-29T10:00:00Z".into(),
            procedure: "Zeile 1\nZeile 2\tTab\r\nEnde\u{7}".into(),
            requirement_id: "urn:r".into(),
            requirement_name: "R".into(),
            requester: party.clone(),
            provider: party,
            subject: Subject {
                identifier: "86095742719".into(),
                scheme: "urn:de:idnr".into(),
                family_name: "Schmidt\r\n<Söhne>".into(),
                given_name: "Anna".into(),
                date_of_birth: "1988-04-12".into(),
                level_of_assurance: "High".into(),
            },
            evidence_type: EvidenceTypeRef { id: "t".into(), classification: "c".into(), title: "T".into() },
            preview_possible: false,
            explicit_request: true,
            preview_location: None,
        };
        let summary = crate::edm::inspect(&super::request(&request)).unwrap();
        assert_eq!(summary.procedure.as_deref(), Some("Zeile 1\nZeile 2\tTab\r\nEnde\u{FFFD}"));
        assert_eq!(summary.requester.unwrap().name, "Stadt \"Leipzig\" & Co");
        assert_eq!(summary.person.unwrap().family_name, "Schmidt\r\n<Söhne>");
    }
}
