//! Answers from the knowledge base only. Without a language model the answer is extractive:
//! the sentences of the best document that answer the question, with their source. With a
//! self-hosted chat model the answer may be phrased by it from the retrieved passages, and every
//! sentence it cites is checked to exist in them; otherwise the extractive answer stands.
//! When the documents do not answer, the assistant declines.

use crate::kb::{Hit, KnowledgeBase};
use crate::model::ModelClient;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub doc_id: String,
    /// Line indices into the text of the document's version in `language`.
    pub sentences: Vec<usize>,
    /// The language of the cited version (ISO 639-1).
    #[serde(default = "german")]
    pub language: String,
}

fn german() -> String {
    crate::language::GERMAN.to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub answered: bool,
    pub answer: String,
    pub citations: Vec<Citation>,
    /// Whether a language model phrased the answer (its citations were checked).
    #[serde(default)]
    pub phrased: bool,
    /// The language the assistant speaks to the asker in: the question's (a decline is
    /// written in it; quotes keep their own language).
    #[serde(default = "german")]
    pub language: String,
    /// Said before the quotes when they are in another language than the question's, in the
    /// question's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub const DECLINE: &str = "Dazu finde ich in den Texten der Verwaltung keine Antwort. Sie können Ihre Frage an die zuständige Behörde senden.";

/// When the assistant answers, and with which sentences. Tuned on the training questions.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Share of the question's weight (idf) the best document must contain.
    pub min_document_coverage: f32,
    /// Share of the question's weight the best sentence must contain.
    pub min_sentence_coverage: f32,
    /// A sentence is taken when it carries this share of the best sentence's weight.
    pub relative: f32,
    /// Sentences after each taken sentence that are taken too (answers run on).
    pub follow: usize,
    /// At most this many sentences in an answer.
    pub max_sentences: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self { min_document_coverage: 0.4, min_sentence_coverage: 0.25, relative: 0.6, follow: 3, max_sentences: 12 }
    }
}

impl Answer {
    /// The decline in German.
    pub fn declined() -> Self {
        Self::declined_in(crate::language::GERMAN)
    }

    /// The decline in the asker's language.
    pub fn declined_in(language: &str) -> Self {
        Self { answered: false, answer: crate::language::decline(language).to_owned(), citations: Vec::new(), phrased: false, language: language.to_owned(), note: None }
    }

    /// An answer quoting these lines of a document version to a question in `language`.
    pub fn quoting(kb: &KnowledgeBase, doc: usize, lines: Vec<usize>, language: &str) -> Self {
        let document = &kb.documents()[doc];
        let sentences: Vec<&str> = document.sentences().collect();
        let answer = lines.iter().filter_map(|&i| sentences.get(i)).map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        Answer {
            answered: true,
            answer,
            citations: vec![Citation { doc_id: document.id.clone(), sentences: lines, language: document.language.clone() }],
            phrased: false,
            language: language.to_owned(),
            note: crate::language::quoting(language, &document.language).map(str::to_owned),
        }
    }
}

/// The question's terms with their weights, analysed as text in `language`.
pub(crate) fn weighted_terms(kb: &KnowledgeBase, language: &str, question: &str) -> HashMap<String, f32> {
    let mut terms = HashMap::new();
    for term in kb.terms_in(language, question) {
        let idf = kb.idf_in(language, &term);
        terms.entry(term).or_insert(idf);
    }
    terms
}

/// The answer to a question in `language` from the ranked documents with the learned models
/// ([`crate::lines`]): the lines of the best document the line model picks, or a decline (in
/// the asker's language) when the decline model says the document does not answer. With the
/// question's vector and the document's line vectors of the embeddings model the parameter set
/// with embeddings was trained with, that set decides (for a page in another language than the
/// question, the model's set for that, when it has one).
pub fn learned(kb: &KnowledgeBase, model: &crate::lines::AnswerModel, question: &str, language: &str, hits: &[Hit], query_vector: Option<&[f32]>) -> Answer {
    let Some(top) = hits.first() else { return Answer::declined_in(language) };
    let mut page = crate::lines::Pages::new(kb).features(question, top.doc);
    let dense = kb.dense().filter(|d| model.embeddings_model.as_deref() == Some(d.model.as_str()));
    if let Some(similarities) = query_vector.and_then(|v| dense?.line_similarities(top.doc, v)) {
        page = page.with_similarities(&similarities);
    }
    let chosen = model.choose(&page, language, &kb.documents()[top.doc].language);
    if chosen.is_empty() {
        return Answer::declined_in(language);
    }
    Answer::quoting(kb, top.doc, chosen, language)
}

