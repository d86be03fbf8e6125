//! `amtsweg bench`: complete submissions (create + data + submit, three HTTP requests) per
//! second through the JSON API over real HTTP on loopback, at several concurrencies, with p50
//! and p99 latency; and, in the same run on the same store, the baseline of a bare durable
//! insert (one autocommitted row), so that the figures can be compared across machines as a
//! ratio. Client and server share the machine, as they do in the test setup.

use amtsweg_store::{DynStore, PgStore, SqliteStore};
use amtsweg_web::{AppState, WebConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Complete submissions per second through the HTTP API, against a bare durable insert.
    Submissions(BenchArgs),
    /// Parse time of the real FIM schemas (against a bare XML pass) and render time of the
    /// largest form page (against a trivial request).
    Fim(crate::bench_fim::FimBenchArgs),
    /// Evidence round trips through the signed EDM exchange, against plain JSON to the same node.
    Evidence(crate::bench_evidence::EvidenceBenchArgs),
    /// Durable ledger appends against a bare insert; verify time and proof sizes of a large ledger.
    Ledger(crate::bench_ledger::LedgerBenchArgs),
    /// Automated decisions end to end (create, data, enrolment evidence with consent and
    /// preview, submit: decided with the Bescheid as PDF/A in the mailbox), against complete
    /// submissions that go to the inbox, in the same run.
    Decisions(BenchArgs),
    /// Complete applications against a running server through its public HTTP API, for a fixed
    /// time per concurrency level, with the server's CPU time per application.
    Load(crate::bench_load::LoadArgs),
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Stores to measure: sqlite, postgres, or both.
    #[arg(long, default_value = "both")]
    store: String,
    /// PostgreSQL server for the postgres run (a fresh schema is created and dropped).
    #[arg(long, env = "AMTSWEG_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
    /// Concurrency levels (parallel clients), comma-separated.
    #[arg(long, default_value = "1,8,32", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Complete submissions per concurrency level.
    #[arg(long, default_value_t = 600)]
    submissions: usize,
}

pub(crate) struct Figures {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

pub(crate) fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort();
    Figures { per_second: latencies.len() as f64 / elapsed.as_secs_f64(), p50: quantile(&latencies, 0.50), p99: quantile(&latencies, 0.99) }
}

/// The `q`-quantile (nearest rank) of sorted, non-empty latencies.
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

/// Runs `count` operations on `concurrency` workers and measures each.
pub(crate) async fn measure<F, Fut>(count: usize, concurrency: usize, op: F) -> Result<Figures, String>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(latencies);
                }
                let t = Instant::now();
                op(i).await?;
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(count);
    for w in workers {
        all.extend(w.await.map_err(|e| e.to_string())??);
    }
    Ok(figures(all, started.elapsed()))
}

pub(crate) enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    /// A scratch schema of its own (dropped by [`Raw::drop_scratch`]).
    PostgresScratch(sqlx::PgPool, String),
}

const BASELINE_TABLE: &str = "CREATE TABLE bench_baseline (id TEXT PRIMARY KEY, payload TEXT NOT NULL)";

impl Raw {
    /// A scratch table for the baseline in a new database: `sqlite:PATH` (a new file, WAL,
    /// `synchronous=FULL`, as the store opens it) or `postgres://…` (a new schema).
    pub(crate) async fn scratch(url: &str) -> Result<Self, String> {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let schema = format!("bench_{unique}");
            let admin = sqlx::PgPool::connect(url).await.map_err(|e| format!("PostgreSQL: {e}"))?;
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.map_err(|e| e.to_string())?;
            admin.close().await;
            let options = std::str::FromStr::from_str(url).map(|o: sqlx::postgres::PgConnectOptions| o.options([("search_path", schema.as_str())])).map_err(|e: sqlx::Error| e.to_string())?;
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(16).connect_with(options).await.map_err(|e| e.to_string())?;
            sqlx::query(BASELINE_TABLE).execute(&pool).await.map_err(|e| e.to_string())?;
            Ok(Raw::PostgresScratch(pool, schema))
        } else if url.starts_with("sqlite:") {
            let options = std::str::FromStr::from_str(url).map_err(|e: sqlx::Error| format!("--baseline: {e}"))?;
            let pool = sqlite_pool(options).await?;
            sqlx::query(BASELINE_TABLE).execute(&pool).await.map_err(|e| format!("{url}: {e} (die Datei muss neu sein)"))?;
            Ok(Raw::Sqlite(pool))
        } else {
            Err(format!("--baseline: sqlite:PFAD oder postgres://… erwartet, nicht {url}"))
        }
    }

    pub(crate) async fn drop_scratch(&self) {
        if let Raw::PostgresScratch(pool, schema) = self {
            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(pool).await;
        }
    }
}

