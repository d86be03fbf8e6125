//! The assistant's learned-model inputs from outside: a parameter file (an authority's own,
//! `assistant/answer-lines.json`) and labelled questions (`amtsweg assist train`). Whatever the
//! bytes, reading either never panics; a parameter file that reads is applied to a page and
//! chooses only lines that exist, with and without the embeddings' features, in one language
//! and across languages.
#![no_main]
use amtsweg_assist::eval::{Question, read_numbered};
use amtsweg_assist::lines::{AnswerModel, line_features};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = read_numbered::<Question>(text);
    let Ok(model) = AnswerModel::from_json(text) else { return };
    let lines = ["Sprechzeiten", "Montag bis Freitag 8:00 bis 12:00 Uhr", "", "Telefon 0341 123456"];
    let terms: Vec<Vec<String>> = vec![vec!["sprechzeit".into()], vec!["montag".into(), "freitag".into()], vec![], vec!["telefon".into()]];
    let weights: HashMap<String, f64> = [("sprechzeit".to_owned(), 2.0), ("telefon".to_owned(), 1.0)].into();
    let page = line_features(&weights, &lines, &terms, "Wann sind die Sprechzeiten?");
    assert!(model.choose(&page, "de", "de").iter().all(|&i| i < lines.len()), "only lines that exist");
    // With embeddings (the second set, and the third across languages, when the file has them).
    let page = page.with_similarities(&[0.81, 0.86, 0.7, 0.79]);
    for language in ["de", "en", "ar"] {
        assert!(model.choose(&page, language, "de").iter().all(|&i| i < lines.len()), "only lines that exist, with embeddings");
    }
});
