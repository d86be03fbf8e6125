//! The citizen assistant on the portal and the API: answers from the knowledge base (service
//! descriptions of the catalog, kept in step automatically, and imported texts), and hands a
//! question it cannot answer to the responsible authority's inbox.
//!
//! Questions are redacted (IdNr, IBAN, phone, e-mail, dates) before anything else sees them:
//! the search, a configured model and the log. The log gets only whether it was answered and
//! how many sources; the redacted question only at `debug`.

use crate::Platform;
use crate::error::AppError;
use amtsweg_domain::FieldError;
use amtsweg_assist::kb::Document;
use amtsweg_assist::{Answer, Assistant, KnowledgeBase, redact::redact};
use amtsweg_domain::{Authority, RegionKey, Service};
use amtsweg_assist::scope::{Places, Scope};
use amtsweg_store::DynStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Longest question accepted.
pub const MAX_QUESTION_CHARS: usize = 1000;

/// The knowledge base's folder and the assistant over it.
#[derive(Clone)]
pub struct AssistantState {
    pub assistant: Arc<Assistant>,
    /// Where the knowledge base lives on disk; `None`: in memory only (tests).
    pub dir: Option<PathBuf>,
}

impl Default for AssistantState {
    fn default() -> Self {
        Self { assistant: Arc::new(Assistant::new(KnowledgeBase::in_memory(Vec::new()).expect("an empty index builds"))), dir: None }
    }
}

/// The document id of a service's description.
pub fn service_document_id(service: &str) -> String {
    format!("leistung/{service}")
}

/// A service description as a document of the knowledge base: one sentence a line.
pub fn service_document(service: &Service, authority: Option<&Authority>) -> Document {
    let mut lines = vec![service.name.clone()];
    let mut push = |text: &str| lines.extend(sentences(text));
    push(&service.summary);
    push(&service.description);
    for evidence in &service.evidence {
        lines.push(format!("Als Nachweis wird benötigt: {} (abrufbar aus dem Register „{}“ mit Ihrer Zustimmung, oder als Dokument hochladen).", evidence.purpose, evidence.register));
    }
    if !service.legal_basis.is_empty() {
        lines.push(format!("Rechtsgrundlage: {}.", service.legal_basis.trim_end_matches('.')));
    }
    lines.push(format!("Sie können „{}“ online auf amtsweg beantragen.", service.name));
    Document {
        id: service_document_id(service.id.as_str()),
        title: service.name.clone(),
        text: lines.join("\n"),
        url: Some(format!("/leistungen/{}", service.id)),
        authority: authority.map(|a| a.id.to_string()),
        region: None,
        origin: "catalog".into(),
        language: amtsweg_assist::language::GERMAN.into(),
    }
}

/// Splits a text into sentences: at line ends, and after `.`, `!` or `?` followed by a space
/// and an upper-case letter or a digit.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let chars: Vec<char> = line.chars().collect();
        let mut start = 0;
        for i in 0..chars.len() {
            let ends = matches!(chars[i], '.' | '!' | '?')
                && chars.get(i + 1) == Some(&' ')
                && chars.get(i + 2).is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
                // "z. B." and "Nr. 5" are not sentence ends.
                && !(i >= 1 && chars[i - 1].is_lowercase() && (i < 2 || !chars[i - 2].is_alphabetic()))
                && !(i >= 2 && chars[..i].iter().rev().take_while(|c| c.is_alphabetic()).count() <= 2 && chars[i + 2].is_ascii_digit());
            if ends {
                out.push(chars[start..=i].iter().collect::<String>().trim().to_owned());
                start = i + 1;
            }
        }
        let rest: String = chars[start..].iter().collect::<String>().trim().to_owned();
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

/// The catalog's service descriptions as documents. A service offered by exactly one
/// authority names it as responsible.
pub async fn catalog_documents(store: &DynStore) -> Result<Vec<Document>, AppError> {
    let authorities = store.authorities().await?;
    let mut documents = Vec::new();
    for service in store.services().await? {
        let responsible = store.responsibilities(&service.id).await?;
        let only = match responsible.as_slice() {
            [one] => authorities.iter().find(|a| a.id == one.authority_id),
            _ => None,
        };
        documents.push(service_document(&service, only));
    }
    Ok(documents)
}

