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

mod nested {
    use super::super::*;
    use serde_json::json;
    use time::macros::date;

    fn group(id: &str, min: u32, max: Option<u32>, items: Vec<Item>, rules: Vec<Rule>) -> Group {
        Group { id: id.into(), title: id.into(), hint: None, legal_basis: None, nested: true, min, max, items, rules }
    }

    fn model() -> FormModel {
        let rules: Vec<Rule> = serde_json::from_value(json!([
            {"id": "R1", "when": {"is_true": "F1"}, "show": ["F2"], "require": ["F2"]},
            {"id": "R2", "check": {"assert": {"distinct": "F3"}, "field": "F3", "message": "Jeden Wert nur einmal."}},
            {"id": "R3", "when": {"days_ahead": {"field": "F4", "less_than": 7}}, "require": ["F5"]},
            {"id": "R4", "when": {"count_true": {"field": "G2", "equals": 2}}, "require": ["F6"]}
        ]))
        .unwrap();
        FormModel {
            rules: Vec::new(),
            groups: vec![group(
                "G1",
                1,
                Some(1),
                vec![
                    Item::Field(field("F1", "Frage", DataType::Bool).required()),
                    Item::Field(field("F2", "Begründung", DataType::Text)),
                    Item::Field(field("F3", "Werte", DataType::Text).repeat(1, Some(3))),
                    Item::Field(field("F4", "Beginn", DataType::Date)),
                    Item::Field(field("F5", "Fristverkürzung", DataType::Bool)),
                    Item::Field(field("F6", "Weiteres", DataType::Text)),
                    Item::Group(group("G2", 0, None, vec![Item::Field(field("F7", "Ja?", DataType::Bool)), Item::Field(field("F8", "Name", DataType::Text).required())], Vec::new())),
                ],
                rules,
            )],
        }
    }

    const TODAY: time::Date = date!(2026 - 11 - 22);

    fn fields(r: Result<FormData, Vec<FieldError>>) -> Vec<String> {
        r.err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn rules_show_require_and_check_in_their_group() {
        let m = model();
        let data = |v: serde_json::Value| v.as_object().unwrap().clone();
        // F1 yes: F2 required.
        assert_eq!(fields(m.validate(&data(json!({"G1": {"F1": true, "F3": ["a"]}})), TODAY)), ["G1.F2"]);
        // F1 no: F2 is dropped even when given.
        let clean = m.validate(&data(json!({"G1": {"F1": false, "F2": "weg", "F3": ["a"]}})), TODAY).unwrap();
        assert!(clean["G1"].get("F2").is_none());
        // A value twice, and a list too long.
        assert_eq!(fields(m.validate(&data(json!({"G1": {"F1": false, "F3": ["a", "a"]}})), TODAY)), ["G1.F3"]);
        assert_eq!(fields(m.validate(&data(json!({"G1": {"F1": false, "F3": ["a", "b", "c", "d"]}})), TODAY)), ["G1.F3"]);
        // A beginning within 7 days needs F5; later it does not.
        assert_eq!(fields(m.validate(&data(json!({"G1": {"F1": false, "F3": ["a"], "F4": "2026-11-25"}})), TODAY)), ["G1.F5"]);
        assert!(m.validate(&data(json!({"G1": {"F1": false, "F3": ["a"], "F4": "2026-12-25"}})), TODAY).is_ok());
    }

    #[test]
    fn repeating_groups_are_lists_checked_per_entry() {
        let m = model();
        let data = json!({"G1": {"F1": false, "F3": ["a"], "G2": [{"F7": true, "F8": "x"}, {"F7": true}, {}]}});
        // The empty entry counts as absent; the second lacks its name; two yes make F6 required.
        assert_eq!(fields(m.validate(data.as_object().unwrap(), TODAY)), ["G1.F6", "G1.G2.1.F8"]);
        let wrong = json!({"G1": {"F1": false, "F3": ["a"], "G2": "nein"}});
        assert_eq!(fields(m.validate(wrong.as_object().unwrap(), TODAY)), ["G1.G2"]);
    }

    #[test]
    fn html_input_with_paths_becomes_nested_data() {
        let m = model();
        let input: Vec<(String, String)> = [
            ("G1.F1", "true"),
            ("G1.F2", "weil"),
            ("G1.F3.0", "a"),
            ("G1.F3.2", "b"),
            ("G1.G2.0._", ""),
            ("G1.G2.0.F8", "Erster"),
            ("G1.G2.3._", ""),
            ("G1.G2.3.F8", "Zweiter"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let clean = m.validate_form_input(&input, TODAY).unwrap();
        assert_eq!(clean["G1"]["F3"], json!(["a", "b"]));
        assert_eq!(clean["G1"]["G2"], json!([{"F8": "Erster"}, {"F8": "Zweiter"}]));
    }

    #[test]
    fn the_json_schema_nests_like_the_data() {
        let schema = model().json_schema();
        let g1 = &schema["properties"]["G1"];
        assert_eq!(g1["type"], "object");
        assert_eq!(g1["properties"]["F3"]["type"], "array");
        assert_eq!(g1["properties"]["F3"]["maxItems"], 3);
        assert_eq!(g1["properties"]["G2"]["items"]["required"], json!(["F8"]));
        assert_eq!(schema["required"], json!(["G1"]));
    }
}
