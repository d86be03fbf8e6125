//! The citizen assistant: answers from the authority's own texts, with sources, and says so
//! when they do not answer. Runs on the authority's own machine: a tantivy index on disk, and
//! optionally a self-hosted embeddings endpoint and chat model; nothing else.

pub mod analysis;
pub mod answer;
pub mod dense;
pub mod eval;
pub mod kb;
pub mod language;
pub mod lines;
pub mod logistic;
pub mod model;
pub mod redact;
pub mod scope;
pub mod train;

pub use answer::{Answer, Citation, Policy};
pub use kb::{Document, Hit, KbError, KnowledgeBase};

use dense::Embedder;
use model::ModelClient;
use scope::Scope;
use std::sync::{Arc, RwLock};

/// The language to answer a question in: the one asked for, else the question's as far as it
/// can be told, else German.
pub fn language_of(question: &str, requested: Option<&str>) -> String {
    requested.or_else(|| language::detect(question)).unwrap_or(language::GERMAN).to_owned()
}

/// The knowledge base with the optional endpoints; shared by the web server and the CLI.
pub struct Assistant {
    kb: RwLock<Arc<KnowledgeBase>>,
    embedder: Option<Embedder>,
    model: Option<ModelClient>,
    answer_model: Arc<lines::AnswerModel>,
}

/// A ranked document as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked {
    pub doc_id: String,
    pub score: f32,
}

impl Assistant {
    pub fn new(kb: KnowledgeBase) -> Self {
        Self { kb: RwLock::new(Arc::new(kb)), embedder: None, model: None, answer_model: Arc::new(lines::AnswerModel::shipped()) }
    }

    /// Answers with these answer-line models instead of the shipped ones.
    pub fn with_answer_model(mut self, model: lines::AnswerModel) -> Self {
        self.answer_model = Arc::new(model);
        self
    }

    pub fn with_embedder(mut self, embedder: Embedder) -> Self {
        self.embedder = Some(embedder);
        self
    }

    pub fn with_model(mut self, model: ModelClient) -> Self {
        self.model = Some(model);
        self
    }

    pub fn embedder(&self) -> Option<&Embedder> {
        self.embedder.as_ref()
    }

    /// The knowledge base as it is now.
    pub fn kb(&self) -> Arc<KnowledgeBase> {
        self.kb.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts a rebuilt knowledge base in place; searches under way finish on the old one.
    pub fn replace(&self, kb: KnowledgeBase) {
        *self.kb.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(kb);
    }

    /// The question's vector, when dense retrieval is set up; a failing endpoint only costs the
    /// dense half of the ranking.
    async fn query_vector(&self, kb: &KnowledgeBase, question: &str) -> Option<Vec<f32>> {
        let embedder = self.embedder.as_ref()?;
        if kb.dense()?.model != embedder.model() {
            return None; // vectors of another model: the next catalog sync rebuilds them
        }
        match embedder.embed_query(question).await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "embeddings endpoint failed; full text only");
                None
            }
        }
    }

    /// The `k` best pages for a question in `language` (recognised from the question when
    /// `None`), for an asker of `scope` (empty: anyone). Identifiers are removed first, whatever the caller did: nothing of them is
    /// searched or sent on.
    pub async fn search(&self, question: &str, language: Option<&str>, k: usize, scope: &Scope) -> Result<Vec<Ranked>, KbError> {
        let question = &redact::search_text(&redact::redact(question));
        let language = language_of(question, language);
        let kb = self.kb();
        let vector = self.query_vector(&kb, question).await;
        let hits = kb.search_for(question, &language, vector.as_deref(), k, scope)?;
        Ok(hits.iter().map(|h| Ranked { doc_id: kb.documents()[h.doc].id.clone(), score: h.score }).collect())
    }

    /// The answer to a question from one page only (as an evaluation on the question's own
    /// page needs), from its version in the question's language where there is one; `None`
    /// when no page has that id. Identifiers are removed first, as in [`ask`](Self::ask).
    pub async fn ask_on_page(&self, question: &str, page: &str, language: Option<&str>) -> Option<Answer> {
        let question = &redact::search_text(&redact::redact(question));
        let language = language_of(question, language);
        let kb = self.kb();
        let doc = kb.version_for(page, &language)?;
        let vector = self.query_vector(&kb, question).await;
        Some(answer::learned(&kb, &self.answer_model, question, &language, &[kb::Hit { doc, score: 0.0 }], vector.as_deref()))
    }

    /// The answer to a question in `language` (recognised from the question when `None`), and
    /// the documents it looked at. Identifiers are removed first, whatever the caller did: a
    /// configured model never sees them.
    pub async fn ask(&self, question: &str, language: Option<&str>) -> Result<(Answer, Vec<Document>), KbError> {
        self.ask_for(question, language, &Scope::default()).await
    }

    /// The answer as [`ask`](Self::ask) gives it, for an asker of `scope`: from their
    /// authority's and the shared texts first.
    pub async fn ask_for(&self, question: &str, language: Option<&str>, scope: &Scope) -> Result<(Answer, Vec<Document>), KbError> {
        let question = &redact::search_text(&redact::redact(question));
        let language = language_of(question, language);
        let kb = self.kb();
        let vector = self.query_vector(&kb, question).await;
        let hits = kb.search_for(question, &language, vector.as_deref(), 5, scope)?;
        let extractive = answer::learned(&kb, &self.answer_model, question, &language, &hits, vector.as_deref());
        let answer = match &self.model {
            Some(model) if !hits.is_empty() => match answer::phrase(model, &kb, question, &hits, &extractive).await {
                Some(phrased) => phrased,
                None => {
                    tracing::warn!("the model's answer was not usable; extractive answer given");
                    extractive
                }
            },
            _ => extractive,
        };
        let documents = hits.iter().map(|h| kb.documents()[h.doc].clone()).collect();
        Ok((answer, documents))
    }
}
