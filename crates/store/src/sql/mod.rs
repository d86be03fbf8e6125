//! The one implementation of [`Store`](crate::Store), [`SqlStore`], generic over the backend:
//! the [`Dialect`] trait hides what differs between SQLite and PostgreSQL (the driver, how a
//! write transaction begins and commits, the ledger lock, the migrations), so that the
//! aggregates (`crate::catalog`, `crate::cases`, …) are written once against [`SqlStore`] and
//! [`Write`] with plain SQL text, [`Arg`]uments and typed rows.

pub(crate) mod driver;
pub(crate) mod rows;
mod store;

pub(crate) use driver::{Arg, args};
pub(crate) use rows::{Present, Rows, row};

use crate::cache::{Caches, Kept, Scope};
use crate::embedded::Embedded;
use crate::{Backend, Result, StoreError};
use std::future::Future;
use std::sync::Arc;

/// A database amtsweg runs on: implemented for `crate::sqlite::Sqlite` (rusqlite, one batching
/// writer) and `sqlx::Postgres` (in `crate::postgres`). Not nameable outside the crate.
pub trait Dialect: Send + Sync + Sized + 'static {
    const BACKEND: Backend;
    const MIGRATIONS: Embedded;
    /// Run first in a write transaction that integrates the ledger: one integrator at a time
    /// across processes (`None` where write transactions are one at a time already).
    const LEDGER_LOCK: Option<&'static str>;
    /// The connections: a pool, or a writer with its readers.
    type Db: Clone + Send + Sync + 'static;
    /// A write transaction under way.
    type Tx: Send + 'static;

    /// Applies the embedded migrations not applied yet.
    fn migrate(db: &Self::Db) -> impl Future<Output = Result<()>> + Send;
    /// Runs a statement on its own (autocommit); returns the rows it changed.
    fn execute<'a>(db: &'a Self::Db, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<u64>> + Send + 'a;
    /// Reads all rows of a query, outside any transaction.
    fn fetch_all<'a, T: Rows>(db: &'a Self::Db, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Vec<T>>> + Send + 'a;
    /// Reads the first row of a query, if any, outside any transaction.
    fn fetch_optional<'a, T: Rows>(db: &'a Self::Db, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Option<T>>> + Send + 'a;
    /// Begins a write transaction.
    fn begin(db: &Self::Db) -> impl Future<Output = Result<Self::Tx>> + Send;
    fn tx_execute<'a>(tx: &'a mut Self::Tx, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<u64>> + Send + 'a;
    fn tx_fetch_all<'a, T: Rows>(tx: &'a mut Self::Tx, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Vec<T>>> + Send + 'a;
    fn tx_fetch_optional<'a, T: Rows>(tx: &'a mut Self::Tx, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Option<T>>> + Send + 'a;
    /// Commits: returns once the transaction is durable.
    fn commit(tx: Self::Tx) -> impl Future<Output = Result<()>> + Send;
    /// Rolls back now and lets the next writer in.
    fn rollback(tx: Self::Tx) -> impl Future<Output = Result<()>> + Send;
    /// Makes each commit integrate the ledger's pending entries and store a checkpoint signed
    /// with `sign`, where the backend batches commits; `false` where it does not.
    fn sign_ledger_per_batch(db: &Self::Db, sign: crate::LedgerSign) -> bool;
    /// The receipt's parts for an entry that one of this process's last batches integrated,
    /// from memory (`crate::ledger::Recent`); `None` where the backend keeps none.
    fn recent_receipt(_db: &Self::Db, _reference: &str) -> Option<crate::RecentReceipt> {
        None
    }
}

/// The store over one database: [`SqliteStore`](crate::SqliteStore) or
/// [`PgStore`](crate::PgStore).
pub struct SqlStore<DB: Dialect> {
    db: DB::Db,
    /// What is kept between requests (`crate::cache`), shared by the clones.
    caches: Arc<Caches>,
}

impl<DB: Dialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { db: self.db.clone(), caches: self.caches.clone() }
    }
}

const CACHE_VERSION: &str = "SELECT version FROM cache_versions WHERE name = $1";

impl<DB: Dialect> SqlStore<DB> {
    /// A store that reads the versions of what it keeps from the database.
    pub(crate) fn with_db(db: DB::Db) -> Self {
        Self::with_caches(db, Caches::default())
    }

    pub(crate) fn with_caches(db: DB::Db, caches: Caches) -> Self {
        Self { db, caches: Arc::new(caches) }
    }

    pub(crate) fn db(&self) -> &DB::Db {
        &self.db
    }

