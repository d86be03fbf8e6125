//! Property tests for the parsers of outside input: identifiers and form values never panic,
//! and what they accept is what the rules say.

use amtsweg_domain::form::{Constraints, DataType, field, parse_date, section};
use amtsweg_domain::{FormModel, IdNr, RegionKey};
use proptest::prelude::*;
use time::macros::date;

proptest! {
    #[test]
    fn region_key_parse_never_panics_and_accepts_only_twelve_digits(s in "\\PC{0,20}") {
        if let Ok(k) = RegionKey::parse(&s) {
            prop_assert_eq!(k.as_str().len(), 12);
            prop_assert!(k.contains(&k));
            prop_assert!(k.significant_len() >= 2 && k.significant_len() <= 12);
        }
    }

    #[test]
    fn every_ten_digit_body_with_a_valid_pattern_has_exactly_one_check_digit(body in proptest::collection::vec(0u8..10, 10)) {
        let accepted: Vec<u8> = (0..10u8)
            .filter(|c| {
                let text: String = body.iter().chain(std::iter::once(c)).map(|d| char::from(b'0' + d)).collect();
                IdNr::parse(&text).is_ok()
            })
            .collect();
        prop_assert!(accepted.len() <= 1);
        if let Some(c) = accepted.first() {
            prop_assert_eq!(*c, IdNr::check_digit(&body));
        }
    }

    #[test]
    fn idnr_parse_never_panics(s in "\\PC{0,24}") {
        let _ = IdNr::parse(&s);
    }

    #[test]
    fn a_single_changed_digit_breaks_a_valid_idnr(pos in 0usize..11, delta in 1u8..10) {
        let valid = "86095742719";
        let mut digits: Vec<u8> = valid.bytes().map(|b| b - b'0').collect();
        digits[pos] = (digits[pos] + delta) % 10;
        let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        prop_assert!(IdNr::parse(&text).is_err());
    }

    #[test]
    fn date_parsing_never_panics_and_round_trips(s in "\\PC{0,16}", y in 1900i32..2100, m in 1u8..13, d in 1u8..29) {
        let _ = parse_date(&s);
        let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
        prop_assert_eq!(parse_date(&format!("{d}.{m}.{y}")), Some(date));
        prop_assert_eq!(parse_date(&date.to_string()), Some(date));
    }

    #[test]
    fn form_validation_never_panics_on_any_input(values in proptest::collection::vec(("[a-z]{1,6}", "\\PC{0,40}"), 0..8)) {
        let form = FormModel { rules: Vec::new(), groups: vec![section("g", "G", vec![
            field("a", "A", DataType::Text).required().constraints(Constraints { pattern: Some(r"\p{L}+".into()), max_length: Some(10), ..Default::default() }),
            field("b", "B", DataType::Date),
            field("c", "C", DataType::Integer).constraints(Constraints { min_value: Some(0.0), ..Default::default() }),
            field("d", "D", DataType::Number),
            field("e", "E", DataType::Bool),
            field("f", "F", DataType::Select).options(&[("x", "X")]),
        ])]};
        let input: Vec<(String, String)> = values.clone();
        match form.validate_form_input(&input, date!(2026 - 11 - 22)) {
            Ok(clean) => prop_assert!(clean.keys().all(|k| form.field_at(k).is_some())),
            Err(errors) => prop_assert!(errors.iter().all(|e| !e.message.is_empty())),
        }
        let json: serde_json::Map<String, serde_json::Value> = values.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        let _ = form.validate(&json, date!(2026 - 11 - 22));
    }
}
