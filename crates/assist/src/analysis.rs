//! German text analysis for the knowledge base: words (letters and digits; hyphens split),
//! lower case, German stop words removed, compounds split into their parts, Snowball German stem.
//!
//! Compound splitting is written here because tantivy's `SplitCompoundWords` replaces the word
//! by its parts, splits greedily and knows no linking elements ("Aufenthalt·s·titel",
//! "Hund·e·steuer"). Ours keeps the whole word and adds the parts, chooses among all
//! decompositions the one with the fewest parts and the most frequent words, and allows the
//! usual linking elements. The dictionary is the vocabulary of the knowledge base itself plus a
//! short list of common words of administration, so that it learns the words of each authority.

use std::collections::HashMap;
use std::sync::Arc;
use tantivy::tokenizer::{Language, LowerCaser, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer};

/// Words every German administration uses, so that compounds of them split even when the
/// knowledge base does not contain them on their own.
const BASE_WORDS: &[&str] = &[
    "abfall", "abgabe", "adresse", "amt", "angabe", "anmeldung", "antrag", "anwohner", "arbeit", "art", "arzt", "aufenthalt",
    "ausbildung", "ausweis", "auto", "bau", "beihilfe", "beitrag", "bescheid", "bescheinigung", "besuch", "betreuung", "betrieb",
    "bewohner", "bildung", "brief", "buch", "bund", "bürger", "dienst", "eltern", "energie", "erlaubnis", "fahr", "fahrzeug",
    "familie", "frist", "führung", "gebühr", "geburt", "geld", "gemeinde", "gesetz", "gesundheit", "gewerbe", "grund",
    "gruppe", "haus", "halter", "heim", "hilfe", "hund", "jahr", "jugend", "kammer", "karte", "kind", "kita", "kosten",
    "kranken", "kurs", "land", "leben", "leistung", "lohn", "markt", "meldung", "miete", "nachweis", "name", "ordnung",
    "park", "pass", "pauschale", "pflege", "platz", "politik", "preis", "prüfung", "rat", "recht", "register", "reise",
    "rente", "schein", "schule", "schutz", "senioren", "sozial", "sprache", "staat", "stadt", "stelle", "steuer", "straße",
    "student", "studium", "tag", "teil", "titel", "unterhalt", "unterkunft", "unterricht", "urkunde", "verein", "verkehr",
    "versicherung", "vertrag", "wagen", "wahl", "wohn", "wohnung", "zeit", "zentrum", "zulassung", "zuschuss",
];

/// Linking elements that may end a part before the next one.
const LINKS: &[&str] = &["", "s", "es", "n", "en", "e", "er"];

/// Shortest part that counts (the last part may be one shorter: "Standes·amt").
const MIN_PART: usize = 4;
/// Words shorter than this are never split.
const MIN_COMPOUND: usize = 7;
const MAX_PARTS: usize = 4;

/// How often each word (lower case, no stop words) occurs in the knowledge base.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Vocabulary {
    counts: HashMap<String, u32>,
}

impl Vocabulary {
    /// The vocabulary of these texts, plus the base words.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut words = words_analyzer();
        for text in texts {
            let mut stream = words.token_stream(text);
            while let Some(token) = stream.next() {
                if token.text.chars().count() >= MIN_PART - 1 && token.text.chars().all(char::is_alphabetic) {
                    *counts.entry(token.text.clone()).or_default() += 1;
                }
            }
        }
        for word in BASE_WORDS {
            *counts.entry((*word).to_owned()).or_default() += 1;
        }
        Self { counts }
    }

    fn count(&self, word: &str) -> Option<u32> {
        self.counts.get(word).copied()
    }

    /// The parts of a compound, or nothing when the word does not split.
    pub fn split(&self, word: &str) -> Vec<String> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() < MIN_COMPOUND || !chars.iter().all(|(_, c)| c.is_alphabetic()) {
            return Vec::new();
        }
        // Byte offsets of every char boundary.
        let bounds: Vec<usize> = chars.iter().map(|(i, _)| *i).chain(std::iter::once(word.len())).collect();
        let mut best: Option<(usize, f64, Vec<String>)> = None;
        let mut parts = Vec::new();
        self.search(word, &bounds, 0, &mut parts, &mut best);
        best.map(|(_, _, parts)| parts).unwrap_or_default()
    }

    /// Depth-first over the decompositions from char index `start`; keeps the one with the
    /// fewest parts, then the highest geometric mean of the part counts.
    fn search(&self, word: &str, bounds: &[usize], start: usize, parts: &mut Vec<(String, u32)>, best: &mut Option<(usize, f64, Vec<String>)>) {
        let n = bounds.len() - 1;
        if parts.len() >= MAX_PARTS {
            return;
        }
        for end in (start + 1)..=n {
            let len = end - start;
            let last = end == n;
            if len < MIN_PART - usize::from(last) {
                continue;
            }
            let candidate = &word[bounds[start]..bounds[end]];
            let Some(count) = self.count(candidate) else { continue };
            if last {
                if parts.is_empty() {
                    return; // the whole word: not a compound
                }
                parts.push((candidate.to_owned(), count));
                let score = parts.iter().map(|(_, c)| f64::from(*c).ln()).sum::<f64>() / parts.len() as f64;
                let better = match best {
                    None => true,
                    Some((k, s, _)) => parts.len() < *k || (parts.len() == *k && score > *s),
                };
                if better {
                    *best = Some((parts.len(), score, parts.iter().map(|(w, _)| w.clone()).collect()));
                }
                parts.pop();
                continue;
            }
            for link in LINKS {
                let after = end + link.chars().count();
                if after >= n || !word[bounds[end]..].starts_with(link) {
                    continue;
                }
                parts.push((candidate.to_owned(), count));
                self.search(word, bounds, after, parts, best);
                parts.pop();
            }
        }
    }
}

