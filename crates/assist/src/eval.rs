//! Evaluation on a page collection and questions about it: recall@1, recall@5 and MRR@10 of
//! the question's page, answer-sentence precision, recall and F1 on answerable questions, how
//! often the assistant declines, and search latency percentiles.
//!
//! Beside these, the measures of the dataset's authors (OMoS-QA, KONVENS 2024), see
//! [`AnswerLines`]: on the question's own page ("gold page", the answer step alone) and end to
//! end (the page retrieval put first), with the baseline "all lines of the gold page", and the
//! same per question language.

use crate::answer::{self, Answer, Policy};
use crate::lines::AnswerModel;
use crate::kb::{Document, KbError, KnowledgeBase};
use crate::scope::Scope;
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
    /// The page's language (ISO 639-1); German when absent.
    #[serde(default = "german")]
    pub language: String,
    /// The authority the page belongs to (the dataset's files call it `city`).
    #[serde(default, alias = "city")]
    pub authority: Option<String>,
    /// The region the page applies to (an ARS prefix).
    #[serde(default)]
    pub region: Option<String>,
}

impl From<Page> for Document {
    fn from(page: Page) -> Self {
        Document { id: page.id, title: page.title, text: page.text, url: page.url, authority: page.authority, region: page.region, origin: "import".into(), language: page.language }
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
    /// The question's language (ISO 639-1); German when absent.
    #[serde(default = "german")]
    pub language: String,
    /// The asker's authority, when known: the search puts its pages and the shared ones first.
    #[serde(default)]
    pub authority: Option<String>,
    /// The asker's region (an ARS), when known.
    #[serde(default)]
    pub region: Option<String>,
}

fn yes() -> bool {
    true
}

fn german() -> String {
    "de".into()
}

impl Question {
    /// Where the asker belongs, as the question says.
    pub fn scope(&self) -> Scope {
        Scope { authorities: self.authority.iter().cloned().collect(), region: self.region.clone() }
    }

    /// Answerable by its page: marked so and with answer lines.
    pub fn answerable(&self) -> bool {
        self.answerable && !self.answer_sentences.is_empty()
    }
}

/// Answer lines measured as the dataset's authors do. Per answerable question: precision is the
/// share of predicted lines that are answer lines of the question's page (an empty prediction
/// counts as precision 1; lines of another page are never right), recall the share of its
/// answer lines predicted; `precision` and `recall` are the means over the answerable
/// questions and `f` their harmonic mean (not the mean of per-question F). Declines are empty
/// predictions, counted separately on answerable and on unanswerable questions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AnswerLines {
    pub precision: f64,
    pub recall: f64,
    pub f: f64,
    pub answerable_declined: f64,
    pub unanswerable_declined: f64,
}

/// Adds up [`AnswerLines`] one question at a time.
#[derive(Debug, Default)]
pub struct LineTally {
    precision: f64,
    recall: f64,
    answerable: usize,
    answerable_declined: usize,
    unanswerable: usize,
    unanswerable_declined: usize,
}

impl LineTally {
    /// One question's prediction: the lines cited per document id (empty: declined). A line
    /// cited twice counts once.
    pub fn add(&mut self, question: &Question, cited: &[(&str, &[usize])]) {
        let predicted: BTreeSet<(&str, usize)> = cited.iter().flat_map(|(doc, lines)| lines.iter().map(move |&l| (*doc, l))).collect();
        if !question.answerable() {
            self.unanswerable += 1;
            self.unanswerable_declined += usize::from(predicted.is_empty());
            return;
        }
        self.answerable += 1;
        let right = predicted.iter().filter(|(doc, line)| *doc == question.page && question.answer_sentences.contains(line)).count();
        let gold: BTreeSet<usize> = question.answer_sentences.iter().copied().collect();
        if predicted.is_empty() {
            self.answerable_declined += 1;
            self.precision += 1.0;
        } else {
            self.precision += right as f64 / predicted.len() as f64;
        }
        self.recall += right as f64 / gold.len() as f64;
    }

    pub fn finish(&self) -> AnswerLines {
        let a = self.answerable.max(1) as f64;
        let (precision, recall) = (self.precision / a, self.recall / a);
        let f = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        AnswerLines {
            precision,
            recall,
            f,
            answerable_declined: self.answerable_declined as f64 / a,
            unanswerable_declined: self.unanswerable_declined as f64 / self.unanswerable.max(1) as f64,
        }
    }
}

