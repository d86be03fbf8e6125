//! The languages of texts and questions: which analysis each language gets, recognising the
//! language of a question, and the few sentences the assistant says in the asker's language.
//!
//! Every document of the knowledge base has a language (ISO 639-1, German when not given); the
//! versions of one page in several languages share its id. Each language is analysed with its
//! own stemmer where Snowball has one (German also with compound splitting, see
//! [`crate::analysis`]); any other language (Ukrainian, for example) is split into lower-case
//! words only and found across languages through the embeddings.

use tantivy::tokenizer::{Language as Snowball, LowerCaser, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer};

/// The language of the authorities' own texts, and of questions whose language is unknown.
pub const GERMAN: &str = "de";

/// How a language is analysed in the index: each has fields of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Analysis {
    German,
    English,
    French,
    Arabic,
    /// Lower-case words, no stemming: every language without a stemmer here.
    Words,
}

impl Analysis {
    pub const ALL: [Analysis; 5] = [Analysis::German, Analysis::English, Analysis::French, Analysis::Arabic, Analysis::Words];

    /// The analysis of texts in `language` (an ISO 639-1 code).
    pub fn of(language: &str) -> Self {
        match language {
            "de" => Analysis::German,
            "en" => Analysis::English,
            "fr" => Analysis::French,
            "ar" => Analysis::Arabic,
            _ => Analysis::Words,
        }
    }

    /// Name of its tokenizer and suffix of its index fields.
    pub fn name(self) -> &'static str {
        match self {
            Analysis::German => "de",
            Analysis::English => "en",
            Analysis::French => "fr",
            Analysis::Arabic => "ar",
            Analysis::Words => "words",
        }
    }

    /// The analyzer (German is built with the knowledge base's vocabulary, see
    /// [`crate::analysis::german`]).
    pub(crate) fn stemming(self) -> TextAnalyzer {
        let (snowball, stop_words) = match self {
            Analysis::English => (Snowball::English, true),
            Analysis::French => (Snowball::French, true),
            // Snowball's Arabic stemmer also normalises the letters; tantivy has no Arabic
            // stop words, idf weighs them down.
            Analysis::Arabic => (Snowball::Arabic, false),
            Analysis::German => (Snowball::German, true),
            Analysis::Words => return TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).build(),
        };
        let builder = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser);
        match StopWordFilter::new(snowball).filter(|_| stop_words) {
            Some(stop) => builder.filter(stop).filter(Stemmer::new(snowball)).build(),
            None => builder.filter(Stemmer::new(snowball)).build(),
        }
    }
}

/// Checks a language code: ISO 639-1, two lower-case letters.
pub fn check_code(code: &str) -> Result<(), String> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(format!("{code:?} ist kein Sprachcode nach ISO 639-1 (zwei Kleinbuchstaben, z. B. de, en, ar)"))
    }
}

/// The language of a question, when it can be told. Arabic and Cyrillic script: whatlang's
/// trigram model decides among the languages written in them (Arabic, Persian; Ukrainian,
/// Russian). Latin script: which of German, English and French has the most stop words in
/// the question (short questions full of German names fool trigram models: "How do I register
/// my child for school in Germany?"), and whatlang when they tie. `None` when unclear: the
/// caller assumes German unless the request says otherwise.
pub fn detect(text: &str) -> Option<&'static str> {
    use whatlang::{Lang, Script};
    let info = whatlang::Detector::with_allowlist(vec![Lang::Deu, Lang::Eng, Lang::Fra, Lang::Ara, Lang::Pes, Lang::Ukr, Lang::Rus]).detect(text);
    match info.as_ref().map(|i| (i.script(), i.lang())) {
        Some((Script::Arabic, Lang::Pes)) => return Some("fa"),
        Some((Script::Arabic, _)) => return Some("ar"),
        Some((Script::Cyrillic, Lang::Rus)) => return Some("ru"),
        Some((Script::Cyrillic, _)) => return Some("uk"),
        _ => {}
    }
    let mut votes: Vec<(usize, &'static str)> = [(Snowball::German, "de"), (Snowball::English, "en"), (Snowball::French, "fr")]
        .into_iter()
        .map(|(language, code)| (stop_words_in(text, language), code))
        .collect();
    votes.sort_by(|a, b| b.0.cmp(&a.0));
    if votes[0].0 > votes[1].0 {
        return Some(votes[0].1);
    }
    match info {
        Some(info) if info.confidence() >= 0.5 => match info.lang() {
            Lang::Deu => Some("de"),
            Lang::Eng => Some("en"),
            Lang::Fra => Some("fr"),
            _ => None,
        },
        _ => None,
    }
}

/// How many of a text's words are stop words of `language`.
fn stop_words_in(text: &str, language: Snowball) -> usize {
    let count = |analyzer: &mut TextAnalyzer| crate::analysis::terms(analyzer, text).len();
    let mut words = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).build();
    let Some(stop) = StopWordFilter::new(language) else { return 0 };
    let mut content = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).filter(stop).build();
    count(&mut words) - count(&mut content)
}

/// The German name of a language, for the model's instructions.
pub fn name(language: &str) -> &'static str {
    match language {
        "de" => "Deutsch",
        "en" => "Englisch",
        "fr" => "Französisch",
        "ar" => "Arabisch",
        "uk" => "Ukrainisch",
        "ru" => "Russisch",
        "tr" => "Türkisch",
        "es" => "Spanisch",
        "it" => "Italienisch",
        "pl" => "Polnisch",
        "fa" => "Persisch",
        _ => "der Frage",
    }
}

