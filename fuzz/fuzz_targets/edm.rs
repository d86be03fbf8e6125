//! The EDM reader (OOTS QueryRequest/QueryResponse) on arbitrary input: no panic, and every
//! error names a place inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let lines = text.split('\n').count() as u32;
        if let Err(e) = amtsweg_exchange::inspect(text) {
            assert!(e.location.line >= 1 && e.location.line <= lines, "{e} is outside the {lines} lines");
        }
        let _ = amtsweg_exchange::edm::read_response(text);
    }
});
