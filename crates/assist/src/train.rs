//! Training the answer-line models ([`crate::lines`]) from labelled questions: the line model
//! on the training questions, the decline model on the training questions' out-of-fold line
//! probabilities (five folds, so it learns from probabilities like those of unseen questions),
//! and the settings (line threshold, relative share, block, decline threshold) chosen on the dev
//! questions. Deterministic: the same files give the same parameter file.

use crate::eval::{LineTally, Question};
use crate::kb::KnowledgeBase;
use crate::lines::{self, AnswerModel, PageFeatures, Pages, Settings};
use crate::logistic::Logistic;

/// Penalties of the two regressions (chosen on the dataset's dev questions).
const LINE_L2: f64 = 3.0;
const DECLINE_L2: f64 = 1.0;
const FOLDS: usize = 5;
/// At most this share of answerable dev questions may be declined.
pub const MAX_ANSWERABLE_DECLINED: f64 = 0.10;
/// A language gets a decline threshold of its own (in the set across languages) from this many
/// answerable dev questions in it.
pub const MIN_ANSWERABLE_PER_LANGUAGE: usize = 30;

/// A labelled question that does not fit the pages: which one (by its place in the file).
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("Zeile {0}: keine Seite mit der id {1:?}")]
    UnknownPage(usize, String),
    #[error("Zeile {0}: Antwortzeile {1} gibt es nicht (die Seite hat {2} Zeilen)")]
    NoSuchLine(usize, usize, usize),
    #[error("Zeile {0}: language: {1}")]
    Language(usize, String),
    #[error("Zeile {0}: \"answerable\" passt nicht zu \"answer_sentences\" (beantwortbar heißt: mit Antwortzeilen)")]
    Inconsistent(usize),
    #[error("keine Trainingsfragen mit Antwort und ohne Antwort in der Sprache ihrer Seite: beide werden gebraucht (Fragen zu einer Seite in einer anderen Sprache trainieren nur die Einstellungen über Sprachen hinweg)")]
    OneSided,
    #[error("keine Dev-Fragen mit Antwort in der Sprache ihrer Seite: an ihnen werden die Einstellungen gewählt")]
    NoDev,
    #[error("das Modell lässt sich an diese Fragen nicht anpassen (das Verfahren konvergiert nicht)")]
    NoFit,
    #[error("nicht für jede Frage gibt es Einbettungen ihrer Seite")]
    Similarities,
}

/// The dev figures of a trained model (on the question's own page).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// Questions asked in their page's language (the first two sets learn from these).
    pub train_questions: usize,
    pub dev_questions: usize,
    pub dev: crate::eval::AnswerLines,
    /// The same with the parameter set with embeddings, when trained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_with_embeddings: Option<crate::eval::AnswerLines>,
    /// Training and dev questions labelled on a page version in another language than theirs
    /// (not counted above).
    pub train_across_languages: usize,
    pub dev_questions_across_languages: usize,
    /// The dev figures of the set across languages, when trained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_across_languages: Option<crate::eval::AnswerLines>,
    /// Why there is no set across languages although there are such questions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub across_languages_skipped: Option<String>,
}

/// Checks that every question's page exists and its answer lines are on it; each question comes
/// with its line in the file, which the error names.
/// The version of a question's page its answer lines are read on: the one in the question's
/// language when it has as many lines as the German one (the labels are the German page's),
/// else the German one.
pub fn labelled_version(kb: &KnowledgeBase, q: &Question) -> Option<usize> {
    let german = kb.position(&q.page)?;
    Some(kb.version(&q.page, &q.language).filter(|_| aligned(kb, &q.page, &q.language)).unwrap_or(german))
}

/// Whether a page's version in `language` has the lines of the version its answer lines are
/// labelled on (the German one, else the first; see [`KnowledgeBase::position`]), one to one.
pub fn aligned(kb: &KnowledgeBase, page: &str, language: &str) -> bool {
    let lines = |doc: Option<usize>| doc.map(|d| kb.documents()[d].sentences().count());
    let labelled = lines(kb.position(page));
    labelled.is_some() && lines(kb.version(page, language)) == labelled
}

