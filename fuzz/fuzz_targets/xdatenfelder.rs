//! The XDatenfelder parser on arbitrary input: an error or a message, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(message) = amtsweg_fim::parse(text) {
            // What parses must also convert (with whatever code lists are missing reported).
            let lists = amtsweg_fim::codelist::CodeLists::default();
            let _ = amtsweg_fim::form::to_form(
                &message.schema,
                &amtsweg_fim::form::Options { code_lists: &lists, rules: None, accept_free_text: &[] },
            );
        }
    }
});
