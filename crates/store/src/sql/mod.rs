//! The one implementation of [`Store`](crate::Store), [`SqlStore`], generic over the backend:
//! the [`Dialect`] trait hides what differs between SQLite and PostgreSQL (how a write
//! transaction begins, the ledger lock, the migrations, and the driver calls), so that the
//! aggregates (`crate::catalog`, `crate::cases`, …) are written once against [`SqlStore`] and
//! [`Write`] with plain SQL text, [`Arg`]uments and typed rows.

pub(crate) mod driver;
mod rows;
mod store;

pub(crate) use driver::{Arg, args};
pub(crate) use rows::{Present, Rows, row};

use crate::embedded::Embedded;
use crate::{Backend, Result, StoreError};
use sqlx::{Pool, Transaction};
use std::future::Future;

/// A database amtsweg runs on: implemented for `sqlx::Sqlite` (in `crate::sqlite`) and
/// `sqlx::Postgres` (in `crate::postgres`). Not nameable outside the crate.
pub trait Dialect: sqlx::Database {
    const BACKEND: Backend;
    const MIGRATIONS: Embedded;
    /// Run first in a write transaction that integrates the ledger: one integrator at a time
    /// across processes (`None` where write transactions are one at a time already).
    const LEDGER_LOCK: Option<&'static str>;
    /// What queues this process's write transactions (SQLite's writer lock; nothing on PostgreSQL).
    type Writers: Clone + Default + Send + Sync + 'static;
    /// Held while a write transaction runs.
    type WriteGuard: Send + 'static;

    /// Begins a write transaction.
    fn begin_write(
        writers: &Self::Writers,
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<(Self::WriteGuard, Transaction<'static, Self>), sqlx::Error>> + Send;
    /// Applies the embedded migrations not applied yet.
    fn migrate(pool: &Pool<Self>) -> impl Future<Output = Result<(), sqlx::migrate::MigrateError>> + Send;
    /// Runs a statement; returns the rows it changed.
    fn execute<'a>(conn: &'a mut Self::Connection, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'a;
    /// Reads all rows of a query.
    fn fetch_all<'a, T: Rows>(conn: &'a mut Self::Connection, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Vec<T>, sqlx::Error>> + Send + 'a;
    /// Reads the first row of a query, if any.
    fn fetch_optional<'a, T: Rows>(conn: &'a mut Self::Connection, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send + 'a;
}

/// The store over one database: [`SqliteStore`](crate::SqliteStore) or
/// [`PgStore`](crate::PgStore).
pub struct SqlStore<DB: Dialect> {
    pool: Pool<DB>,
    writers: DB::Writers,
}

impl<DB: Dialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone(), writers: self.writers.clone() }
    }
}

impl<DB: Dialect> SqlStore<DB> {
    pub(crate) fn with_pool(pool: Pool<DB>) -> Self {
        Self { pool, writers: Default::default() }
    }

    /// The connection pool, for tests and benchmarks that reach past the store.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Reads all rows of a query, outside any transaction.
    pub(crate) async fn all<T: Rows>(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>> {
        let mut conn = self.pool.acquire().await?;
        Ok(DB::fetch_all(&mut conn, sql, args).await?)
    }

    /// Reads the first row of a query, if any.
    pub(crate) async fn optional<T: Rows>(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>> {
        let mut conn = self.pool.acquire().await?;
        Ok(DB::fetch_optional(&mut conn, sql, args).await?)
    }

    /// Reads the first row of a query; `RowNotFound` without one.
    pub(crate) async fn one<T: Rows>(&self, sql: &str, args: &[Arg<'_>]) -> Result<T> {
        self.optional(sql, args).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs one statement on its own (autocommit); returns the rows it changed.
    pub(crate) async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let mut conn = self.pool.acquire().await?;
        Ok(DB::execute(&mut conn, sql, args).await?)
    }

    /// Begins a write transaction (on SQLite after the writers before it in this process).
    pub(crate) async fn write(&self) -> Result<Write<DB>> {
        let (guard, tx) = DB::begin_write(&self.writers, &self.pool).await?;
        Ok(Write { tx, _guard: guard })
    }
}

/// A write transaction. Dropped without [`commit`](Write::commit), it rolls back.
pub(crate) struct Write<DB: Dialect> {
    // Declared first, dropped first: the transaction ends before the next writer may begin.
    tx: Transaction<'static, DB>,
    _guard: DB::WriteGuard,
}

/// The same statements and reads as on [`SqlStore`], inside the transaction.
impl<DB: Dialect> Write<DB> {
    pub(crate) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        Ok(DB::execute(&mut self.tx, sql, args).await?)
    }

    pub(crate) async fn all<T: Rows>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>> {
        Ok(DB::fetch_all(&mut self.tx, sql, args).await?)
    }

    pub(crate) async fn optional<T: Rows>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>> {
        Ok(DB::fetch_optional(&mut self.tx, sql, args).await?)
    }

    pub(crate) async fn one<T: Rows>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<T> {
        self.optional(sql, args).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Takes the ledger integrator's lock, held until the transaction ends.
    pub(crate) async fn lock_ledger(&mut self) -> Result<()> {
        if let Some(sql) = DB::LEDGER_LOCK {
            self.execute(sql, &[]).await?;
        }
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    /// Rolls back now and lets the next writer in.
    pub(crate) async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

/// A unique violation as [`StoreError::Exists`] naming `what`; other errors unchanged.
pub(crate) fn exists_as(what: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => StoreError::Exists(what),
        other => other,
    }
}

/// A fresh random id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `StoreError::Corrupt` naming what was malformed (never the value).
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// `('a','b')` for the statuses from which `to` may be reached (static strings, safe to inline).
pub(crate) fn status_sources(to: amtsweg_domain::ApplicationStatus) -> String {
    let list: Vec<String> = amtsweg_domain::ApplicationStatus::sources_of(to).iter().map(|s| format!("'{}'", s.as_str())).collect();
    format!("({})", list.join(","))
}
