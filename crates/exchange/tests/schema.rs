//! Every message amtsweg writes validates against the OOTS driver schema with xmllint
//! (`--nonet`, the schemas in ../shared/fixtures/oots/xsd), and reads back into the same facts.

use amtsweg_exchange::edm::Kind;
use amtsweg_exchange::inspect;
use amtsweg_exchange::write::{self, ErrorResponse, EvidenceTypeRef, NOT_FOUND, PREVIEW_REQUIRED, Party, Request, Response, Subject};
use std::path::PathBuf;
use std::process::Command;

fn party(id: &str, name: &str) -> Party {
    Party { id: id.into(), scheme: "urn:cef.eu:names:identifier:EAS:0204".into(), name: name.into() }
}

fn subject() -> Subject {
    Subject {
        identifier: "86095742719".into(),
        scheme: "urn:de:idnr".into(),
        family_name: "Schmidt & Söhne <Test>".into(),
        given_name: "Anna".into(),
        date_of_birth: "1988-04-12".into(),
        level_of_assurance: "High".into(),
    }
}

fn evidence_type() -> EvidenceTypeRef {
    EvidenceTypeRef { id: "de.meldebescheinigung".into(), classification: "urn:amtsweg:evidence:residence".into(), title: "Meldebescheinigung".into() }
}

fn xmllint(xml: &str, name: &str) -> Result<(), String> {
    let xsd = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/oots/xsd/sdg/oots_driver_v1.0.0.xsd");
    assert!(xsd.is_file(), "the shared fixtures are missing: {}", xsd.display());
    let file = std::env::temp_dir().join(format!("amtsweg-edm-{}-{name}.xml", std::process::id()));
    std::fs::write(&file, xml).unwrap();
    let out = match Command::new("xmllint").args(["--noout", "--nonet", "--schema"]).arg(&xsd).arg(&file).output() {
        Ok(out) => out,
        Err(e) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "xmllint is required in CI: {e}");
            eprintln!("skipped: xmllint not installed (Debian package libxml2-utils)");
            return Ok(());
        }
    };
    let _ = std::fs::remove_file(&file);
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

#[test]
fn requests_responses_and_errors_validate_and_read_back() {
    let request = Request {
        id: "urn:uuid:0b3c5f0e-9f0e-4d7e-8a55-3f1c9e2d4a10".into(),
        issued: "2026-11-22T09:00:00Z".into(),
        procedure: "Bewohnerparkausweis".into(),
        requirement_id: "urn:amtsweg:requirement:main-residence".into(),
        requirement_name: "Hauptwohnsitz im Bewohnerparkgebiet".into(),
        requester: party("147130000000", "Stadt Leipzig"),
        provider: party("melderegister", "Melderegister"),
        subject: subject(),
        evidence_type: evidence_type(),
        preview_possible: true,
        explicit_request: true,
        preview_location: None,
    };
    let xml = write::request(&request);
    xmllint(&xml, "request").unwrap();
    // The request after a preview names where the preview was.
    let after = Request { preview_location: Some("urn:amtsweg:preview:1".into()), ..request.clone() };
    let after_xml = write::request(&after);
    xmllint(&after_xml, "request-after-preview").unwrap();
    assert_eq!(inspect(&after_xml).unwrap().preview_location.as_deref(), Some("urn:amtsweg:preview:1"));
    let s = inspect(&xml).unwrap();
    assert_eq!(s.kind, Kind::Request);
    assert_eq!(s.request_id, request.id);
    assert_eq!(s.person.as_ref().unwrap().family_name, "Schmidt & Söhne <Test>");
    assert_eq!(s.evidence_type.as_ref().unwrap().id, "de.meldebescheinigung");

    let response = Response {
        request_id: request.id.clone(),
        response_id: "5a1d3c1e-7e57-4c7a-9a9b-2f6f1f1e0001".into(),
        issued: "2026-11-22T09:00:01Z".into(),
        provider: party("melderegister", "Melderegister"),
        requester: party("147130000000", "Stadt Leipzig"),
        evidence_id: "urn:uuid:9d2f6a8e-3b1c-4f5e-8a7d-6c5b4a3f2e10".into(),
        evidence_type: evidence_type(),
        subject: subject(),
        issuing_date: "2026-11-22".into(),
        document: br#"{"main_residence": true, "ars": "147130000000"}"#.to_vec(),
        media_type: "application/json".into(),
    };
    let xml = write::response(&response);
    xmllint(&xml, "response").unwrap();
    let s = inspect(&xml).unwrap();
    assert_eq!(s.kind, Kind::Response);
    assert_eq!(s.evidence, [response.evidence_id.clone()]);

    for (code, ty, preview) in [
        (PREVIEW_REQUIRED, "rs:AuthorizationExceptionType", Some("https://register.example/preview/1".to_string())),
        (NOT_FOUND, "rs:ObjectNotFoundExceptionType", None),
    ] {
        let e = ErrorResponse {
            request_id: request.id.clone(),
            response_id: "5a1d3c1e-7e57-4c7a-9a9b-2f6f1f1e0002".into(),
            issued: "2026-11-22T09:00:01Z".into(),
            provider: party("melderegister", "Melderegister"),
            requester: party("147130000000", "Stadt Leipzig"),
            code: code.into(),
            exception_type: ty.into(),
            message: "Vorschau erforderlich".into(),
            detail: "Die Person muss den Nachweis vor der Übermittlung ansehen.".into(),
            preview_location: preview.clone(),
        };
        let xml = write::error(&e);
        xmllint(&xml, code).unwrap_or_else(|m| panic!("{code}: {m}"));
        let s = inspect(&xml).unwrap();
        assert_eq!(s.kind, Kind::Exception);
        assert_eq!(s.exception.as_ref().unwrap().code, code);
        assert_eq!(s.exception.as_ref().unwrap().preview_location, preview);
    }
}

#[test]
fn xmllint_notices_an_invalid_message() {
    // The check itself can fail: an element the schema does not know.
    let broken = include_str!("../../../../shared/fixtures/oots/samples/birth-request.xml").replace("<query:ResponseOption", "<query:Unknown/><query:ResponseOption");
    assert!(xmllint(&broken, "broken").is_err() || which_xmllint_missing());
}

fn which_xmllint_missing() -> bool {
    Command::new("xmllint").arg("--version").output().is_err()
}
