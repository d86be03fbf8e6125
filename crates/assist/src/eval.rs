//! Evaluation on a page collection and questions about it: recall@1, recall@5 and MRR@10 of
//! the question's page, answer-sentence precision, recall and F1 on answerable questions, how
//! often the assistant declines, and search latency percentiles.

use crate::answer::{self, Policy};
use crate::kb::{Document, KbError, KnowledgeBase};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub id: String,
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub url: Option<String>,
}

impl From<Page> for Document {
    fn from(page: Page) -> Self {
        Document { id: page.id, title: page.title, text: page.text, url: page.url, authority: None, origin: "import".into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub id: serde_json::Value,
    pub question: String,
    pub page: String,
    #[serde(default)]
    pub answer_sentences: Vec<usize>,
    #[serde(default = "yes")]
    pub answerable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub questions: usize,
    pub retrieval: &'static str,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    pub answerable: usize,
    pub answer_precision: f64,
    pub answer_recall: f64,
    pub answer_f1: f64,
    /// Share of answerable questions the assistant declined.
    pub answerable_declined: f64,
    pub unanswerable: usize,
    /// Share of unanswerable questions the assistant declined.
    pub unanswerable_declined: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
}

/// Reads a JSON-lines file; errors name the line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("Zeile {}: {e}", i + 1)))
        .collect()
}

/// One question's ranking, given the question and the `k` wanted; returns the ranked
/// document indices. The caller decides whether dense retrieval takes part.
pub trait Ranker {
    fn rank(&mut self, kb: &KnowledgeBase, question: &str, k: usize) -> Result<Vec<crate::Hit>, KbError>;
}

/// Full text alone.
pub struct FullText;

impl Ranker for FullText {
    fn rank(&mut self, kb: &KnowledgeBase, question: &str, k: usize) -> Result<Vec<crate::Hit>, KbError> {
        kb.search(question, None, k)
    }
}

pub fn evaluate(kb: &KnowledgeBase, questions: &[Question], ranker: &mut dyn Ranker, retrieval: &'static str, policy: &Policy) -> Result<Report, KbError> {
    let mut report = Report { questions: questions.len(), retrieval, ..Report::default() };
    let mut latencies = Vec::with_capacity(questions.len());
    let (mut p_sum, mut r_sum, mut f_sum, mut answerable_declined, mut unanswerable_declined) = (0.0, 0.0, 0.0, 0usize, 0usize);
    for question in questions {
        let started = Instant::now();
        let hits = ranker.rank(kb, &question.question, 10)?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let rank = hits.iter().position(|h| kb.documents()[h.doc].id == question.page);
        if let Some(rank) = rank {
            report.recall_at_1 += f64::from(u8::from(rank == 0));
            report.recall_at_5 += f64::from(u8::from(rank < 5));
            report.mrr_at_10 += 1.0 / (rank as f64 + 1.0);
        }
        let answer = answer::extract(kb, &question.question, &hits, policy);
        let answerable = question.answerable && !question.answer_sentences.is_empty();
        if answerable {
            report.answerable += 1;
            if !answer.answered {
                answerable_declined += 1;
            }
            let gold: BTreeSet<usize> = question.answer_sentences.iter().copied().collect();
            let mut predicted = 0usize;
            let mut correct = 0usize;
            for citation in &answer.citations {
                predicted += citation.sentences.len();
                if citation.doc_id == question.page {
                    correct += citation.sentences.iter().filter(|s| gold.contains(s)).count();
                }
            }
            let p = if predicted == 0 { 0.0 } else { correct as f64 / predicted as f64 };
            let r = correct as f64 / gold.len() as f64;
            p_sum += p;
            r_sum += r;
            f_sum += if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        } else {
            report.unanswerable += 1;
            if !answer.answered {
                unanswerable_declined += 1;
            }
        }
    }
    let n = questions.len().max(1) as f64;
    report.recall_at_1 /= n;
    report.recall_at_5 /= n;
    report.mrr_at_10 /= n;
    let a = report.answerable.max(1) as f64;
    report.answer_precision = p_sum / a;
    report.answer_recall = r_sum / a;
    report.answer_f1 = f_sum / a;
    report.answerable_declined = answerable_declined as f64 / a;
    report.unanswerable_declined = unanswerable_declined as f64 / report.unanswerable.max(1) as f64;
    latencies.sort_by(f64::total_cmp);
    report.latency_ms_p50 = percentile(&latencies, 0.50);
    report.latency_ms_p95 = percentile(&latencies, 0.95);
    report.latency_ms_p99 = percentile(&latencies, 0.99);
    Ok(report)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