/// The hand-weighted extractive answer from the ranked documents (before the learned models;
/// kept as the baseline `assist eval` measures against).
pub fn extract(kb: &KnowledgeBase, question: &str, hits: &[Hit], policy: &Policy) -> Answer {
    let Some(top) = hits.first() else { return Answer::declined() };
    let document = &kb.documents()[top.doc];
    let language = document.language.as_str();
    let terms = weighted_terms(kb, language, question);
    let total: f32 = terms.values().sum();
    if total <= 0.0 {
        return Answer::declined();
    }
    let sentences: Vec<&str> = document.sentences().collect();
    let mut in_document: BTreeSet<&str> = kb.terms_in(language, &document.title).iter().filter_map(|t| terms.get_key_value(t).map(|(k, _)| k.as_str())).collect();
    let weights: Vec<f32> = sentences
        .iter()
        .map(|sentence| {
            let found: BTreeSet<String> = kb.terms_in(language, sentence).into_iter().filter(|t| terms.contains_key(t)).collect();
            for t in &found {
                if let Some((k, _)) = terms.get_key_value(t) {
                    in_document.insert(k.as_str());
                }
            }
            found.iter().map(|t| terms[t]).sum()
        })
        .collect();
    let document_weight: f32 = in_document.iter().map(|t| terms[*t]).sum();
    let best = weights.iter().copied().fold(0.0f32, f32::max);
    if document_weight / total < policy.min_document_coverage || best / total < policy.min_sentence_coverage || best <= 0.0 {
        return Answer::declined();
    }
    let mut chosen = BTreeSet::new();
    for (i, w) in weights.iter().enumerate() {
        if *w >= policy.relative * best {
            for j in i..=(i + policy.follow).min(sentences.len() - 1) {
                if !sentences[j].trim().is_empty() {
                    chosen.insert(j);
                }
            }
        }
    }
    // Keep the strongest sentences when there are too many.
    if chosen.len() > policy.max_sentences {
        let mut ranked: Vec<usize> = chosen.iter().copied().collect();
        ranked.sort_by(|a, b| weights[*b].total_cmp(&weights[*a]).then(a.cmp(b)));
        chosen = ranked.into_iter().take(policy.max_sentences).collect();
    }
    Answer::quoting(kb, top.doc, chosen.into_iter().collect(), language)
}

/// The instructions for the model; `{language}` is the asker's language.
const PROMPT: &str = "Sie beantworten Fragen von Bürgerinnen und Bürgern ausschließlich aus den mitgegebenen Texten der Verwaltung. \
Jeder Satz ist mit [Dokument#Satznummer] gekennzeichnet. Antworten Sie höflich in der Sprache {language} (auf Deutsch in der Sie-Form), kurz und nur mit dem, \
was in den Sätzen steht. Antworten Sie mit JSON: {\"answered\": true|false, \"answer\": \"…\", \"citations\": [{\"doc_id\": \"…\", \"sentences\": [Satznummern]}]}. \
Wenn die Texte die Frage nicht beantworten, setzen Sie answered auf false. Erfinden Sie nichts.";

/// Lets the model phrase the answer from the passages of the top documents. The result is used
/// only when it parses, cites at least one sentence, and every cited sentence exists in the
/// passages it was given; `None` otherwise.
pub async fn phrase(model: &ModelClient, kb: &KnowledgeBase, question: &str, hits: &[Hit], extractive: &Answer) -> Option<Answer> {
    let language = extractive.language.as_str();
    let mut passages = String::new();
    let mut given: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut languages: HashMap<String, String> = HashMap::new();
    for hit in hits.iter().take(3) {
        let document = &kb.documents()[hit.doc];
        // The extractive choice and its neighbourhood, or the start of the document.
        let cited: Vec<usize> = extractive.citations.iter().filter(|c| c.doc_id == document.id).flat_map(|c| c.sentences.clone()).collect();
        let lines: Vec<&str> = document.sentences().collect();
        let window: Vec<usize> = if cited.is_empty() {
            (0..lines.len().min(12)).collect()
        } else {
            let lo = cited.iter().min().copied().unwrap_or(0).saturating_sub(2);
            let hi = (cited.iter().max().copied().unwrap_or(0) + 3).min(lines.len());
            (lo..hi).collect()
        };
        languages.insert(document.id.clone(), document.language.clone());
        passages.push_str(&format!("Dokument {} – {}\n", document.id, document.title));
        for i in window {
            passages.push_str(&format!("[{}#{}] {}\n", document.id, i, lines[i]));
            given.insert((document.id.clone(), i));
        }
        passages.push('\n');
    }
    let user = format!("Texte:\n{passages}\nFrage: {question}");
    let reply = model.chat(&PROMPT.replace("{language}", crate::language::name(language)), &user).await.ok()?;
    let json = reply.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    #[derive(Deserialize)]
    struct Reply {
        answered: bool,
        #[serde(default)]
        answer: String,
        #[serde(default)]
        citations: Vec<Citation>,
    }
    let reply: Reply = serde_json::from_str(json).ok()?;
    if !reply.answered {
        return Some(Answer::declined_in(language));
    }
    let cites_something = reply.citations.iter().any(|c| !c.sentences.is_empty());
    let all_exist = reply.citations.iter().all(|c| c.sentences.iter().all(|i| given.contains(&(c.doc_id.clone(), *i))));
    if !cites_something || !all_exist || reply.answer.trim().is_empty() {
        return None;
    }
    let citations = reply.citations.into_iter().map(|c| Citation { language: languages[&c.doc_id].clone(), ..c }).collect();
    Some(Answer { answered: true, answer: reply.answer.trim().to_owned(), citations, phrased: true, language: language.to_owned(), note: None })
}
