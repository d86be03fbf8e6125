//! Reading OOTS EDM 1.0 messages into a summary: kind, ids, procedure, requester, provider,
//! person, requested evidence type, evidence, or the exception.

use crate::xml::{Node, XmlError, read};

use serde::Serialize;
use std::borrow::Cow;

pub const NS_QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0";
pub const NS_RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0";
pub const NS_RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0";
pub const NS_SDG: &str = "http://data.europa.eu/p4s";
pub const SPECIFICATION: &str = "oots-edm:v1.0";

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
    pub code: String,
    pub r#type: String,
    pub message: String,
    pub detail: String,
    pub preview_location: Option<String>,
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

fn check_specification(root: &Node<'_>) -> Result<(), XmlError> {
    let spec = required_slot(root, "SpecificationIdentifier")?;
    if spec != SPECIFICATION {
        return Err(slot(root, "SpecificationIdentifier").expect("exists").error(
            format!("Die Spezifikation „{spec}“ wird nicht unterstützt (erwartet: {SPECIFICATION})."),
            true,
        ));
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
    check_specification(root)?;
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
        });
    }
    let request_id = root.attribute("requestId").filter(|v| !v.trim().is_empty()).ok_or_else(|| root.error("Die Antwort nennt keine Anfrage (Attribut requestId).", false))?;
    let status = root.attribute("status").ok_or_else(|| root.error("Die Antwort hat keinen Status (Attribut status).", false))?;
    let exception = root.child(NS_RS, "Exception").map(|e| ExceptionInfo {
        code: e.attribute("code").unwrap_or_default().to_owned(),
        r#type: e.attribute("type").unwrap_or_default().to_owned(),
        message: e.attribute("message").unwrap_or_default().to_owned(),
        detail: e.attribute("detail").unwrap_or_default().to_owned(),
        preview_location: slot_text(&e, "PreviewLocation"),
    });
    if exception.as_ref().is_some_and(|e| e.code.is_empty()) {
        return Err(root.child(NS_RS, "Exception").expect("exists").error("Die Ausnahme hat keinen Code (Attribut code).", false));
    }
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
