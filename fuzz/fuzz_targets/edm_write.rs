//! The EDM writer against the reader: whatever a person's name, a procedure or a party says, the
//! request written reads back with the same values (characters XML 1.0 forbids become U+FFFD;
//! element texts are read trimmed).
#![no_main]
use amtsweg_exchange::write::{EvidenceTypeRef, Party, Request, Subject};
use libfuzzer_sys::fuzz_target;

fn allowed(value: &str) -> String {
    value.chars().map(|c| if (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}' { '\u{FFFD}' } else { c }).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut fields = text.split('|').map(str::to_owned);
    let mut next = || fields.next().unwrap_or_default();
    let (procedure, family_name, given_name, authority, authority_id, title) = (next(), next(), next(), next(), next(), next());
    let party = Party { id: authority_id.clone(), scheme: "urn:amtsweg:authority".into(), name: authority.clone() };
    let request = Request {
        id: "urn:uuid:1".into(),
        issued: "2026-11-29T10:00:00Z".into(),
        procedure: procedure.clone(),
        requirement_id: "urn:r".into(),
        requirement_name: "R".into(),
        requester: party.clone(),
        provider: party,
        subject: Subject {
            identifier: "86095742719".into(),
            scheme: "urn:de:idnr".into(),
            family_name: family_name.clone(),
            given_name: given_name.clone(),
            date_of_birth: "1988-04-12".into(),
            level_of_assurance: "High".into(),
        },
        evidence_type: EvidenceTypeRef { id: "t".into(), classification: "c".into(), title: title.clone() },
        preview_possible: false,
        explicit_request: true,
        preview_location: None,
    };
    let xml = amtsweg_exchange::write::request(&request);
    let summary = amtsweg_exchange::inspect(&xml).unwrap_or_else(|e| panic!("our own request does not read back: {e}"));
    assert_eq!(summary.procedure.as_deref(), Some(allowed(&procedure).as_str()));
    let person = summary.person.expect("person");
    assert_eq!(person.family_name, allowed(&family_name).trim());
    assert_eq!(person.given_name, allowed(&given_name).trim());
    let requester = summary.requester.expect("requester");
    assert_eq!(requester.name, allowed(&authority).trim());
    assert_eq!(requester.id, allowed(&authority_id).trim());
    assert_eq!(summary.evidence_type.expect("evidence type").title, allowed(&title).trim());
});
