//! A form's answers in reading order, page by page, with their labels: what the citizen checks
//! before submitting, what the case file and a memo draft show.

use super::{FieldKind, FormData, FormModel, Group, Item, join, lookup};
use serde_json::Value;

/// One answer on a review or case page.
pub struct AnswerView {
    /// Where to change it (the field path).
    pub id: String,
    pub label: String,
    pub value: String,
}

/// The answers of one page.
pub struct PageAnswers {
    pub number: usize,
    pub title: String,
    pub answers: Vec<AnswerView>,
}

fn answer_items(items: &[Item], prefix: &str, trail: &str, data: &FormData, out: &mut Vec<AnswerView>) {
    for item in items {
        match item {
            Item::Field(f) if !f.has_value() || f.kind == FieldKind::Hidden => {}
            Item::Field(f) => {
                let path = join(prefix, &f.id);
                let value = lookup(data, &path).map(|v| f.display_value(v)).filter(|s| !s.is_empty());
                out.push(AnswerView { id: path, label: format!("{trail}{}", f.label), value: value.unwrap_or_else(|| "keine Angabe".into()) });
            }
            Item::Group(g) if !g.nested => answer_items(&g.items, prefix, trail, data, out),
            Item::Group(g) => answer_group(g, prefix, trail, data, out),
        }
    }
}

fn answer_group(g: &Group, prefix: &str, trail: &str, data: &FormData, out: &mut Vec<AnswerView>) {
    let path = join(prefix, &g.id);
    match lookup(data, &path) {
        Some(Value::Array(a)) => {
            for i in 0..a.len() {
                let t = format!("{trail}{} {} › ", g.title, i + 1);
                answer_items(&g.items, &join(&path, &i.to_string()), &t, data, out);
            }
        }
        Some(Value::Object(_)) => answer_items(&g.items, &path, &format!("{trail}{} › ", g.title), data, out),
        _ => {}
    }
}

/// The answers, page by page, for the review page and the case file.
pub fn answers(form: &FormModel, data: &FormData) -> Vec<PageAnswers> {
    form.pages()
        .iter()
        .map(|p| {
            let mut answers = Vec::new();
            for g in &p.groups {
                if g.nested {
                    answer_group(g, "", "", data, &mut answers);
                } else {
                    answer_items(&g.items, "", "", data, &mut answers);
                }
            }
            PageAnswers { number: p.number, title: p.title.to_owned(), answers }
        })
        .collect()
}
