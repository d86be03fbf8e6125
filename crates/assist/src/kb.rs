//! The knowledge base: the authority's own texts in a tantivy index on disk, with the
//! documents themselves beside it (their sentences are what answers cite), and optionally the
//! vectors of a dense embedding model.
//!
//! Layout of the folder: `documents.jsonl` (the texts, one a line), `vocabulary.json` (the
//! dictionary of the compound splitter), `index/` (tantivy), `dense.json` (vectors, only when
//! an embeddings endpoint was configured at build time). A rebuild writes a new index beside the
//! old one and then swaps them, so a reader never sees half an index.

use crate::analysis::{self, Vocabulary};
use crate::dense::DenseIndex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, TantivyDocument, Term};

const ANALYZER: &str = "de";
/// How much a word in the title counts against one in the text (tuned on the training
/// questions: the title is short, so BM25 already weighs its words highly).
const TITLE_BOOST: f32 = 0.6;

/// One text of the knowledge base. `text` holds one sentence a line; citations are line indices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The authority responsible for what the text describes, when known (a service's text:
    /// the authority that offers it). Questions it does not answer can go there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Where it came from: `catalog` (a service description, kept in step automatically) or
    /// `import`.
    #[serde(default = "import_origin")]
    pub origin: String,
}

fn import_origin() -> String {
    "import".into()
}

impl Document {
    pub fn sentences(&self) -> impl Iterator<Item = &str> {
        self.text.lines()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("Wissensbasis: {0}")]
    Io(#[from] std::io::Error),
    #[error("Suchindex: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("Wissensbasis beschädigt ({file}): {message}")]
    Corrupt { file: String, message: String },
}

/// A ranked document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index into [`KnowledgeBase::documents`].
    pub doc: usize,
    pub score: f32,
}

pub struct KnowledgeBase {
    documents: Vec<Document>,
    by_id: HashMap<String, usize>,
    vocabulary: Arc<Vocabulary>,
    analyzer: TextAnalyzer,
    reader: IndexReader,
    fields: Fields,
    dense: Option<DenseIndex>,
}

#[derive(Clone, Copy)]
struct Fields {
    ord: Field,
    title: Field,
    body: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqs));
    let ord = builder.add_u64_field("ord", STORED);
    let _id = builder.add_text_field("id", STRING);
    let title = builder.add_text_field("title", text.clone());
    let body = builder.add_text_field("body", text);
    (builder.build(), Fields { ord, title, body })
}

impl KnowledgeBase {
    /// An index of these documents in memory (evaluation, tests).
    pub fn in_memory(documents: Vec<Document>) -> Result<Self, KbError> {
        let (schema, fields) = schema();
        Self::fill(Index::create_in_ram(schema), fields, documents, true)
    }

    /// The baseline of the evaluation: the same index without compound splitting (plain BM25
    /// with the German stemmer and stop words).
    pub fn in_memory_without_compounds(documents: Vec<Document>) -> Result<Self, KbError> {
        let (schema, fields) = schema();
        Self::fill(Index::create_in_ram(schema), fields, documents, false)
    }