    pub(crate) fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The current version of `scope`; `None`: keep and use nothing now (the listening
    /// connection is down, or the version could not be read: the lookup itself then reads the
    /// database and reports what is wrong). Access is always read from the database: a revoked
    /// token must be refused on the very next request on every node, and a notification may
    /// arrive after that request; the catalog follows the notifications where a node listens.
    pub(crate) async fn cache_version(&self, scope: Scope) -> Option<u64> {
        match (&self.caches.listened, scope) {
            (Some(listened), Scope::Catalog) => listened.version(),
            _ => self.optional::<(i64,)>(CACHE_VERSION, args![scope.name()]).await.ok().flatten().map(|(v,)| v as u64),
        }
    }

    /// Runs a write to the catalog's tables and then lets this store's kept catalog go at once
    /// (read-your-writes on this node; the database's triggers tell every other node, and on
    /// SQLite the version is read from the database anyway, as access is on both).
    pub(crate) async fn changing_catalog<T>(&self, write: impl Future<Output = Result<T>>) -> Result<T> {
        let done = write.await;
        if let Some(listened) = &self.caches.listened {
            listened.moved();
        }
        done
    }

    /// The value kept in `kept` for `key` under the current version of `scope`, or `load`ed
    /// (and kept under the version read before it).
    pub(crate) async fn kept<K, V>(&self, scope: Scope, kept: impl Fn(&Caches) -> &Kept<K, V>, key: K, load: impl Future<Output = Result<V>>) -> Result<V>
    where
        K: Eq + std::hash::Hash,
        V: Clone,
    {
        let version = self.cache_version(scope).await;
        if let Some(v) = version
            && let Some(hit) = kept(&self.caches).get(&key, v)
        {
            return Ok(hit);
        }
        let value = load.await?;
        if let Some(v) = version {
            kept(&self.caches).put(key, v, value.clone());
        }
        Ok(value)
    }

    /// Reads all rows of a query, outside any transaction.
    pub(crate) async fn all<T: Rows>(&self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>> {
        DB::fetch_all(&self.db, sql, args).await
    }

    /// Reads the first row of a query, if any.
    pub(crate) async fn optional<T: Rows>(&self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>> {
        DB::fetch_optional(&self.db, sql, args).await
    }

    /// Reads the first row of a query; `RowNotFound` without one.
    pub(crate) async fn one<T: Rows>(&self, sql: &str, args: &[Arg<'_>]) -> Result<T> {
        self.optional(sql, args).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs one statement on its own (autocommit); returns the rows it changed.
    pub(crate) async fn execute(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        DB::execute(&self.db, sql, args).await
    }

    /// Begins a write transaction (on SQLite in this process's batch of writes).
    pub(crate) async fn write(&self) -> Result<Write<DB>> {
        Ok(Write { tx: DB::begin(&self.db).await? })
    }
}

/// A write transaction. Dropped without [`commit`](Write::commit), it rolls back.
pub(crate) struct Write<DB: Dialect> {
    tx: DB::Tx,
}

/// The same statements and reads as on [`SqlStore`], inside the transaction.
impl<DB: Dialect> Write<DB> {
    pub(crate) fn from_tx(tx: DB::Tx) -> Self {
        Self { tx }
    }

    pub(crate) fn into_tx(self) -> DB::Tx {
        self.tx
    }

    pub(crate) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        DB::tx_execute(&mut self.tx, sql, args).await
    }

    pub(crate) async fn all<T: Rows>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<T>> {
        DB::tx_fetch_all(&mut self.tx, sql, args).await
    }

    pub(crate) async fn optional<T: Rows>(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Option<T>> {
        DB::tx_fetch_optional(&mut self.tx, sql, args).await
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
        DB::commit(self.tx).await
    }

    /// Rolls back now and lets the next writer in.
    pub(crate) async fn rollback(self) -> Result<()> {
        DB::rollback(self.tx).await
    }
}

/// A unique violation as [`StoreError::Exists`] naming `what`; other errors unchanged.
pub(crate) fn exists_as(what: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => StoreError::Exists(what),
        StoreError::Sqlite(e) if crate::sqlite::is_unique_violation(&e) => StoreError::Exists(what),
        other => other,
    }
}

/// A fresh id: a UUID version 7 (milliseconds since 1970, then 74 random bits). Ids made in the
/// same moment sort together, so the rows of a batch and their index entries land on the same
/// few pages at the right edge of each B-tree instead of on pages spread over the whole index
/// (fewer pages written per commit on SQLite, fewer on PostgreSQL too). No id is a secret: every
/// read checks who may see the row.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
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
