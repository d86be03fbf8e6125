//! The knowledge base: the authority's own texts in a tantivy index on disk, with the
//! documents themselves beside it (their sentences are what answers cite), and optionally the
//! vectors of a dense embedding model.
//!
//! A page may be there in several languages: its versions share the id and differ in
//! `language`; each is indexed with its language's analysis ([`crate::language`]), and a
//! search ranks pages, answering from the version in the asker's language where there is one.
//!
//! Layout of the folder: `documents.jsonl` (the texts, one a line), `vocabulary.json` (the
//! dictionary of the compound splitter), `index/` (tantivy), `dense.json` (vectors, only when
//! an embeddings endpoint was configured at build time). A rebuild writes a new index beside the
//! old one and then swaps them, so a reader never sees half an index.

use crate::analysis::{self, Vocabulary};
use crate::dense::DenseIndex;
use crate::language::{Analysis, GERMAN};
use crate::scope::Scope;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, TantivyDocument, Term};

/// How much a word in the title counts against one in the text (tuned on the training
/// questions: the title is short, so BM25 already weighs its words highly).
const TITLE_BOOST: f32 = 0.6;
/// Weight of full text in the fusion with the dense ranking for a question in a language the
/// knowledge base has no texts in: none. On the training questions (English, French and Arabic
/// against the German pages) 0.3 found 0.48 of the pages in the top five, 0.1 found 0.539, 0
/// (the dense ranking alone) 0.544.
const CROSS_TEXT_WEIGHT: f32 = 0.0;

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
    /// The region the text applies to: the significant prefix of an Amtlicher
    /// Regionalschlüssel (`14` Sachsen, `14713` Leipzig). A text with neither authority nor
    /// region is shared; see [`crate::scope`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where it came from: `catalog` (a service description, kept in step automatically) or
    /// `import`.
    #[serde(default = "import_origin")]
    pub origin: String,
    /// The language of the text (ISO 639-1); German when not given. Versions of one page in
    /// several languages share the id.
    #[serde(default = "german")]
    pub language: String,
}

fn import_origin() -> String {
    "import".into()
}

fn german() -> String {
    GERMAN.into()
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
    /// Every version of every page.
    documents: Vec<Document>,
    /// The versions of each page, in the order they came.
    by_id: HashMap<String, Vec<usize>>,
    vocabulary: Arc<Vocabulary>,
    analyzers: HashMap<Analysis, TextAnalyzer>,
    /// How many documents each analysis has (BM25's and idf's number of texts).
    counts: HashMap<Analysis, u64>,
    reader: IndexReader,
    fields: Fields,
    dense: Option<DenseIndex>,
}

#[derive(Clone)]
struct Fields {
    ord: Field,
    /// Title and text fields of each analysis.
    text: HashMap<Analysis, (Field, Field)>,
}

impl Fields {
    fn of(&self, analysis: Analysis) -> (Field, Field) {
        self.text[&analysis]
    }
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let ord = builder.add_u64_field("ord", STORED);
    let _id = builder.add_text_field("id", STRING);
    let mut text = HashMap::new();
    for analysis in Analysis::ALL {
        let options = TextOptions::default()
            .set_indexing_options(TextFieldIndexing::default().set_tokenizer(analysis.name()).set_index_option(IndexRecordOption::WithFreqs));
        // The German fields keep their earlier names.
        let (title, body) = match analysis {
            Analysis::German => ("title".to_owned(), "body".to_owned()),
            other => (format!("title_{}", other.name()), format!("body_{}", other.name())),
        };
        text.insert(analysis, (builder.add_text_field(&title, options.clone()), builder.add_text_field(&body, options)));
    }
    (builder.build(), Fields { ord, text })
}

/// The analyzers of every language, German with the knowledge base's vocabulary; registered
/// with the index.
fn analyzers(index: &Index, vocabulary: &Arc<Vocabulary>) -> HashMap<Analysis, TextAnalyzer> {
    let mut analyzers = HashMap::new();
    for analysis in Analysis::ALL {
        let analyzer = match analysis {
            Analysis::German => analysis::german(vocabulary.clone()),
            other => other.stemming(),
        };
        index.tokenizers().register(analysis.name(), analyzer.clone());
        analyzers.insert(analysis, analyzer);
    }
    analyzers
}

fn counts(documents: &[Document]) -> HashMap<Analysis, u64> {
    let mut counts = HashMap::new();
    for d in documents {
        *counts.entry(Analysis::of(&d.language)).or_default() += 1;
    }
    counts
}

