//! The once-only path against register nodes in their own processes: three `amtsweg register
//! serve` processes with the demo's registers, reached by `amtsweg demo` through a registers
//! file and a platform key, as an operator configures them. One node sits behind a proxy that can
//! alter or replay its answers; one is restarted slow; one is stopped.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_amtsweg"))
}

/// Starts a process and returns it with the first `http://…` its standard output names.
fn start(mut command: Command, marker: &str) -> (Process, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the process ended before printing its address");
        if line.contains(marker) {
            break;
        }
    }
    // Keep reading in the background so that the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("an address").trim_end_matches('/').to_owned();
    (Process(child), url)
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.key"));
    let out = bin().args(["register", "keygen", "--out"]).arg(&path).output().unwrap();
    assert!(out.status.success());
    (path, String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

fn node(dir: &Path, kind: &str, id: &str, key: &Path, platform: &str, listen: &str, extra: &[&str]) -> (Process, String) {
    let data = dir.join(format!("{kind}.jsonl"));
    if !data.exists() {
        let out = bin().args(["register", "generate", "--demo", "--kind", kind]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&data, &out.stdout).unwrap();
    }
    let mut c = bin();
    c.args(["register", "serve", "--kind", kind, "--id", id, "--listen", listen, "--key-date", "2022-12-01", "--peer"])
        .arg(format!("amtsweg={platform}"))
        .arg("--data")
        .arg(&data)
        .arg("--key")
        .arg(key)
        .args(extra);
    let (process, url) = start(c, "läuft unter");
    (process, url.trim_end_matches("/edm").to_owned())
}

type Answer = Option<(axum::http::HeaderMap, Vec<u8>)>;

/// In front of the resident register: passes answers on, alters them, or replays the first one.
#[derive(Clone)]
struct Proxy {
    real: String,
    mode: Arc<AtomicU8>,
    first: Arc<tokio::sync::Mutex<Answer>>,
}
const PASS: u8 = 0;
const TAMPER: u8 = 1;
const REPLAY: u8 = 2;
const SEAL_HEADERS: [&str; 5] = ["amtsweg-key-id", "amtsweg-signature", "amtsweg-batch", "amtsweg-request-digest", "content-type"];

async fn relay(axum::extract::State(p): axum::extract::State<Proxy>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut forward = reqwest::Client::new().post(&p.real).body(body.to_vec());
    for name in SEAL_HEADERS {
        if let Some(v) = headers.get(name) {
            forward = forward.header(name, v.to_str().unwrap());
        }
    }
    let answer = forward.send().await.unwrap();
    let mut out_headers = axum::http::HeaderMap::new();
    for name in SEAL_HEADERS {
        if let Some(v) = answer.headers().get(name) {
            out_headers.insert(name, v.to_str().unwrap().parse().unwrap());
        }
    }
    let mut out_body = answer.bytes().await.unwrap().to_vec();
    match p.mode.load(Ordering::SeqCst) {
        TAMPER => out_body = String::from_utf8(out_body).unwrap().replace("Melderegister", "Melderegistre").into_bytes(),
        REPLAY => {
            let mut first = p.first.lock().await;
            match first.as_ref() {
                None => *first = Some((out_headers.clone(), out_body.clone())),
                Some((h, b)) => (out_headers, out_body) = (h.clone(), b.clone()),
            }
        }
        _ => {}
    }
    let mut response = (axum::http::StatusCode::OK, out_body).into_response();
    response.headers_mut().extend(out_headers);
    response
}

struct Platform {
    url: String,
    http: reqwest::Client,
    citizens: Vec<String>,
}

impl Platform {
    async fn call(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.url)).bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    async fn draft(&self, citizen: usize, service: &str) -> String {
        let (status, body) = self.call(&self.citizens[citizen], reqwest::Method::POST, "/api/v1/applications", Some(json!({"service_id": service}))).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
    async fn fetch(&self, citizen: usize, application: &str, evidence_type: &str) -> (u16, Value) {
        let body = json!({"type": evidence_type, "source": "register", "consent": true});
        self.call(&self.citizens[citizen], reqwest::Method::POST, &format!("/api/v1/applications/{application}/evidence"), Some(body)).await
    }
    async fn transfers(&self, citizen: usize) -> Vec<Value> {
        let (status, log) = self.call(&self.citizens[citizen], reqwest::Method::GET, "/api/v1/me/transfers", None).await;
        assert_eq!(status, 200);
        log.as_array().unwrap().clone()
    }
    async fn outcomes(&self, citizen: usize) -> Vec<String> {
        let mut o: Vec<String> = self.transfers(citizen).await.iter().map(|t| t["outcome"].as_str().unwrap().to_owned()).collect();
        o.sort();
        o
    }
}

const RESIDENCE: &str = "urn:amtsweg:evidence:main-residence";
const VEHICLE: &str = "urn:amtsweg:evidence:vehicle-holder";
const ENROLMENT: &str = "urn:amtsweg:evidence:enrolment";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizen_path_against_register_node_processes() {
    let dir = std::env::temp_dir().join(format!("amtsweg-evidence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (platform_key, platform_public) = keygen(&dir, "plattform");
    let keys: Vec<(PathBuf, String)> = ["melde", "fahrzeug", "immatrikulation"].iter().map(|n| keygen(&dir, n)).collect();
    let (_resident, resident_url) = node(&dir, "resident", "melderegister", &keys[0].0, &platform_public, "127.0.0.1:0", &[]);
    let (vehicle, vehicle_url) = node(&dir, "vehicle", "fahrzeugregister", &keys[1].0, &platform_public, "127.0.0.1:0", &[]);
    let (enrolment, enrolment_url) = node(&dir, "enrolment", "immatrikulationsregister", &keys[2].0, &platform_public, "127.0.0.1:0", &["--preview"]);

    let mode = Arc::new(AtomicU8::new(PASS));
    let proxy = Proxy { real: format!("{resident_url}/edm"), mode: mode.clone(), first: Default::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}/edm", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().route("/edm", axum::routing::post(relay)).with_state(proxy)).await });

    let registers = dir.join("register.toml");
    std::fs::write(
        &registers,
        format!(
            "[[register]]\nid = \"melderegister\"\nurl = \"{proxy_url}\"\npublic_key = \"{}\"\n\n\
             [[register]]\nid = \"fahrzeugregister\"\nurl = \"{vehicle_url}/edm\"\npublic_key = \"{}\"\n\n\
             [[register]]\nid = \"immatrikulationsregister\"\nurl = \"{enrolment_url}/edm\"\npublic_key = \"{}\"\n",
            keys[0].1, keys[1].1, keys[2].1
        ),
    )
    .unwrap();
    let data = dir.join("demo");
    let mut demo = bin();
    demo.args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--registers")
        .arg(&registers)
        .arg("--exchange-key")
        .arg(&platform_key)
        .env("AMTSWEG_EXCHANGE_TIMEOUT_MS", "700")
        .env("AMTSWEG_LOG", "warn");
    let (_demo, url) = start(demo, "Demo läuft unter");
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(data.join("demo-tokens.json")).unwrap()).unwrap();
    let citizens = tokens["citizens"].as_array().unwrap().iter().map(|c| c["token"].as_str().unwrap().to_owned()).collect();
    let p = Platform { url, http: reqwest::Client::new(), citizens };
    let (anna, jonas, marie, lena) = (0, 1, 2, 3);

    // Consent → fetch → attach, from both registers the parking permit needs.
    let application = p.draft(anna, "bewohnerparkausweis").await;
    let (status, body) = p.fetch(anna, &application, RESIDENCE).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["status"].as_str(), body["content"]["ars"].as_str()), (Some("attached"), Some("147130000000")));
    let (status, body) = p.fetch(anna, &application, VEHICLE).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["content"]["vehicles"][0]["plate"], "L-AB 1234");

    // Person unknown: Jonas has no car.
    let his = p.draft(jonas, "bewohnerparkausweis").await;
    let (status, body) = p.fetch(jonas, &his, VEHICLE).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("not_found_in_register")), "{body}");

    // Preview → accept, and → discard.
    let hers = p.draft(lena, "energiepreispauschale").await;
    let (status, body) = p.fetch(lena, &hers, ENROLMENT).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("preview_required")), "{body}");
    assert_eq!(body["preview"]["enrolled"], true);
    let evidence = body["evidence_id"].as_str().unwrap();
    let (status, body) = p.call(&p.citizens[lena], reqwest::Method::POST, &format!("/api/v1/applications/{hers}/evidence/{evidence}/accept"), Some(json!({}))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("attached")), "{body}");
    let (_, body) = p.fetch(lena, &hers, ENROLMENT).await;
    let evidence = body["evidence_id"].as_str().unwrap();
    let (status, body) = p.call(&p.citizens[lena], reqwest::Method::POST, &format!("/api/v1/applications/{hers}/evidence/{evidence}/discard"), Some(json!({}))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("discarded")), "{body}");

    // Upload instead: no register is asked.
    let before = p.transfers(marie).await.len();
    let upload_to = p.draft(marie, "bewohnerparkausweis").await;
    let form = reqwest::multipart::Form::new()
        .text("type", RESIDENCE)
        .part("file", reqwest::multipart::Part::bytes(amtsweg_documents::testing::pdf("Meldebescheinigung")).file_name("meldebescheinigung.pdf"));
    let r = p.http.post(format!("{}/api/v1/applications/{upload_to}/evidence", p.url)).bearer_auth(&p.citizens[marie]).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(p.transfers(marie).await.len(), before);

    // An altered answer is refused and logged.
    mode.store(TAMPER, Ordering::SeqCst);
    let (status, body) = p.fetch(marie, &upload_to, RESIDENCE).await;
    assert_eq!((status, body["error"].as_str()), (502, Some("register_untrustworthy")), "{body}");
    // A genuine earlier answer replayed for a new request, and for another person's request.
    mode.store(REPLAY, Ordering::SeqCst);
    let (status, body) = p.fetch(jonas, &his, RESIDENCE).await;
    assert_eq!(status, 201, "the first answer is genuine: {body}");
    let (status, body) = p.fetch(jonas, &his, RESIDENCE).await;
    assert_eq!((status, body["error"].as_str()), (502, Some("register_untrustworthy")), "replayed: {body}");
    let (status, _) = p.fetch(marie, &upload_to, RESIDENCE).await;
    assert_eq!(status, 502, "an answer for another request");
    mode.store(PASS, Ordering::SeqCst);

    // The vehicle register restarts slow (answers after 1.5 s; the platform waits 0.7 s).
    let port = vehicle_url.rsplit(':').next().unwrap().to_owned();
    drop(vehicle);
    let (_slow, _) = node(&dir, "vehicle", "fahrzeugregister", &keys[1].0, &platform_public, &format!("127.0.0.1:{port}"), &["--delay-ms", "1500"]);
    let again = p.draft(anna, "bewohnerparkausweis").await;
    let (status, body) = p.fetch(anna, &again, VEHICLE).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("register_unavailable")), "{body}");
    // The enrolment register is down.
    drop(enrolment);
    let (status, body) = p.fetch(lena, &hers, ENROLMENT).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("register_unavailable")), "{body}");
    // The draft kept everything it had.
    let (_, attached) = p.call(&p.citizens[lena], reqwest::Method::GET, &format!("/api/v1/applications/{hers}/evidence"), None).await;
    assert!(attached.as_array().unwrap().iter().any(|e| e["status"] == "attached"), "{attached}");

    // Every exchange is logged, each citizen sees exactly their own.
    assert_eq!(p.outcomes(anna).await, ["delivered", "delivered", "unavailable"]);
    assert_eq!(p.outcomes(jonas).await, ["delivered", "not_found", "untrustworthy"]);
    assert_eq!(p.outcomes(marie).await, ["untrustworthy", "untrustworthy"]);
    assert_eq!(p.outcomes(lena).await, ["delivered", "delivered", "preview_required", "preview_required", "unavailable"]);
    for t in p.transfers(lena).await {
        assert_eq!(t["register"], "immatrikulationsregister");
        assert_eq!(t["idnr_used"], true);
        assert!(t["request_hash"].as_str().unwrap().len() == 64);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
