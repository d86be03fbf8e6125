//! The citizen login against a real OpenID Connect provider on loopback: the npm package
//! `oidc-provider` (a certified implementation), started per test by `tests/oidc/provider.mjs`
//! with a test client. The tests walk the whole flow over HTTP as a browser would (cookies,
//! redirects), and break it where an attacker or a faulty provider would.

use crate::common::{Backend, TestApp};
use crate::pages::{csrf, select};
use scraper::Html;
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::AsyncBufReadExt;

/// The provider process (killed when dropped) and where it is.
struct TestProvider {
    _child: tokio::process::Child,
    issuer: String,
    http: reqwest::Client,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl TestProvider {
    /// `None` (with the reason printed) when node or the npm packages are missing outside CI.
    async fn start(app_base: &str) -> Option<Self> {
        let root = repo_root();
        if !root.join("node_modules/oidc-provider").is_dir() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true: node_modules/oidc-provider is missing (npm ci installs it)");
            }
            eprintln!("skipped: node_modules/oidc-provider is missing; run `npm ci` (scripts/test does)");
            return None;
        }
        let mut child = tokio::process::Command::new("node")
            .arg(root.join("tests/oidc/provider.mjs"))
            .current_dir(&root)
            .env("REDIRECT_URI", format!("{app_base}/anmelden/rueckkehr"))
            .env("POST_LOGOUT_URI", format!("{app_base}/"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider starts within 30 s")
            .unwrap()
            .expect("the provider prints its issuer");
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
        // Keep reading: a closed pipe would end the provider at its next line.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(TestProvider { _child: child, issuer: ready["issuer"].as_str().unwrap().to_owned(), http: reqwest::Client::new() })
    }

    /// Who logs in at the next interaction.
    async fn next_login(&self, sub: &str, acr: &str, claims: serde_json::Value) {
        let r = self.http.post(format!("{}/test/login", self.issuer)).json(&json!({"sub": sub, "acr": acr, "claims": claims})).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }

    async fn tamper(&self, how: serde_json::Value) {
        let r = self.http.post(format!("{}/test/tamper", self.issuer)).json(&how).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }
}

fn anna() -> serde_json::Value {
    json!({
        "given_name": "Annegret",
        "family_name": "Quellmalz",
        "birthdate": "1987-03-14",
        "address": {"street_address": "Karl-Heine-Straße 12", "postal_code": "04229", "locality": "Leipzig", "country": "DE"},
        "ars": "147130000000",
        "idnr": "86 095 742 719"
    })
}

/// A browser: cookies kept, redirects not followed (the test looks at each).
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").expect("a redirect").to_str().unwrap().to_owned()
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix("amtsweg_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|v| !v.is_empty())
}

/// Starts a login at `start` (a path of the app) and follows the provider's redirects until
/// the browser is sent back to the app's callback; returns that address.
async fn to_callback(app: &TestApp, client: &reqwest::Client, start: &str) -> String {
    let r = client.get(app.url(start)).send().await.unwrap();
    assert_eq!(r.status(), 303, "the login starts with a redirect to the provider");
    let mut next = location(&r);
    for _ in 0..10 {
        if next.starts_with(&app.url("/anmelden/rueckkehr")) {
            return next;
        }
        let r = client.get(&next).send().await.unwrap();
        assert!(r.status().is_redirection(), "the provider redirects (got {} at {next})", r.status());
        let to = location(&r);
        next = if to.starts_with('/') { format!("{}{to}", origin(&next)) } else { to };
    }
    panic!("no way back to the app");
}

fn origin(url: &str) -> String {
    let rest = url.split_once("://").unwrap();
    format!("{}://{}", rest.0, rest.1.split('/').next().unwrap())
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let pairs: Vec<(String, String)> =
        pairs.into_iter().map(|(k, v)| if k == name { (k, value.to_owned()) } else { (k, v) }).collect();
    format!("{base}?{}", serde_urlencoded::to_string(pairs).unwrap())
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap()
}

async fn body(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

/// Runs `scenario` with an app that logs citizens in at a fresh provider.
async fn with_provider<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestApp, TestProvider) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let Some(provider) = TestProvider::start(&base).await else { return };
    let settings = amtsweg_web::OidcSettings {
        scopes: vec!["profile".into(), "address".into(), "amtsweg".into()],
        ..amtsweg_web::OidcSettings::new(&provider.issuer, "amtsweg", "test-secret-of-amtsweg", &base)
    };
    let login = amtsweg_web::OidcLogin::new(settings).unwrap();
    let Some(app) = TestApp::start_on(backend, listener, |state| state.with_oidc(login)).await else {
        eprintln!("skipped on PostgreSQL: AMTSWEG_TEST_POSTGRES_URL is not set (it is mandatory with CI=true)");
        return;
    };
    let handle = app.clone();
    scenario(app, provider).await;
    handle.cleanup().await;
}

