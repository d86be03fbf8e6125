//! The catalog: FIM schemas imported as services. A schema is pinned by the SHA-256 of its
//! content and kept per id and version; importing the same content again changes nothing, and
//! other content under a stored id and version is refused.

use amtsweg_domain::records::FimSchemaRecord;
use amtsweg_domain::{Service, ServiceId};
use amtsweg_fim::codelist::{CodeLists, parse_genericode};
use amtsweg_fim::form::{ImportProblem, Options, RuleFile, to_form};
use amtsweg_fim::{ParseError, content_hash, parse};
use amtsweg_store::{DynStore, StoreError};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Parse(ParseError),
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.element, p.message)).collect::<Vec<_>>().join("\n"))]
    Problems(Vec<ImportProblem>),
    #[error("Das Schema {id} in Version {version} ist bereits mit anderem Inhalt importiert (SHA-256 {existing}). Ein geänderter Inhalt braucht eine neue Version.")]
    Conflict { id: String, version: String, existing: String },
    #[error("Die Regeldatei ist ungültig: {0}")]
    Rules(String),
    #[error("Speicherfehler: {0}")]
    Store(StoreError),
}

/// The services on offer, as anyone may read them.
pub struct Catalog {
    store: DynStore,
}

impl Catalog {
    pub(crate) fn new(store: DynStore) -> Self {
        Self { store }
    }

    pub async fn services(&self) -> Result<Vec<Service>, crate::AppError> {
        Ok(self.store.services().await?)
    }

    pub async fn service(&self, id: &ServiceId) -> Result<Option<std::sync::Arc<Service>>, crate::AppError> {
        Ok(self.store.service(id).await?)
    }

    /// The name of an authority (empty when unknown).
    pub async fn authority_name(&self, id: &amtsweg_domain::AuthorityId) -> Result<String, crate::AppError> {
        Ok(self.store.authority(id).await?.map(|a| a.name).unwrap_or_default())
    }
}

pub struct ImportRequest<'a> {
    pub xml: &'a str,
    pub code_lists: &'a CodeLists,
    pub rules: Option<&'a RuleFile>,
    /// The name citizens see; default: the schema's title.
    pub service_name: Option<&'a str>,
    pub accept_free_text: &'a [String],
    /// The topic the portal lists it under.
    pub category: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported { service_id: String, fields: usize, pages: usize },
    Unchanged { service_id: String },
}

/// The service id of a schema: its id in lower case (`s00000186`).
pub fn service_id_for(schema_id: &str) -> String {
    schema_id.to_ascii_lowercase()
}

pub fn parse_rules(json: &str) -> Result<RuleFile, ImportError> {
    serde_json::from_str(json).map_err(|e| ImportError::Rules(e.to_string()))
}

pub async fn import(store: &DynStore, request: ImportRequest<'_>) -> Result<ImportOutcome, ImportError> {
    let message = parse(request.xml).map_err(ImportError::Parse)?;
    let schema = &message.schema;
    let form = to_form(schema, &Options { code_lists: request.code_lists, rules: request.rules, accept_free_text: request.accept_free_text })
        .map_err(ImportError::Problems)?;
    let service_id = service_id_for(&schema.id);
    let fields = form.fields().len();
    let pages = form.pages().len();
    let record = FimSchemaRecord {
        id: schema.id.clone(),
        version: schema.version.clone(),
        sha256: content_hash(request.xml.as_bytes()),
        xdf_version: message.version.label().to_owned(),
        name: schema.name.clone(),
        content: request.xml.to_owned(),
        rules: request.rules.map(|r| serde_json::to_string(r).expect("rules serialise")),
        service_id: Some(service_id.clone()),
    };
    let service = Service {
        id: ServiceId::parse(&service_id).ok_or_else(|| ImportError::Rules(format!("ungültige Kennung {service_id}")))?,
        name: request.service_name.map(str::to_owned).unwrap_or_else(|| schema.label.clone()),
        leika_key: None,
        summary: first_sentence(&schema.description).unwrap_or_else(|| schema.label.clone()),
        description: if schema.description.is_empty() { schema.label.clone() } else { schema.description.clone() },
        legal_basis: if schema.legal_basis.is_empty() { "Siehe Angaben im Formular".into() } else { schema.legal_basis.join("; ") },
        form,
        evidence: Vec::new(),
        decision: Default::default(),
        required_level: None,
        category: request.category.map(str::to_owned).unwrap_or_default(),
    };
    // A new version of a service already on offer keeps what the operator set for it: the
    // level of assurance, the evidence, the topic (unless given now) and the decision rules.
    let mut service = service;
    if let Some(existing) = store.service(&service.id).await.map_err(ImportError::Store)?.map(std::sync::Arc::unwrap_or_clone) {
        service.required_level = existing.required_level;
        service.evidence = existing.evidence;
        if request.category.is_none() {
            service.category = existing.category;
        }
        service.decision = existing.decision;
    }
    // The service must exist before the schema row refers to it; an unchanged schema leaves
    // the stored service as it is.
    if let Some(existing) = store.fim_schema(&record.id, &record.version).await.map_err(ImportError::Store)? {
        if existing.sha256 == record.sha256 {
            return Ok(ImportOutcome::Unchanged { service_id });
        }
        return Err(ImportError::Conflict { id: record.id, version: record.version, existing: existing.sha256 });
    }
    store.put_service(&service).await.map_err(ImportError::Store)?;
    match store.put_fim_schema(&record).await {
        Ok(true) => Ok(ImportOutcome::Imported { service_id, fields, pages }),
        Ok(false) => Ok(ImportOutcome::Unchanged { service_id }),
        Err(StoreError::SchemaConflict { existing }) => Err(ImportError::Conflict { id: record.id, version: record.version, existing }),
        Err(e) => Err(ImportError::Store(e)),
    }
}

fn first_sentence(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let end = t.find(". ").map(|i| i + 1).unwrap_or(t.len());
    Some(t[..end].chars().take(300).collect())
}

/// Reads every genericode file (`*.xml` with a `CodeList` root) in a folder.
pub fn load_code_lists(dir: &Path) -> Result<CodeLists, String> {
    let mut lists = CodeLists::default();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("Codelisten-Ordner {}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "xml")).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let head: String = text.chars().take(400).collect();
        if !head.contains("CodeList") {
            continue;
        }
        let list = parse_genericode(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        lists.add(list);
    }
    Ok(lists)
}
