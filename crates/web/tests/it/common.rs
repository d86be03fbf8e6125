use amtsweg_store::{DynStore, PgStore};
use amtsweg_demo::DemoTokens;
use amtsweg_web::{AppState, Application, WebConfig};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running app over a fresh store, seeded with the demo world.
/// The bearer token of `/metrics` on the test apps.
pub const METRICS_TOKEN: &str = "metrics-token-of-the-tests";

/// The seed of the test app's ledger key.
pub const LEDGER_SEED: [u8; 32] = [7; 32];

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub store: DynStore,
    /// The application layer the app runs on (use cases, jobs).
    pub platform: amtsweg_app::Platform,
    pub tokens: Arc<DemoTokens>,
    pub http: reqwest::Client,
    cleanup: Arc<Cleanup>,
}

enum Cleanup {
    Dir(PathBuf),
    Schema { url: String, schema: String },
}

/// The FIM fixtures in `../shared/fixtures/fim` beside the project.
pub fn fim_fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/fim");
    assert!(dir.is_dir(), "the shared fixtures are missing: expected {} beside the project", dir.display());
    dir
}

fn postgres_url() -> Option<String> {
    match std::env::var("AMTSWEG_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true: AMTSWEG_TEST_POSTGRES_URL must be set; the PostgreSQL run is mandatory in CI");
            }
            None
        }
    }
}

/// The application layer over `store` with the test ledger key.
pub fn test_platform(store: DynStore) -> amtsweg_app::Platform {
    let key = amtsweg_ledger::LogKey::from_seed("amtsweg.test/ledger", LEDGER_SEED).unwrap();
    amtsweg_app::Platform::new(store, key, amtsweg_app::uploads::UploadKey::random())
}

/// Another app node over the same store, with a platform changed by `configure`; returns its
/// base address.
pub async fn another_node(store: DynStore, demo: bool, configure: impl FnOnce(amtsweg_app::Platform) -> amtsweg_app::Platform) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(configure(test_platform(store)), WebConfig { demo, secure_cookies: false, kern_dir: PathBuf::from("/nonexistent") });
    tokio::spawn(Application::on(state, listener).without_worker().run_until_stopped(std::future::pending()));
    base
}