macro_rules! with_provider_on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::with_provider($crate::common::Backend::Sqlite, super::$name).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::with_provider($crate::common::Backend::Postgres, super::$name).await
                }
            }
        )*
    };
}

with_provider_on_both_stores!(
    login_step_up_and_logout,
    a_wrong_state_is_refused,
    a_replayed_code_is_refused,
    a_token_for_another_audience_is_refused,
    an_expired_token_is_refused,
    missing_claims_and_foreign_return_addresses,
);

/// The complete path: login at "substantiell", a service that needs "hoch" refuses and offers a
/// step-up, the step-up logs the same person in again with a new session id, logout ends the
/// provider's session too.
async fn login_step_up_and_logout(app: TestApp, provider: TestProvider) {
    let client = browser();
    let page = client.get(app.url("/anmelden")).send().await.unwrap();
    let csp = page.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains(&format!("form-action 'self' {};", provider.issuer)), "the logout may go on to the provider: {csp}");
    let html = body(page).await;
    assert!(html.contains("Mit Nutzerkonto anmelden"), "the login page offers the account login");

    provider.next_login("sub-anna", "substantiell", anna()).await;
    let callback = to_callback(&app, &client, "/anmelden/konto?ziel=%2Fleistungen%2Fbewohnerparkausweis").await;
    assert!(!callback.contains("error="), "{callback}");
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/leistungen/bewohnerparkausweis", "back where the citizen started");
    let first_session = session_cookie(&r).expect("a session cookie");

    // The person from the provider's claims.
    let citizens = app.store.users_with_role(amtsweg_domain::Role::Citizen).await.unwrap();
    let person = citizens.iter().find(|u| u.display_name == "Annegret Quellmalz").and_then(|u| u.person.clone()).expect("the citizen");
    assert_eq!((person.street.as_str(), person.postal_code.as_str(), person.city.as_str()), ("Karl-Heine-Straße 12", "04229", "Leipzig"));
    assert_eq!(person.region.as_str(), "147130000000");
    assert_eq!(person.date_of_birth.to_string(), "1987-03-14");
    assert!(person.idnr.is_some(), "the IdNr the provider sent");
    // The name in the header, the data in the form.
    let r = client.get(app.url("/leistungen/bewohnerparkausweis")).send().await.unwrap();
    let doc = Html::parse_document(&body(r).await);
    assert!(doc.html().contains("Annegret Quellmalz"));
    let token = csrf(&doc);
    let r = client.post(app.url("/leistungen/bewohnerparkausweis/antrag")).form(&[("_csrf", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 303, "\"substantiell\" is enough for the parking permit");

    // "hoch" needed: refused, with the way to log in again.
    let r = client.post(app.url("/leistungen/energiepreispauschale/antrag")).form(&[("_csrf", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let doc = Html::parse_document(&body(r).await);
    assert!(doc.html().contains("Vertrauensniveau „hoch“"), "says which level is needed");
    let step_up = select(&doc, "a[href^='/anmelden/konto']")[0].value().attr("href").unwrap().to_owned();
    assert!(step_up.contains("niveau=hoch"), "{step_up}");
    // The service page says so before the citizen even tries.
    let r = client.get(app.url("/leistungen/energiepreispauschale")).send().await.unwrap();
    let doc = Html::parse_document(&body(r).await);
    assert_eq!(select(&doc, "a[href^='/anmelden/konto?niveau=hoch']").len(), 1, "offers the step-up");
    assert!(select(&doc, "form[action='/leistungen/energiepreispauschale/antrag']").is_empty(), "no form that would be refused");

    // A step-up that comes back at the same level changes nothing.
    provider.next_login("sub-anna", "substantiell", anna()).await;
    let callback = to_callback(&app, &client, &step_up).await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = client.post(app.url("/leistungen/energiepreispauschale/antrag")).form(&[("_csrf", &token)]).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 403, "still too low: the provider gave \"substantiell\" again");
    let token = {
        let r = client.get(app.url("/leistungen/energiepreispauschale")).send().await.unwrap();
        csrf(&Html::parse_document(&body(r).await))
    };

    // The step-up with the ID card.
    provider.next_login("sub-anna", "hoch", anna()).await;
    let callback = to_callback(&app, &client, &step_up).await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/leistungen/energiepreispauschale");
    let new_session = session_cookie(&r).expect("a new session cookie");
    assert_ne!(new_session, first_session, "a new session id at every login");
    let r = client.get(app.url("/leistungen/energiepreispauschale")).send().await.unwrap();
    let doc = Html::parse_document(&body(r).await);
    let fresh_token = csrf(&doc);
    assert_ne!(fresh_token, token, "the new session has its own CSRF token");
    let r = client.post(app.url("/leistungen/energiepreispauschale/antrag")).form(&[("_csrf", &fresh_token)]).send().await.unwrap();
    assert_eq!(r.status(), 303, "\"hoch\" is enough");
    let epp_form = location(&r);

    // The old session id is worth nothing now.
    let stale = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = stale.get(app.url("/antraege")).header("cookie", format!("amtsweg_session={first_session}")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/anmelden");

    // The same person (same subject): both applications are theirs.
    let r = client.get(app.url("/antraege")).send().await.unwrap();
    let html = body(r).await;
    assert!(html.contains("Bewohnerparkausweis") && html.contains("Energiepreispauschale"), "one account across logins");

    // A later login at a lower level may read the draft begun at "hoch" but not change it.
    provider.next_login("sub-anna", "substantiell", anna()).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    assert_eq!(client.get(&callback).send().await.unwrap().status(), 303);
    let r = client.get(app.url(&epp_form)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let fresh_token = csrf(&Html::parse_document(&body(r).await));
    let r = client.post(app.url(&epp_form)).form(&[("_csrf", fresh_token.as_str()), ("hochschule", "Universität Leipzig")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "changing a \"hoch\" draft at \"substantiell\"");
    let epp_id = epp_form.split('/').nth(2).unwrap();
    let r = client.post(app.url(&format!("/antraege/{epp_id}/nachweise"))).form(&[("_csrf", fresh_token.as_str()), ("type", "urn:amtsweg:evidence:enrolment"), ("consent", "ja")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "fetching evidence at \"substantiell\"");

    // Logout ends our session and sends the browser to the provider's end-session endpoint.
    let r = client.post(app.url("/abmelden")).form(&[("_csrf", &fresh_token)]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with(&format!("{}/session/end?", provider.issuer)), "{to}");
    assert_eq!(param(&to, "client_id"), "amtsweg");
    assert_eq!(param(&to, "post_logout_redirect_uri"), app.url("/"));
    let r = client.get(&to).send().await.unwrap();
    assert_eq!(r.status(), 200, "the provider asks to confirm the logout");
    let r = client.get(app.url("/antraege")).send().await.unwrap();
    assert_eq!(location(&r), "/anmelden", "logged out here");
}

/// A callback whose state does not match the login under way is refused, and that login is
/// used up: the right state afterwards does not work either.
async fn a_wrong_state_is_refused(app: TestApp, provider: TestProvider) {
    let client = browser();
    provider.next_login("sub-anna", "hoch", anna()).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let forged = with_param(&callback, "state", "forged-state");
    let r = client.get(&forged).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(session_cookie(&r).is_none(), "no session");
    assert!(body(r).await.contains("Anmeldung"));
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400, "the login under way was used up");
    assert!(session_cookie(&r).is_none());

    // Another browser cannot finish this browser's login (no login under way there).
    let other = browser();
    provider.next_login("sub-anna", "hoch", anna()).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let r = other.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(session_cookie(&r).is_none());
}

/// The same answer twice: refused by us (the login is taken once) and, under a fresh login's
/// state, refused by the provider (the code is bound to the first login's PKCE verifier).
async fn a_replayed_code_is_refused(app: TestApp, provider: TestProvider) {
    let client = browser();
    provider.next_login("sub-anna", "hoch", anna()).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(session_cookie(&r).is_some());

    let attacker = browser();
    let r = attacker.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400, "the same answer again");
    assert!(session_cookie(&r).is_none());

    // The old code under a new login's state: refused, as the code is bound to the first
    // login's PKCE verifier (which only the store held, and which was used up with it).
    let r = attacker.get(app.url("/anmelden/konto")).send().await.unwrap();
    let new_state = param(&location(&r), "state");
    let replay = with_param(&callback, "state", &new_state);
    let r = attacker.get(&replay).send().await.unwrap();
    assert_eq!(r.status(), 400, "a used code is refused by the provider");
    assert!(session_cookie(&r).is_none());
}

async fn a_token_for_another_audience_is_refused(app: TestApp, provider: TestProvider) {
    let client = browser();
    provider.next_login("sub-anna", "hoch", anna()).await;
    provider.tamper(json!({"aud": "another-service"})).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(session_cookie(&r).is_none());
    let r = client.get(app.url("/antraege")).send().await.unwrap();
    assert_eq!(location(&r), "/anmelden");
}

async fn an_expired_token_is_refused(app: TestApp, provider: TestProvider) {
    let client = browser();
    provider.next_login("sub-anna", "hoch", anna()).await;
    provider.tamper(json!({"expired": true})).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(session_cookie(&r).is_none());

    // The same login re-signed but unchanged works: the refusal was the token's expiry.
    provider.next_login("sub-anna", "hoch", anna()).await;
    provider.tamper(json!({})).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(session_cookie(&r).is_some());
}

async fn missing_claims_and_foreign_return_addresses(app: TestApp, provider: TestProvider) {
    let client = browser();
    let mut partial = anna();
    partial.as_object_mut().unwrap().remove("ars");
    partial.as_object_mut().unwrap().remove("birthdate");
    provider.next_login("sub-partial", "hoch", partial).await;
    let callback = to_callback(&app, &client, "/anmelden/konto").await;
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(session_cookie(&r).is_none());
    let html = body(r).await;
    assert!(html.contains("Geburtsdatum") && html.contains("Gemeindeschlüssel"), "names what is missing");

    for target in ["//evil.example/", "https://evil.example/", "/\\evil.example"] {
        let client = browser();
        provider.next_login("sub-anna", "hoch", anna()).await;
        let start = format!("/anmelden/konto?{}", serde_urlencoded::to_string([("ziel", target)]).unwrap());
        let callback = to_callback(&app, &client, &start).await;
        let r = client.get(&callback).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/", "never back to another site ({target})");
    }
}

// --- staff: password, one-time code, lock-out; rate limits -------------------------------------

crate::on_both_stores!(staff_log_in_with_password_and_code);

async fn staff_log_in_with_password_and_code(app: TestApp) {
    use amtsweg_domain::records::StaffCredential;
    use amtsweg_app::accounts::{code_at, hash_password, new_totp_secret};
    let caseworker = &app.tokens.caseworkers[0];
    let secret = new_totp_secret();
    app.store
        .put_staff_credential(&StaffCredential {
            user_id: amtsweg_domain::UserId::parse(&caseworker.user_id).unwrap(),
            login: "s.schulze".into(),
            password_hash: hash_password("ein langes Passwort für Leipzig"),
            totp_secret: secret.clone(),
            failed_attempts: 0,
            locked_until: None,
            last_totp_step: None,
        })
        .await
        .unwrap();
    let now = || time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let try_login = async |client: &reqwest::Client, password: &str, code: &str| {
        let token = crate::pages::login_form_token(&app, client).await;
        client
            .post(app.url("/anmelden/mitarbeitende"))
            .form(&[("benutzername", "s.schulze"), ("passwort", password), ("code", code), ("_csrf", &token)])
            .send()
            .await
            .unwrap()
    };

    // Without the login form's token: refused before anything is checked.
    let client = browser();
    let code = code_at(&secret, now()).unwrap();
    let r = client
        .post(app.url("/anmelden/mitarbeitende"))
        .form(&[("benutzername", "s.schulze"), ("passwort", "ein langes Passwort für Leipzig"), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Password and code: logged in, to the workspace.
    let r = try_login(&client, "ein langes Passwort für Leipzig", &code).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/arbeitsplatz");
    assert!(session_cookie(&r).is_some());
    let r = client.get(app.url("/arbeitsplatz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // The same code a second time (someone who watched it): refused.
    let other = browser();
    let r = try_login(&other, "ein langes Passwort für Leipzig", &code).await;
    assert_eq!(r.status(), 401);
    assert!(session_cookie(&r).is_none());
    // The right password without a code, and an unknown login: the same refusal.
    let r = try_login(&other, "ein langes Passwort für Leipzig", "").await;
    assert_eq!(r.status(), 401);
    let token = crate::pages::login_form_token(&app, &other).await;
    let r = other
        .post(app.url("/anmelden/mitarbeitende"))
        .form(&[("benutzername", "niemand"), ("passwort", "x"), ("code", "123456"), ("_csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let unknown = body(r).await;
    assert!(unknown.contains("Benutzername, Passwort oder Einmalcode stimmen nicht"));

    // Attempts without a success lock the account (two counted above; the unknown login is
    // not this account's): then even the right password and a fresh code are refused.
    for _ in 0..3 {
        let r = try_login(&other, "geraten", &code_at(&secret, now() + 30).unwrap()).await;
        assert_eq!(r.status(), 401);
    }
    let r = try_login(&other, "ein langes Passwort für Leipzig", &code_at(&secret, now() + 30).unwrap()).await;
    assert_eq!(r.status(), 401, "locked");
    assert!(session_cookie(&r).is_none());
    assert_eq!(body(r).await, unknown, "a locked account is answered like an unknown one");
    let stored = app.store.staff_credential("s.schulze").await.unwrap().unwrap();
    assert!(stored.locked_until.is_some_and(|t| t > time::OffsetDateTime::now_utc()));
    assert_eq!(stored.password_hash.split('$').nth(1), Some("argon2id"), "stored as an Argon2id hash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let limits = amtsweg_web::RateLimitSettings { login_per_minute: 3, assistant_per_minute: 2, api_per_second: 1, reports_per_minute: 2 };
    let app = TestApp::start_on(Backend::Sqlite, listener, |state| state.with_rate_limits(limits, Vec::new())).await.unwrap();
    let client = browser();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = client.post(app.url("/anmelden/mitarbeitende")).form(&[("benutzername", "x")]).send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().get("retry-after").is_some());
            assert!(body(r).await.contains("zu viele Anfragen"));
        }
    }
    assert_eq!(statuses, [403, 403, 403, 429], "three logins a minute, then 429");

    // The API: a burst of five, then 429 as JSON.
    let mut last = None;
    for _ in 0..8 {
        last = Some(client.get(app.url("/api/v1/services")).send().await.unwrap());
    }
    let r = last.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["error"], "too_many_requests");

    // The assistant: two questions a minute here.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = client.post(app.url("/api/v1/assistant/ask")).json(&json!({"question": "Was kostet ein Bewohnerparkausweis?"})).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);

    // The Mängelmelder's form (each report may make the relay send a mail): two a minute here,
    // counted before the form is read; and map pictures, a burst of twenty.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(client.post(app.url("/maengel/melden")).form(&[("beschreibung", "x")]).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses[2], 429, "{statuses:?}");
    assert_ne!(statuses[0], 429);
    let mut last = 0;
    for _ in 0..25 {
        last = client.get(app.url("/maengel/karte.png?lat=51.34&lon=12.37&z=16")).send().await.unwrap().status().as_u16();
    }
    assert_eq!(last, 429);
    app.cleanup().await;
}

crate::on_both_stores!(sessions_end_when_idle_and_are_kept_alive_by_use);

/// A session ends 30 minutes after its last use (8 hours after the login at the latest); use
/// moves its end on, and an ended one is refused.
async fn sessions_end_when_idle_and_are_kept_alive_by_use(app: TestApp) {
    use amtsweg_domain::records::Session;
    use amtsweg_app::accounts::{hash_secret, new_secret};
    let now = time::OffsetDateTime::now_utc();
    let user = amtsweg_domain::UserId::parse(&app.tokens.citizens[0].user_id).unwrap();
    let session = |expires_at| {
        let id = new_secret();
        (id.clone(), Session { id_hash: hash_secret(&id), user_id: user.clone(), csrf_token: new_secret(), expires_at, created_at: now, level: None, provider_logout: false })
    };
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Five minutes left: a request moves the end to 30 minutes from now.
    let (id, s) = session(now + time::Duration::minutes(5));
    app.store.put_session(&s).await.unwrap();
    let r = client.get(app.url("/antraege")).header("cookie", format!("amtsweg_session={id}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let kept = app.store.session(&s.id_hash).await.unwrap().unwrap();
    assert!(kept.expires_at > now + time::Duration::minutes(25) && kept.expires_at <= now + time::Duration::minutes(31), "{}", kept.expires_at);

    // Ended: refused, back to the login.
    let (id, s) = session(now - time::Duration::seconds(1));
    app.store.put_session(&s).await.unwrap();
    let r = client.get(app.url("/antraege")).header("cookie", format!("amtsweg_session={id}")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/anmelden");

    // A login starts with the idle window, not eight hours.
    let b = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let token = crate::pages::login_form_token(&app, &b).await;
    let r = b.post(app.url("/anmelden")).form(&[("persona", "buerger-1"), ("_csrf", token.as_str())]).send().await.unwrap();
    let fresh = app.store.session(&hash_secret(&session_cookie(&r).unwrap())).await.unwrap().unwrap();
    assert!(fresh.expires_at <= time::OffsetDateTime::now_utc() + time::Duration::minutes(31));
}

/// Behind a trusted reverse proxy each client counts on its own (from `X-Forwarded-For`); from
/// anywhere else that header is not believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_behind_a_trusted_proxy_count_each_client() {
    let limits = amtsweg_web::RateLimitSettings { login_per_minute: 2, assistant_per_minute: 0, api_per_second: 0, reports_per_minute: 0 };
    let statuses = async |app: &TestApp, forwarded: &str| {
        let mut out = Vec::new();
        for _ in 0..3 {
            let r = browser().post(app.url("/anmelden/mitarbeitende")).header("x-forwarded-for", forwarded).form(&[("benutzername", "x")]).send().await.unwrap();
            out.push(r.status().as_u16());
        }
        out
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy: Vec<ipnet::IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
    let app = TestApp::start_on(Backend::Sqlite, listener, |state| state.with_rate_limits(limits, proxy)).await.unwrap();
    assert_eq!(statuses(&app, "198.51.100.7, 203.0.113.5").await, [403, 403, 429], "one client");
    assert_eq!(statuses(&app, "203.0.113.6").await, [403, 403, 429], "another client has its own allowance");
    assert_eq!(statuses(&app, "made up, 203.0.113.6").await[0], 429, "what the client adds on the left changes nothing");
    app.cleanup().await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = TestApp::start_on(Backend::Sqlite, listener, |state| state.with_rate_limits(limits, Vec::new())).await.unwrap();
    assert_eq!(statuses(&app, "203.0.113.5").await, [403, 403, 429]);
    assert_eq!(statuses(&app, "203.0.113.6").await, [429, 429, 429], "no trusted proxy: the header is not believed");
    app.cleanup().await;
}
