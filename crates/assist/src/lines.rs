//! Answer lines chosen by learned models instead of hand-set weights.
//!
//! Two logistic regressions ([`crate::logistic`]), shipped as a small versioned parameter file
//! (`model/answer-lines.json`, built into the binary; an authority's own, made by
//! `amtsweg assist train`, replaces it):
//!
//! 1. **Lines**: for each line of a page the probability that it answers the question, from
//!    features of the line ([`line_features`]): how much of the question's weight (idf after
//!    German analysis) it carries, the same for its neighbours and its section, the best line
//!    of the page and the distance to it, position, line type (heading, list, ends with a
//!    colon), and whether it holds what the question asks for (a time for "wann", an address
//!    for "wo", an amount for "wie viel", a phone number, an e-mail address).
//! 2. **Decline**: from the question as a whole ([`question_features`]): the best line's
//!    probability and its gap to the second, the sum of all, the share of the question's
//!    weight the page carries, the best line's share. Below a threshold set on the dev
//!    questions (at most 10 % of answerable ones declined), the assistant declines.
//!
//! Lines are taken when their probability reaches `threshold` or `relative` × the best; with
//! `block`, the answer is the contiguous block from the first to the last taken line (pages
//! are written in blocks: a heading, then its lines). All settings are chosen on dev.

use crate::logistic::Logistic;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// The model built into the binary.
const SHIPPED: &str = include_str!("../model/answer-lines.json");

/// The file name of an authority's own model in its assistant folder.
pub const FILE: &str = "answer-lines.json";

/// The parameter file's format version (2: with the set across languages); a file of a later
/// version is refused, so that an older binary never drops a set it does not know.
pub const VERSION: u32 = 2;

/// The names of the line features, in order (the parameter file names them too, so a file made
/// for other features is refused).
pub const LINE_FEATURES: &[&str] = &[
    "coverage",
    "coverage_previous",
    "coverage_next",
    "coverage_before_3",
    "coverage_after_3",
    "best_coverage",
    "second_coverage",
    "best_gap",
    "coverage_relative",
    "position",
    "first_line",
    "heading",
    "ends_with_colon",
    "after_colon",
    "distance_to_best",
    "is_best",
    "after_best",
    "just_after_best",
    "just_before_best",
    "length",
    "no_terms",
    "page_length",
    "section_coverage",
    "in_best_section",
    "page_coverage",
    "asked_time",
    "asked_place",
    "asked_amount",
    "asked_phone",
    "asked_mail",
    "has_time",
    "has_place",
    "has_amount",
    "has_phone",
    "has_mail",
    "last_line",
];

/// The line features added when the question's and the lines' embeddings are there: the
/// cosine of the question with the line, with its neighbours, and against the page's best.
pub const DENSE_LINE_FEATURES: &[&str] = &[
    "similarity",
    "similarity_below_best",
    "similarity_z",
    "similarity_rank",
    "is_most_similar",
    "similarity_previous",
    "similarity_next",
    "distance_to_most_similar",
    "best_similarity",
];

/// The question features with embeddings (the decline model then sees only these).
pub const DENSE_QUESTION_FEATURES: &[&str] = &["best_similarity", "similarity_gap", "mean_similarity", "similarity_spread"];

