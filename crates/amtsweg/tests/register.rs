//! A real register node process (`amtsweg register serve`) answering signed EDM requests over
//! HTTP: evidence for a known person, "not found" for a stranger, refusal of an unsigned or
//! foreign request, and the client refusing an answer it cannot trust.

use amtsweg_exchange::client::{FetchError, Outcome, Peer, fetch};
use amtsweg_exchange::register::Record;
use amtsweg_exchange::seal::{Identity, PinnedKeys, SealError};
use amtsweg_exchange::write::{EvidenceTypeRef, Party, Request, Subject};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct NodeProcess {
    child: Child,
    url: String,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_amtsweg"))
}

fn start_node(dir: &std::path::Path, city: &Identity) -> (NodeProcess, String, Vec<Record>) {
    let data = dir.join("residents.jsonl");
    let out = bin().args(["register", "generate", "--kind", "resident", "--count", "200", "--seed", "3"]).output().unwrap();
    assert!(out.status.success());
    std::fs::write(&data, &out.stdout).unwrap();
    let records: Vec<Record> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let key = dir.join("node.key");
    let out = bin().args(["register", "keygen", "--out"]).arg(&key).output().unwrap();
    let node_public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut child = bin()
        .args(["register", "serve", "--kind", "resident", "--id", "melderegister", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--key")
        .arg(&key)
        .arg("--peer")
        .arg(format!("leipzig={}", city.public_key()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("the node prints its address").to_owned();
    (NodeProcess { child, url }, node_public, records)
}

fn request_for(r: &Record, id: &str) -> Request {
    Request {
        id: format!("urn:uuid:{id}"),
        issued: "2026-11-22T09:00:00Z".into(),
        procedure: "Bewohnerparkausweis".into(),
        requirement_id: "urn:amtsweg:requirement:main-residence".into(),
        requirement_name: "Hauptwohnsitz".into(),
        requester: Party { id: "leipzig".into(), scheme: "urn:amtsweg:authority".into(), name: "Stadt Leipzig".into() },
        provider: Party { id: "melderegister".into(), scheme: "urn:amtsweg:register".into(), name: "Melderegister".into() },
        subject: Subject {
            identifier: r.idnr.clone(),
            scheme: "urn:de:idnr".into(),
            family_name: r.family_name.clone(),
            given_name: r.given_name.clone(),
            date_of_birth: r.date_of_birth.clone(),
            level_of_assurance: "High".into(),
        },
        evidence_type: EvidenceTypeRef { id: "urn:amtsweg:evidence:main-residence".into(), classification: "residence".into(), title: "Meldebescheinigung".into() },
        preview_possible: false,
        explicit_request: true,
        preview_location: None,
    }
}

#[tokio::test]
async fn a_real_node_answers_signed_requests_and_refuses_the_rest() {
    let dir = std::env::temp_dir().join(format!("amtsweg-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let city = Identity::from_seed("leipzig", [7; 32]);
    let (node, node_public, records) = start_node(&dir, &city);
    let mut pinned = PinnedKeys::default();
    pinned.pin("melderegister", &node_public).unwrap();
    let http = reqwest::Client::new();
    let peer = Peer { id: "melderegister", url: &node.url };
    let t = Duration::from_secs(5);

    // A known person: the evidence, signed and bound to this request.
    let known = &records[5];
    match fetch(&http, &city, &pinned, &peer, &request_for(known, "00000000-0000-4000-8000-000000000001"), t).await.unwrap() {
        Outcome::Evidence { media_type, document, .. } => {
            assert_eq!(media_type, "application/json");
            let doc: serde_json::Value = serde_json::from_slice(&document).unwrap();
            assert_eq!(doc["ars"], known.ars);
        }
        other => panic!("expected evidence, got {other:?}"),
    }
    // A stranger, and a known IdNr with the wrong name: "not found".
    let mut stranger = known.clone();
    stranger.family_name = "Niemand".into();
    match fetch(&http, &city, &pinned, &peer, &request_for(&stranger, "00000000-0000-4000-8000-000000000002"), t).await.unwrap() {
        Outcome::Refused { code, .. } => assert_eq!(code, "EDM:ERR:0004"),
        other => panic!("expected not found, got {other:?}"),
    }
    // A requester whose key the node does not know is refused.
    let stranger_city = Identity::from_seed("leipzig", [8; 32]);
    let e = fetch(&http, &stranger_city, &pinned, &peer, &request_for(known, "00000000-0000-4000-8000-000000000003"), t).await.unwrap_err();
    assert!(matches!(e, FetchError::Status(401)), "{e:?}");
    // An answer signed by another key than the one pinned for the node is refused.
    let mut wrong_pin = PinnedKeys::default();
    wrong_pin.pin("melderegister", &Identity::from_seed("x", [9; 32]).public_key()).unwrap();
    let e = fetch(&http, &city, &wrong_pin, &peer, &request_for(known, "00000000-0000-4000-8000-000000000004"), t).await.unwrap_err();
    assert!(matches!(e, FetchError::Seal(SealError::BadSignature)), "{e:?}");
    // A node that is down.
    let down = Peer { id: "melderegister", url: "http://127.0.0.1:9/edm" };
    let e = fetch(&http, &city, &pinned, &down, &request_for(known, "00000000-0000-4000-8000-000000000005"), t).await.unwrap_err();
    assert!(matches!(e, FetchError::Unreachable), "{e:?}");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}
