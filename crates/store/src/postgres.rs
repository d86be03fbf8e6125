//! PostgreSQL, for several stateless app nodes on one database.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with every connection's `search_path` set to `schema` (which must exist): lets
    /// each test run in a fresh schema of one database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> crate::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        Self::connect_with(options).await
    }

    async fn connect_with(options: PgConnectOptions) -> crate::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// PostgreSQL handles concurrent writers itself: no process-local lock (the `()`).
    async fn begin(&self) -> Result<((), sqlx::Transaction<'static, sqlx::Postgres>), sqlx::Error> {
        Ok(((), self.pool.begin().await?))
    }
    /// One ledger integrator at a time across all app processes on this database.
    async fn lock_ledger(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(727365110)").execute(&mut **tx).await?;
        Ok(())
    }
}

crate::sql::shared_store_impl!(PgStore, sqlx::Postgres, Backend::Postgres, crate::embedded::POSTGRES);