/// The languages the assistant speaks to the asker in (declines, notes), each with its name in
/// itself; quotes keep the language of their text.
pub const SPOKEN: [(&str, &str); 5] = [("de", "Deutsch"), ("en", "English"), ("fr", "Français"), ("ar", "العربية"), ("uk", "Українська")];

/// The language the assistant's own sentences to an asker in `language` are written in.
pub fn spoken(language: &str) -> &str {
    if SPOKEN.iter().any(|(code, _)| *code == language) { language } else { GERMAN }
}

/// Whether a language is written right to left (for `dir` on the page).
pub fn right_to_left(language: &str) -> bool {
    matches!(language, "ar" | "fa" | "he" | "ur")
}

/// What the assistant says when its texts do not answer, in the asker's language (German for
/// languages it has no sentence for).
pub fn decline(language: &str) -> &'static str {
    match language {
        "en" => "I cannot find an answer to this in the administration's texts. You can send your question to the responsible authority.",
        "fr" => "Je ne trouve pas de réponse à cette question dans les textes de l'administration. Vous pouvez envoyer votre question à l'autorité compétente.",
        "ar" => "لا أجد إجابة على هذا السؤال في نصوص الإدارة. يمكنك إرسال سؤالك إلى الجهة المختصة.",
        "uk" => "Я не знаходжу відповіді на це питання в текстах адміністрації. Ви можете надіслати своє питання до відповідального органу.",
        _ => crate::answer::DECLINE,
    }
}

/// The note before an answer that quotes a text in another language than the question's:
/// the page is not there in the asker's language, so the answer quotes it as it is.
pub fn quoting(asked: &str, quoted: &str) -> Option<&'static str> {
    if asked == quoted {
        return None;
    }
    Some(match (asked, quoted) {
        ("en", "de") => "This text is only available in German; the answer quotes the German text.",
        ("fr", "de") => "Ce texte n'existe qu'en allemand ; la réponse cite le texte allemand.",
        ("ar", "de") => "هذا النص متوفر باللغة الألمانية فقط؛ الإجابة تقتبس النص الألماني.",
        ("uk", "de") => "Цей текст доступний лише німецькою мовою; відповідь цитує німецький текст.",
        ("en", _) => "This text is not available in English; the answer quotes it in its own language.",
        ("fr", _) => "Ce texte n'existe pas en français ; la réponse le cite dans sa langue.",
        ("ar", _) => "هذا النص غير متوفر باللغة العربية؛ الإجابة تقتبسه بلغته الأصلية.",
        ("uk", _) => "Цей текст недоступний українською мовою; відповідь цитує його мовою оригіналу.",
        _ => "Diesen Text gibt es nicht in Ihrer Sprache; die Antwort zitiert ihn in seiner Sprache.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_in_the_askers_languages_are_recognised() {
        assert_eq!(detect("Where can I find grocery stores with halal food?"), Some("en"));
        assert_eq!(detect("Où puis-je trouver des magasins d'alimentation halal ?"), Some("fr"));
        assert_eq!(detect("أين يمكنني العثور على متاجر البقالة التي تبيع الطعام الحلال؟"), Some("ar"));
        assert_eq!(detect("Де я можу знайти продуктові магазини з халяльною їжею?"), Some("uk"));
        assert_eq!(detect("Wo finde ich Lebensmittelgeschäfte mit Halal-Essen?"), Some("de"));
        assert_eq!(detect("?"), None);
    }

    /// On the dataset's own translations of the dev questions: nearly all recognised, few
    /// taken for another language (unrecognised ones are asked in German, or as the request
    /// says).
    #[test]
    fn the_dev_questions_languages_are_recognised() {
        for language in ["de", "en", "fr", "ar"] {
            let path = format!("{}/../../../shared/fixtures/qa/questions-dev-{language}.jsonl", env!("CARGO_MANIFEST_DIR"));
            let questions: Vec<crate::eval::Question> = crate::eval::read_jsonl(&std::fs::read_to_string(path).unwrap()).unwrap();
            let right = questions.iter().filter(|q| detect(&q.question) == Some(language)).count() as f64 / questions.len() as f64;
            let wrong = questions.iter().filter(|q| detect(&q.question).is_some_and(|d| d != language)).count() as f64 / questions.len() as f64;
            assert!(right >= 0.9 && wrong <= 0.03, "{language}: {right:.3} recognised, {wrong:.3} taken for another language");
        }
    }

    #[test]
    fn codes_are_two_lower_case_letters() {
        assert!(check_code("de").is_ok());
        for bad in ["", "DE", "deu", "d1", "ä"] {
            assert!(check_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_language_has_its_own_stems() {
        let mut en = Analysis::English.stemming();
        assert_eq!(crate::analysis::terms(&mut en, "The registrations of the children"), ["registr", "children"]);
        let mut fr = Analysis::French.stemming();
        assert_eq!(crate::analysis::terms(&mut fr, "les inscriptions des enfants"), ["inscript", "enfant"]);
        let mut words = Analysis::Words.stemming();
        assert_eq!(crate::analysis::terms(&mut words, "Реєстрація дітей"), ["реєстрація", "дітей"]);
    }
}
