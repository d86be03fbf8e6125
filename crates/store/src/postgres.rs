//! PostgreSQL, for several stateless app nodes on one database.

use crate::cache::{Caches, Listened};
use crate::sql::driver::{self, Arg};
use crate::sql::{Dialect, Rows, SqlStore};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

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

/// The channel the triggers of migration 12 notify.
const CACHE_CHANNEL: &str = "amtsweg_cache";

/// Listens on its own connection until the store is dropped; on a lost connection, connects
/// again (after a second), and only then lets the store keep anything again.
async fn listen(pool: PgPool, listened: Arc<Listened>, mut stopped: tokio::sync::watch::Receiver<()>) {
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CACHE_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = stopped.changed() => return,
            connected = connected => match connected {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "cache notifications: not listening, retrying in a second");
                    tokio::select! {
                        _ = stopped.changed() => return,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        listened.listening();
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) => listened.changed(notification.payload()),
                    Ok(None) | Err(_) => {
                        tracing::warn!("cache notifications: connection lost, nothing is kept until it is back");
                        listened.lost();
                        break;
                    }
                },
            }
        }
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
