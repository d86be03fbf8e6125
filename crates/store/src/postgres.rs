//! PostgreSQL, for several stateless app nodes on one database.

use crate::cache::{Caches, Listened};
use crate::sql::driver::{self, Arg};
use crate::sql::{Dialect, Rows, SqlStore};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The store on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with every connection's `search_path` set to `schema` (which must exist): lets
    /// each test run in a fresh schema of one database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> crate::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        Self::connect_with(options).await
    }

    /// Creates the schema `schema` (of `[a-z0-9_]`, not existing yet) and connects into it: a
    /// fresh world on a shared database (the demo on PostgreSQL).
    pub async fn connect_to_new_schema(url: &str, schema: &str) -> crate::Result<Self> {
        if schema.is_empty() || schema.len() > 63 || !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(crate::StoreError::Corrupt("schema name".into()));
        }
        let admin = PgPoolOptions::new().max_connections(1).connect_with(PgConnectOptions::from_str(url)?).await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await?;
        admin.close().await;
        Self::connect_in_schema(url, schema).await
    }

    /// Connects and listens for changes of what is kept (`crate::cache`).
    async fn connect_with(options: PgConnectOptions) -> crate::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        let listened = Arc::new(Listened::default());
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(listen(pool.clone(), listened.clone(), stopped));
        let caches = Caches { listened: Some(listened), _stop: Some(stop), ..Caches::default() };
        Ok(Self::with_caches(pool, caches))
    }
}

/// The channel the triggers of migrations 12 and 13 notify.
const CACHE_CHANNEL: &str = "amtsweg_cache";
/// How often a listening node sends itself a notification, and how long it waits to hear it
/// before it takes the connection for lost: a connection can die without an error (a firewall's
/// idle timeout, a failover), and a node that does not notice would keep what it keeps for ever.
const HEARTBEAT: Duration = Duration::from_secs(1);
const HEARD_WITHIN: Duration = Duration::from_secs(2);

/// Nothing is kept once the listening task ends, however it ends (a panic, a runtime shut down).
struct DeafWhenGone(Arc<Listened>);

impl Drop for DeafWhenGone {
    fn drop(&mut self) {
        self.0.lost();
    }
}