/// Brings the catalog's documents in the knowledge base in step with the catalog; imported
/// documents stay. Rebuilds (and swaps in) only when something changed. Returns whether it did.
pub async fn sync_catalog(store: &DynStore, state: &AssistantState) -> Result<bool, AppError> {
    let catalog = catalog_documents(store).await?;
    let kb = state.assistant.kb();
    let indexed: Vec<&Document> = kb.documents().iter().filter(|d| d.origin == "catalog").collect();
    // With an embeddings endpoint, a knowledge base without (fitting) vectors is rebuilt too:
    // the endpoint may have been down at the last build, or an earlier version made the vectors
    // without those of the lines.
    let vectors_missing = state
        .assistant
        .embedder()
        .is_some_and(|e| kb.dense().is_none_or(|d| d.documents() != kb.documents().len() || d.model != e.model() || !d.has_lines()));
    if !vectors_missing && indexed.len() == catalog.len() && indexed.iter().zip(&catalog).all(|(a, b)| *a == b) {
        return Ok(false);
    }
    let mut documents: Vec<Document> = kb.documents().iter().filter(|d| d.origin != "catalog").cloned().collect();
    documents.extend(catalog);
    rebuild(state, documents).await?;
    Ok(true)
}

/// Builds the knowledge base of these documents (on disk when it has a folder, with vectors
/// when an embeddings endpoint is configured) and puts it in place.
pub async fn rebuild(state: &AssistantState, documents: Vec<Document>) -> Result<(), AppError> {
    let documents = amtsweg_assist::kb::unique(documents);
    let dense = match state.assistant.embedder() {
        Some(embedder) => match embedder.index(&documents, |_, _| {}).await {
            Ok(dense) => Some(dense),
            Err(e) => {
                tracing::warn!(error = %e, "embeddings endpoint failed; the knowledge base is built for full text only");
                None
            }
        },
        None => None,
    };
    let dir = state.dir.clone();
    let kb = tokio::task::spawn_blocking(move || match dir {
        Some(dir) => KnowledgeBase::build(&dir, documents, dense),
        None => KnowledgeBase::in_memory(documents).map(|mut kb| {
            kb.set_dense(dense);
            kb
        }),
    })
    .await
    .map_err(|_| AppError::Internal("knowledge base build panicked".into()))?
    .map_err(|e| AppError::Internal(format!("knowledge base: {e}")))?;
    state.assistant.replace(kb);
    Ok(())
}

/// Opens the knowledge base in `dir` (empty when there is none yet).
pub fn open(dir: &Path) -> Result<KnowledgeBase, String> {
    KnowledgeBase::open(dir).map_err(|e| e.to_string())
}

/// A cited source as the portal and the API show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Source {
    pub doc_id: String,
    pub title: String,
    pub url: Option<String>,
    /// Line indices into the document's text.
    pub sentences: Vec<usize>,
    /// The cited sentences themselves.
    pub quotes: Vec<String>,
    /// The language of the cited version of the document (ISO 639-1).
    pub language: String,
}

/// An authority a question can be sent to.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    /// The one responsible for what the question is about, as far as the assistant knows.
    pub suggested: bool,
}

pub struct Reply {
    pub question: String,
    pub answer: Answer,
    pub sources: Vec<Source>,
    pub recipients: Vec<Recipient>,
    /// The title of the closest document, to route a handed-over question.
    pub topic: Option<String>,
    /// The region (ARS) whose texts were put first: named in the question, chosen, or the
    /// logged-in citizen's; `None` when not known.
    pub region: Option<String>,
    /// The name of the asker's nearest authority in that region, when there is one.
    pub place: Option<String>,
}

/// Checks the language a request asks for: absent, empty (recognise it from the question), or
/// an ISO 639-1 code.
pub fn check_language(language: Option<&str>) -> Result<Option<String>, AppError> {
    match language.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) => match amtsweg_assist::language::check_code(l) {
            Ok(()) => Ok(Some(l.to_owned())),
            Err(_) => Err(AppError::Invalid(vec![FieldError::new("language", "Bitte geben Sie die Sprache als Kürzel nach ISO 639-1 an, zum Beispiel de, en, fr, ar oder uk.")])),
        },
    }
}

/// Checks a question: present and not too long.
pub fn check_question(question: Option<&str>) -> Result<String, AppError> {
    let question = question.unwrap_or_default().trim();
    if question.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new("question", "Bitte geben Sie Ihre Frage ein.")]));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(AppError::Invalid(vec![FieldError::new("question", format!("Bitte fassen Sie Ihre Frage in höchstens {MAX_QUESTION_CHARS} Zeichen."))]));
    }
    Ok(question.to_owned())
}

/// Who asks, as far as the request tells: their region (chosen, or of the logged-in citizen)
/// and their authority (staff). A place named in the question wins over the region.
#[derive(Debug, Clone, Default)]
pub struct Asker {
    pub region: Option<RegionKey>,
    pub authority: Option<String>,
}

