//! One value of one field: reading it from an HTML form, checking it against the field's type and
//! constraints, and showing it to people (dates `TT.MM.JJJJ`, numbers `1.234,5`, yes/no).

use super::{DataType, Field, FieldKind};
use serde_json::{Value, json};
use time::{Date, format_description::BorrowedFormatItem, macros::format_description};

const GERMAN_DATE: &[BorrowedFormatItem<'static>] = format_description!("[day].[month].[year]");
const ISO_DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Parses `TT.MM.JJJJ` (also with one-digit day or month) or `JJJJ-MM-TT`.
pub fn parse_date(input: &str) -> Option<Date> {
    let input = input.trim();
    if let Ok(d) = Date::parse(input, ISO_DATE) {
        return Some(d);
    }
    let parts: Vec<&str> = input.split('.').collect();
    if parts.len() == 3 && parts[2].len() == 4 && parts[0].len() <= 2 && parts[1].len() <= 2 {
        let padded = format!("{:0>2}.{:0>2}.{}", parts[0], parts[1], parts[2]);
        return Date::parse(&padded, GERMAN_DATE).ok();
    }
    None
}

pub fn format_date_german(date: Date) -> String {
    date.format(GERMAN_DATE).unwrap_or_default()
}

/// `HH:MM` or `HH:MM:SS`, normalised to `HH:MM` (with seconds when given).
fn parse_time(input: &str) -> Option<String> {
    let parts: Vec<&str> = input.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(99)).collect();
    if n[0] > 23 || n[1] > 59 || n.get(2).is_some_and(|s| *s > 59) {
        return None;
    }
    Some(match n.get(2) {
        Some(s) => format!("{:02}:{:02}:{:02}", n[0], n[1], s),
        None => format!("{:02}:{:02}", n[0], n[1]),
    })
}

/// `JJJJ-MM-TTTHH:MM` or `TT.MM.JJJJ HH:MM`, normalised to ISO.
fn parse_datetime(input: &str) -> Option<String> {
    let input = input.trim();
    let (d, t) = input.split_once('T').or_else(|| input.split_once(' '))?;
    let date = parse_date(d)?;
    let time = parse_time(t.trim_end_matches('Z'))?;
    Some(format!("{date}T{time}"))
}

/// Formats a number the German way: `1.234,5`.
pub fn format_number_german(value: f64) -> String {
    let negative = value < 0.0;
    let text = format!("{:.2}", value.abs());
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let frac = frac.trim_end_matches('0');
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped},{frac}") }
}

fn format_currency(value: f64) -> String {
    let mut s = format_number_german(value);
    match s.split_once(',') {
        None => s.push_str(",00"),
        Some((_, frac)) if frac.len() == 1 => s.push('0'),
        _ => {}
    }
    format!("{s} €")
}