    /// Builds the index of these documents in `dir`, replacing what was there.
    pub fn build(dir: &Path, documents: Vec<Document>, dense: Option<DenseIndex>) -> Result<Self, KbError> {
        std::fs::create_dir_all(dir)?;
        let fresh = dir.join("index.new");
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh)?;
        let (schema, fields) = schema();
        let index = Index::create_in_dir(&fresh, schema)?;
        let mut kb = Self::fill(index, fields, documents, true)?;
        write_atomically(&dir.join("vocabulary.json"), &serde_json::to_vec(&*kb.vocabulary).expect("vocabulary serialises"))?;
        let mut lines = Vec::new();
        for document in &kb.documents {
            serde_json::to_writer(&mut lines, document).expect("document serialises");
            lines.push(b'\n');
        }
        write_atomically(&dir.join("documents.jsonl"), &lines)?;
        let dense_path = dir.join("dense.json");
        match &dense {
            Some(d) => write_atomically(&dense_path, &serde_json::to_vec(d).expect("vectors serialise"))?,
            None => {
                let _ = std::fs::remove_file(&dense_path);
            }
        }
        kb.dense = dense;
        let current = dir.join("index");
        let old = dir.join("index.old");
        let _ = std::fs::remove_dir_all(&old);
        if current.exists() {
            std::fs::rename(&current, &old)?;
        }
        std::fs::rename(&fresh, &current)?;
        let _ = std::fs::remove_dir_all(&old);
        // Reopen from the final place so that the reader follows the swapped folder.
        Self::open(dir)
    }

    /// Opens the knowledge base in `dir`; an empty one when nothing was built there yet.
    pub fn open(dir: &Path) -> Result<Self, KbError> {
        let path = dir.join("index");
        if !path.join("meta.json").exists() {
            return Self::in_memory(Vec::new());
        }
        let documents = read_documents(&dir.join("documents.jsonl"))?;
        let vocabulary: Vocabulary = read_json(&dir.join("vocabulary.json"))?;
        let dense = match std::fs::read(dir.join("dense.json")) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| corrupt("dense.json", e))?),
            Err(_) => None,
        };
        let index = Index::open_in_dir(&path)?;
        let (_, fields) = schema();
        let vocabulary = Arc::new(vocabulary);
        let analyzer = analysis::german(vocabulary.clone());
        index.tokenizers().register(ANALYZER, analyzer.clone());
        let reader = index.reader()?;
        let by_id = documents.iter().enumerate().map(|(i, d)| (d.id.clone(), i)).collect();
        let kb = Self { documents, by_id, vocabulary, analyzer, reader, fields, dense };
        if kb.reader.searcher().num_docs() as usize != kb.documents.len() {
            return Err(corrupt("index", "number of documents differs from documents.jsonl"));
        }
        Ok(kb)
    }

    fn fill(index: Index, fields: Fields, documents: Vec<Document>, compounds: bool) -> Result<Self, KbError> {
        let unique = unique(documents);
        let by_id: HashMap<String, usize> = unique.iter().enumerate().map(|(i, d)| (d.id.clone(), i)).collect();
        let vocabulary = Arc::new(if compounds {
            Vocabulary::from_texts(unique.iter().flat_map(|d| [d.title.as_str(), d.text.as_str()]))
        } else {
            Vocabulary::default()
        });
        let analyzer = analysis::german(vocabulary.clone());
        index.tokenizers().register(ANALYZER, analyzer.clone());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 32_000_000)?;
        let id_field = index.schema().get_field("id").expect("schema has id");
        for (ord, document) in unique.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(fields.ord, ord as u64);
            doc.add_text(id_field, &document.id);
            doc.add_text(fields.title, &document.title);
            doc.add_text(fields.body, &document.text);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        reader.reload()?;
        Ok(Self { documents: unique, by_id, vocabulary, analyzer, reader, fields, dense: None })
    }

    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    pub fn document(&self, id: &str) -> Option<&Document> {
        self.by_id.get(id).map(|&i| &self.documents[i])
    }

    /// The index of a document in [`documents`](Self::documents), by its id.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn dense(&self) -> Option<&DenseIndex> {
        self.dense.as_ref()
    }

    pub fn set_dense(&mut self, dense: Option<DenseIndex>) {
        self.dense = dense;
    }

    /// The analysed terms of a text (stems, compound parts, no stop words).
    pub fn terms(&self, text: &str) -> Vec<String> {
        analysis::terms(&mut self.analyzer.clone(), text)
    }

    /// How rare a term is in the texts (BM25's idf).
    pub fn idf(&self, term: &str) -> f32 {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs() as f32;
        let df = searcher.doc_freq(&Term::from_field_text(self.fields.body, term)).unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Full-text ranking: BM25 over title (boosted) and text.
    pub fn search_text(&self, question: &str, limit: usize) -> Result<Vec<Hit>, KbError> {
        let mut terms = self.terms(question);
        terms.sort();
        terms.dedup();
        if terms.is_empty() || self.documents.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 2);
        for term in &terms {
            let title = TermQuery::new(Term::from_field_text(self.fields.title, term), IndexRecordOption::WithFreqs);
            clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(title), TITLE_BOOST))));
            clauses.push((Occur::Should, Box::new(TermQuery::new(Term::from_field_text(self.fields.body, term), IndexRecordOption::WithFreqs))));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let ord = doc.get_first(self.fields.ord).and_then(|v| v.as_u64()).ok_or_else(|| corrupt("index", "document without ordinal"))?;
            hits.push(Hit { doc: ord as usize, score });
        }
        Ok(hits)
    }

    /// The ranking for a question: full text, fused with the dense ranking when the question's
    /// vector is given and the knowledge base has vectors.
    pub fn search(&self, question: &str, query_vector: Option<&[f32]>, k: usize) -> Result<Vec<Hit>, KbError> {
        match (query_vector, &self.dense) {
            (Some(vector), Some(dense)) if dense.documents() == self.documents.len() => {
                // Every document's full-text score takes part in the standardisation.
                let text = self.search_text(question, self.documents.len())?;
                let fused = crate::dense::fuse(&text, &dense.search(vector), self.documents.len());
                Ok(fused.into_iter().take(k).collect())
            }
            _ => self.search_text(question, k),
        }
    }
}

