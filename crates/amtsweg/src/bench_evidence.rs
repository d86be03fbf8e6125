//! `amtsweg bench evidence`: evidence round trips per second through the signed EDM exchange
//! (request written, signed, sent; response checked against the pinned key and the request,
//! parsed, evidence decoded) against the same node answering the same question as plain,
//! unsigned JSON, in the same run, over loopback HTTP.

use crate::bench::{measure, ms};
use amtsweg_exchange::client::{Outcome, Peer, fetch};
use amtsweg_exchange::node::{Node, router};
use amtsweg_exchange::register::{Kind, Record, Register, generate};
use amtsweg_exchange::seal::{Identity, PinnedKeys};
use amtsweg_exchange::write::{EvidenceTypeRef, Party, Request, Subject};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct EvidenceBenchArgs {
    /// Concurrency levels (parallel clients), comma-separated.
    #[arg(long, default_value = "1,8,32", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Round trips per level and kind.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// People in the register.
    #[arg(long, default_value_t = 10000)]
    people: usize,
}

fn request(r: &Record, n: usize) -> Request {
    Request {
        id: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        issued: "2026-11-22T09:00:00Z".into(),
        procedure: format!("Bewohnerparkausweis {n}"),
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
        evidence_type: EvidenceTypeRef { id: Kind::Resident.evidence_type().into(), classification: "residence".into(), title: "Meldebescheinigung".into() },
        preview_possible: false,
        explicit_request: true,
        preview_location: None,
    }
}