pub const QUESTION_FEATURES: &[&str] = &[
    "best_probability",
    "probability_gap",
    "probability_sum",
    "lines_likely",
    "best_coverage",
    "page_coverage",
    "best_gap",
    "page_length",
    "missing_weight",
    "missing_rarest",
    "question_terms",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerModel {
    pub version: u32,
    /// Where the model comes from (questions it was trained and chosen on), for the admin.
    pub trained_on: String,
    pub line_features: Vec<String>,
    pub question_features: Vec<String>,
    /// The parameter set for full text alone (its fields stand at the top of the file).
    #[serde(flatten)]
    pub full_text: Settings,
    /// The second parameter set, for when embeddings are there (the line features above
    /// followed by [`DENSE_LINE_FEATURES`]; the question features [`DENSE_QUESTION_FEATURES`]);
    /// without it, or without embeddings, the first set answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_embeddings: Option<Settings>,
    /// The embeddings model the second set was trained with (its similarities are that
    /// model's); the set answers only with vectors of that model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings_model: Option<String>,
    /// The third set, for a question answered from a page version in another language than
    /// its own (a Ukrainian question, a German page): the features of the second set, trained
    /// on such questions alone. The question's similarities with lines in another language
    /// run lower than within one, so a decline threshold set on same-language questions
    /// would decline nearly all of them. Without it, the second set answers them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub across_languages: Option<Settings>,
}

/// One parameter set: the two models and the settings chosen on dev.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub lines: Logistic,
    pub decline: Logistic,
    pub threshold: f64,
    pub relative: f64,
    pub block: bool,
    pub decline_below: f64,
    /// The decline threshold for questions in these languages, where it was set on their own
    /// dev questions (the set across languages: a question's similarities with German lines run
    /// lower in Arabic than in French); others use `decline_below`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub decline_below_by_language: BTreeMap<String, f64>,
}

impl Settings {
    fn is_valid(&self, line_features: usize, question_features: usize) -> bool {
        self.lines.is_valid(line_features)
            && self.decline.is_valid(question_features)
            && (0.0..=1.0).contains(&self.threshold)
            && (0.0..=10.0).contains(&self.relative)
            && (0.0..=1.0).contains(&self.decline_below)
            && self.decline_below_by_language.iter().all(|(language, below)| crate::language::check_code(language).is_ok() && (0.0..=1.0).contains(below))
            && self.lines.scale.iter().chain(&self.decline.scale).all(|s| *s >= 0.0)
    }

    /// The decline threshold for a question in `language`.
    pub fn decline_below_for(&self, language: &str) -> f64 {
        self.decline_below_by_language.get(language).copied().unwrap_or(self.decline_below)
    }

    /// The lines to answer with (empty: decline) to a question in `language`, from the page's
    /// features (with or without the embeddings', as this set was trained).
    pub fn choose(&self, page: &PageFeatures, language: &str) -> Vec<usize> {
        if !page.has_question_terms() && page.similarity.is_none() {
            return Vec::new();
        }
        let probabilities: Vec<f64> = page.lines.iter().map(|f| self.lines.probability(f)).collect();
        if self.decline.probability(&question_features(page, &probabilities)) < self.decline_below_for(language) {
            return Vec::new();
        }
        take(&probabilities, self.threshold, self.relative, self.block)
    }
}

/// Why a parameter file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("keine gültige Modelldatei: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Modelldatei der Version {0}; diese Fassung liest die Versionen 1 bis {VERSION}")]
    Version(u32),
    #[error("die Modelldatei passt nicht zu den Merkmalen dieser Fassung")]
    Features,
    #[error("die Modelldatei hat Parametersätze mit Einbettungen, aber kein embeddings_model (das Modell, mit dem sie trainiert wurden)")]
    EmbeddingsModel,
}

impl AnswerModel {
    /// The model built into the binary.
    pub fn shipped() -> Self {
        Self::from_json(SHIPPED).expect("the shipped model is valid")
    }

    /// Reads and checks a parameter file.
    pub fn from_json(text: &str) -> Result<Self, ModelFileError> {
        let model: Self = serde_json::from_str(text)?;
        if !(1..=VERSION).contains(&model.version) {
            return Err(ModelFileError::Version(model.version));
        }
        let names = |v: &[String], w: &[&str]| v.len() == w.len() && v.iter().zip(w).all(|(a, b)| a == b);
        if !names(&model.line_features, LINE_FEATURES)
            || !names(&model.question_features, QUESTION_FEATURES)
            || !model.full_text.is_valid(LINE_FEATURES.len(), QUESTION_FEATURES.len())
            || [&model.with_embeddings, &model.across_languages].into_iter().flatten().any(|d| !d.is_valid(LINE_FEATURES.len() + DENSE_LINE_FEATURES.len(), DENSE_QUESTION_FEATURES.len()))
        {
            return Err(ModelFileError::Features);
        }
        if (model.with_embeddings.is_some() || model.across_languages.is_some()) && model.embeddings_model.is_none() {
            return Err(ModelFileError::EmbeddingsModel);
        }
        Ok(model)
    }

