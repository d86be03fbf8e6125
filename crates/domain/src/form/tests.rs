use super::*;
use time::Date;
use serde_json::json;
    use time::macros::date;

    fn model() -> FormModel {
        FormModel {
            rules: Vec::new(),
            groups: vec![section("g", "Fahrzeug", vec![
                    field("plate", "Kennzeichen", DataType::Text).required().constraints(Constraints {
                        pattern: Some(r"\p{Lu}{1,3}-\p{Lu}{1,2} [1-9][0-9]{0,3}[EH]?".into()),
                        pattern_message: Some("Bitte geben Sie das Kennzeichen wie L-AB 123 ein.".into()),
                        max_length: Some(12),
                        ..Default::default()
                    }),
                    field("start", "Beginn", DataType::Date).required().constraints(Constraints {
                        min_date_offset_days: Some(0),
                        ..Default::default()
                    }),
                    field("kind", "Halter", DataType::Select).required().options(&[("self", "Ich selbst")]),
                    field("count", "Anzahl", DataType::Integer).constraints(Constraints {
                        min_value: Some(1.0),
                        max_value: Some(3.0),
                        ..Default::default()
                    }),
                    field("ok", "Richtigkeit", DataType::Bool).required().confirmation(),
                ])],
        }
    }

    const TODAY: Date = date!(2026 - 11 - 22);

    #[test]
    fn valid_data_is_normalised() {
        let data = serde_json::from_value(json!({
            "plate": " L-AB 123 ", "start": "2026-12-01", "kind": "self", "count": 2, "ok": true
        }))
        .unwrap();
        let clean = model().validate(&data, TODAY).unwrap();
        assert_eq!(clean["plate"], "L-AB 123");
    }

    #[test]
    fn every_problem_is_reported_in_form_order() {
        let data = serde_json::from_value(json!({
            "plate": "xyz", "start": "2026-01-01", "kind": "other", "count": 7, "extra": 1
        }))
        .unwrap();
        let errors = model().validate(&data, TODAY).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["plate", "start", "kind", "count", "ok", "extra"]);
        assert!(errors[0].message.contains("L-AB 123"));
        assert!(errors[1].message.contains("22.11.2026"));
        assert!(errors[3].message.contains("höchstens 3"));
    }

    #[test]
    fn wrong_json_types_are_field_errors() {
        let data = serde_json::from_value(json!({
            "plate": 5, "start": true, "kind": ["self"], "count": "zwei", "ok": "ja"
        }))
        .unwrap();
        let errors = model().validate(&data, TODAY).unwrap_err();
        assert_eq!(errors.len(), 5);
    }

    #[test]
    fn html_input_accepts_german_dates_and_numbers() {
        let input: Vec<(String, String)> = [
            ("plate", "L-AB 123"),
            ("start", "1.12.2026"),
            ("kind", "self"),
            ("count", "2"),
            ("ok", "true"),
        ]
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
        let clean = model().validate_form_input(&input, TODAY).unwrap();
        assert_eq!(clean["start"], "2026-12-01");
        assert_eq!(clean["count"], 2);
    }

    #[test]
    fn html_input_reports_unreadable_dates() {
        let input = vec![("start".to_string(), "morgen".to_string())];
        let errors = model().validate_form_input(&input, TODAY).unwrap_err();
        let start = errors.iter().find(|e| e.field == "start").unwrap();
        assert!(start.message.contains("TT.MM.JJJJ"));
        assert_eq!(errors[0].field, "plate");
    }

    #[test]
    fn json_schema_lists_required_fields_and_patterns() {
        let schema = model().json_schema();
        assert_eq!(schema["required"], json!(["plate", "start", "kind", "ok"]));
        assert_eq!(schema["properties"]["start"]["format"], "date");
        assert!(schema["properties"]["plate"]["pattern"].as_str().unwrap().starts_with("^(?:"));
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn german_number_format() {
        assert_eq!(format_number_german(1234.5), "1.234,5");
        assert_eq!(format_number_german(30.0), "30");
        assert_eq!(format_number_german(1234567.0), "1.234.567");
    }
