//! Reading OOTS EDM 1.0 messages into a summary: kind, ids, procedure, requester, provider,
//! person, requested evidence type, evidence, or the exception.
//!
//! The reader follows the schema (issue 21): what the OOTS XSDs make optional is optional here
//! (an exception's `code`, `detail`, `message` and `severity`; a response's `requestId`), and
//! what they require is checked ([`check_structure`]) and refused with the element, line and
//! column. Beyond the XSD, the EDM specification requires a few slots (the specification
//! identifier, the issue time, a request's evidence type); those are refused when missing too.
//! A newer minor version of the EDM is read with a warning; another major version is refused.

use crate::xml::{Node, XmlError, read};

use serde::Serialize;
use std::borrow::Cow;

pub const NS_QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0";
pub const NS_RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0";
pub const NS_RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0";
pub const NS_SDG: &str = "http://data.europa.eu/p4s";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const SPECIFICATION: &str = "oots-edm:v1.0";
/// The severity an exception has when it names none (the XSD's default).
pub const DEFAULT_SEVERITY: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error";
/// The severity of the provider's "preview required" error (EDM 1.0, code list ErrorSeverity).
pub const PREVIEW_SEVERITY: &str = "urn:sr.oots.tech.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired";
/// The code of the "preview required" error (EDM 1.0, code list EDMErrorCodes).
pub const PREVIEW_CODE: &str = "EDM:ERR:0002";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `query:QueryRequest`: an evidence request.
    Request,
    /// `query:QueryResponse` with evidence.
    Response,
    /// `query:QueryResponse` carrying an `rs:Exception`.
    Exception,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: String,
    pub scheme: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Person {
    pub identifier: String,
    pub scheme: String,
    pub family_name: String,
    pub given_name: String,
    pub date_of_birth: String,
    pub level_of_assurance: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceType {
    pub id: String,
    pub classification: String,
    pub title: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requirement {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExceptionInfo {
    /// The EDM error code (`EDM:ERR:0004`); empty when the exception names none (optional in
    /// the XSD).
    pub code: String,
    /// The exception's `xsi:type`, written with the prefix `rs:` whatever prefix the message
    /// used (`{namespace}local` for a type outside RegRep's rs namespace); empty when absent.
    pub r#type: String,
    pub message: String,
    pub detail: String,
    /// The severity, the XSD's default when the exception names none.
    pub severity: String,
    pub preview_location: Option<String>,
    /// Whether this is the provider's "preview required" error (see [`is_preview_required`]).
    pub preview_required: bool,
}

/// What `amtsweg oots inspect` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub kind: Kind,
    /// The request's id (`QueryRequest/@id`), or the id of the request a response answers.
    pub request_id: String,
    /// A response's own id (`EvidenceResponseIdentifier`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub issued: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_possible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_request: Option<bool>,
    /// In a request after a preview: where the person saw the evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_location: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<Requirement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<Agent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Agent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<Person>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_type: Option<EvidenceType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionInfo>,
    /// What the reader tolerated but the sender should know (a newer minor EDM version).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Whether an exception is the provider's "preview required" error. EDM 1.0 (TDD, error
/// response, and the example of the preview error) marks it three ways: the code
/// `EDM:ERR:0002`, the severity `…:EDMErrorResponse:PreviewRequired`, and a `PreviewLocation`
/// slot, which the specification allows only on that error. `code` and `severity` are optional
/// in the XSD and the slot may be left out, so any one of them suffices. The type alone
/// (`rs:AuthorizationExceptionType`) does not: the specification uses it for other
/// authorisation errors too.
pub fn is_preview_required(code: &str, severity: &str, preview_location: Option<&str>) -> bool {
    code == PREVIEW_CODE || severity == PREVIEW_SEVERITY || preview_location.is_some()
}

/// The `rim:Slot` with this name among a node's children.
fn slot<'d>(node: &Node<'d>, name: &str) -> Option<Node<'d>> {
    node.children_named(NS_RIM, "Slot").find(|s| s.attribute("name") == Some(name))
}

/// The first `rim:Value` text of a slot, or the `value` of its first `rim:LocalizedString`.
fn slot_text(node: &Node<'_>, name: &str) -> Option<String> {
    let s = slot(node, name)?;
    if let Some(l) = s.find(NS_RIM, "LocalizedString") {
        return l.attribute("value").map(str::to_owned);
    }
    s.find(NS_RIM, "Value").map(|v| v.trimmed().to_owned())
}

fn required_slot(node: &Node<'_>, name: &str) -> Result<String, XmlError> {
    slot_text(node, name).filter(|v| !v.is_empty()).ok_or_else(|| node.error(format!("Das Pflichtfeld (rim:Slot) „{name}“ fehlt."), true))
}

fn boolean(node: &Node<'_>, name: &str) -> Result<Option<bool>, XmlError> {
    match slot_text(node, name).as_deref() {
        None => Ok(None),
        Some("true") | Some("1") => Ok(Some(true)),
        Some("false") | Some("0") => Ok(Some(false)),
        Some(other) => Err(slot(node, name).expect("exists").error(format!("„{other}“ ist kein Wahrheitswert (true oder false)."), true)),
    }
}

fn text(node: &Node<'_>, name: &str) -> String {
    node.child(NS_SDG, name).map(|n| n.trimmed().to_owned()).unwrap_or_default()
}

fn agent(node: &Node<'_>, slot_name: &str) -> Option<Agent> {
    let a = slot(node, slot_name)?.find(NS_SDG, "Agent")?;
    let id = a.child(NS_SDG, "Identifier");
    Some(Agent {
        id: id.map(|i| i.trimmed().to_owned()).unwrap_or_default(),
        scheme: id.and_then(|i| i.attribute("schemeID")).unwrap_or_default().to_owned(),
        name: text(&a, "Name"),
    })
}

/// The EDM version the message declares (`SpecificationIdentifier`, the one place EDM 1.0 gives
/// for it): 1.0 is read; a newer minor version (1.1, 1.2, …) is read with a warning, since minor
/// versions only add; anything else is refused.
fn check_specification(root: &Node<'_>) -> Result<Vec<String>, XmlError> {
    let spec = required_slot(root, "SpecificationIdentifier")?;
    if spec == SPECIFICATION {
        return Ok(Vec::new());
    }
    let minor = spec.strip_prefix("oots-edm:v1.").filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) && !m.starts_with('0'));
    match minor {
        Some(_) => Ok(vec![format!("Die Nachricht folgt „{spec}“, einer neueren Fassung der EDM 1; gelesen wurde sie nach {SPECIFICATION}.")]),
        None => Err(slot(root, "SpecificationIdentifier").expect("exists").error(
            format!("Die Spezifikation „{spec}“ wird nicht unterstützt (erwartet: {SPECIFICATION} oder eine neuere Fassung 1.x)."),
            true,
        )),
    }
}

