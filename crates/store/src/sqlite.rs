//! The embedded default: one SQLite file in WAL mode, durable commits (`synchronous=FULL`).
//! SQLite has one writer at a time. Write transactions queue in this process on an async lock
//! (fair, no polling) and then start with `BEGIN IMMEDIATE`, so that they never fail on a lock
//! upgrade; the busy timeout only matters when another process writes to the same file.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        Ok(Self { pool, writer: Default::default() })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin(
        &self,
    ) -> Result<(tokio::sync::OwnedMutexGuard<()>, sqlx::Transaction<'static, sqlx::Sqlite>), sqlx::Error> {
        let writer = self.writer.clone().lock_owned().await;
        Ok((writer, self.pool.begin_with("BEGIN IMMEDIATE").await?))
    }
    /// SQLite writers are already one at a time (`BEGIN IMMEDIATE`).
    async fn lock_ledger(_tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

crate::sql::shared_store_impl!(SqliteStore, sqlx::Sqlite, Backend::Sqlite, crate::embedded::SQLITE);
