//! Form data from outside (JSON through the API) against a form with every data type.
#![no_main]
use amtsweg_domain::form::{Constraints, DataType, field, section};
use amtsweg_domain::FormModel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Some(object) = value.as_object() else { return };
    let form = FormModel {
        rules: Vec::new(),
        groups: vec![section("g", "G", vec![
            field("t", "T", DataType::Text).required().constraints(Constraints { pattern: Some(r"\p{L}+".into()), max_length: Some(20), ..Default::default() }),
            field("d", "D", DataType::Date),
            field("h", "H", DataType::Time),
            field("dt", "DT", DataType::DateTime),
            field("n", "N", DataType::Number),
            field("c", "C", DataType::Currency),
            field("b", "B", DataType::Bool),
            field("f", "F", DataType::File),
            field("r", "R", DataType::Text).repeat(2, Some(5)),
        ])],
    };
    let _ = form.validate(object, time::Date::from_calendar_date(2026, time::Month::November, 22).unwrap());
});