/// Listens on its own connection until the store is dropped. Keeps nothing before the versions'
/// table exists (migration 12), and from a lost connection (an error, or its own heartbeat not
/// heard back in time) until it listens again.
async fn listen(pool: PgPool, listened: Arc<Listened>, mut stopped: tokio::sync::watch::Receiver<()>) {
    let _deaf_when_gone = DeafWhenGone(listened.clone());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut beat = 0u64;
    loop {
        let connected = async {
            sqlx::query("SELECT 1 FROM cache_versions LIMIT 1").execute(&pool).await?;
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.eager_reconnect(false);
            listener.listen(CACHE_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = stopped.changed() => return,
            connected = connected => match connected {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::debug!(error = %e, "cache notifications: not listening yet, retrying in a second");
                    tokio::select! {
                        _ = stopped.changed() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        listened.listening();
        let mut tick = tokio::time::interval(HEARTBEAT);
        // The heartbeat sent and not heard back yet, and when it was sent.
        let mut waiting: Option<(String, Instant)> = None;
        let lost = loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tick.tick() => match &waiting {
                    Some((_, sent)) if sent.elapsed() > HEARD_WITHIN => break "its heartbeat was not heard back",
                    Some(_) => {}
                    None => {
                        beat += 1;
                        let payload = format!("ping:{nonce}:{beat}");
                        let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(CACHE_CHANNEL).bind(&payload).execute(&pool);
                        match tokio::time::timeout(HEARD_WITHIN, sent).await {
                            Ok(Ok(_)) => waiting = Some((payload, Instant::now())),
                            _ => break "its heartbeat could not be sent",
                        }
                    }
                },
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => {
                        let payload = notification.payload();
                        if payload.starts_with("ping:") {
                            // Every node's heartbeat reaches every node: only its own counts.
                            if waiting.as_ref().is_some_and(|(p, _)| p == payload) {
                                waiting = None;
                            }
                        } else {
                            listened.changed(payload);
                        }
                    }
                    Ok(None) => break "the connection was closed",
                    Err(_) => break "the connection failed",
                },
            }
        };
        tracing::warn!(reason = lost, "cache notifications: connection lost, nothing is kept until it is back");
        listened.lost();
    }
}

/// The migrations up to and including `version`: a database as an earlier release left it
/// (for the upgrade tests).
impl SqlStore<Postgres> {
    #[doc(hidden)]
    pub async fn migrate_through(&self, version: i64) -> crate::Result<()> {
        let all = <Postgres as Dialect>::MIGRATIONS.0;
        let end = all.iter().position(|m| m.0 > version).unwrap_or(all.len());
        sqlx::migrate::Migrator::new(crate::embedded::Embedded(&all[..end])).await?.run(self.pool()).await?;
        Ok(())
    }

    /// The connection pool, for tests and benchmarks that reach past the store.
    pub fn pool(&self) -> &PgPool {
        self.db()
    }
}

impl Dialect for Postgres {
    const BACKEND: crate::Backend = crate::Backend::Postgres;
    const MIGRATIONS: crate::embedded::Embedded = crate::embedded::POSTGRES;
    /// One ledger integrator at a time across all app processes on this database.
    const LEDGER_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(727365110)");
    type Db = PgPool;
    type Tx = Transaction<'static, Postgres>;

    async fn migrate(pool: &PgPool) -> crate::Result<()> {
        Ok(sqlx::migrate::Migrator::new(Self::MIGRATIONS).await?.run(pool).await?)
    }

    fn execute<'a>(pool: &'a PgPool, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = crate::Result<u64>> + Send + 'a {
        async move {
            let mut conn = pool.acquire().await?;
            Ok(driver::execute::<Self>(&mut conn, driver::bind(sql, args)).await?.rows_affected())
        }
    }

    fn fetch_all<'a, T: Rows>(pool: &'a PgPool, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = crate::Result<Vec<T>>> + Send + 'a {
        async move {
            let mut conn = pool.acquire().await?;
            Ok(driver::fetch_all::<Self, T>(&mut conn, driver::bind(sql, args)).await?)
        }
    }

    fn fetch_optional<'a, T: Rows>(pool: &'a PgPool, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = crate::Result<Option<T>>> + Send + 'a {
        async move {
            let mut conn = pool.acquire().await?;
            Ok(driver::fetch_optional::<Self, T>(&mut conn, driver::bind(sql, args)).await?)
        }
    }

    async fn begin(pool: &PgPool) -> crate::Result<Transaction<'static, Postgres>> {
        Ok(pool.begin().await?)
    }

    fn tx_execute<'a>(tx: &'a mut Transaction<'static, Postgres>, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = crate::Result<u64>> + Send + 'a {
        async move { Ok(driver::execute::<Self>(tx, driver::bind(sql, args)).await?.rows_affected()) }
    }

    fn tx_fetch_all<'a, T: Rows>(tx: &'a mut Transaction<'static, Postgres>, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = crate::Result<Vec<T>>> + Send + 'a {
        async move { Ok(driver::fetch_all::<Self, T>(tx, driver::bind(sql, args)).await?) }
    }

    fn tx_fetch_optional<'a, T: Rows>(
        tx: &'a mut Transaction<'static, Postgres>,
        sql: &'a str,
        args: &'a [Arg<'a>],
    ) -> impl Future<Output = crate::Result<Option<T>>> + Send + 'a {
        async move { Ok(driver::fetch_optional::<Self, T>(tx, driver::bind(sql, args)).await?) }
    }

    async fn commit(tx: Transaction<'static, Postgres>) -> crate::Result<()> {
        Ok(tx.commit().await?)
    }

    async fn rollback(tx: Transaction<'static, Postgres>) -> crate::Result<()> {
        Ok(tx.rollback().await?)
    }

    /// Not yet: each receipt integrates and signs (shared between concurrent requests).
    fn sign_ledger_per_batch(_: &PgPool, _: crate::LedgerSign) -> bool {
        false
    }
}