/// The figures of the questions of one language.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LanguageReport {
    pub questions: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub gold_page: AnswerLines,
    pub end_to_end: AnswerLines,
}

/// Per language, the running sums.
#[derive(Default)]
struct LanguageTally {
    questions: usize,
    at_1: usize,
    at_5: usize,
    gold_page: LineTally,
    end_to_end: LineTally,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub questions: usize,
    pub retrieval: &'static str,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    pub answerable: usize,
    /// Today's figures of the end-to-end answer, as before issue 19: a declined answerable
    /// question scores precision 0 here (1 in the authors' measures below).
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
    /// The answer step after the search (the learned models on the page ranked first).
    pub answer_ms_p50: f64,
    pub answer_ms_p95: f64,
    /// The authors' measures of the answer on the question's own page.
    pub gold_page: AnswerLines,
    /// The authors' measures of the answer on the page ranked first.
    pub end_to_end: AnswerLines,
    /// Baseline: every line of the question's own page.
    pub all_lines: AnswerLines,
    /// Baseline: the hand-weighted answer (before the learned models) on the question's page.
    pub weighted_gold_page: AnswerLines,
    /// The same, per question language.
    pub by_language: std::collections::BTreeMap<String, LanguageReport>,
}

/// Reads a JSON-lines file; errors name the line.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, String> {
    Ok(read_numbered(text)?.into_iter().map(|(_, value)| value).collect())
}

/// Reads a JSON-lines file keeping each value's line number (1-based); errors name the line.
pub fn read_numbered<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<(usize, T)>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map(|v| (i + 1, v)).map_err(|e| format!("Zeile {}: {e}", i + 1)))
        .collect()
}

/// One question's ranking, given the question and the `k` wanted; returns the ranked
/// document indices. The caller decides whether dense retrieval takes part.
pub trait Ranker {
    fn rank(&mut self, kb: &KnowledgeBase, question: &str, language: &str, k: usize, scope: &Scope) -> Result<Vec<crate::Hit>, KbError>;

    /// The last ranked question's vector, when the ranking used one (the answer's embeddings
    /// features use it too).
    fn vector(&self) -> Option<&[f32]> {
        None
    }
}

/// Full text alone.
pub struct FullText;

impl Ranker for FullText {
    fn rank(&mut self, kb: &KnowledgeBase, question: &str, language: &str, k: usize, scope: &Scope) -> Result<Vec<crate::Hit>, KbError> {
        kb.search_for(question, language, None, k, scope)
    }
}