/// Checks a region a request gives: absent or empty (not known), or an ARS or its prefix at a
/// segment end.
pub fn check_region(region: Option<&str>) -> Result<Option<RegionKey>, AppError> {
    match region.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => RegionKey::parse_prefix(r).map(Some).map_err(|_| {
            AppError::Invalid(vec![FieldError::new("region", "Bitte geben Sie den Regionalschlüssel (ARS) Ihres Wohnorts an: 12 Ziffern oder ein Anfang davon, zum Beispiel 147130000000 für Leipzig.")])
        }),
    }
}

/// The asker's scope among these authorities: the region named in the question, else the
/// asker's; the active authorities whose region contains it, and the asker's own.
pub fn scope_of(question: &str, asker: &Asker, authorities: &[Authority]) -> Scope {
    let places = Places::new(authorities.iter().filter(|a| a.active).map(|a| (a.name.as_str(), a.region.as_str())));
    let region = places.named_in(question).and_then(|r| RegionKey::parse_prefix(&r).ok()).or_else(|| asker.region.clone());
    let mut ids: Vec<String> = match &region {
        Some(region) => authorities.iter().filter(|a| a.active && a.region.contains(region)).map(|a| a.id.to_string()).collect(),
        None => Vec::new(),
    };
    ids.extend(asker.authority.iter().cloned());
    ids.dedup();
    Scope { authorities: ids, region: region.map(|r| r.as_str().to_owned()) }
}

impl Platform {
    /// Brings this node's knowledge base in step with the catalog (see [`sync_catalog`]).
    pub async fn index_catalog(&self) -> Result<bool, AppError> {
        sync_catalog(&self.store, &self.assistant).await
    }

    /// The places an asker can choose on the chat page: the active authorities' names and
    /// regions, by name.
    pub async fn assistant_places(&self) -> Result<Vec<(String, String)>, AppError> {
        let mut places: Vec<(String, String)> = self.store.authorities().await?.into_iter().filter(|a| a.active).map(|a| (a.name, a.region.as_str().to_owned())).collect();
        places.sort();
        Ok(places)
    }

    /// Answers a question (after removing identifiers from it) in `language`, or in the
    /// question's language as recognised when `None`; from the texts of the asker's authority
    /// and the shared ones first, when it is known where they belong.
    pub async fn ask(&self, question: &str, language: Option<&str>, asker: &Asker) -> Result<Reply, AppError> {
        let redacted = redact(question);
        let authorities = self.store.authorities().await?;
        let scope = scope_of(&redacted, asker, &authorities);
        let (answer, looked_at) = self.assistant.assistant.ask_for(&redacted, language, &scope).await.map_err(|e| AppError::Internal(format!("assistant: {e}")))?;
        tracing::info!(answered = answer.answered, sources = answer.citations.len(), phrased = answer.phrased, language = %answer.language, scoped = !scope.is_empty(), "assistant question");
        tracing::debug!(question = %redacted, "assistant question (identifiers removed)");
        self.metrics.assistant_question(answer.answered);
        let kb = self.assistant.assistant.kb();
        let sources = answer
            .citations
            .iter()
            .filter_map(|c| {
                let d = &kb.documents()[kb.version_for(&c.doc_id, &c.language)?];
                let lines: Vec<&str> = d.sentences().collect();
                Some(Source {
                    doc_id: d.id.clone(),
                    title: d.title.clone(),
                    url: d.url.clone(),
                    sentences: c.sentences.clone(),
                    quotes: c.sentences.iter().filter_map(|&i| lines.get(i).map(|s| s.trim().to_owned())).collect(),
                    language: d.language.clone(),
                })
            })
            .collect();
        // The authority the closest text names; else the asker's nearest one.
        let nearest = scope.region.as_ref().and_then(|r| RegionKey::parse(r).ok()).and_then(|r| {
            authorities.iter().filter(|a| a.active && a.region.contains(&r)).max_by_key(|a| a.region.significant_len()).map(|a| a.id.to_string())
        });
        let place = nearest.as_ref().and_then(|id| authorities.iter().find(|a| a.id.as_str() == id)).map(|a| a.name.clone());
        let suggested = looked_at.first().and_then(|d| d.authority.clone()).or(nearest);
        let region = scope.region.clone();
        let recipients = authorities
            .into_iter()
            .map(|a| Recipient { suggested: suggested.as_deref() == Some(a.id.as_str()), id: a.id.to_string(), name: a.name })
            .collect();
        Ok(Reply { question: redacted, answer, sources, recipients, topic: looked_at.first().map(|d| d.title.clone()), region, place })
    }
}
