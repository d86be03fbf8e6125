//! Removes identifiers from a citizen's question before it is logged, searched or sent to a
//! model: tax identification numbers (IdNr), IBANs, e-mail addresses, phone numbers and dates
//! (a date of birth cannot be told from another date). Each is replaced by a placeholder that
//! says what was there.

use regex::Regex;
use std::sync::LazyLock;

struct Rule {
    pattern: Regex,
    placeholder: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |pattern: &str, placeholder| Rule { pattern: Regex::new(pattern).expect("identifier pattern compiles"), placeholder };
    vec![
        // E-mail first: its digits must not be taken for a phone number.
        rule(r"(?i)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}", "[E-Mail]"),
        // IBAN: two letters, two check digits, 11 to 30 letters or digits, in groups or not.
        rule(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b", "[IBAN]"),
        rule(r"(?i)\b[a-z]{2}\d{2}(?:[ ]?\d){11,30}\b", "[IBAN]"),
        // Dates: 01.02.1990, 1.2.90, 1990-02-01, 1. Februar 1990, 01/02/1990.
        rule(r"\b\d{1,2}\.\s?\d{1,2}\.\s?(?:\d{4}|\d{2})\b", "[Datum]"),
        rule(r"\b\d{4}-\d{2}-\d{2}\b", "[Datum]"),
        rule(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", "[Datum]"),
        rule(
            r"(?i)\b\d{1,2}\.?\s*(?:januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|jan|feb|mär|apr|jun|jul|aug|sep|sept|okt|nov|dez)\.?\s+\d{4}\b",
            "[Datum]",
        ),
        // IdNr: eleven digits, also in groups (12 345 678 901).
        rule(r"\b\d{2}[ ]?\d{3}[ ]?\d{3}[ ]?\d{3}\b", "[IdNr]"),
        // Phone numbers: +49 or 0 followed by at least six more digits, with the usual separators.
        rule(r"(?:\+|\b00)\d{1,3}[\s/\-]?(?:\(0\)[\s]?)?\d{2,5}(?:[\s/\-]?\d{2,}){1,4}", "[Telefon]"),
        rule(r"\b0\d{2,5}[\s/\-]\d{3,}(?:[\s\-]\d{2,})*\b", "[Telefon]"),
        rule(r"\b0\d{8,12}\b", "[Telefon]"),
        // Anything left with nine or more digits in a row is an identifier of some kind.
        rule(r"\b\d{9,}\b", "[Nummer]"),
    ]
});

/// The question with every identifier replaced by a placeholder.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for rule in RULES.iter() {
        if rule.pattern.is_match(&out) {
            out = rule.pattern.replace_all(&out, rule.placeholder).into_owned();
        }
    }
    out
}

/// The redacted question without its placeholders: what the search looks for (a placeholder
/// is not a word of any text).
pub fn search_text(redacted: &str) -> String {
    static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[(?:E-Mail|IBAN|Datum|IdNr|Telefon|Nummer)\]").expect("placeholder pattern compiles"));
    PLACEHOLDER.replace_all(redacted, " ").into_owned()
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn identifiers_are_removed() {
        let cases = [
            ("Meine IdNr ist 12345678901, stimmt das?", "12345678901"),
            ("IdNr 12 345 678 901", "12 345 678 901"),
            ("Überweisung an DE89 3704 0044 0532 0130 00 möglich?", "3704 0044"),
            ("IBAN DE89370400440532013000", "DE89370400440532013000"),
            ("Schreiben Sie an max.mustermann@example.org bitte", "mustermann@example.org"),
            ("Rufen Sie mich an: 0341 123456", "123456"),
            ("Handy +49 170 1234567", "1234567"),
            ("Tel. 0341/9876543", "9876543"),
            ("geboren am 03.04.1987 in Leipzig", "1987"),
            ("geboren am 3. April 1987", "1987"),
            ("Geburtsdatum 1987-04-03", "1987-04-03"),
        ];
        for (question, secret) in cases {
            let redacted = redact(question);
            assert!(!redacted.contains(secret), "{question:?} → {redacted:?}");
            assert!(redacted.contains('['), "{question:?} → {redacted:?}");
        }
    }

    #[test]
    fn ordinary_questions_stay_as_they_are() {
        for question in ["Wie viel kostet der Bewohnerparkausweis im Jahr 2025?", "Wo melde ich meinen Hund an? Ich wohne in 04109 Leipzig."] {
            assert_eq!(redact(question), question);
        }
    }
}
