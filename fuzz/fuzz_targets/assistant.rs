//! The assistant's outside input: documents imported as JSON lines (`amtsweg kb import`) and a
//! citizen's question. The first line is the question, the rest the documents (in any
//! language); the documents are indexed (each language with its analysis), the question is
//! redacted, its language recognised, searched and answered (the learned models and the
//! hand-weighted baseline), and every citation must point at a sentence of the cited version
//! that exists. The places the question names are looked up, and the search for an asker of
//! that place must rank the same pages as the search for everyone, only reordered.
#![no_main]
use amtsweg_assist::eval::read_jsonl;
use amtsweg_assist::{Document, KnowledgeBase, Policy, answer, language_of, redact};
use amtsweg_assist::lines::AnswerModel;
use amtsweg_assist::scope::{Places, Scope};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static MODEL: LazyLock<AnswerModel> = LazyLock::new(AnswerModel::shipped);
static PLACES: LazyLock<Places> = LazyLock::new(|| Places::new([("Stadt Leipzig", "147130000000"), ("Stadt Halle (Saale)", "150020000000"), ("Stadt Erfurt", "160510000000")]));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (question, documents) = text.split_once('\n').unwrap_or((text, ""));
    let redacted = redact::redact(question);
    let question = redact::search_text(&redacted);
    let documents: Vec<Document> = read_jsonl(documents).unwrap_or_default();
    let Ok(kb) = KnowledgeBase::in_memory(documents) else { return };
    let language = language_of(&question, None);
    let Ok(hits) = kb.search(&question, &language, None, 5) else { return };
    let region = PLACES.named_in(&question);
    if let Some(region) = &region {
        assert!(region.bytes().all(|b| b.is_ascii_digit()), "a region key");
    }
    let scope = Scope { authorities: vec!["leipzig".into()], region };
    let everyone = kb.search(&question, &language, None, usize::MAX).expect("searched before");
    let scoped = kb.search_for(&question, &language, None, usize::MAX, &scope).expect("searched before");
    let mut a: Vec<usize> = everyone.iter().map(|h| h.doc).collect();
    let mut b: Vec<usize> = scoped.iter().map(|h| h.doc).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "scoping reorders, it neither adds nor drops");
    let learned = answer::learned(&kb, &MODEL, &question, &language, &hits, None);
    assert_eq!(learned.language, language);
    let weighted = answer::extract(&kb, &question, &hits, &Policy::default());
    for citation in learned.citations.iter().chain(&weighted.citations) {
        let version = kb.version(&citation.doc_id, &citation.language).expect("a cited version exists");
        let document = &kb.documents()[version];
        let count = document.sentences().count();
        assert!(citation.sentences.iter().all(|&i| i < count), "a cited sentence exists");
    }
});