    /// The model an assistant folder holds (written by `amtsweg assist train`), or the shipped
    /// one when it holds none. A file that does not read is an error naming it.
    pub fn in_dir(dir: &std::path::Path) -> Result<Self, String> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::shipped()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the model into an assistant folder, whole or not at all.
    pub fn save_in(&self, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        self.save_as(&path)?;
        Ok(path)
    }

    /// Writes the model to `path`, whole or not at all: a temporary file beside it (named after
    /// this process), synced, renamed over it, and the folder synced.
    pub fn save_as(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| FILE.to_owned());
        let partial = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(self.to_json().as_bytes())?;
        file.sync_all()?;
        drop(file);
        if let Err(e) = std::fs::rename(&partial, path) {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        std::fs::File::open(folder)?.sync_all()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model serialises")
    }

    /// The lines to answer with (empty: decline) to a question in `language` from a page in
    /// `page_language`, from the page's features: with the embeddings' parameter set when the
    /// features have similarities and the model that set (for a page in another language than
    /// the question, `across_languages`, the set for that when the model has it), else with the
    /// full-text set on the full-text features. A question without a term the analysis keeps is
    /// declined by the full-text set.
    pub fn choose(&self, page: &PageFeatures, language: &str, page_language: &str) -> Vec<usize> {
        let dense = if language != page_language { self.across_languages.as_ref().or(self.with_embeddings.as_ref()) } else { self.with_embeddings.as_ref() };
        match (dense, page.similarity.is_some()) {
            (Some(dense), true) => dense.choose(page, language),
            (_, true) => self.full_text.choose(&page.without_similarities(), language),
            (_, false) => self.full_text.choose(page, language),
        }
    }
}

/// The lines taken at these settings (never none, when the page has lines).
pub fn take(probabilities: &[f64], threshold: f64, relative: f64, block: bool) -> Vec<usize> {
    let best = probabilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut taken: Vec<usize> = (0..probabilities.len()).filter(|&i| probabilities[i] >= threshold || probabilities[i] >= relative * best).collect();
    if taken.is_empty() {
        taken.extend(probabilities.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i));
    }
    if block && let (Some(&first), Some(&last)) = (taken.first(), taken.last()) {
        taken = (first..=last).collect();
    }
    taken
}

/// The features of questions' pages, each page's lines analysed once.
pub struct Pages<'a> {
    kb: &'a crate::KnowledgeBase,
    terms: HashMap<usize, Vec<Vec<String>>>,
}

impl<'a> Pages<'a> {
    pub fn new(kb: &'a crate::KnowledgeBase) -> Self {
        Self { kb, terms: HashMap::new() }
    }

    /// The features of document `doc`'s lines for a question as the assistant sees it:
    /// identifiers removed first, the question analysed as text in the document's language.
    pub fn features(&mut self, question: &str, doc: usize) -> PageFeatures {
        let question = &crate::redact::search_text(&crate::redact::redact(question));
        let kb = self.kb;
        let document = &kb.documents()[doc];
        let language = document.language.as_str();
        let lines: Vec<&str> = document.sentences().collect();
        let terms = self.terms.entry(doc).or_insert_with(|| lines.iter().map(|l| kb.terms_in(language, l)).collect());
        let weights = crate::answer::weighted_terms(kb, language, question).into_iter().map(|(t, w)| (t, f64::from(w))).collect();
        line_features(&weights, &lines, terms, question)
    }
}

/// A page's lines as features for one question, with what the question-level features need.
#[derive(Debug, Clone)]
pub struct PageFeatures {
    pub lines: Vec<Vec<f64>>,
    /// With embeddings: the question-level similarity features (the lines' are appended to
    /// `lines`).
    similarity: Option<[f64; 4]>,
    best_coverage: f64,
    best_gap: f64,
    page_coverage: f64,
    /// The weight (idf) of the question's terms the page lacks, and of the rarest of them.
    missing_weight: f64,
    missing_rarest: f64,
    question_terms: usize,
}

