//! The EDM reader (OOTS QueryRequest/QueryResponse) on arbitrary input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = amtsweg_exchange::inspect(text);
        let _ = amtsweg_exchange::edm::read_response(text);
    }
});
