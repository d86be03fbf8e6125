//! `amtsweg bench ledger`: durable appends per second (each one a committed action with its
//! ledger entry, integrated into the tree by a batching integrator) at several numbers of
//! writers, against a bare durable insert in the same run; then, on SQLite, a ledger of up to a
//! million entries: batched integration rate, time to verify 100 000 and 1 000 000 entries, and
//! the size of proofs at 1 000 000.

use crate::bench::{measure, ms};
use amtsweg_store::{DynStore, PgStore, SqliteStore, Store};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct LedgerBenchArgs {
    /// Writer counts, comma-separated.
    #[arg(long, default_value = "1,8,32", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Appends per writer count and store.
    #[arg(long, default_value_t = 2000)]
    appends: usize,
    /// Size of the large ledger (verify and proof sizes); 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// PostgreSQL server (a fresh schema is created and dropped); empty skips PostgreSQL.
    #[arg(long, env = "AMTSWEG_BENCH_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn sqlite(dir: &std::path::Path) -> Result<(DynStore, sqlx::SqlitePool), String> {
    let s = SqliteStore::connect(&format!("sqlite:{}", dir.join("ledger.db").display())).await.map_err(err)?;
    s.migrate().await.map_err(err)?;
    let pool = crate::bench::sqlite_pool(sqlx::sqlite::SqliteConnectOptions::new().filename(s.path())).await?;
    Ok((Arc::new(s), pool))
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn execute(&self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
            Raw::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop),
        }
        .map_err(err)
    }
    async fn insert(&self, id: String) -> Result<(), String> {
        let sql = "INSERT INTO bench_baseline (id, payload) VALUES ($1, $2)";
        let payload = "{\"v\":1,\"kind\":\"case_viewed\",\"actor_role\":\"caseworker\"}";
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).bind(id).bind(payload).execute(p).await.map(drop),
            Raw::Postgres(p) => sqlx::query(sql).bind(id).bind(payload).execute(p).await.map(drop),
        }
        .map_err(err)
    }
}

/// Appends by `writers` at once until `count` are integrated; the integrator batches whatever
/// is waiting.
async fn appends(store: &DynStore, raw: &Arc<Raw>, writers: usize, count: usize) -> Result<String, String> {
    let base = store.ledger_size().await.map_err(err)? + store.ledger_pending().await.map_err(err)?;
    let target = base + count as u64;
    let integrator = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut batches = 0u64;
            loop {
                let size = store.ledger_integrate(5000).await.map_err(err)?;
                batches += 1;
                if size >= target {
                    return Ok::<u64, String>(batches);
                }
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
    };
    let started = Instant::now();
    let s = store.clone();
    let ledger = measure(count, writers, move |i| {
        let s = s.clone();
        async move { s.record_action(amtsweg_domain::AuditKind::CaseViewed, Some(("sachbearbeitung-1", "caseworker")), Some("leipzig"), ("case", &format!("bench-{i}"))).await.map_err(err) }
    })
    .await?;
    let batches = integrator.await.map_err(err)??;
    let elapsed = started.elapsed();
    let r = raw.clone();
    let baseline = measure(count, writers, move |i| {
        let r = r.clone();
        async move { r.insert(format!("{}-{i}", uuid::Uuid::new_v4())).await }
    })
    .await?;
    let per_second = count as f64 / elapsed.as_secs_f64();
    Ok(format!(
        "| {writers} | {per_second:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
        ms(ledger.p50),
        ms(ledger.p99),
        count as f64 / batches as f64,
        baseline.per_second,
        per_second / baseline.per_second
    ))
}

async fn append_table(name: &str, store: DynStore, raw: Raw, args: &LedgerBenchArgs) -> Result<(), String> {
    raw.execute("CREATE TABLE bench_baseline (id TEXT PRIMARY KEY, payload TEXT NOT NULL)").await?;
    let raw = Arc::new(raw);
    println!("\n{name}: durable appends (action + ledger entry committed, integrated in batches) vs. a bare durable insert, {} per level:\n", args.appends);
    println!("| writers | appends/s (until in the tree) | commit p50 ms | commit p99 ms | entries per batch | bare inserts/s | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for &c in &args.concurrency {
        println!("{}", appends(&store, &raw, c, args.appends).await?);
    }
    Ok(())
}