/// Parses a German or plain number: `1.234,5`, `1234,5`, `1234.5`, with an optional `€`.
fn parse_number(input: &str) -> Option<f64> {
    let s: String = input.trim().trim_end_matches('€').chars().filter(|c| !c.is_whitespace()).collect();
    let normalised = if s.contains(',') { s.replace('.', "").replace(',', ".") } else { s };
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// XSD patterns are anchored and know `\i` and `\c`; FIM authors also write `^…$` as anchors.
pub(crate) fn xsd_to_regex(pattern: &str) -> String {
    let mut p = pattern.strip_prefix('^').unwrap_or(pattern).to_owned();
    if p.ends_with('$') && !p.ends_with("\\$") {
        p.pop();
    }
    p.replace("\\i", "[\\p{L}_:]").replace("\\c", "[\\p{L}\\p{N}._:-]")
}

/// DIN SPEC 91379: Latin letters with their diacritics, digits, spaces and common punctuation.
fn is_din_91379(s: &str) -> bool {
    static LATIN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    LATIN
        .get_or_init(|| regex::Regex::new(r"^[\p{Latin}\p{Common}\p{Inherited}]*$").expect("valid pattern"))
        .is_match(s)
}

impl Field {
    /// The value as a person reads it: dates as `TT.MM.JJJJ`, yes/no, the label of a choice.
    pub fn display_value(&self, value: &Value) -> String {
        match (self.data_type, value) {
            (_, Value::Array(items)) => items.iter().map(|v| self.display_value(v)).collect::<Vec<_>>().join("; "),
            (DataType::Bool, Value::Bool(b)) => if *b { "Ja" } else { "Nein" }.to_owned(),
            (DataType::Date, Value::String(s)) => parse_date(s).map(format_date_german).unwrap_or_else(|| s.clone()),
            (DataType::DateTime, Value::String(s)) => match s.split_once('T') {
                Some((d, t)) => format!("{}, {t} Uhr", parse_date(d).map(format_date_german).unwrap_or_else(|| d.to_owned())),
                None => s.clone(),
            },
            (DataType::Time, Value::String(s)) => format!("{s} Uhr"),
            (DataType::Select, Value::String(s)) => {
                self.options.iter().find(|c| &c.value == s).map(|c| c.label.clone()).unwrap_or_else(|| s.clone())
            }
            (DataType::Currency, Value::Number(n)) => n.as_f64().map(format_currency).unwrap_or_default(),
            (DataType::Integer | DataType::Number, Value::Number(n)) => n.as_f64().map(format_number_german).unwrap_or_default(),
            (DataType::File, Value::Object(o)) => o.get("name").and_then(Value::as_str).unwrap_or("Dokument").to_owned(),
            (_, Value::String(s)) => s.clone(),
            (_, Value::Null) => String::new(),
            (_, other) => other.to_string(),
        }
    }

    /// The value as an HTML input shows it again (the inverse of [`Field::parse_input`]).
    pub fn input_value(&self, value: &Value) -> String {
        match (self.data_type, value) {
            (DataType::Bool, Value::Bool(b)) => if *b { "true" } else { "" }.to_owned(),
            (DataType::Integer | DataType::Number | DataType::Currency, Value::Number(n)) => {
                n.as_f64().map(|v| v.to_string().replace('.', ",")).unwrap_or_default()
            }
            (DataType::DateTime, Value::String(s)) => match s.split_once('T') {
                Some((d, t)) => format!("{} {t}", parse_date(d).map(format_date_german).unwrap_or_else(|| d.to_owned())),
                None => s.clone(),
            },
            (DataType::Time, Value::String(s)) => s.clone(),
            _ => self.display_value(value),
        }
    }

    /// Converts what an HTML form sent for this field into its JSON value. `None` means empty.
    pub fn parse_input(&self, raw: &str) -> Result<Option<Value>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let label = &self.label;
        Ok(Some(match self.data_type {
            DataType::Bool => Value::Bool(matches!(raw, "true" | "on" | "ja" | "1")),
            DataType::Date => match parse_date(raw) {
                Some(d) => Value::String(d.to_string()),
                None => return Err(format!("Bitte geben Sie „{label}“ als Datum im Format TT.MM.JJJJ ein, zum Beispiel 01.03.2027.")),
            },
            DataType::Time => match parse_time(raw) {
                Some(t) => Value::String(t),
                None => return Err(format!("Bitte geben Sie „{label}“ als Uhrzeit im Format HH:MM ein, zum Beispiel 14:30.")),
            },
            DataType::DateTime => match parse_datetime(raw) {
                Some(t) => Value::String(t),
                None => {
                    return Err(format!("Bitte geben Sie „{label}“ als Datum und Uhrzeit ein, zum Beispiel 01.03.2027 14:30."));
                }
            },
            DataType::Integer => match parse_number(raw) {
                Some(v) if v.fract() == 0.0 => json!(v as i64),
                _ => return Err(format!("Bitte geben Sie bei „{label}“ eine ganze Zahl ein.")),
            },
            DataType::Number | DataType::Currency => match parse_number(raw) {
                Some(v) => json!(v),
                None => return Err(format!("Bitte geben Sie bei „{label}“ eine Zahl ein.")),
            },
            DataType::File => json!({ "name": raw }),
            DataType::Text | DataType::LongText | DataType::TextLatin | DataType::Select => Value::String(raw.to_owned()),
        }))
    }

    /// Checks one present value; returns it normalised.
    pub(crate) fn check(&self, value: &Value, today: Date) -> Result<Value, String> {
        let label = &self.label;
        let c = &self.constraints;
        match self.data_type {
            DataType::Bool => match value {
                Value::Bool(_) => Ok(value.clone()),
                _ => Err(format!("„{label}“ muss ja oder nein sein (true oder false).")),
            },
            DataType::Integer | DataType::Number | DataType::Currency => {
                let Some(v) = value.as_f64() else {
                    return Err(format!("Bitte geben Sie bei „{label}“ eine Zahl ein."));
                };
                if self.data_type == DataType::Integer && v.fract() != 0.0 {
                    return Err(format!("Bitte geben Sie bei „{label}“ eine ganze Zahl ein."));
                }
                if self.data_type == DataType::Currency && ((v * 100.0).round() - v * 100.0).abs() > 1e-6 {
                    return Err(format!("Bitte geben Sie bei „{label}“ einen Betrag mit höchstens zwei Nachkommastellen ein."));
                }
                if let Some(min) = c.min_value.filter(|m| v < *m) {
                    return Err(format!("„{label}“ muss mindestens {} sein.", format_number_german(min)));
                }
                if let Some(max) = c.max_value.filter(|m| v > *m) {
                    return Err(format!("„{label}“ darf höchstens {} sein.", format_number_german(max)));
                }
                Ok(value.clone())
            }
            DataType::Date => {
                let Some(date) = value.as_str().and_then(parse_date) else {
                    return Err(format!("Bitte geben Sie „{label}“ als Datum im Format TT.MM.JJJJ ein, zum Beispiel 01.03.2027."));
                };
                if let Some(offset) = c.min_date_offset_days {
                    let earliest = today.saturating_add(time::Duration::days(offset));
                    if date < earliest {
                        return Err(format!("„{label}“ darf nicht vor dem {} liegen.", format_date_german(earliest)));
                    }
                }
                Ok(Value::String(date.to_string()))
            }
            DataType::Time => match value.as_str().and_then(parse_time) {
                Some(t) => Ok(Value::String(t)),
                None => Err(format!("Bitte geben Sie „{label}“ als Uhrzeit im Format HH:MM ein, zum Beispiel 14:30.")),
            },
            DataType::DateTime => match value.as_str().and_then(parse_datetime) {
                Some(t) => Ok(Value::String(t)),
                None => Err(format!("Bitte geben Sie „{label}“ als Datum und Uhrzeit ein, zum Beispiel 2027-03-01T14:30.")),
            },
            DataType::Select if self.is_select() => {
                let Some(s) = value.as_str() else {
                    return Err(format!("Bitte wählen Sie bei „{label}“ eine der Möglichkeiten aus."));
                };
                if self.options.iter().any(|o| o.value == s) {
                    Ok(value.clone())
                } else {
                    Err(format!("Bitte wählen Sie bei „{label}“ eine der angebotenen Möglichkeiten aus."))
                }
            }
            DataType::File => {
                let Some(o) = value.as_object() else {
                    return Err(format!("„{label}“ muss ein Dokument sein ({{\"name\", \"media_type\", \"size\"}})."));
                };
                if !o.get("name").is_some_and(|n| n.as_str().is_some_and(|s| !s.trim().is_empty())) {
                    return Err(format!("Bei „{label}“ fehlt der Dateiname."));
                }
                if let (Some(max), Some(size)) = (c.max_size, o.get("size").and_then(Value::as_u64)) {
                    if size > max {
                        return Err(format!("Das Dokument bei „{label}“ ist zu groß (höchstens {} Bytes).", max));
                    }
                }
                if let (false, Some(t)) = (c.media_types.is_empty(), o.get("media_type").and_then(Value::as_str)) {
                    if !c.media_types.iter().any(|m| m == t) {
                        return Err(format!("Das Dokument bei „{label}“ hat ein nicht erlaubtes Format ({}).", c.media_types.join(", ")));
                    }
                }
                Ok(value.clone())
            }
            DataType::Text | DataType::LongText | DataType::TextLatin | DataType::Select => {
                let Some(s) = value.as_str() else {
                    return Err(format!("Bitte geben Sie bei „{label}“ einen Text ein."));
                };
                let s = s.trim();
                let len = s.chars().count();
                if let Some(min) = c.min_length.filter(|m| len < *m) {
                    return Err(format!("„{label}“ muss mindestens {min} Zeichen lang sein."));
                }
                if let Some(max) = c.max_length.filter(|m| len > *m) {
                    return Err(format!("„{label}“ darf höchstens {max} Zeichen lang sein."));
                }
                if self.data_type == DataType::TextLatin && !is_din_91379(s) {
                    return Err(format!("„{label}“ enthält Zeichen, die nicht zum lateinischen Zeichensatz (DIN SPEC 91379) gehören."));
                }
                if let Some(re) = self.pattern() {
                    if !re.is_match(s) {
                        return Err(c.pattern_message.clone().unwrap_or_else(|| format!("„{label}“ hat nicht die erwartete Form.")));
                    }
                }
                Ok(Value::String(s.to_owned()))
            }
        }
    }

    pub(crate) fn required_message(&self) -> String {
        let label = self.label.trim_end_matches('.');
        match (self.kind, self.data_type) {
            (_, DataType::Select) => format!("Bitte wählen Sie bei „{label}“ eine Möglichkeit aus."),
            (_, DataType::Bool) => format!("Bitte bestätigen Sie: „{label}“"),
            (_, DataType::Date | DataType::DateTime | DataType::Time) => format!("Bitte geben Sie „{label}“ an."),
            (_, DataType::File) => format!("Bitte fügen Sie „{label}“ bei."),
            (FieldKind::Label | FieldKind::Hidden | FieldKind::Locked, _) | (FieldKind::Input | FieldKind::Select, _) => {
                format!("Bitte füllen Sie das Feld „{label}“ aus.")
            }
        }
    }
}
