//! Two `amtsweg serve` nodes on one PostgreSQL behind nginx (Debian's package), configured with
//! the site in `deploy/nginx/amtsweg.conf` (ports, certificate and name replaced for loopback).
//! A citizen applies through the API and a caseworker logs in and decides through the pages,
//! with requests spread over both nodes: the session, its CSRF token, the login rate limit and
//! the ledger behave as on one node, and a revoked token is refused at once on both. TLS is
//! terminated by nginx.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The deployed site, for loopback: every replacement must find its line, so that a change of
/// the deployed file cannot leave this test on an old configuration.
fn site(upstreams: [&str; 2], redirect: u16, tls: u16, plain: u16, cert: &Path, key: &Path) -> String {
    let deployed = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/amtsweg.conf")).unwrap();
    let replacements = [
        ("server 127.0.0.1:8081 ", format!("server {} ", upstreams[0])),
        ("server 127.0.0.1:8082 ", format!("server {} ", upstreams[1])),
        ("    listen 80;\n", format!("    listen 127.0.0.1:{redirect};\n")),
        ("    listen [::]:80;\n", String::new()),
        ("    listen 443 ssl http2;\n", format!("    listen 127.0.0.1:{tls} ssl http2;\n    # The test's walk: the same server without TLS (reqwest is built without it here).\n    listen 127.0.0.1:{plain};\n")),
        ("    listen [::]:443 ssl http2;\n", String::new()),
        ("/etc/ssl/amtsweg/fullchain.pem", cert.display().to_string()),
        ("/etc/ssl/amtsweg/privkey.pem", key.display().to_string()),
    ];
    let mut site = deployed;
    for (from, to) in replacements {
        assert!(site.contains(from), "deploy/nginx/amtsweg.conf no longer contains {from:?}");
        site = site.replace(from, &to);
    }
    site.replace("amtsweg.example.de", "localhost")
}

/// Debian puts nginx in /usr/sbin, which is not on every user's PATH.
fn nginx() -> Command {
    if Command::new("nginx").arg("-v").output().is_ok() { Command::new("nginx") } else { Command::new("/usr/sbin/nginx") }
}

fn start_nginx(prefix: &Path, site: &str) -> Option<Nginx> {
    if nginx().arg("-v").output().is_err() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI=true: nginx (Debian package nginx) must be installed");
        eprintln!("skipped: nginx is not installed");
        return None;
    }
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(prefix.join(temp)).unwrap();
    }
    // Workers of an nginx started as root run as nobody: they must reach the temporary folders.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for dir in [prefix.to_path_buf()].into_iter().chain(["body", "proxy", "fastcgi", "uwsgi", "scgi"].map(|t| prefix.join(t))) {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
    }
    std::fs::write(prefix.join("amtsweg.conf"), site).unwrap();
    let p = prefix.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log {p}/access.log;\n  client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n  \
         uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n  include {p}/amtsweg.conf;\n}}\n"
    );
    std::fs::write(prefix.join("nginx.conf"), conf).unwrap();
    let check = nginx().arg("-t").arg("-c").arg(prefix.join("nginx.conf")).arg("-p").arg(prefix).output().unwrap();
    assert!(check.status.success(), "nginx -t: {}", String::from_utf8_lossy(&check.stderr));
    let child = nginx().arg("-c").arg(prefix.join("nginx.conf")).arg("-p").arg(prefix).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    Some(Nginx(child))
}