pub fn check(kb: &KnowledgeBase, questions: &[(usize, Question)]) -> Result<(), LabelError> {
    for (line, q) in questions {
        let document = kb.document(&q.page).ok_or_else(|| LabelError::UnknownPage(*line, q.page.clone()))?;
        crate::language::check_code(&q.language).map_err(|e| LabelError::Language(*line, e))?;
        if q.answerable != !q.answer_sentences.is_empty() {
            return Err(LabelError::Inconsistent(*line));
        }
        let count = document.sentences().count();
        if let Some(&bad) = q.answer_sentences.iter().find(|&&i| i >= count) {
            return Err(LabelError::NoSuchLine(*line, bad, count));
        }
    }
    Ok(())
}

/// Trains the parameter sets; the questions must have been [`check`]ed against `kb`. Given each
/// question's cosine with each line of its labelled page version ([`labelled_version`]), for the
/// training and the dev questions, by the embeddings model named first, the set with embeddings
/// too. Questions whose labelled version is in another language than theirs (asked in English,
/// labelled on the German page) train the set across languages, when there are the
/// similarities, such training questions with and without an answer, and at least
/// [`MIN_ANSWERABLE_PER_LANGUAGE`] answerable such dev questions (else the report says why
/// not); the other two sets learn from the questions asked in their page's language.
pub fn train(kb: &KnowledgeBase, train: &[Question], dev: &[Question], trained_on: &str, similarities: Option<(&str, &[Vec<f32>], &[Vec<f32>])>) -> Result<(AnswerModel, TrainReport), LabelError> {
    let doc = |q: &Question| labelled_version(kb, q).expect("checked");
    let across = |q: &Question| kb.documents()[doc(q)].language != q.language;
    let mut pages = Pages::new(kb);
    let mut split = |questions: &[Question], similarities: Option<&[Vec<f32>]>| -> [Part; 2] {
        let mut parts = [Part::default(), Part::default()];
        for (k, q) in questions.iter().enumerate() {
            let part = &mut parts[usize::from(across(q))];
            part.pages.push(pages.features(&q.question, doc(q)));
            part.similarities.extend(similarities.and_then(|s| s.get(k)).cloned());
            part.questions.push(q.clone());
        }
        parts
    };
    let [same_train, across_train] = split(train, similarities.map(|(_, t, _)| t));
    let [same_dev, across_dev] = split(dev, similarities.map(|(_, _, d)| d));
    if one_sided(&same_train.questions) {
        return Err(LabelError::OneSided);
    }
    if !same_dev.questions.iter().any(Question::answerable) {
        return Err(LabelError::NoDev);
    }
    let (full_text, dev_figures) = fit(&same_train.pages, &same_train.questions, &same_dev.pages, &same_dev.questions, false)?;
    let (with_embeddings, dev_with_embeddings) = match similarities {
        Some(_) => {
            let (settings, figures) = same_train.fit_dense(&same_dev, false)?;
            (Some(settings), Some(figures))
        }
        None => (None, None),
    };
    // The set across languages, when there is enough to learn it from; otherwise why not (those
    // questions then train nothing, and the set with embeddings answers across languages).
    let across_dev_answerable = across_dev.questions.iter().filter(|q| q.answerable()).count();
    let (across_languages, dev_across_languages, across_languages_skipped) = if across_train.questions.is_empty() && across_dev.questions.is_empty() {
        (None, None, None)
    } else if similarities.is_none() {
        (None, None, Some("sie brauchen Einbettungen (--embeddings)".to_owned()))
    } else if one_sided(&across_train.questions) {
        (None, None, Some("unter den Trainingsfragen in einer anderen Sprache als ihre Seite braucht es solche mit und ohne Antwort".to_owned()))
    } else if across_dev_answerable < MIN_ANSWERABLE_PER_LANGUAGE {
        (None, None, Some(format!("dafür braucht es mindestens {MIN_ANSWERABLE_PER_LANGUAGE} beantwortbare Dev-Fragen in einer anderen Sprache als ihre Seite (es sind {across_dev_answerable})")))
    } else {
        match across_train.fit_dense(&across_dev, true) {
            Ok((settings, figures)) => (Some(settings), Some(figures), None),
            Err(e) => (None, None, Some(e.to_string())),
        }
    };
    let model = AnswerModel {
        version: lines::VERSION,
        trained_on: trained_on.to_owned(),
        line_features: lines::LINE_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
        question_features: lines::QUESTION_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
        full_text,
        with_embeddings,
        embeddings_model: similarities.map(|(model, _, _)| model.to_owned()),
        across_languages,
    };
    let report = TrainReport {
        train_questions: same_train.questions.len(),
        dev_questions: same_dev.questions.len(),
        dev: dev_figures,
        dev_with_embeddings,
        train_across_languages: across_train.questions.len(),
        dev_questions_across_languages: across_dev.questions.len(),
        dev_across_languages,
        across_languages_skipped,
    };
    Ok((model, report))
}