static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,2}[:.]\d{2}|uhr|montags?|dienstags?|mittwochs?|donnerstags?|freitags?|samstags?|sonntags?|täglich|werktags|januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember)\b").expect("valid")
});
static PLACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(straße|str\.|platz\b|weg\b|allee|\b\d{5}\b|raum\b|zimmer|gebäude|stock\b|etage)").expect("valid"));
static AMOUNT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(€|\beuro\b|kostenlos|kostenfrei|gebühr|gratis|\bkosten\b)").expect("valid"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(\+49|\btel\b|telefon|\b0\d{2,5}[ /-]?\d{3,})").expect("valid"));
static MAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)(@|e-mail|www\.|https?://)").expect("valid"));
/// What a question asks for, by its words.
static ASKS: LazyLock<[Regex; 5]> = LazyLock::new(|| {
    [
        Regex::new(r"(?i)\b(wann|uhrzeit|öffnungszeit|bis wann|ab wann|wie lange|termin|tage?\b)").expect("valid"),
        Regex::new(r"(?i)\b(wo\b|wohin|adresse|anschrift|ort\b|standort)").expect("valid"),
        Regex::new(r"(?i)\b(wie viel|wieviel|kosten|kostet|gebühr|preis|euro|bezahl|zahlen)").expect("valid"),
        Regex::new(r"(?i)\b(telefon|nummer|anrufen|erreich|kontakt)").expect("valid"),
        Regex::new(r"(?i)\b(e-mail|email|mail|internetseite|webseite|website|online)").expect("valid"),
    ]
});

/// A heading: a short line that does not end like a sentence.
fn is_heading(line: &str) -> bool {
    let line = line.trim_end();
    !line.trim_start().is_empty() && line.chars().count() < 70 && !line.ends_with(['.', '!', ',', ';', ':'])
}

/// The features of every line of a page for a question whose terms carry these weights (idf),
/// given the analysed terms of each line.
pub fn line_features(weights: &HashMap<String, f64>, lines: &[&str], line_terms: &[Vec<String>], question: &str) -> PageFeatures {
    let n = lines.len();
    // Sums in the terms' order, so that the same question gives the same bits in every run.
    let mut sorted_weights: Vec<(&String, &f64)> = weights.iter().collect();
    sorted_weights.sort_by(|a, b| a.0.cmp(b.0));
    let total: f64 = sorted_weights.iter().map(|(_, w)| **w).sum();
    let share = |terms: &mut dyn Iterator<Item = &String>| -> f64 {
        if total <= 0.0 {
            return 0.0;
        }
        let mut seen: Vec<&String> = terms.filter(|t| weights.contains_key(*t)).collect();
        seen.sort();
        seen.dedup();
        seen.iter().map(|t| weights[*t]).sum::<f64>() / total
    };
    let coverage: Vec<f64> = line_terms.iter().map(|t| share(&mut t.iter())).collect();
    let page_coverage = share(&mut line_terms.iter().flatten());
    let mut sorted = coverage.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let best = sorted.first().copied().unwrap_or(0.0);
    let second = sorted.get(1).copied().unwrap_or(0.0);
    // No line with a question word: no best line (its features say "far from it").
    let best_line = if best > 0.0 { coverage.iter().position(|&c| c == best) } else { None };
    // Sections begin at a heading that follows a non-heading.
    let mut section = Vec::with_capacity(n);
    let mut current = 0usize;
    for i in 0..n {
        if i > 0 && is_heading(lines[i]) && !is_heading(lines[i - 1]) {
            current += 1;
        }
        section.push(current);
    }
    let mut section_coverage = vec![0.0; current + 1];
    for (s, value) in section_coverage.iter_mut().enumerate() {
        *value = share(&mut (0..n).filter(|&i| section[i] == s).flat_map(|i| line_terms[i].iter()));
    }
    let asked: Vec<bool> = ASKS.iter().map(|r| r.is_match(question)).collect();
    let flag = |b: bool| f64::from(u8::from(b));
    let window_max = |range: std::ops::Range<usize>| range.map(|j| coverage[j]).fold(0.0, f64::max);
    let features = (0..n)
        .map(|i| {
            let line = lines[i];
            let d = best_line.map_or(f64::INFINITY, |b| i as f64 - b as f64);
            let has = [TIME.is_match(line), PLACE.is_match(line), AMOUNT.is_match(line), PHONE.is_match(line), MAIL.is_match(line)];
            let mut f = vec![
                coverage[i],
                if i > 0 { coverage[i - 1] } else { 0.0 },
                if i + 1 < n { coverage[i + 1] } else { 0.0 },
                window_max(i.saturating_sub(3)..i),
                window_max((i + 1).min(n)..(i + 4).min(n)),
                best,
                second,
                best - second,
                if best > 0.0 { coverage[i] / best } else { 0.0 },
                i as f64 / n as f64,
                flag(i == 0),
                flag(is_heading(line)),
                flag(line.trim_end().ends_with(':')),
                flag(i > 0 && lines[i - 1].trim_end().ends_with(':')),
                d.abs().min(10.0) / 10.0,
                flag(d == 0.0),
                flag(d > 0.0 && d.is_finite()),
                flag((1.0..=3.0).contains(&d)),
                flag((-3.0..0.0).contains(&d)),
                (1.0 + line.chars().count() as f64).ln(),
                flag(line_terms[i].is_empty()),
                (n as f64).ln(),
                section_coverage[section[i]],
                flag(best_line.is_some_and(|b| section[i] == section[b])),
                page_coverage,
            ];
            f.extend(has.iter().zip(&asked).map(|(h, a)| flag(*h && *a)));
            f.extend(has.iter().map(|h| flag(*h)));
            f.push(flag(i + 1 == n));
            f
        })
        .collect();
    let on_page: std::collections::HashSet<&String> = line_terms.iter().flatten().collect();
    let missing: Vec<f64> = sorted_weights.iter().filter(|(t, _)| !on_page.contains(t)).map(|(_, w)| **w).collect();
    PageFeatures {
        lines: features,
        similarity: None,
        best_coverage: best,
        best_gap: best - second,
        page_coverage,
        missing_weight: missing.iter().sum(),
        missing_rarest: missing.iter().copied().fold(0.0, f64::max),
        question_terms: weights.len(),
    }
}

impl PageFeatures {
    /// Whether the question kept any term after analysis (without, it is declined).
    pub fn has_question_terms(&self) -> bool {
        self.question_terms > 0
    }

    /// Whether the embeddings' features are there.
    pub fn has_similarities(&self) -> bool {
        self.similarity.is_some()
    }

    /// The features with the embeddings' added: `similarities` holds the cosine of the
    /// question with each line (a page whose count differs stays without).
    pub fn with_similarities(mut self, similarities: &[f32]) -> Self {
        let n = self.lines.len();
        if similarities.len() != n || n == 0 || self.similarity.is_some() {
            return self;
        }
        let s: Vec<f64> = similarities.iter().map(|&x| f64::from(x)).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
        let best_line = order[0];
        let best = s[best_line];
        let second = order.get(1).map_or(best, |&i| s[i]);
        let mean = s.iter().sum::<f64>() / n as f64;
        let sd = (s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64).sqrt();
        let mut rank = vec![0usize; n];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        for (i, f) in self.lines.iter_mut().enumerate() {
            let d = i as f64 - best_line as f64;
            f.extend([
                s[i],
                best - s[i],
                if sd > 0.0 { (s[i] - mean) / sd } else { 0.0 },
                (rank[i] as f64 / 10.0).min(1.0),
                f64::from(u8::from(i == best_line)),
                if i > 0 { s[i - 1] } else { mean },
                if i + 1 < n { s[i + 1] } else { mean },
                d.abs().min(10.0) / 10.0,
                best,
            ]);
        }
        self.similarity = Some([best, best - second, mean, sd]);
        self
    }

    /// The features without the embeddings' (for the full-text parameter set).
    pub fn without_similarities(&self) -> Self {
        let mut page = self.clone();
        if page.similarity.take().is_some() {
            page.lines.iter_mut().for_each(|f| f.truncate(LINE_FEATURES.len()));
        }
        page
    }
}

/// The question-level features, from the page and its lines' probabilities; with embeddings,
/// the similarity features alone ([`DENSE_QUESTION_FEATURES`]: on the dev questions the decline
/// model over these declined 74 % of unanswerable questions, over these and the full-text ones
/// 61 %, both at 9.7 % of answerable ones).
pub fn question_features(page: &PageFeatures, probabilities: &[f64]) -> Vec<f64> {
    if let Some(similarity) = page.similarity {
        return similarity.to_vec();
    }
    let mut sorted = probabilities.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let best = sorted.first().copied().unwrap_or(0.0);
    let second = sorted.get(1).copied().unwrap_or(0.0);
    vec![
        best,
        best - second,
        probabilities.iter().sum(),
        probabilities.iter().filter(|&&p| p >= 0.3).count() as f64,
        page.best_coverage,
        page.page_coverage,
        page.best_gap,
        (probabilities.len().max(1) as f64).ln(),
        page.missing_weight,
        page.missing_rarest,
        page.question_terms as f64,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_reads() {
        let model = AnswerModel::shipped();
        assert_eq!(model.version, VERSION);
        assert_eq!(AnswerModel::from_json(&model.to_json()).unwrap(), model);
    }

    #[test]
    fn a_file_for_other_features_or_another_version_is_refused() {
        let model = AnswerModel::shipped();
        let mut other = model.clone();
        other.version = 99;
        assert!(matches!(AnswerModel::from_json(&other.to_json()), Err(ModelFileError::Version(99))));
        let mut first = model.clone();
        first.version = 1;
        assert!(AnswerModel::from_json(&first.to_json()).is_ok(), "a file of version 1 (before the set across languages) still reads");
        let mut other = model.clone();
        other.line_features.pop();
        assert!(matches!(AnswerModel::from_json(&other.to_json()), Err(ModelFileError::Features)));
        let mut other = model;
        other.full_text.lines.weights[0] = f64::NAN;
        assert!(AnswerModel::from_json(&other.to_json().replace("NaN", "null")).is_err());
        assert!(matches!(AnswerModel::from_json("{"), Err(ModelFileError::Json(_))));
    }

    #[test]
    fn lines_are_taken_by_threshold_relative_share_and_as_a_block() {
        let p = [0.1, 0.7, 0.2, 0.5, 0.05];
        assert_eq!(take(&p, 0.6, 2.0, false), vec![1]);
        assert_eq!(take(&p, 0.6, 0.7, false), vec![1, 3]);
        assert_eq!(take(&p, 0.6, 0.7, true), vec![1, 2, 3]);
        assert_eq!(take(&p, 0.9, 2.0, false), vec![1], "never nothing: the best line");
        assert!(take(&[], 0.5, 0.5, true).is_empty());
    }

    #[test]
    fn features_see_what_the_question_asks_for() {
        let lines = ["Sprechzeiten", "Montag bis Freitag 8:00 bis 12:00 Uhr", "Telefon 0341 123456"];
        let terms: Vec<Vec<String>> = vec![vec!["sprechzeit".into()], vec![], vec!["telefon".into()]];
        let weights: HashMap<String, f64> = [("sprechzeit".to_owned(), 2.0)].into();
        let page = line_features(&weights, &lines, &terms, "Wann sind die Sprechzeiten?");
        assert_eq!(page.lines.len(), 3);
        assert!(page.lines.iter().all(|f| f.len() == LINE_FEATURES.len()));
        let at = |name: &str| LINE_FEATURES.iter().position(|n| *n == name).unwrap();
        assert_eq!(page.lines[0][at("coverage")], 1.0);
        assert_eq!(page.lines[1][at("asked_time")], 1.0, "a time, and the question asks when");
        assert_eq!(page.lines[2][at("asked_time")], 0.0);
        assert_eq!(page.lines[2][at("has_phone")], 1.0);
        assert_eq!(page.lines[2][at("asked_phone")], 0.0);
        assert_eq!(page.lines[1][at("just_after_best")], 1.0);
    }

    #[test]
    fn similarities_add_features_and_choose_the_parameter_set() {
        let lines = ["Sperrmüll", "Die Stadtreinigung holt ihn ab.", "Ein Termin ist nötig."];
        let terms: Vec<Vec<String>> = vec![vec!["sperrmull".into()], vec!["stadtreinig".into()], vec!["termin".into()]];
        let weights: HashMap<String, f64> = [("termin".to_owned(), 2.0)].into();
        let page = line_features(&weights, &lines, &terms, "Brauche ich einen Termin?");
        assert!(!page.has_similarities());
        let dense = page.clone().with_similarities(&[0.1, 0.5, 0.9]);
        assert!(dense.has_similarities());
        let width = LINE_FEATURES.len() + DENSE_LINE_FEATURES.len();
        assert!(dense.lines.iter().all(|f| f.len() == width));
        let at = |name: &str| LINE_FEATURES.len() + DENSE_LINE_FEATURES.iter().position(|n| *n == name).unwrap();
        assert_eq!(dense.lines[2][at("is_most_similar")], 1.0);
        assert!((dense.lines[0][at("similarity_below_best")] - 0.8).abs() < 1e-6);
        assert!((dense.lines[1][at("similarity_next")] - 0.9).abs() < 1e-6);
        assert_eq!(question_features(&dense, &[0.1, 0.2, 0.3]).len(), DENSE_QUESTION_FEATURES.len());
        // A count that does not fit the lines adds nothing; without them again, the page is as before.
        assert!(!page.clone().with_similarities(&[0.1]).has_similarities());
        assert_eq!(dense.without_similarities().lines, page.lines);

        // The model answers with the second set only when both it and the similarities are there.
        let mut model = AnswerModel::shipped();
        let mut second = model.full_text.clone();
        second.lines = crate::logistic::Logistic { weights: vec![0.0; width], ..second.lines.clone() };
        second.lines.weights[at("is_most_similar")] = 5.0;
        second.lines.mean = vec![0.0; width];
        second.lines.scale = vec![1.0; width];
        let q = DENSE_QUESTION_FEATURES.len();
        second.decline = crate::logistic::Logistic { weights: vec![0.0; q], mean: vec![0.0; q], scale: vec![1.0; q], bias: 0.0 };
        (second.threshold, second.relative, second.block, second.decline_below) = (0.9, 2.0, false, 0.0);
        model.with_embeddings = Some(second.clone());
        model.embeddings_model = Some("e5".into());
        assert_eq!(AnswerModel::from_json(&model.to_json()).unwrap(), model, "the file keeps both sets");
        assert_eq!(model.choose(&dense, "de", "de"), vec![2], "the most similar line, by the second set");
        assert_eq!(model.choose(&dense, "en", "de"), vec![2], "without a third set, the second answers across languages too");
        assert_eq!(model.choose(&page, "de", "de"), AnswerModel::shipped().choose(&page, "de", "de"), "without similarities, the first set");

        // A third set answers (here: declines) what is asked in another language than the page's,
        // with a threshold of its own for a language it has one for.
        let mut third = second;
        third.decline_below = 1.0;
        third.decline_below_by_language.insert("fr".into(), 0.0);
        model.across_languages = Some(third);
        assert_eq!(AnswerModel::from_json(&model.to_json()).unwrap(), model, "the file keeps all three sets");
        assert!(model.choose(&dense, "en", "de").is_empty(), "the third set decides across languages");
        assert_eq!(model.choose(&dense, "fr", "de"), vec![2], "with the threshold for French questions");
        assert_eq!(model.choose(&dense, "de", "de"), vec![2], "and only across languages");
        let mut odd = model.clone();
        odd.across_languages.as_mut().unwrap().decline_below_by_language.insert("french".into(), 0.5);
        assert!(matches!(AnswerModel::from_json(&odd.to_json()), Err(ModelFileError::Features)), "a language is a code");
        // Sets with embeddings need the name of their embeddings model.
        model.embeddings_model = None;
        assert!(matches!(AnswerModel::from_json(&model.to_json()), Err(ModelFileError::EmbeddingsModel)));
    }
}