/// A sqlx pool on an SQLite file, opened as the store opens its writer (WAL, `synchronous=FULL`):
/// the baseline's bare insert.
pub(crate) async fn sqlite_pool(options: sqlx::sqlite::SqliteConnectOptions) -> Result<sqlx::SqlitePool, String> {
    use sqlx::sqlite::{SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30));
    SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(|e| e.to_string())
}

pub(crate) async fn baseline_insert(raw: &Raw, id: String) -> Result<(), String> {
    let sql = "INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)";
    let payload = r#"{"kennzeichen":"L-AB 1234","halter":"selbst"}"#;
    match raw {
        Raw::Sqlite(p) => sqlx::query(sql).bind(id).bind(payload).execute(p).await.map(|_| ()),
        Raw::Postgres(p) | Raw::PostgresScratch(p, _) => sqlx::query(sql).bind(id).bind(payload).execute(p).await.map(|_| ()),
    }
    .map_err(|e| e.to_string())
}

async fn run_store(kind: &str, args: &BenchArgs, decisions: bool) -> Result<Vec<String>, String> {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let mut cleanup_dir = None;
    let mut cleanup_schema = None;
    let (store, raw): (DynStore, Raw) = match kind {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("amtsweg-bench-{unique}"));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let s = SqliteStore::connect(&format!("sqlite:{}", dir.join("bench.db").display())).await.map_err(|e| e.to_string())?;
            cleanup_dir = Some(dir);
            let raw = Raw::Sqlite(sqlite_pool(sqlx::sqlite::SqliteConnectOptions::new().filename(s.path())).await?);
            (Arc::new(s), raw)
        }
        "postgres" => {
            let schema = format!("bench_{unique}");
            let admin = sqlx::PgPool::connect(&args.postgres_url).await.map_err(|e| format!("PostgreSQL: {e}"))?;
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.map_err(|e| e.to_string())?;
            cleanup_schema = Some((admin, schema.clone()));
            let s = PgStore::connect_in_schema(&args.postgres_url, &schema).await.map_err(|e| e.to_string())?;
            let raw = Raw::Postgres(s.pool().clone());
            (Arc::new(s), raw)
        }
        other => return Err(format!("unbekannter Speicher {other}")),
    };
    store.migrate().await.map_err(|e| e.to_string())?;
    let tokens = amtsweg_demo::seed(&store).await.map_err(|e| e.to_string())?;
    let create = BASELINE_TABLE;
    match &raw {
        Raw::Sqlite(p) => sqlx::query(create).execute(p).await.map(|_| ()),
        Raw::Postgres(p) | Raw::PostgresScratch(p, _) => sqlx::query(create).execute(p).await.map(|_| ()),
    }
    .map_err(|e| e.to_string())?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    // A platform as `serve` runs it: with its ledger key, each batch signs a checkpoint.
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
    let key = amtsweg_ledger::LogKey::from_seed("amtsweg.bench/ledger", seed).map_err(|e| e.to_string())?;
    let mut app = amtsweg_app::Platform::new(store.clone(), key, amtsweg_app::uploads::UploadKey::random());
    if decisions {
        app = app.with_exchange(amtsweg_demo::start_registers(&[]).await?);
    }
    let state = AppState::new(app, WebConfig { demo: false, secure_cookies: false, kern_dir: "/nonexistent".into() });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(amtsweg_web::Application::on(state, listener).run_until_stopped(async {
        let _ = stopped.await;
    }));

    // Citizens whose region has a responsible authority.
    let citizen_tokens: Arc<Vec<String>> =
        Arc::new(tokens.citizens.iter().filter(|c| c.city != "Dresden").map(|c| c.token.clone()).collect());
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().map_err(|e| e.to_string())?;
    let data = serde_json::json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true});
    let raw = Arc::new(raw);
    // Lena Hoffmann: enrolled on the key date.
    let lena = tokens.citizens[3].token.clone();
    let steps: StepTimes = Arc::default();
    let mut rows = Vec::new();
    for &c in &args.concurrency {
        let (decision_client, decision_base) = (client.clone(), base.clone());
        let (client, base, tokens, data) = (client.clone(), base.clone(), citizen_tokens.clone(), data.clone());
        let submit = measure(args.submissions, c, move |i| {
            let (client, base, token, data) = (client.clone(), base.clone(), tokens[i % tokens.len()].clone(), data.clone());
            async move {
                let created: serde_json::Value = expect(
                    client.post(format!("{base}/api/v1/applications")).bearer_auth(&token).json(&serde_json::json!({"service_id": "bewohnerparkausweis"})).send().await,
                    201,
                )
                .await?;
                let id = created["id"].as_str().ok_or("keine id")?.to_owned();
                expect(client.put(format!("{base}/api/v1/applications/{id}/data")).bearer_auth(&token).json(&data).send().await, 200).await?;
                expect(client.post(format!("{base}/api/v1/applications/{id}/submit")).bearer_auth(&token).send().await, 200).await?;
                Ok(())
            }
        })
        .await?;
        let raw2 = raw.clone();
        let level = c;
        let insert = if decisions {
            // The baseline of this run: the decision path against the plain submission path.
            let (submit, decide) = (submit, decide_level(&decision_client, &decision_base, &lena, args.submissions, c, (c == 1).then(|| steps.clone())).await?);
            rows.push(format!(
                "| {kind} | {c} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} | {:.3} |",
                decide.per_second,
                ms(decide.p50),
                ms(decide.p99),
                submit.per_second,
                ms(submit.p50),
                ms(submit.p99),
                decide.per_second / submit.per_second,
            ));
            eprintln!("{}", rows.last().unwrap());
            continue;
        } else {
            measure(args.submissions, c, move |i| {
                let raw = raw2.clone();
                async move { baseline_insert(&raw, format!("{level}-{i}")).await }
            })
            .await?
        };
        rows.push(format!(
            "| {kind} | {c} | {:.0} | {:.1} | {:.1} | {:.0} | {:.2} | {:.2} | {:.3} |",
            submit.per_second,
            ms(submit.p50),
            ms(submit.p99),
            insert.per_second,
            ms(insert.p50),
            ms(insert.p99),
            submit.per_second / insert.per_second,
        ));
        eprintln!("{}", rows.last().unwrap());
    }
    let steps = std::mem::take(&mut *steps.lock().map_err(|_| "Messung")?);
    if !steps.is_empty() {
        let names = ["create", "data", "evidence (register, preview)", "accept", "submit (rules, decision, receipt, PDF/A)"];
        let mut line = format!("| {kind} | median ms per step at 1 client |");
        for (i, name) in names.iter().enumerate() {
            let mut v: Vec<Duration> = steps.iter().map(|s| s[i]).collect();
            v.sort();
            line.push_str(&format!(" {name}: {:.1} |", ms(v[v.len() / 2])));
        }
        rows.push(line);
    }
    let _ = stop.send(());
    let _ = server.await;
    if let Some(dir) = cleanup_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Some((admin, schema)) = cleanup_schema {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await;
    }
    Ok(rows)
}