/// Whether the questions lack either kind: with an answer, or without.
fn one_sided(questions: &[Question]) -> bool {
    !questions.iter().any(Question::answerable) || questions.iter().all(Question::answerable)
}

/// The questions of one kind (in their page's language, or across languages), with their
/// pages' features and, when given, their similarities with the pages' lines.
#[derive(Default)]
struct Part {
    questions: Vec<Question>,
    pages: Vec<PageFeatures>,
    similarities: Vec<Vec<f32>>,
}

impl Part {
    /// The pages' features with the similarities' added; every page needs them.
    fn with_similarities(&self) -> Result<Vec<PageFeatures>, LabelError> {
        if self.similarities.len() != self.pages.len() {
            return Err(LabelError::Similarities);
        }
        self.pages.iter().zip(&self.similarities).map(|(p, s)| Some(p.clone().with_similarities(s)).filter(PageFeatures::has_similarities).ok_or(LabelError::Similarities)).collect()
    }

    /// The set with embeddings, trained on these questions and chosen on `dev`'s (with
    /// `by_language`, its decline threshold for each language of enough of them).
    fn fit_dense(&self, dev: &Part, by_language: bool) -> Result<(Settings, crate::eval::AnswerLines), LabelError> {
        fit(&self.with_similarities()?, &self.questions, &dev.with_similarities()?, &dev.questions, by_language)
    }
}