async fn wait_for(url: &str) {
    for _ in 0..100 {
        if reqwest::get(url).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer");
}

/// A browser's cookies, by hand (the test's reqwest has no cookie store).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for value in r.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Requests the node answered so far, from its own metrics (not through the proxy).
async fn requests_served(node: &str, route: &str) -> f64 {
    let text = reqwest::get(format!("{node}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("amtsweg_http_requests_total{") && l.contains(&format!("route=\"{route}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_behind_nginx_behave_as_one() {
    let Some(db) = common::SharedDatabase::create("amtsweg_nginx").await else { return };
    let store = amtsweg_store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let mut tokens = amtsweg_demo::seed(&store).await.unwrap();
    amtsweg_demo::seed_staff_logins(&store, &mut tokens).await.unwrap();
    let env = [("AMTSWEG_TRUSTED_PROXIES", "127.0.0.1/32"), ("AMTSWEG_RATE_LIMIT_LOGIN_PER_MINUTE", "6")];
    let nodes = [common::serve_with(&db.url, &db.key_file, &db.dir, &env), common::serve_with(&db.url, &db.key_file, &db.dir, &env)];
    let upstreams: Vec<String> = nodes.iter().map(|n| n.1.trim_start_matches("http://").to_owned()).collect();

    let prefix = db.dir.join("nginx");
    std::fs::create_dir_all(&prefix).unwrap();
    let (cert, key) = (prefix.join("cert.pem"), prefix.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (redirect, tls, plain) = (free_port(), free_port(), free_port());
    let Some(_nginx) = start_nginx(&prefix, &site([&upstreams[0], &upstreams[1]], redirect, tls, plain, &cert, &key)) else {
        db.remove().await;
        return;
    };
    let base = format!("http://127.0.0.1:{plain}");
    wait_for(&format!("{base}/healthz")).await;

    // TLS is nginx's: HSTS on the answer, and plain HTTP is sent to HTTPS.
    let out = Command::new("curl").args(["-sk", "-D", "-", "-o", "/dev/null"]).arg(format!("https://localhost:{tls}/anmelden")).arg("--resolve").arg(format!("localhost:{tls}:127.0.0.1")).output().expect("curl");
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(head.starts_with("http/2 200") || head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("strict-transport-security: max-age=31536000"), "{head}");
    let r = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().get(format!("http://127.0.0.1:{redirect}/anmelden")).send().await.unwrap();
    assert_eq!(r.status(), 301);

    // A citizen applies through the API: the requests land on both nodes.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let anna = &tokens.citizens[0].token;
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let created: serde_json::Value = http.post(format!("{base}/api/v1/applications")).bearer_auth(anna).json(&serde_json::json!({"service_id": "bewohnerparkausweis"})).send().await.unwrap().json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let data = serde_json::json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true});
        assert_eq!(http.put(format!("{base}/api/v1/applications/{id}/data")).bearer_auth(anna).json(&data).send().await.unwrap().status(), 200);
        let r = http.post(format!("{base}/api/v1/applications/{id}/submit")).bearer_auth(anna).json(&serde_json::json!({})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        numbers.push(r.json::<serde_json::Value>().await.unwrap()["case_number"].as_str().unwrap().to_owned());
    }
    for node in &nodes {
        assert!(requests_served(&node.1, "/api/v1/applications/{id}/data").await >= 1.0, "both nodes served the citizen");
    }

    // The caseworker logs in with password and code and decides, through the pages.
    let katrin = tokens.staff_logins.iter().find(|s| s.login == "sachbearbeitung-leipzig").unwrap();
    let mut jar = Jar::default();
    let r = http.get(format!("{base}/anmelden")).send().await.unwrap();
    jar.take(&r);
    let token = csrf_of(&r.text().await.unwrap());
    let code = amtsweg_app::accounts::code_at(&katrin.totp_secret, time::OffsetDateTime::now_utc().unix_timestamp() as u64).unwrap();
    let r = http
        .post(format!("{base}/anmelden/mitarbeitende"))
        .header("cookie", jar.header())
        .form(&[("benutzername", katrin.login.as_str()), ("passwort", katrin.password.as_str()), ("code", code.as_str()), ("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    jar.take(&r);
    // Her session holds on either node.
    let mut inbox = String::new();
    for _ in 0..4 {
        let r = http.get(format!("{base}/arbeitsplatz")).header("cookie", jar.header()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        inbox = r.text().await.unwrap();
    }
    assert!(inbox.contains(&numbers[0]), "the case is in her inbox");
    for node in &nodes {
        assert!(requests_served(&node.1, "/arbeitsplatz").await >= 1.0, "both nodes served her session");
    }
    let case = store.cases(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &Default::default()).await.unwrap().into_iter().find(|c| c.case_number == numbers[0]).unwrap();
    let page = http.get(format!("{base}/arbeitsplatz/vorgaenge/{}", case.id)).header("cookie", jar.header()).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_of(&page);
    // The token a page of one node gave is good on the other: the decision goes through.
    let r = http
        .post(format!("{base}/arbeitsplatz/vorgaenge/{}/entscheidung", case.id))
        .header("cookie", jar.header())
        .form(&[("outcome", "approved"), ("reason", "Die Voraussetzungen liegen vor."), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let mailbox: serde_json::Value = http.get(format!("{base}/api/v1/mailbox")).bearer_auth(anna).send().await.unwrap().json().await.unwrap();
    assert!(mailbox.as_array().unwrap().iter().any(|m| !m["document_url"].is_null()), "the Bescheid is delivered: {mailbox}");
    let r = http.post(format!("{base}/arbeitsplatz/vorgaenge/{}/rueckfrage", case.id)).header("cookie", jar.header()).form(&[("question", "x"), ("_csrf", "falsch")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "a wrong CSRF token is refused on every node");

    // The login limit holds across both nodes: six a minute per client, wherever they land.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = http.post(format!("{base}/anmelden/mitarbeitende")).header("cookie", jar.header()).form(&[("benutzername", "x"), ("_csrf", token.as_str())]).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    let allowed = statuses.iter().filter(|s| **s != 429).count();
    assert!(allowed <= 6, "more logins than the limit got through two nodes: {statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    for node in &nodes {
        assert!(requests_served(&node.1, "/anmelden/mitarbeitende").await >= 2.0, "both nodes saw the attempts");
    }

    // One ledger: checkpoints through either node agree, and it verifies.
    let mut sizes = Vec::new();
    for _ in 0..4 {
        let checkpoint = http.get(format!("{base}/api/v1/ledger/checkpoint")).send().await.unwrap().text().await.unwrap();
        sizes.push(checkpoint.lines().nth(1).unwrap().parse::<u64>().unwrap());
    }
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");

    // Each node keeps a token's user in memory; a revocation on one node is refused on the
    // very next request on every node (the other one hears of it by NOTIFY).
    let caseworker = &tokens.caseworkers[0];
    for _ in 0..2 {
        for node in &nodes {
            let r = http.get(format!("{}/api/v1/cases", node.1)).bearer_auth(&caseworker.token).send().await.unwrap();
            assert_eq!(r.status(), 200, "the token works on {}", node.1);
        }
    }
    let r = http.post(format!("{}/api/v1/platform/staff/{}/deactivate", nodes[0].1, caseworker.user_id)).bearer_auth(&tokens.operator.token).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    for node in [&nodes[1], &nodes[0]] {
        let r = http.get(format!("{}/api/v1/cases", node.1)).bearer_auth(&caseworker.token).send().await.unwrap();
        assert_eq!(r.status(), 401, "a revoked token is refused on the next request on {}", node.1);
    }
    drop(nodes);
    let out = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["ledger", "verify"])
        .env("AMTSWEG_DATABASE_URL", &db.url)
        .env("AMTSWEG_DATA_DIR", &db.dir)
        .env("AMTSWEG_LEDGER_KEY", &db.key_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    db.remove().await;
}