/// Words, lower case, without stop words: what the vocabulary counts.
fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::German).expect("German stop words are built in"))
        .build()
}

/// The analyzer of the index and of questions: words, lower case, no stop words, compounds with
/// their parts, German stems.
pub fn german(vocabulary: Arc<Vocabulary>) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::German).expect("German stop words are built in"))
        .filter(CompoundFilter { vocabulary })
        .filter(Stemmer::new(Language::German))
        .build()
}

/// The terms of a text as the index sees them.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

#[derive(Clone)]
struct CompoundFilter {
    vocabulary: Arc<Vocabulary>,
}

impl TokenFilter for CompoundFilter {
    type Tokenizer<T: Tokenizer> = CompoundTokenizer<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> CompoundTokenizer<T> {
        CompoundTokenizer { vocabulary: self.vocabulary, inner }
    }
}

#[derive(Clone)]
struct CompoundTokenizer<T> {
    vocabulary: Arc<Vocabulary>,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for CompoundTokenizer<T> {
    type TokenStream<'a> = CompoundStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CompoundStream { vocabulary: &self.vocabulary, tail: self.inner.token_stream(text), parts: Vec::new(), current: None }
    }
}

struct CompoundStream<'a, T> {
    vocabulary: &'a Vocabulary,
    tail: T,
    /// Parts still to emit, in reverse order.
    parts: Vec<Token>,
    current: Option<Token>,
}

impl<T: TokenStream> TokenStream for CompoundStream<'_, T> {
    fn advance(&mut self) -> bool {
        if let Some(part) = self.parts.pop() {
            self.current = Some(part);
            return true;
        }
        self.current = None;
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token();
        for part in self.vocabulary.split(&token.text).into_iter().rev() {
            self.parts.push(Token { text: part, ..token.clone() });
        }
        true
    }

    fn token(&self) -> &Token {
        self.current.as_ref().unwrap_or_else(|| self.tail.token())
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.current.as_mut() {
            Some(token) => token,
            None => self.tail.token_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Arc<Vocabulary> {
        Arc::new(Vocabulary::from_texts(["Der Hund bellt. Die Steuer ist fällig. Der Aufenthalt und der Titel."]))
    }

    #[test]
    fn splits_compounds_with_and_without_linking_elements() {
        let v = vocabulary();
        assert_eq!(v.split("bewohnerparkausweis"), ["bewohner", "park", "ausweis"]);
        assert_eq!(v.split("hundesteuer"), ["hund", "steuer"]);
        assert_eq!(v.split("aufenthaltstitel"), ["aufenthalt", "titel"]);
        assert!(v.split("steuer").is_empty(), "a word on its own does not split");
        assert!(v.split("verantwortung").is_empty(), "no parts known");
    }

    #[test]
    fn the_analyzer_keeps_the_word_and_adds_stemmed_parts() {
        let mut analyzer = german(vocabulary());
        let t = terms(&mut analyzer, "Wo beantrage ich die Hundesteuer?");
        assert!(t.contains(&"hundesteu".to_owned()) || t.iter().any(|x| x.starts_with("hundesteu")), "{t:?}");
        assert!(t.contains(&"hund".to_owned()), "{t:?}");
        assert!(t.iter().any(|x| x.starts_with("steu")), "{t:?}");
        assert!(!t.contains(&"die".to_owned()) && !t.contains(&"ich".to_owned()), "stop words removed: {t:?}");
    }
}
