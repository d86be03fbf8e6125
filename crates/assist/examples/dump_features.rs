//! Writes the answer-line features of labelled questions on their German pages, one JSON object
//! a question (`split`, `page`, `answerable`, `gold`, `lines`, `question`), for comparing other
//! learners on exactly the features the shipped models see (`scripts/compare-answer-learners`).
//!
//! `cargo run --release -p amtsweg-assist --example dump_features -- QA_DIR OUT.jsonl`
use amtsweg_assist::eval::{Page, Question, read_jsonl};
use amtsweg_assist::kb::{Document, KnowledgeBase};
use amtsweg_assist::lines::{Pages, question_features};
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, qa, out] = args.as_slice() else {
        eprintln!("usage: dump_features QA_DIR OUT.jsonl");
        std::process::exit(2);
    };
    let read = |name: &str| std::fs::read_to_string(format!("{qa}/{name}")).unwrap_or_else(|e| panic!("{qa}/{name}: {e}"));
    let pages: Vec<Page> = read_jsonl(&read("pages-de.jsonl")).expect("pages");
    let kb = KnowledgeBase::in_memory(pages.into_iter().map(Document::from).collect()).expect("knowledge base");
    let mut features = Pages::new(&kb);
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).expect("output file"));
    for split in ["train", "dev"] {
        let questions: Vec<Question> = read_jsonl(&read(&format!("questions-{split}-de.jsonl"))).expect("questions");
        for question in questions {
            let Some(doc) = kb.position(&question.page) else { continue };
            let page = features.features(&question.question, doc);
            // The question features with the probabilities' four left at zero: the comparison
            // fills them from its own line model's probabilities.
            let zeros = vec![0.0; page.lines.len()];
            let row = serde_json::json!({
                "split": split, "page": question.page, "answerable": question.answerable,
                "gold": question.answer_sentences, "lines": page.lines, "question": question_features(&page, &zeros),
            });
            writeln!(file, "{row}").expect("write");
        }
    }
}