/// One parameter set from these pages' features: the line model on the training questions, the
/// decline model on their out-of-fold probabilities, the settings on dev.
/// With `by_language`, also a decline threshold for each language with at least
/// [`MIN_ANSWERABLE_PER_LANGUAGE`] answerable dev questions, set on those alone.
fn fit(train_pages: &[PageFeatures], train: &[Question], dev_pages: &[PageFeatures], dev: &[Question], by_language: bool) -> Result<(Settings, crate::eval::AnswerLines), LabelError> {
    let rows = |set: &[usize]| -> (Vec<Vec<f64>>, Vec<bool>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for &k in set {
            for (i, f) in train_pages[k].lines.iter().enumerate() {
                x.push(f.clone());
                y.push(train[k].answer_sentences.contains(&i));
            }
        }
        (x, y)
    };
    let all: Vec<usize> = (0..train.len()).collect();
    let (x, y) = rows(&all);
    let line_model = Logistic::fit(&x, &y, LINE_L2).ok_or(LabelError::NoFit)?;

    // Out-of-fold probabilities for the decline model; the folds split by page, so that no
    // question's page was seen by the model that scores it.
    let fold_of = |k: usize| train[k].page.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) as usize % FOLDS;
    let mut question_rows = vec![Vec::new(); train.len()];
    for fold in 0..FOLDS {
        let (held, kept): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&k| fold_of(k) == fold);
        if held.is_empty() {
            continue;
        }
        let (x, y) = rows(&kept);
        let model = Logistic::fit(&x, &y, LINE_L2).ok_or(LabelError::NoFit)?;
        for k in held {
            let p: Vec<f64> = train_pages[k].lines.iter().map(|f| model.probability(f)).collect();
            question_rows[k] = lines::question_features(&train_pages[k], &p);
        }
    }
    let answerable: Vec<bool> = train.iter().map(Question::answerable).collect();
    let decline_model = Logistic::fit(&question_rows, &answerable, DECLINE_L2).ok_or(LabelError::NoFit)?;

    // Settings on dev: the line settings with the best F on answerable questions, then the
    // decline threshold that declines at most 10 % of them.
    let dev_probabilities: Vec<Vec<f64>> = dev_pages.iter().map(|p| p.lines.iter().map(|f| line_model.probability(f)).collect()).collect();
    let score = |threshold: f64, relative: f64, block: bool, declined: &dyn Fn(usize) -> bool| -> crate::eval::AnswerLines {
        let mut tally = LineTally::default();
        for (k, q) in dev.iter().enumerate() {
            let chosen = if declined(k) || (!dev_pages[k].has_question_terms() && !dev_pages[k].has_similarities()) { Vec::new() } else { lines::take(&dev_probabilities[k], threshold, relative, block) };
            tally.add(q, &[(q.page.as_str(), chosen.as_slice())]);
        }
        tally.finish()
    };
    let mut best = (f64::NEG_INFINITY, 0.5, 2.0, false);
    for threshold in [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5] {
        for relative in [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 2.0] {
            for block in [false, true] {
                let f = score(threshold, relative, block, &|_| false).f;
                if f > best.0 {
                    best = (f, threshold, relative, block);
                }
            }
        }
    }
    let (_, threshold, relative, block) = best;
    let decline_scores: Vec<f64> = dev_pages.iter().zip(&dev_probabilities).map(|(page, p)| decline_model.probability(&lines::question_features(page, p))).collect();
    let answerable_scores = |language: Option<&str>| -> Vec<f64> {
        dev.iter().zip(&decline_scores).filter(|(q, _)| q.answerable() && language.is_none_or(|l| q.language == l)).map(|(_, s)| *s).collect()
    };
    let decline_below = threshold_for(answerable_scores(None));
    let mut decline_below_by_language = std::collections::BTreeMap::new();
    if by_language {
        let languages: std::collections::BTreeSet<&str> = dev.iter().map(|q| q.language.as_str()).collect();
        for language in languages {
            let scores = answerable_scores(Some(language));
            if scores.len() >= MIN_ANSWERABLE_PER_LANGUAGE {
                decline_below_by_language.insert(language.to_owned(), threshold_for(scores));
            }
        }
    }
    let settings = Settings { lines: line_model, decline: decline_model, threshold, relative, block, decline_below, decline_below_by_language };
    let dev_figures = score(threshold, relative, block, &|k| decline_scores[k] < settings.decline_below_for(&dev[k].language));
    Ok((settings, dev_figures))
}

/// The decline threshold that declines at most [`MAX_ANSWERABLE_DECLINED`] of these answerable
/// questions' decline-model scores: halfway between the `allowed`-th and the next (the margin
/// keeps rounding from moving one across).
fn threshold_for(mut answerable_scores: Vec<f64>) -> f64 {
    answerable_scores.sort_by(f64::total_cmp);
    let allowed = (MAX_ANSWERABLE_DECLINED * answerable_scores.len() as f64).floor() as usize;
    match (allowed.checked_sub(1).and_then(|i| answerable_scores.get(i)), answerable_scores.get(allowed)) {
        (Some(below), Some(above)) => (below + above) / 2.0,
        _ => 0.0,
    }
}
