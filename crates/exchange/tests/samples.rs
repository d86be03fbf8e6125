//! The OOTS samples in `../shared/fixtures/oots/samples/` are read into summaries; malformed
//! input gets a located error.

use amtsweg_exchange::edm::Kind;
use amtsweg_exchange::inspect;
use std::path::PathBuf;

fn sample(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/oots/samples");
    assert!(dir.is_dir(), "the shared fixtures are missing: expected {}", dir.display());
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn the_birth_request() {
    let s = inspect(&sample("birth-request.xml")).unwrap();
    assert_eq!(s.kind, Kind::Request);
    assert_eq!(s.request_id, "urn:uuid:4ffb5281-179d-4578-adf2-39fd13ccc797");
    assert_eq!(s.procedure.as_deref(), Some("R1"));
    assert_eq!(s.preview_possible, Some(false));
    assert_eq!(s.explicit_request, Some(true));
    assert_eq!(s.requester.as_ref().unwrap().id, "DK22233223");
    assert_eq!(s.provider.as_ref().unwrap().name, "Civil Registration Office Berlin I");
    let p = s.person.as_ref().unwrap();
    assert_eq!((p.family_name.as_str(), p.date_of_birth.as_str(), p.level_of_assurance.as_str()), ("Smith", "1970-03-01", "High"));
    assert_eq!(s.evidence_type.as_ref().unwrap().id, "2af27699-f131-4411-8fdb-9e8cd4e8bded");
    assert_eq!(s.requirements[0].name, "Proof of Birth");
}

#[test]
fn the_responses_and_the_preview_exception() {
    let r = inspect(&sample("birth-response.xml")).unwrap();
    assert_eq!(r.kind, Kind::Response);
    assert_eq!(r.request_id, "urn:uuid:4ffb5281-179d-4578-adf2-39fd13ccc797");
    assert_eq!(r.status.as_deref(), Some("Success"));
    assert_eq!(r.evidence, ["urn:uuid:f073cbe2-cf2a-4f46-b9ff-d4b0fde53ab1"]);
    let e = inspect(&sample("education-preview-error.xml")).unwrap();
    assert_eq!(e.kind, Kind::Exception);
    let x = e.exception.as_ref().unwrap();
    assert_eq!(x.code, "EDM:ERR:0002");
    assert!(x.preview_location.as_deref().unwrap().starts_with("https://preview.space.example.com/"));
    for name in ["education-request-with-preview.xml", "education-request-after-preview.xml"] {
        let s = inspect(&sample(name)).unwrap();
        assert_eq!(s.kind, Kind::Request, "{name}");
    }
    assert_eq!(inspect(&sample("education-request-with-preview.xml")).unwrap().preview_possible, Some(true));
}

#[test]
fn malformed_input_is_located() {
    let e = inspect("<query:QueryRequest xmlns:query=\"urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0\">\n  <a></b>").unwrap_err();
    assert_eq!(e.location.line, 2, "{e}");
    let e = inspect(&sample("birth-evidence.xml")).unwrap_err();
    assert!(e.message.contains("Keine EDM-Nachricht"), "{e}");
    let broken = sample("birth-request.xml").replace("oots-edm:v1.0", "oots-edm:v9");
    let e = inspect(&broken).unwrap_err();
    assert!(e.message.contains("oots-edm:v9"), "{e}");
    assert_eq!(e.element.as_deref(), Some("rim:Slot"));
    let unbound = "<x:Foo/>";
    assert!(inspect(unbound).unwrap_err().message.contains("nicht deklariert"));
}