impl TestApp {
    pub async fn start(backend: Backend) -> Option<TestApp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(backend, listener, |state| state).await
    }

    /// The app on a listener bound beforehand (its address can go into the configuration of
    /// others, such as a login provider), with the state changed by `configure`.
    pub async fn start_on(
        backend: Backend,
        listener: tokio::net::TcpListener,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> Option<TestApp> {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let (store, cleanup): (DynStore, Cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("amtsweg-test-{unique}"));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite:{}", dir.join("test.db").display());
                (amtsweg_store::connect(&url).await.unwrap(), Cleanup::Dir(dir))
            }
            Backend::Postgres => {
                let url = postgres_url()?;
                let schema = format!("test_{unique}");
                let admin = sqlx::PgPool::connect(&url).await.expect("PostgreSQL reachable at AMTSWEG_TEST_POSTGRES_URL");
                sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
                admin.close().await;
                (Arc::new(PgStore::connect_in_schema(&url, &schema).await.unwrap()), Cleanup::Schema { url, schema })
            }
        };
        store.migrate().await.unwrap();
        let tokens = amtsweg_demo::seed(&store).await.unwrap();
        amtsweg_demo::seed_fim(&store, &fim_fixtures()).await.expect("the real FIM schemas import");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let platform = test_platform(store.clone()).with_exchange(amtsweg_demo::start_registers(&[]).await.expect("the demo registers start"));
        let state = AppState::new(platform, WebConfig { demo: true, secure_cookies: false, kern_dir: PathBuf::from("/nonexistent") }).with_metrics_token(METRICS_TOKEN);
        let state = configure(state);
        let platform = state.app.clone();
        // No background worker: tests run the jobs they need with run_pending_jobs().
        tokio::spawn(Application::on(state, listener).without_worker().run_until_stopped(std::future::pending()));
        Some(TestApp { base, store, platform, tokens: Arc::new(tokens), http: reqwest::Client::new(), cleanup: Arc::new(cleanup) })
    }

    /// The app with the demo's Mängelmelder (Leipzig and Halle) and `reports` synthetic reports.
    pub async fn with_maengel(mut self, reports: usize) -> TestApp {
        let mut tokens = (*self.tokens).clone();
        tokens.open311 = Some(amtsweg_demo::maengel::seed(&self.store, reports).await.expect("the demo Mängelmelder seeds"));
        self.tokens = Arc::new(tokens);
        self
    }

    /// Runs the background jobs that are due now, instead of waiting for the worker; returns how
    /// many ran.
    pub async fn run_pending_jobs(&self) -> usize {
        amtsweg_app::jobs::worker::run_pending(&self.platform).await.expect("the jobs table is readable")
    }

    /// A citizen of this test's own, living at `region` (a 12-digit ARS) with an API token;
    /// returns the token. Tests that need a person nobody else touches use this instead of a
    /// demo citizen.
    pub async fn with_citizen(&self, given_name: &str, region: &str) -> String {
        let n = self.store.users_with_role(amtsweg_domain::Role::Citizen).await.unwrap().len() as u32 + 1000;
        let id = amtsweg_domain::UserId::parse(&format!("test-citizen-{n}")).unwrap();
        let person = amtsweg_domain::Person {
            given_name: given_name.into(),
            family_name: "Test".into(),
            date_of_birth: time::macros::date!(1990 - 01 - 01),
            street: "Teststraße 1".into(),
            postal_code: "04109".into(),
            city: "Teststadt".into(),
            region: amtsweg_domain::RegionKey::parse(region).expect("a valid ARS"),
            idnr: Some(amtsweg_demo::synthetic_idnr(n)),
        };
        let user = amtsweg_domain::User {
            id: id.clone(),
            role: amtsweg_domain::Role::Citizen,
            display_name: format!("{given_name} Test"),
            authority_id: None,
            person: Some(person),
        };
        self.store.create_user(&user).await.unwrap();
        let token = amtsweg_app::accounts::new_secret();
        let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        self.store.put_api_token(&amtsweg_app::accounts::hash_secret(&token), &id, expires).await.unwrap();
        token
    }

    /// The ledger key the app signs checkpoints with.
    pub fn ledger_key(&self) -> amtsweg_ledger::LogKey {
        amtsweg_ledger::LogKey::from_seed("amtsweg.test/ledger", LEDGER_SEED).unwrap()
    }

    /// Runs SQL on the app's database directly, past the store (as an operator could), with
    /// byte parameters.
    pub async fn raw(&self, sql: &str, binds: &[Vec<u8>]) {
        self.raw_with(sql, binds.iter().cloned().map(Ok).collect()).await
    }

    /// The same with text parameters.
    pub async fn raw_text(&self, sql: &str, binds: &[&str]) {
        self.raw_with(sql, binds.iter().map(|t| Err(t.to_string())).collect()).await
    }

    async fn raw_with(&self, sql: &str, binds: Vec<Result<Vec<u8>, String>>) {
        macro_rules! run {
            ($pool:expr) => {{
                let mut q = sqlx::query(sql);
                for b in binds {
                    q = match b {
                        Ok(bytes) => q.bind(bytes),
                        Err(text) => q.bind(text),
                    };
                }
                q.execute(&$pool).await.unwrap();
                $pool.close().await;
            }};
        }
        match &*self.cleanup {
            Cleanup::Dir(dir) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", dir.join("test.db").display())).await.unwrap();
                run!(pool)
            }
            Cleanup::Schema { url, schema } => {
                use std::str::FromStr;
                let options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap().options([("search_path", schema.as_str())]);
                let pool = sqlx::PgPool::connect_with(options).await.unwrap();
                run!(pool)
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Token of the n-th demo citizen (0: Anna Schmidt, Leipzig; 1: Jonas Weber, Leipzig;
    /// 2: Marie Fischer, Halle; 3: Lena Hoffmann, Erfurt; 4: Tom Richter, Dresden).
    pub fn citizen(&self, n: usize) -> &str {
        &self.tokens.citizens[n].token
    }

    /// Token of the caseworker of `authority` (`leipzig`, `halle`, `erfurt`).
    pub fn caseworker(&self, authority: &str) -> &str {
        &self.tokens.caseworkers.iter().find(|c| c.authority_id == authority).unwrap().token
    }

    pub async fn cleanup(&self) {
        match self.cleanup.as_ref() {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema } => {
                if let Ok(admin) = sqlx::PgPool::connect(url).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await;
                }
            }
        }
    }

    // --- API helpers ------------------------------------------------------------------
    pub async fn get(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let r = self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        json_of(r).await
    }

    pub async fn post(&self, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self.http.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        json_of(r).await
    }

    pub async fn put(&self, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self.http.put(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        json_of(r).await
    }

    /// Creates, fills and submits a valid application; returns (application id, case number).
    /// `/metrics` with its token: everything, the figures per authority too.
    pub async fn metrics(&self) -> String {
        self.http.get(self.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().text().await.unwrap()
    }

    pub async fn patch(&self, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        json_of(self.http.patch(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()).await
    }

    pub async fn submitted_application(&self, citizen: usize) -> (String, String) {
        let token = self.citizen(citizen).to_owned();
        let id = self.draft(citizen).await;
        let (status, body) = self.put(&token, &format!("/api/v1/applications/{id}/data"), valid_data()).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = self.post(&token, &format!("/api/v1/applications/{id}/submit"), serde_json::json!({})).await;
        assert_eq!(status, 200, "{body}");
        (id, body["case_number"].as_str().unwrap().to_owned())
    }

    pub async fn draft(&self, citizen: usize) -> String {
        let (status, body) = self
            .post(self.citizen(citizen), "/api/v1/applications", serde_json::json!({"service_id": "bewohnerparkausweis"}))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// The case id of a case number, as the authority's caseworker sees it.
    pub async fn case_id(&self, authority: &str, case_number: &str) -> String {
        let (status, cases) = self.get(self.caseworker(authority), "/api/v1/cases").await;
        assert_eq!(status, 200);
        cases.as_array().unwrap().iter().find(|c| c["case_number"] == case_number).expect("case in inbox")["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub fn valid_data() -> serde_json::Value {
    serde_json::json!({
        "kennzeichen": "L-AB 1234",
        "halter": "selbst",
        "beginn": "2099-03-01",
        "gueltigkeit": "12",
        "richtigkeit": true
    })
}

pub async fn json_of(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, value)
}

/// Runs a scenario on a fresh app over `backend`. Without PostgreSQL configured (and outside
/// CI) the PostgreSQL run is skipped with a message saying why.
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(app) = TestApp::start(backend).await else {
        eprintln!("skipped on PostgreSQL: AMTSWEG_TEST_POSTGRES_URL is not set (it is mandatory with CI=true)");
        return;
    };
    let handle = app.clone();
    scenario(app).await;
    handle.cleanup().await;
}

/// Declares each scenario twice: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::common::run($crate::common::Backend::Sqlite, super::$name).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::common::run($crate::common::Backend::Postgres, super::$name).await
                }
            }
        )*
    };
}