pub async fn run(args: LedgerBenchArgs) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("amtsweg-bench-ledger-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(err)?;
    let (store, pool) = sqlite(&dir).await?;
    append_table("SQLite", store, Raw::Sqlite(pool), &args).await?;
    if !args.postgres_url.is_empty() {
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&args.postgres_url).await.map_err(|e| format!("PostgreSQL: {e}"))?;
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.map_err(err)?;
        let s = PgStore::connect_in_schema(&args.postgres_url, &schema).await.map_err(err)?;
        s.migrate().await.map_err(err)?;
        let pool = s.pool().clone();
        let result = append_table("PostgreSQL", Arc::new(s), Raw::Postgres(pool), &args).await;
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await;
        result?;
    }
    if args.entries > 0 {
        large(&dir, args.entries).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Fills a fresh SQLite ledger with synthetic entries (written straight into the queue, as many
/// actions would), integrates them in batches, and verifies at 100 000 and at the end.
async fn large(dir: &std::path::Path, total: u64) -> Result<(), String> {
    let sub = dir.join("large");
    std::fs::create_dir_all(&sub).map_err(err)?;
    let (store, pool) = sqlite(&sub).await?;
    let key = amtsweg_ledger::LogKey::from_seed("bench.amtsweg/ledger", [3; 32]).map_err(err)?;
    let entry = |i: u64| {
        let mut commitments = std::collections::BTreeMap::new();
        commitments.insert("subject".to_owned(), amtsweg_ledger::Commitment::new(&i.to_be_bytes(), "x"));
        amtsweg_ledger::Entry { v: 1, kind: "case_viewed".into(), at: "2026-11-22T10:00:00Z".into(), actor_role: "caseworker".into(), authority: Some("leipzig".into()), subject_kind: "case".into(), commitments }.to_bytes()
    };
    println!("\nA large ledger on SQLite (entries of {} bytes):\n", entry(0).len());
    println!("| entries | batched integration, entries/s | verify (all entries, hashes, checkpoints) s | verify entries/s |");
    println!("|---|---|---|---|");
    let mut size = 0u64;
    for stop in [100_000u64.min(total), total] {
        if stop <= size {
            continue;
        }
        let mut next = size;
        while next < stop {
            let end = (next + 50_000).min(stop);
            let mut tx = pool.begin().await.map_err(err)?;
            for i in next..end {
                sqlx::query("INSERT INTO ledger_pending (entry) VALUES ($1)").bind(entry(i)).execute(&mut *tx).await.map_err(err)?;
            }
            tx.commit().await.map_err(err)?;
            next = end;
        }
        let t = Instant::now();
        while store.ledger_integrate(5000).await.map_err(err)? < stop {}
        let integration = (stop - size) as f64 / t.elapsed().as_secs_f64();
        amtsweg_app::ledger::checkpoint(&store, &key).await.map_err(err)?;
        let t = Instant::now();
        let v = amtsweg_app::ledger::verify(&store, key.verifier_key()).await.map_err(err)?.map_err(|m| m.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        println!("| {} | {integration:.0} | {secs:.1} | {:.0} |", v.entries, v.entries as f64 / secs);
        size = stop;
    }
    let t = Instant::now();
    let inclusion = amtsweg_app::ledger::inclusion(&store, size / 3, size).await.map_err(err)?;
    let inclusion_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let consistency = amtsweg_app::ledger::consistency(&store, 100_000.min(size), size).await.map_err(err)?;
    let consistency_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("\nProofs at {size} entries:\n");
    println!("| proof | hashes | bytes of hashes | JSON bytes | made in ms |");
    println!("|---|---|---|---|---|");
    let i_json = serde_json::to_string(&inclusion).map_err(err)?.len();
    let c_json = serde_json::to_string(&consistency).map_err(err)?.len();
    println!("| inclusion of entry {} | {} | {} | {i_json} | {inclusion_ms:.1} |", size / 3, inclusion.hashes.len(), inclusion.hashes.len() * 32);
    println!("| consistency {} → {size} | {} | {} | {c_json} | {consistency_ms:.1} |", 100_000.min(size), consistency.hashes.len(), consistency.hashes.len() * 32);
    Ok(())
}