fn versions(documents: &[Document]) -> HashMap<String, Vec<usize>> {
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, d) in documents.iter().enumerate() {
        by_id.entry(d.id.clone()).or_default().push(i);
    }
    by_id
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
        let (expected, _) = schema();
        if index.schema() != expected {
            // An index built by an earlier version (before the languages): rebuilt from the
            // documents kept beside it, with their vectors, and swapped in.
            drop(index);
            tracing::info!("the assistant's index was built by an earlier version; rebuilding it");
            return Self::build(dir, documents, dense);
        }
        let (_, fields) = schema();
        let vocabulary = Arc::new(vocabulary);
        let analyzers = analyzers(&index, &vocabulary);
        let reader = index.reader()?;
        let by_id = versions(&documents);
        let counts = counts(&documents);
        let kb = Self { documents, by_id, vocabulary, analyzers, counts, reader, fields, dense };
        if kb.reader.searcher().num_docs() as usize != kb.documents.len() {
            return Err(corrupt("index", "number of documents differs from documents.jsonl"));
        }
        Ok(kb)
    }

    fn fill(index: Index, fields: Fields, documents: Vec<Document>, compounds: bool) -> Result<Self, KbError> {
        let unique = unique(documents);
        let by_id = versions(&unique);
        let vocabulary = Arc::new(if compounds {
            Vocabulary::from_texts(unique.iter().filter(|d| d.language == GERMAN).flat_map(|d| [d.title.as_str(), d.text.as_str()]))
        } else {
            Vocabulary::default()
        });
        let analyzers = analyzers(&index, &vocabulary);
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 32_000_000)?;
        let id_field = index.schema().get_field("id").expect("schema has id");
        for (ord, document) in unique.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(fields.ord, ord as u64);
            doc.add_text(id_field, &document.id);
            let (title, body) = fields.of(Analysis::of(&document.language));
            doc.add_text(title, &document.title);
            doc.add_text(body, &document.text);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        reader.reload()?;
        let counts = counts(&unique);
        Ok(Self { documents: unique, by_id, vocabulary, analyzers, counts, reader, fields, dense: None })
    }

    pub fn documents(&self) -> &[Document] {
        &self.documents
    }

    /// A page by its id: its German version, else the first that came.
    pub fn document(&self, id: &str) -> Option<&Document> {
        self.position(id).map(|i| &self.documents[i])
    }

    /// The index in [`documents`](Self::documents) of a page's German version, else of its
    /// first version.
    pub fn position(&self, id: &str) -> Option<usize> {
        let versions = self.by_id.get(id)?;
        versions.iter().copied().find(|&i| self.documents[i].language == GERMAN).or(versions.first().copied())
    }

    /// The version of a page in a language.
    pub fn version(&self, id: &str, language: &str) -> Option<usize> {
        self.by_id.get(id)?.iter().copied().find(|&i| self.documents[i].language == language)
    }

    /// The version of a page to answer a question in `language` from: the one in that
    /// language, else the German one, else the first.
    pub fn version_for(&self, id: &str, language: &str) -> Option<usize> {
        self.version(id, language).or_else(|| self.position(id))
    }

    /// How many pages there are (each counted once, whatever its versions).
    pub fn pages(&self) -> usize {
        self.by_id.len()
    }

    pub fn dense(&self) -> Option<&DenseIndex> {
        self.dense.as_ref()
    }

    pub fn set_dense(&mut self, dense: Option<DenseIndex>) {
        self.dense = dense;
    }

    /// The analysed terms of a German text (stems, compound parts, no stop words).
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.terms_in(GERMAN, text)
    }

    /// The analysed terms of a text in `language`.
    pub fn terms_in(&self, language: &str, text: &str) -> Vec<String> {
        analysis::terms(&mut self.analyzers[&Analysis::of(language)].clone(), text)
    }

    /// How rare a term is in the German texts (BM25's idf).
    pub fn idf(&self, term: &str) -> f32 {
        self.idf_in(GERMAN, term)
    }

    /// How rare a term of `language`'s analysis is among the texts analysed that way.
    pub fn idf_in(&self, language: &str, term: &str) -> f32 {
        let searcher = self.reader.searcher();
        let (_, body) = self.fields.of(Analysis::of(language));
        let n = self.count(Analysis::of(language)) as f32;
        let df = searcher.doc_freq(&Term::from_field_text(body, term)).unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Full-text ranking of the pages for a question in `language`: BM25 over title (boosted)
    /// and text of the versions in that language's analysis; a page scores with its best
    /// version. Each hit names the version to answer from ([`version_for`](Self::version_for)).
    pub fn search_text(&self, question: &str, language: &str, limit: usize) -> Result<Vec<Hit>, KbError> {
        let versions = self.search_versions(question, language, self.documents.len().min(limit.saturating_mul(self.most_versions())))?;
        Ok(self.by_page(versions, language, limit))
    }

    /// The versions by BM25 for a question in `language`: the versions in that language's
    /// analysis, and (for a question in another language) the German ones with the question
    /// analysed as German, where names and loan words still match (on the training questions
    /// this finds slightly more pages for English, French and Arabic than their own versions
    /// alone; adding up a page's versions instead of taking the best did worse).
    fn search_versions(&self, question: &str, language: &str, limit: usize) -> Result<Vec<Hit>, KbError> {
        let mut analyses = vec![Analysis::of(language)];
        if analyses[0] != Analysis::German {
            analyses.push(Analysis::German);
        }
        if self.documents.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let mut hits = Vec::new();
        for analysis in analyses {
            let (title_field, body_field) = self.fields.of(analysis);
            let mut terms = analysis::terms(&mut self.analyzers[&analysis].clone(), question);
            terms.sort();
            terms.dedup();
            if terms.is_empty() {
                continue;
            }
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 2);
            for term in &terms {
                let title = TermQuery::new(Term::from_field_text(title_field, term), IndexRecordOption::WithFreqs);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(title), TITLE_BOOST))));
                clauses.push((Occur::Should, Box::new(TermQuery::new(Term::from_field_text(body_field, term), IndexRecordOption::WithFreqs))));
            }
            // BM25 as if the texts of this analysis were the whole index (its idf and mean
            // length), so that versions in other languages change no score.
            let statistics = Statistics { searcher: &searcher, docs: self.count(analysis) };
            let top = searcher.search_with_statistics_provider(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit).order_by_score(), &statistics)?;
            for (score, address) in top {
                let doc: TantivyDocument = searcher.doc(address)?;
                let ord = doc.get_first(self.fields.ord).and_then(|v| v.as_u64()).ok_or_else(|| corrupt("index", "document without ordinal"))?;
                hits.push(Hit { doc: ord as usize, score });
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits.truncate(limit);
        Ok(hits)
    }

    fn count(&self, analysis: Analysis) -> u64 {
        self.counts.get(&analysis).copied().unwrap_or(0)
    }

    fn most_versions(&self) -> usize {
        self.by_id.values().map(Vec::len).max().unwrap_or(1)
    }

    /// Ranked versions as ranked pages: each page once, at its best version's place, pointing
    /// to the version to answer a question in `language` from.
    fn by_page(&self, versions: Vec<Hit>, language: &str, limit: usize) -> Vec<Hit> {
        let mut seen = std::collections::HashSet::new();
        let mut pages = Vec::with_capacity(limit.min(versions.len()));
        for hit in versions {
            if pages.len() == limit {
                break;
            }
            let id = &self.documents[hit.doc].id;
            if seen.insert(id.as_str()) {
                let doc = self.version(id, language).unwrap_or(hit.doc);
                pages.push(Hit { doc, score: hit.score });
            }
        }
        pages
    }

    /// The ranking of the pages for a question in `language`: full text, fused with the dense
    /// ranking when the question's vector is given and the knowledge base has vectors (which
    /// find pages across languages).
    pub fn search(&self, question: &str, language: &str, query_vector: Option<&[f32]>, k: usize) -> Result<Vec<Hit>, KbError> {
        self.search_for(question, language, query_vector, k, &Scope::default())
    }

    /// The ranking as [`search`](Self::search) gives it, for an asker of `scope`: the pages
    /// that answer them first (their authority's, their region's and the shared ones) before
    /// all others, each part in the order of its scores.
    pub fn search_for(&self, question: &str, language: &str, query_vector: Option<&[f32]>, k: usize, scope: &Scope) -> Result<Vec<Hit>, KbError> {
        if scope.is_empty() {
            return self.ranking(question, language, query_vector, k);
        }
        let mut hits = self.ranking(question, language, query_vector, self.by_id.len())?;
        // A stable sort keeps the order of the scores within each part.
        hits.sort_by_key(|h| !scope.first(&self.documents[h.doc]));
        hits.truncate(k);
        Ok(hits)
    }

    fn ranking(&self, question: &str, language: &str, query_vector: Option<&[f32]>, k: usize) -> Result<Vec<Hit>, KbError> {
        match (query_vector, &self.dense) {
            (Some(vector), Some(dense)) if dense.documents() == self.documents.len() => {
                // Every version's full-text score takes part in the standardisation.
                let text = self.search_versions(question, language, self.documents.len())?;
                // Without texts in the question's language, full text only matches names.
                let own = self.count(Analysis::of(language)) > 0;
                let weight = if own { crate::dense::TEXT_WEIGHT } else { CROSS_TEXT_WEIGHT };
                let fused = crate::dense::fuse(&text, &dense.search(vector), self.documents.len(), weight);
                Ok(self.by_page(fused, language, k))
            }
            _ => self.search_text(question, language, k),
        }
    }
}

