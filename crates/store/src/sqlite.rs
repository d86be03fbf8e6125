//! The embedded default: one SQLite file in WAL mode, durable commits (`synchronous=FULL`).
//! SQLite has one writer at a time. Write transactions queue in this process on an async lock
//! (fair, no polling) and then start with `BEGIN IMMEDIATE`, so that they never fail on a lock
//! upgrade; the busy timeout only matters when another process writes to the same file.

use crate::sql::driver::{self, Arg};
use crate::sql::{Dialect, Rows, SqlStore};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        Ok(Self::with_pool(pool))
    }

    /// Writes a consistent copy of the whole database to `path` (which must not exist) while
    /// others keep reading and writing: `VACUUM INTO` reads one snapshot.
    pub async fn vacuum_into(&self, path: &std::path::Path) -> crate::Result<()> {
        let target = path.to_str().ok_or_else(|| crate::StoreError::Corrupt("backup path".into()))?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(self.pool()).await?;
        Ok(())
    }
}

/// The migrations up to and including `version`: a database as an earlier release left it
/// (for the upgrade tests).
impl SqlStore<Sqlite> {
    #[doc(hidden)]
    pub async fn migrate_through(&self, version: i64) -> crate::Result<()> {
        let all = <Sqlite as Dialect>::MIGRATIONS.0;
        let end = all.iter().position(|m| m.0 > version).unwrap_or(all.len());
        sqlx::migrate::Migrator::new(crate::embedded::Embedded(&all[..end])).await?.run(self.pool()).await?;
        Ok(())
    }
}

impl Dialect for Sqlite {
    const BACKEND: crate::Backend = crate::Backend::Sqlite;
    const MIGRATIONS: crate::embedded::Embedded = crate::embedded::SQLITE;
    /// SQLite writers are already one at a time (`BEGIN IMMEDIATE`).
    const LEDGER_LOCK: Option<&'static str> = None;
    type Writers = Arc<Mutex<()>>;
    type WriteGuard = OwnedMutexGuard<()>;

    async fn begin_write(writers: &Self::Writers, pool: &SqlitePool) -> Result<(Self::WriteGuard, Transaction<'static, Self>), sqlx::Error> {
        let writer = writers.clone().lock_owned().await;
        Ok((writer, pool.begin_with("BEGIN IMMEDIATE").await?))
    }

    async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate::Migrator::new(Self::MIGRATIONS).await?.run(pool).await
    }

    async fn execute<'a>(conn: &'a mut SqliteConnection, sql: &'a str, args: &'a [Arg<'a>]) -> Result<u64, sqlx::Error> {
        Ok(driver::execute::<Self>(conn, driver::bind(sql, args)).await?.rows_affected())
    }

    async fn fetch_all<'a, T: Rows>(conn: &'a mut SqliteConnection, sql: &'a str, args: &'a [Arg<'a>]) -> Result<Vec<T>, sqlx::Error> {
        driver::fetch_all::<Self, T>(conn, driver::bind(sql, args)).await
    }

    async fn fetch_optional<'a, T: Rows>(conn: &'a mut SqliteConnection, sql: &'a str, args: &'a [Arg<'a>]) -> Result<Option<T>, sqlx::Error> {
        driver::fetch_optional::<Self, T>(conn, driver::bind(sql, args)).await
    }
}