/// Runs every question: retrieval, the assistant's answer (the learned models of `model`) end to
/// end and on the question's own page, and the baselines (all lines; the hand-weighted answer
/// of `policy`, on the question's own page).
pub fn evaluate(kb: &KnowledgeBase, questions: &[Question], ranker: &mut dyn Ranker, retrieval: &'static str, policy: &Policy, model: &AnswerModel) -> Result<Report, KbError> {
    let mut report = Report { questions: questions.len(), retrieval, ..Report::default() };
    let mut latencies = Vec::with_capacity(questions.len());
    let mut answer_latencies = Vec::with_capacity(questions.len());
    let (mut p_sum, mut r_sum, mut f_sum, mut answerable_declined, mut unanswerable_declined) = (0.0, 0.0, 0.0, 0usize, 0usize);
    let (mut gold_page, mut end_to_end, mut all_lines, mut weighted) = (LineTally::default(), LineTally::default(), LineTally::default(), LineTally::default());
    let mut languages: std::collections::BTreeMap<String, LanguageTally> = std::collections::BTreeMap::new();
    for question in questions {
        let started = Instant::now();
        let language = question.language.as_str();
        let hits = ranker.rank(kb, &question.question, language, 10, &question.scope())?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        let rank = hits.iter().position(|h| kb.documents()[h.doc].id == question.page);
        if let Some(rank) = rank {
            report.recall_at_1 += f64::from(u8::from(rank == 0));
            report.recall_at_5 += f64::from(u8::from(rank < 5));
            report.mrr_at_10 += 1.0 / (rank as f64 + 1.0);
        }
        let started = Instant::now();
        let answer = answer::learned(kb, model, &question.question, language, &hits, ranker.vector());
        answer_latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        // On the question's page: its version in the question's language where there is one.
        let (on_page, weighted_on_page) = match kb.version_for(&question.page, language) {
            Some(doc) => {
                let page = [crate::Hit { doc, score: 0.0 }];
                (answer::learned(kb, model, &question.question, language, &page, ranker.vector()), answer::extract(kb, &question.question, &page, policy))
            }
            None => (Answer::declined(), Answer::declined()),
        };
        weighted.add(question, &cited(kb, &weighted_on_page));
        let every_line: Vec<usize> = kb.document(&question.page).map(|d| (0..d.sentences().count()).collect()).unwrap_or_default();
        let tally = languages.entry(question.language.clone()).or_default();
        tally.questions += 1;
        tally.at_1 += usize::from(rank == Some(0));
        tally.at_5 += usize::from(rank.is_some_and(|r| r < 5));
        for (lines, answer) in [(&mut gold_page, &on_page), (&mut tally.gold_page, &on_page), (&mut end_to_end, &answer), (&mut tally.end_to_end, &answer)] {
            lines.add(question, &cited(kb, answer));
        }
        all_lines.add(question, &[(question.page.as_str(), every_line.as_slice())]);
        let answerable = question.answerable();
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
    answer_latencies.sort_by(f64::total_cmp);
    report.answer_ms_p50 = percentile(&answer_latencies, 0.50);
    report.answer_ms_p95 = percentile(&answer_latencies, 0.95);
    report.gold_page = gold_page.finish();
    report.end_to_end = end_to_end.finish();
    report.all_lines = all_lines.finish();
    report.weighted_gold_page = weighted.finish();
    report.by_language = languages
        .into_iter()
        .map(|(language, t)| {
            let n = t.questions.max(1) as f64;
            let figures = LanguageReport { questions: t.questions, recall_at_1: t.at_1 as f64 / n, recall_at_5: t.at_5 as f64 / n, gold_page: t.gold_page.finish(), end_to_end: t.end_to_end.finish() };
            (language, figures)
        })
        .collect();
    Ok(report)
}

/// An answer's cited lines per document.
/// The lines an answer cites, by page. Answer lines are labelled on the page's German version;
/// lines of another version count where that version has as many lines (the translations
/// are line by line, [`crate::train::aligned`]), and are never right otherwise.
fn cited<'a>(kb: &KnowledgeBase, answer: &'a Answer) -> Vec<(&'a str, &'a [usize])> {
    if !answer.answered {
        return Vec::new();
    }
    answer
        .citations
        .iter()
        .map(|c| (if crate::train::aligned(kb, &c.doc_id, &c.language) { c.doc_id.as_str() } else { "" }, c.sentences.as_slice()))
        .collect()
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(page: &str, gold: &[usize]) -> Question {
        Question { id: 1.into(), question: "?".into(), page: page.into(), answer_sentences: gold.to_vec(), answerable: !gold.is_empty(), authority: None, region: None, language: "de".into() }
    }

    #[test]
    fn answer_lines_follow_the_authors_definition() {
        let mut t = LineTally::default();
        // Half right: P 0.5, R 1/3.
        t.add(&question("a", &[1, 2, 3]), &[("a", &[1, 5])]);
        // Declined although answerable: P 1 (the authors' convention), R 0.
        t.add(&question("a", &[0]), &[]);
        // Lines of another page are never right; a line cited twice counts once.
        t.add(&question("a", &[0]), &[("b", &[0])]);
        t.add(&question("a", &[1]), &[("a", &[1, 1, 5]), ("a", &[1])]);
        // Unanswerable: one declined, one answered.
        t.add(&question("a", &[]), &[]);
        t.add(&question("a", &[]), &[("a", &[0])]);
        let f = t.finish();
        assert!((f.precision - 2.0 / 4.0).abs() < 1e-9, "{f:?}");
        assert!((f.recall - (1.0 / 3.0 + 1.0) / 4.0).abs() < 1e-9, "{f:?}");
        let expected = 2.0 * f.precision * f.recall / (f.precision + f.recall);
        assert!((f.f - expected).abs() < 1e-12, "the harmonic mean of the means: {f:?}");
        assert!((f.answerable_declined - 1.0 / 4.0).abs() < 1e-9);
        assert!((f.unanswerable_declined - 0.5).abs() < 1e-9);
    }

    #[test]
    fn nothing_to_measure_gives_zeros_not_nan() {
        let f = LineTally::default().finish();
        assert_eq!(f, AnswerLines::default());
    }
}
