//! PostgreSQL, for several stateless app nodes on one database.

use crate::sql::driver::{self, Arg};
use crate::sql::{Dialect, Rows, SqlStore};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres, Transaction};
use std::str::FromStr;

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

    async fn connect_with(options: PgConnectOptions) -> crate::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        Ok(Self::with_pool(pool))
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
}

impl Dialect for Postgres {
    const BACKEND: crate::Backend = crate::Backend::Postgres;
    const MIGRATIONS: crate::embedded::Embedded = crate::embedded::POSTGRES;
    /// One ledger integrator at a time across all app processes on this database.
    const LEDGER_LOCK: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(727365110)");
    /// PostgreSQL handles concurrent writers itself: no process-local lock.
    type Writers = ();
    type WriteGuard = ();

    async fn begin_write(_: &(), pool: &PgPool) -> Result<((), Transaction<'static, Self>), sqlx::Error> {
        Ok(((), pool.begin().await?))
    }

    async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate::Migrator::new(Self::MIGRATIONS).await?.run(pool).await
    }

    async fn execute<'a>(conn: &'a mut PgConnection, sql: &'a str, args: &'a [Arg<'a>]) -> Result<u64, sqlx::Error> {
        Ok(driver::execute::<Self>(conn, driver::bind(sql, args)).await?.rows_affected())
    }

    async fn fetch_all<'a, T: Rows>(conn: &'a mut PgConnection, sql: &'a str, args: &'a [Arg<'a>]) -> Result<Vec<T>, sqlx::Error> {
        driver::fetch_all::<Self, T>(conn, driver::bind(sql, args)).await
    }

    async fn fetch_optional<'a, T: Rows>(conn: &'a mut PgConnection, sql: &'a str, args: &'a [Arg<'a>]) -> Result<Option<T>, sqlx::Error> {
        driver::fetch_optional::<Self, T>(conn, driver::bind(sql, args)).await
    }
}