/// Median time of each request of the decision path, at one client.
pub(crate) type StepTimes = Arc<std::sync::Mutex<Vec<[Duration; 5]>>>;

/// One level of automated decisions: the Energiepreispauschale of the enrolled demo citizen.
async fn decide_level(client: &reqwest::Client, base: &str, token: &str, count: usize, concurrency: usize, steps: Option<StepTimes>) -> Result<Figures, String> {
    let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
    measure(count, concurrency, move |_| {
        let (client, base, token, steps) = (client.clone(), base.clone(), token.clone(), steps.clone());
        async move {
            let mut times = [Duration::ZERO; 5];
            let mut t = Instant::now();
            let mut lap = |i: usize| {
                times[i] = t.elapsed();
                t = Instant::now();
            };
            let created = expect(
                client.post(format!("{base}/api/v1/applications")).bearer_auth(&token).json(&serde_json::json!({"service_id": "energiepreispauschale"})).send().await,
                201,
            )
            .await?;
            let id = created["id"].as_str().ok_or("keine id")?.to_owned();
            lap(0);
            let data = serde_json::json!({"hochschule": "Universität Erfurt", "iban": "DE02120300000000202051", "richtigkeit": true});
            expect(client.put(format!("{base}/api/v1/applications/{id}/data")).bearer_auth(&token).json(&data).send().await, 200).await?;
            lap(1);
            let fetch = serde_json::json!({"type": "urn:amtsweg:evidence:enrolment", "source": "register", "consent": true});
            let preview = expect(client.post(format!("{base}/api/v1/applications/{id}/evidence")).bearer_auth(&token).json(&fetch).send().await, 409).await?;
            lap(2);
            let evidence = preview["evidence_id"].as_str().ok_or("keine Vorschau")?.to_owned();
            expect(client.post(format!("{base}/api/v1/applications/{id}/evidence/{evidence}/accept")).bearer_auth(&token).send().await, 200).await?;
            lap(3);
            let submitted = expect(client.post(format!("{base}/api/v1/applications/{id}/submit")).bearer_auth(&token).send().await, 200).await?;
            lap(4);
            if submitted["status"] != "decided" {
                return Err(format!("nicht automatisiert entschieden: {submitted}"));
            }
            if let Some(steps) = steps {
                steps.lock().map_err(|_| "Messung")?.push(times);
            }
            Ok(())
        }
    })
    .await
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn expect(response: reqwest::Result<reqwest::Response>, status: u16) -> Result<serde_json::Value, String> {
    let response = response.map_err(|e| e.to_string())?;
    let got = response.status().as_u16();
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if got != status {
        return Err(format!("erwartet {status}, erhalten {got}: {body}"));
    }
    Ok(body)
}

pub async fn run(command: BenchCommand) -> Result<(), String> {
    let (args, decisions) = match command {
        BenchCommand::Submissions(args) => (args, false),
        BenchCommand::Decisions(args) => (args, true),
        BenchCommand::Fim(args) => return crate::bench_fim::run(args).await,
        BenchCommand::Evidence(args) => return crate::bench_evidence::run(args).await,
        BenchCommand::Ledger(args) => return crate::bench_ledger::run(args).await,
        BenchCommand::Load(args) => return crate::bench_load::run(args).await,
    };
    let stores: Vec<&str> = match args.store.as_str() {
        "both" => vec!["sqlite", "postgres"],
        s => vec![s],
    };
    let mut rows = Vec::new();
    for s in stores {
        rows.extend(run_store(s, &args, decisions).await?);
    }
    if decisions {
        println!("Automated decisions end to end (create + data + evidence fetch with preview and accept + submit → decided, PDF/A in the mailbox) vs. complete submissions to the inbox, {} per level:\n", args.submissions);
        println!("| store | clients | decisions/s | p50 ms | p99 ms | submissions/s | submission p50 ms | submission p99 ms | ratio |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for r in rows {
            println!("{r}");
        }
        return Ok(());
    }
    println!("Complete submissions (create + data + submit over HTTP) vs. a bare durable insert, {} per level:\n", args.submissions);
    println!("| store | clients | submissions/s | p50 ms | p99 ms | inserts/s | insert p50 ms | insert p99 ms | ratio |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}