/// What the XSDs require of the elements of EDM messages, checked wherever they occur: RegRep's
/// required attributes and abstract types (a `rim:SlotValue` or `rim:Element` must say its
/// `xsi:type`), and the required children of each SDG type (from SDG Generic Metadata Profile
/// 1.0.0; the element names map to types as the profile declares them).
fn check_structure(root: &Node<'_>) -> Result<(), XmlError> {
    if root.name() == "QueryRequest" {
        for required in ["ResponseOption", "Query"] {
            if root.child(NS_QUERY, required).is_none() {
                return Err(root.error(format!("Das Pflichtelement <query:{required}> fehlt (OOTS-Schema)."), true));
            }
        }
    }
    for n in std::iter::once(*root).chain(root.descendants()) {
        // (namespace, local name, as written in the message) of the attribute it requires.
        let required_attribute = match (n.namespace(), n.name()) {
            (NS_RIM, "Slot") => Some(("", "name", "name")),
            (NS_RIM, "SlotValue" | "Element") => Some((NS_XSI, "type", "xsi:type")),
            (NS_RIM, "LocalizedString") => Some(("", "value", "value")),
            (NS_RIM, "RegistryObject") => Some(("", "id", "id")),
            (NS_QUERY, "Query") => Some(("", "queryDefinition", "queryDefinition")),
            _ => None,
        };
        if let Some((namespace, local, written)) = required_attribute {
            if n.attribute_in(namespace, local).is_none() {
                return Err(n.error(format!("Das Pflichtattribut „{written}“ fehlt (OOTS-Schema)."), false));
            }
        }
        if let Some(value) = n.attribute_in(NS_XSI, "type") {
            if n.qname(value).is_none() {
                return Err(n.error(format!("Der Typ „{value}“ (xsi:type) nennt einen nicht deklarierten Namensraum-Präfix."), false));
            }
        }
        // The repository item (the evidence itself) belongs to rim:ExtrinsicObjectType (and
        // its extension rim:CommentType): a registry object that carries one must say so.
        if n.namespace() == NS_RIM && n.name() == "RegistryObject" && (n.child(NS_RIM, "RepositoryItem").is_some() || n.child(NS_RIM, "RepositoryItemRef").is_some()) {
            let extrinsic = n.attribute_in(NS_XSI, "type").and_then(|t| n.qname(t)).is_some_and(|(ns, local)| ns == NS_RIM && matches!(local, "ExtrinsicObjectType" | "CommentType"));
            if !extrinsic {
                return Err(n.error("Ein rim:RegistryObject mit rim:RepositoryItem muss den Typ rim:ExtrinsicObjectType haben (xsi:type, OOTS-Schema).", false));
            }
        }
        if n.namespace() != NS_SDG {
            continue;
        }
        let (all, one_of): (&[&str], &[&str]) = match n.name() {
            "Agent" | "EvidenceRequester" | "EvidenceProvider" | "IssuingAuthority" => (&["Identifier", "Name"], &[]),
            "Publisher" => (&["Identifier", "Name", "Address", "Jurisdiction"], &[]),
            "ReferenceFramework" | "RelatedTo" | "EvidenceTypeList" | "InformationConcept" | "EvidenceProviderClassification" | "ClassificationConcept" => (&["Identifier"], &[]),
            "Requirement" => (&["Identifier", "Name"], &[]),
            "Jurisdiction" | "Address" | "CurrentAddress" | "RegisteredAddress" => (&["AdminUnitLevel1"], &[]),
            "EvidenceType" | "IsConformantTo" => (&["EvidenceTypeClassification", "Title"], &[]),
            "DataServiceEvidenceType" => (&["Identifier", "EvidenceTypeClassification", "Title", "DistributedAs"], &[]),
            "AccessService" => (&["Identifier", "ConformsTo", "Publisher"], &[]),
            "EvidenceProviderJurisdictionDetermination" => (&["JurisdictionContextId", "JurisdictionContext", "JurisdictionLevel"], &[]),
            "DistributedAs" | "Distribution" => (&["Format"], &[]),
            "ValidityPeriod" => (&["StartDate", "EndDate"], &[]),
            "Person" | "NaturalPerson" => (&["FamilyName", "GivenName", "DateOfBirth"], &[]),
            "LegalPerson" => (&["LegalName"], &[]),
            "SupportedValue" => (&[], &["StringValue", "DateValue", "BooleanValue"]),
            "SectorSpecificAttribute" => (&["AttributeName", "AttributeURI", "AttributeValue"], &[]),
            "Evidence" => (&["Identifier", "IsAbout", "IssuingAuthority", "IsConformantTo", "IssuingDate", "Distribution"], &[]),
            "IsAbout" => (&[], &["NaturalPerson", "LegalPerson"]),
            _ => (&[], &[]),
        };
        if let Some(name) = all.iter().find(|c| n.child(NS_SDG, c).is_none()) {
            return Err(n.error(format!("Das Pflichtelement <sdg:{name}> fehlt (OOTS-Schema)."), true));
        }
        if !one_of.is_empty() && !one_of.iter().any(|c| n.child(NS_SDG, c).is_some()) {
            return Err(n.error(format!("Eines der Elemente {} ist Pflicht (OOTS-Schema).", one_of.iter().map(|c| format!("<sdg:{c}>")).collect::<Vec<_>>().join(", ")), true));
        }
    }
    Ok(())
}