/// The documents with one per id: a later document replaces an earlier one in its place. The
/// knowledge base holds exactly these, in this order (passage vectors must be made for them).
pub fn unique(documents: Vec<Document>) -> Vec<Document> {
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut unique: Vec<Document> = Vec::with_capacity(documents.len());
    for document in documents {
        match by_id.get(&document.id) {
            Some(&i) => unique[i] = document,
            None => {
                by_id.insert(document.id.clone(), unique.len());
                unique.push(document);
            }
        }
    }
    unique
}

fn corrupt(file: &str, message: impl std::fmt::Display) -> KbError {
    KbError::Corrupt { file: file.to_owned(), message: message.to_string() }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, KbError> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(&file_name(path), e))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read_documents(path: &Path) -> Result<Vec<Document>, KbError> {
    crate::eval::read_jsonl(&std::fs::read_to_string(path)?).map_err(|e| corrupt("documents.jsonl", e))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp: PathBuf = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, title: &str, text: &str) -> Document {
        Document { id: id.into(), title: title.into(), text: text.into(), url: None, authority: None, origin: "import".into() }
    }

    #[test]
    fn a_later_document_replaces_an_earlier_one_in_its_place() {
        let docs = unique(vec![doc("a", "A", "eins"), doc("b", "B", "zwei"), doc("a", "A2", "drei")]);
        assert_eq!(docs.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["A2", "B"]);
    }

    #[test]
    fn built_on_disk_reopened_and_rebuilt_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let kb = KnowledgeBase::build(dir.path(), vec![doc("hund", "Hundesteuer", "Hundesteuer\nDie Steuer für Hunde.")], None).unwrap();
        assert_eq!(kb.search_text("Hund", 5).unwrap()[0].doc, 0);
        let reopened = KnowledgeBase::open(dir.path()).unwrap();
        assert_eq!(reopened.documents().len(), 1);
        assert_eq!(reopened.search_text("Steuer", 5).unwrap().len(), 1);
        // A rebuild swaps the index; the old one is gone, the new one answers.
        let kb = KnowledgeBase::build(dir.path(), vec![doc("muell", "Sperrmüll", "Sperrmüll\nAbholung zweimal im Jahr.")], None).unwrap();
        assert!(kb.search_text("Hund", 5).unwrap().is_empty());
        assert_eq!(KnowledgeBase::open(dir.path()).unwrap().document("muell").unwrap().title, "Sperrmüll");
        assert!(!dir.path().join("index.new").exists() && !dir.path().join("index.old").exists());
        // A damaged document file is reported, not half-read.
        std::fs::write(dir.path().join("documents.jsonl"), "{kaputt").unwrap();
        assert!(matches!(KnowledgeBase::open(dir.path()), Err(KbError::Corrupt { .. })));
    }
}