/// The index's statistics with the number of documents of one analysis.
struct Statistics<'a> {
    searcher: &'a tantivy::Searcher,
    docs: u64,
}

impl tantivy::query::Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.searcher.total_num_tokens(field)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.docs.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.searcher.doc_freq(term)
    }
}

/// The documents with one per id and language: a later version replaces an earlier one in its
/// place, and a page's versions stand together. The knowledge base holds exactly these, in
/// this order (passage vectors must be made for them).
pub fn unique(documents: Vec<Document>) -> Vec<Document> {
    let mut by_key: HashMap<(String, String), (usize, usize)> = HashMap::new();
    let mut pages: Vec<Vec<Document>> = Vec::new();
    let mut page_of: HashMap<String, usize> = HashMap::new();
    for document in documents {
        let key = (document.id.clone(), document.language.clone());
        match by_key.get(&key) {
            Some(&(page, version)) => pages[page][version] = document,
            None => {
                let page = *page_of.entry(document.id.clone()).or_insert_with(|| {
                    pages.push(Vec::new());
                    pages.len() - 1
                });
                by_key.insert(key, (page, pages[page].len()));
                pages[page].push(document);
            }
        }
    }
    pages.into_iter().flatten().collect()
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
        Document { id: id.into(), title: title.into(), text: text.into(), url: None, authority: None, region: None, origin: "import".into(), language: "de".into() }
    }

    fn kb_ids(kb: &KnowledgeBase) -> Vec<&str> {
        kb.documents().iter().map(|d| d.id.as_str()).collect()
    }

    fn in_language(language: &str, id: &str, title: &str, text: &str) -> Document {
        Document { language: language.into(), ..doc(id, title, text) }
    }

    #[test]
    fn a_later_document_replaces_an_earlier_one_in_its_place() {
        let docs = unique(vec![doc("a", "A", "eins"), doc("b", "B", "zwei"), doc("a", "A2", "drei")]);
        assert_eq!(docs.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["A2", "B"]);
    }

    #[test]
    fn the_versions_of_a_page_stand_together_and_each_language_is_found_with_its_own_stems() {
        let docs = unique(vec![
            doc("hund", "Hundesteuer", "Hundesteuer\nDie Steuer für Hunde zahlen Sie jährlich."),
            doc("muell", "Sperrmüll", "Sperrmüll\nAbholung zweimal im Jahr."),
            in_language("en", "hund", "Dog tax", "Dog tax\nYou pay the tax for dogs every year."),
            in_language("en", "hund", "Dog licence tax", "Dog licence tax\nYou pay the tax for dogs every year."),
        ]);
        let order: Vec<(&str, &str)> = docs.iter().map(|d| (d.id.as_str(), d.language.as_str())).collect();
        assert_eq!(order, [("hund", "de"), ("hund", "en"), ("muell", "de")]);
        assert_eq!(docs[1].title, "Dog licence tax");
        let kb = KnowledgeBase::in_memory(docs).unwrap();
        assert_eq!(kb.pages(), 2);
        assert_eq!(kb.document("hund").unwrap().language, "de");
        // "dogs" finds "dog" through the English stemmer, and the answer comes from the English
        // version; a German question gets the German one.
        let hits = kb.search_text("Do I pay for my dogs?", "en", 5).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!((kb.documents()[hits[0].doc].id.as_str(), kb.documents()[hits[0].doc].language.as_str()), ("hund", "en"));
        let hits = kb.search_text("Steuer für meinen Hund", "de", 5).unwrap();
        assert_eq!(kb.documents()[hits[0].doc].language, "de");
        // A page without a version in the question's language is still found by its German
        // words (names, loan words), and answered from the German version.
        let hits = kb.search_text("Quand est-ce que le Sperrmüll passe ?", "fr", 5).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!((kb.documents()[hits[0].doc].id.as_str(), kb.documents()[hits[0].doc].language.as_str()), ("muell", "de"));
        assert_eq!(kb.version_for("muell", "fr"), kb.position("muell"));
    }

    #[test]
    fn built_on_disk_reopened_and_rebuilt_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let kb = KnowledgeBase::build(dir.path(), vec![doc("hund", "Hundesteuer", "Hundesteuer\nDie Steuer für Hunde.")], None).unwrap();
        assert_eq!(kb.search_text("Hund", "de", 5).unwrap()[0].doc, 0);
        let reopened = KnowledgeBase::open(dir.path()).unwrap();
        assert_eq!(reopened.documents().len(), 1);
        assert_eq!(reopened.search_text("Steuer", "de", 5).unwrap().len(), 1);
        // A rebuild swaps the index; the old one is gone, the new one answers.
        let kb = KnowledgeBase::build(dir.path(), vec![doc("muell", "Sperrmüll", "Sperrmüll\nAbholung zweimal im Jahr.")], None).unwrap();
        assert!(kb.search_text("Hund", "de", 5).unwrap().is_empty());
        assert_eq!(KnowledgeBase::open(dir.path()).unwrap().document("muell").unwrap().title, "Sperrmüll");
        assert!(!dir.path().join("index.new").exists() && !dir.path().join("index.old").exists());
        // An index of an earlier version (other fields) is rebuilt from the documents on opening.
        let old = dir.path().join("index");
        std::fs::remove_dir_all(&old).unwrap();
        std::fs::create_dir_all(&old).unwrap();
        let mut earlier = Schema::builder();
        earlier.add_u64_field("ord", STORED);
        earlier.add_text_field("body", TextOptions::default());
        let index = Index::create_in_dir(&old, earlier.build()).unwrap();
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 15_000_000).unwrap();
        writer.add_document(TantivyDocument::default()).unwrap();
        writer.commit().unwrap();
        drop((writer, index));
        let reopened = KnowledgeBase::open(dir.path()).unwrap();
        assert_eq!(kb_ids(&reopened), ["muell"]);
        assert_eq!(reopened.search_text("Sperrmüll", "de", 5).unwrap().len(), 1);
        // A damaged document file is reported, not half-read.
        std::fs::write(dir.path().join("documents.jsonl"), "{kaputt").unwrap();
        assert!(matches!(KnowledgeBase::open(dir.path()), Err(KbError::Corrupt { .. })));
    }

    #[test]
    fn an_askers_authority_and_the_shared_texts_rank_first() {
        let of = |authority: Option<&str>, region: Option<&str>, d: Document| Document { authority: authority.map(Into::into), region: region.map(Into::into), ..d };
        let kb = KnowledgeBase::in_memory(vec![
            of(Some("halle"), None, doc("halle", "Sperrmüll abholen", "Sperrmüll abholen\nSperrmüll wird nach der Bestellung abgeholt.")),
            of(Some("leipzig"), None, doc("leipzig", "Abfall", "Abfall\nSperrmüll holt die Stadtreinigung ab.")),
            of(None, Some("14"), doc("sachsen", "Wertstoffhöfe", "Wertstoffhöfe\nSperrmüll bringen Sie zum Wertstoffhof.")),
            doc("alle", "Müll", "Müll\nSperrmüll ist Abfall, der nicht in die Tonne passt."),
        ])
        .unwrap();
        let ids = |scope: &Scope, k: usize| -> Vec<String> {
            kb.search_for("Wann wird Sperrmüll nach der Bestellung abgeholt?", "de", None, k, scope).unwrap().iter().map(|h| kb.documents()[h.doc].id.clone()).collect()
        };
        let everyone = ids(&Scope::default(), 4);
        assert_eq!(everyone[0], "halle");
        let leipzig = Scope { authorities: vec!["leipzig".into()], region: Some("147130000000".into()) };
        let ranked = ids(&leipzig, 4);
        assert_eq!(ranked.last().map(String::as_str), Some("halle"), "{ranked:?}");
        // Within the first part, the order of the scores stays.
        let first: Vec<&String> = everyone.iter().filter(|id| *id != "halle").collect();
        assert_eq!(ranked[..3].iter().collect::<Vec<_>>(), first);
        assert_eq!(ids(&leipzig, 1).len(), 1, "k bounds the result");
        // Another authority's text still comes when nothing of the asker's matches.
        let erfurt = Scope { authorities: vec!["erfurt".into()], region: Some("160510000000".into()) };
        let others: Vec<String> = everyone.iter().filter(|id| *id != "alle").cloned().collect();
        assert_eq!(ids(&erfurt, 4), [vec!["alle".to_owned()], others].concat(), "only the shared text is Erfurt's");
    }
}