/// Reads one EDM message.
pub fn inspect(xml: &str) -> Result<Summary, XmlError> {
    summarize(&read(xml)?.root())
}

/// Reads a response once: its summary and the evidence document it carries, if any.
pub fn read_response(xml: &str) -> Result<(Summary, Option<(String, Vec<u8>)>), XmlError> {
    let doc = read(xml)?;
    let root = doc.root();
    Ok((summarize(&root)?, document_of(&root)?))
}

fn summarize(root: &Node<'_>) -> Result<Summary, XmlError> {
    if root.namespace() != NS_QUERY || !matches!(root.name(), "QueryRequest" | "QueryResponse") {
        return Err(root.error(
            format!("Keine EDM-Nachricht: erwartet wird query:QueryRequest oder query:QueryResponse im Namensraum {NS_QUERY}."),
            false,
        ));
    }
    let warnings = check_specification(root)?;
    check_structure(root)?;
    if root.name() == "QueryRequest" {
        let id = root.attribute("id").filter(|v| !v.trim().is_empty()).ok_or_else(|| root.error("Die Anfrage hat keine Kennung (Attribut id).", false))?;
        let query = root.child(NS_QUERY, "Query").ok_or_else(|| root.error("Die Anfrage enthält kein <query:Query>.", true))?;
        let person = slot(&query, "NaturalPerson").and_then(|s| s.find(NS_SDG, "Person")).map(|p| {
            let id = p.child(NS_SDG, "Identifier");
            Person {
                identifier: id.map(|i| i.trimmed().to_owned()).unwrap_or_default(),
                scheme: id.and_then(|i| i.attribute("schemeID")).unwrap_or_default().to_owned(),
                family_name: text(&p, "FamilyName"),
                given_name: text(&p, "GivenName"),
                date_of_birth: text(&p, "DateOfBirth"),
                level_of_assurance: text(&p, "LevelOfAssurance"),
            }
        });
        let evidence_type = slot(&query, "EvidenceRequest").and_then(|s| s.find(NS_SDG, "DataServiceEvidenceType")).map(|e| EvidenceType {
            id: text(&e, "Identifier"),
            classification: text(&e, "EvidenceTypeClassification"),
            title: e.children_named(NS_SDG, "Title").next().map(|t| t.trimmed().to_owned()).unwrap_or_default(),
        });
        if evidence_type.is_none() {
            return Err(query.error("Die Anfrage nennt keinen Nachweistyp (rim:Slot „EvidenceRequest“).", true));
        }
        let requirements = slot(root, "Requirements")
            .map(|s| s.descendants_named(NS_SDG, "Requirement").iter().map(|r| Requirement { id: text(r, "Identifier"), name: text(r, "Name") }).collect())
            .unwrap_or_default();
        return Ok(Summary {
            kind: Kind::Request,
            request_id: id.trim().to_owned(),
            response_id: None,
            status: None,
            issued: required_slot(root, "IssueDateTime")?,
            procedure: slot_text(root, "Procedure"),
            preview_possible: boolean(root, "PossibilityForPreview")?,
            explicit_request: boolean(root, "ExplicitRequestGiven")?,
            preview_location: slot_text(root, "PreviewLocation"),
            requirements,
            requester: agent(root, "EvidenceRequester"),
            provider: agent(root, "EvidenceProvider"),
            person,
            evidence_type,
            evidence: Vec::new(),
            exception: None,
            warnings,
        });
    }
    // `requestId` is optional in the XSD (RegistryResponseType): a response without it is read,
    // and the exchange, which matches responses to its requests, refuses it there.
    let request_id = root.attribute("requestId").unwrap_or_default();
    let status = root.attribute("status").ok_or_else(|| root.error("Die Antwort hat keinen Status (Attribut status).", false))?;
    let exception = match root.child(NS_RS, "Exception") {
        None => None,
        Some(e) => {
            // Resolvable: check_structure refused an undeclared prefix.
            let r#type = match e.attribute_in(NS_XSI, "type").and_then(|value| e.qname(value)) {
                None => String::new(),
                Some((NS_RS, local)) => format!("rs:{local}"),
                Some((ns, local)) => format!("{{{ns}}}{local}"),
            };
            let code = e.attribute("code").unwrap_or_default().trim().to_owned();
            // Without the surrounding whitespace and control characters: the TDD's own example
            // of the preview error carries a DEL after its severity.
            let severity = e.attribute("severity").map(|s| s.trim_matches(|c: char| c.is_whitespace() || c.is_control())).unwrap_or(DEFAULT_SEVERITY).to_owned();
            let preview_location = slot_text(&e, "PreviewLocation");
            Some(ExceptionInfo {
                preview_required: is_preview_required(&code, &severity, preview_location.as_deref()),
                code,
                r#type,
                message: e.attribute("message").unwrap_or_default().to_owned(),
                detail: e.attribute("detail").unwrap_or_default().to_owned(),
                severity,
                preview_location,
            })
        }
    };
    let mut evidence = Vec::new();
    if let Some(list) = root.child(NS_RIM, "RegistryObjectList") {
        for object in list.children_named(NS_RIM, "RegistryObject") {
            evidence.push(object.attribute("id").unwrap_or_default().to_owned());
        }
    }
    Ok(Summary {
        kind: if exception.is_some() { Kind::Exception } else { Kind::Response },
        request_id: request_id.trim().to_owned(),
        response_id: slot_text(root, "EvidenceResponseIdentifier"),
        status: Some(status.rsplit(':').next().unwrap_or(status).to_owned()),
        issued: slot_text(root, "IssueDateTime")
            .or_else(|| exception.as_ref().and_then(|_| root.child(NS_RS, "Exception").and_then(|e| slot_text(&e, "Timestamp"))))
            .unwrap_or_default(),
        procedure: None,
        preview_possible: None,
        explicit_request: None,
        preview_location: None,
        requirements: Vec::new(),
        requester: agent(root, "EvidenceRequester"),
        provider: agent(root, "EvidenceProvider").or_else(|| agent(root, "ErrorProvider")),
        person: None,
        evidence_type: None,
        evidence,
        exception,
        warnings,
    })
}

/// The evidence document a response carries inline (`rim:RepositoryItem`, base64), with its
/// media type.
pub fn evidence_document(xml: &str) -> Result<Option<(String, Vec<u8>)>, XmlError> {
    document_of(&read(xml)?.root())
}

fn document_of(root: &Node<'_>) -> Result<Option<(String, Vec<u8>)>, XmlError> {
    use base64::Engine;
    let Some(object) = root.child(NS_RIM, "RegistryObjectList").and_then(|l| l.child(NS_RIM, "RegistryObject")) else {
        return Ok(None);
    };
    let Some(item) = object.child(NS_RIM, "RepositoryItem") else {
        return Ok(None);
    };
    let text = item.text();
    let compact: Cow<'_, str> = if text.bytes().any(|b| b.is_ascii_whitespace()) { text.chars().filter(|c| !c.is_whitespace()).collect::<String>().into() } else { text.into() };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| item.error("Der Inhalt des Nachweises ist kein gültiges Base64.", true))?;
    Ok(Some((object.attribute("mimeType").unwrap_or("application/octet-stream").to_owned(), bytes)))
}