pub async fn run(args: EvidenceBenchArgs) -> Result<(), String> {
    let lines = generate(Kind::Resident, args.people, 11);
    let records: Arc<Vec<Record>> = Arc::new(lines.iter().map(|l| serde_json::from_str(l).expect("generated")).collect());
    let register = Register::load(Kind::Resident, &lines.join("\n")).map_err(|e| e.to_string())?;
    let city = Arc::new(Identity::from_seed("leipzig", [1; 32]));
    let node_identity = Identity::from_seed("melderegister", [2; 32]);
    let mut at_node = PinnedKeys::default();
    at_node.pin("leipzig", &city.public_key()).map_err(|e| e.to_string())?;
    let mut at_city = PinnedKeys::default();
    at_city.pin("melderegister", &node_identity.public_key()).map_err(|e| e.to_string())?;
    let at_city = Arc::new(at_city);
    let node_for_steps = (Identity::from_seed("melderegister", [2; 32]), at_node.clone(), register.clone());
    let at_city_for_steps = (*at_city).clone();
    let node = Arc::new(Node::new(register, node_identity, at_node, "2026-11-22".into(), false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    // The floor: messages of the EDM's size over the same HTTP, each side hashing what it sends
    // and receives once and making one bare tokenizer pass over what it receives; nothing
    // written, nothing signed or checked. What no EDM exchange on this transport can beat.
    let floor_request = axum::body::Bytes::from(amtsweg_exchange::write::request(&request(&records[0], 0)));
    let answer = axum::body::Bytes::from(amtsweg_exchange::write::response(&response(&records[0], &request(&records[0], 0), &node_for_steps.2)));
    let app = router(node).route(
        "/floor",
        axum::routing::post(move |body: axum::body::Bytes| {
            let answer = answer.clone();
            async move {
                std::hint::black_box(amtsweg_exchange::seal::digest(&body));
                std::hint::black_box(crate::bench_fim::bare_pass(std::str::from_utf8(&body).unwrap_or_default()));
                std::hint::black_box(amtsweg_exchange::seal::digest(&answer));
                ([("content-type", "application/xml; charset=utf-8")], answer)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().map_err(|e| e.to_string())?;

    println!("Evidence round trips, {} per level, register of {} people, loopback HTTP:\n", args.requests, args.people);
    println!("| clients | signed EDM /s | p50 ms | p99 ms | messages a signature | plain JSON /s | p50 ms | p99 ms | ratio | floor /s | floor ratio |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &c in &args.concurrency {
        let (signatures, messages) = city.batch_counts();
        let (h, u, id, pins, recs) = (http.clone(), format!("{base}/edm"), city.clone(), at_city.clone(), records.clone());
        let edm = measure(args.requests, c, move |i| {
            let (h, u, id, pins, recs) = (h.clone(), u.clone(), id.clone(), pins.clone(), recs.clone());
            async move {
                let r = &recs[i % recs.len()];
                match fetch(&h, &id, &pins, &Peer { id: "melderegister", url: &u }, &request(r, i), Duration::from_secs(10)).await {
                    Ok(Outcome::Evidence { .. }) => Ok(()),
                    Ok(other) => Err(format!("{other:?}")),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await?;
        let (signatures_after, messages_after) = city.batch_counts();
        let batch = (messages_after - messages) as f64 / (signatures_after - signatures).max(1) as f64;
        let (h, u, recs) = (http.clone(), format!("{base}/plain"), records.clone());
        let plain = measure(args.requests, c, move |i| {
            let (h, u, recs) = (h.clone(), u.clone(), recs.clone());
            async move {
                let r = &recs[i % recs.len()];
                let body = serde_json::json!({"idnr": r.idnr, "family_name": r.family_name, "date_of_birth": r.date_of_birth});
                let resp = h.post(u).json(&body).send().await.map_err(|e| e.to_string())?;
                let _: serde_json::Value = resp.error_for_status().map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
                Ok(())
            }
        })
        .await?;
        let (h, u, body) = (http.clone(), format!("{base}/floor"), floor_request.clone());
        let floor = measure(args.requests, c, move |_| {
            let (h, u, body) = (h.clone(), u.clone(), body.clone());
            async move {
                std::hint::black_box(amtsweg_exchange::seal::digest(&body));
                let resp = h.post(u).header("content-type", "application/xml; charset=utf-8").body(body).send().await.map_err(|e| e.to_string())?;
                let bytes = resp.error_for_status().map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
                std::hint::black_box(amtsweg_exchange::seal::digest(&bytes));
                std::hint::black_box(crate::bench_fim::bare_pass(std::str::from_utf8(&bytes).map_err(|e| e.to_string())?));
                Ok(())
            }
        })
        .await?;
        println!(
            "| {c} | {:.0} | {:.2} | {:.2} | {batch:.1} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} |",
            edm.per_second,
            ms(edm.p50),
            ms(edm.p99),
            plain.per_second,
            ms(plain.p50),
            ms(plain.p99),
            edm.per_second / plain.per_second,
            floor.per_second,
            floor.per_second / plain.per_second
        );
    }
    steps(&records[0], &city, &at_city_for_steps, &node_for_steps);
    Ok(())
}

/// The node's answer to `req` about `r`, as the EDM response it writes.
fn response(r: &Record, req: &Request, register: &Register) -> amtsweg_exchange::write::Response {
    let doc = register.evidence(&r.idnr, &r.family_name, &r.date_of_birth, "2026-11-22").expect("generated person");
    amtsweg_exchange::write::Response {
        request_id: req.id.clone(),
        response_id: uuid::Uuid::new_v4().to_string(),
        issued: req.issued.clone(),
        provider: req.provider.clone(),
        requester: req.requester.clone(),
        evidence_id: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        evidence_type: req.evidence_type.clone(),
        subject: req.subject.clone(),
        issuing_date: "2026-11-22".into(),
        document: serde_json::to_vec(&doc).expect("JSON"),
        media_type: "application/json".into(),
    }
}

/// The CPU cost of each step of one signed round trip, alone on one thread (median of many), so
/// the table above can be read: which part of the gap is XML, which is signing.
fn steps(r: &Record, city: &Identity, at_city: &PinnedKeys, node: &(Identity, PinnedKeys, Register)) {
    use amtsweg_exchange::edm::{inspect, read_response};
    use amtsweg_exchange::seal::{SealHeaders, digest};
    use amtsweg_exchange::write;
    fn median(mut f: impl FnMut()) -> f64 {
        let mut runs: Vec<f64> = (0..15)
            .map(|_| {
                let t = std::time::Instant::now();
                for _ in 0..200 {
                    f();
                }
                t.elapsed().as_secs_f64() * 1e6 / 200.0
            })
            .collect();
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    }
    let (node_identity, at_node, register) = node;
    let req = request(r, 0);
    let body = write::request(&req);
    let signed = city.sign_request("melderegister", body.as_bytes());
    let resp = response(r, &req, register);
    let answer = write::response(&resp);
    let answer_signed = node_identity.sign_response(&digest(body.as_bytes()), answer.as_bytes());
    // A fresh key set each time, so every check really checks (no remembered batch roots).
    let fresh = |keys: &PinnedKeys| keys.clone_without_memory();
    let rows: [(&str, f64); 12] = [
        ("write the request (EDM XML)", median(|| drop(std::hint::black_box(write::request(&req))))),
        ("sign the request (Ed25519, batch of one)", median(|| drop(std::hint::black_box(city.sign_request("melderegister", body.as_bytes()))))),
        ("check the request's signature", median(|| drop(std::hint::black_box(fresh(at_node).open_request("melderegister", &SealHeaders::of(&signed), body.as_bytes()))))),
        ("read the request", median(|| drop(std::hint::black_box(inspect(&body))))),
        ("look the person up", median(|| drop(std::hint::black_box(register.evidence(&r.idnr, &r.family_name, &r.date_of_birth, "2026-11-22"))))),
        ("write the response (EDM XML, evidence inline)", median(|| drop(std::hint::black_box(write::response(&resp))))),
        ("sign the response, bound to the request", median(|| drop(std::hint::black_box(node_identity.sign_response(&digest(body.as_bytes()), answer.as_bytes()))))),
        ("check the response's signature and binding", median(|| drop(std::hint::black_box(fresh(at_city).open_response("melderegister", body.as_bytes(), &SealHeaders::of(&answer_signed), answer.as_bytes()))))),
        ("read the response and decode the evidence", median(|| drop(std::hint::black_box(read_response(&answer))))),
        ("floor: one bare tokenizer pass over the request", median(|| _ = std::hint::black_box(crate::bench_fim::bare_pass(&body)))),
        ("floor: one bare tokenizer pass over the response", median(|| _ = std::hint::black_box(crate::bench_fim::bare_pass(&answer)))),
        ("floor: SHA-256 of the request", median(|| drop(std::hint::black_box(digest(body.as_bytes()))))),
    ];
    println!("\nCPU per step of one signed round trip, one thread, without batching (request {} bytes, response {} bytes):\n", body.len(), answer.len());
    println!("| step | µs |");
    println!("|---|---|");
    for (name, us) in rows {
        println!("| {name} | {us:.1} |");
    }
}
