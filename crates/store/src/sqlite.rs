//! The embedded default: one SQLite file in WAL mode, durable commits (`synchronous=FULL`),
//! through rusqlite.
//!
//! # One writer that commits in batches
//!
//! SQLite has one writer at a time and a durable commit costs a sync of the WAL, so every write
//! transaction of this process goes through one writer connection, and what waits is committed
//! together (group commit):
//!
//! - A write transaction queues on the writer (a fair async lock). The first of a batch begins
//!   `BEGIN IMMEDIATE`; each runs in its own `SAVEPOINT`, with its statements executed inline
//!   (prepared statements cached on the connection, no thread hand-off per statement). Its
//!   `commit` releases the savepoint, lets the next writer in and waits for the batch.
//! - The committer, a thread of its own, takes the writer when the writers queued before it
//!   are through and commits the batch: one `COMMIT`, one sync, for all of them. Each writer's
//!   `commit` returns only after that, so nothing is acknowledged before it is durable; if the
//!   commit fails, every writer of the batch gets the error.
//! - Before the commit, once the platform has set the ledger's key, the committer integrates the
//!   batch's ledger entries and stores a signed checkpoint (`crate::ledger::integrate_signed_in`)
//!   in the same transaction.
//! - A writer that fails or is dropped rolls back to its savepoint; the others are untouched.
//! - At most [`MAX_WAITING`] writers wait; beyond that a write is refused at once
//!   ([`StoreError::Overloaded`]), so that a request never waits without bound.
//!
//! Reads run on separate connections (WAL: they never wait for the writer), inline: a read
//! of a few rows takes microseconds. A statement given to the read path that writes
//! (`DELETE … RETURNING`) is recognised (`sqlite3_stmt_readonly`) and goes to the writer.
//!
//! Migrations and the upgrade tests still run through sqlx (its migrator and bookkeeping table).

use crate::sql::driver::Arg;
use crate::sql::rows::FromSqlite;
use crate::sql::{Dialect, Rows, SqlStore};
use crate::{LedgerSign, Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Weak};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// The SQLite dialect.
pub struct Sqlite;

/// The store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

/// Writers that may wait for the writer at once; more are refused with
/// [`StoreError::Overloaded`] (the web layer answers 503 with `Retry-After`).
pub const MAX_WAITING: usize = 4096;
/// Idle read connections kept open.
const IDLE_READERS: usize = 16;
/// How often the WAL is copied into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// How often the committer restarts the WAL (see `restart_wal_now_and_then`).
const RESTART_EVERY: Duration = Duration::from_secs(1);
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 256;

/// Ledger entries integrated per batch at most (the rest waits for the next).
const LEDGER_BATCH: usize = 5000;

/// The outcome of a batch, shared by its writers (the error as text: no stored values).
type Outcome = Option<std::result::Result<(), Arc<str>>>;

struct Batch {
    members: usize,
    done: watch::Sender<Outcome>,
}

struct Writer {
    conn: Connection,
    batch: Option<Batch>,
    /// When the WAL was last restarted.
    restarted: std::time::Instant,
}

/// Wakes the committer.
struct Wake {
    pending: std::sync::Mutex<bool>,
    signal: Condvar,
    closed: AtomicBool,
}

struct Inner {
    path: PathBuf,
    readers: std::sync::Mutex<Vec<Connection>>,
    writer: Arc<Mutex<Writer>>,
    waiting: AtomicUsize,
    wake: Arc<Wake>,
    /// With a key, each batch integrates its ledger entries and signs a checkpoint.
    ledger: std::sync::RwLock<Option<LedgerSign>>,
    /// What the last batches integrated, for receipts without reads.
    recent: std::sync::Mutex<crate::ledger::Recent>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.wake.closed.store(true, Ordering::SeqCst);
        self.wake.signal.notify_all();
    }
}

/// The connections to one SQLite file: the writer (with its committer) and the readers.
#[derive(Clone)]
pub struct SqliteDb(Arc<Inner>);

/// The file named by a `sqlite:` URL (`sqlite:PATH`, `sqlite://PATH`, options after `?` ignored).
fn path_of(url: &str) -> Result<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).ok_or(StoreError::UnsupportedUrl)?;
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file.starts_with(':') {
        return Err(StoreError::Corrupt("an SQLite database needs a file".into()));
    }
    Ok(PathBuf::from(file))
}

fn open(path: &Path, writer: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Pages through a memory map: after each commit a connection must re-read what changed,
    // and a mapped page costs no system call. Savepoint journals in memory.
    conn.query_row("PRAGMA mmap_size = 1073741824", [], |_| Ok(()))?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    if writer {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Checkpoints run beside the writer (`checkpointer`), not in a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // A restarted WAL is cut back to this size (it grows to a second's writes under load).
        conn.query_row("PRAGMA journal_size_limit = 67108864", [], |_| Ok(()))?;
        // The writer never waits in SQLite's busy handler (which sleeps and polls): another
        // process's write is waited for in `begin_immediate`, without holding a thread.
        conn.busy_timeout(Duration::ZERO)?;
    } else {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(conn)
}

impl SqlStore<Sqlite> {
    pub async fn connect(url: &str) -> Result<Self> {
        let path = path_of(url)?;
        let conn = open(&path, true)?;
        let wake = Arc::new(Wake { pending: std::sync::Mutex::new(false), signal: Condvar::new(), closed: AtomicBool::new(false) });
        let writer = Arc::new(Mutex::new(Writer { conn, batch: None, restarted: std::time::Instant::now() }));
        let inner = Arc::new(Inner { path, readers: Default::default(), writer, waiting: AtomicUsize::new(0), wake: wake.clone(), ledger: Default::default(), recent: Default::default() });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("amtsweg-sqlite-commit".into())
            .spawn(move || committer(weak, wake))
            .map_err(|e| StoreError::Corrupt(format!("committer thread: {e}")))?;
        let (weak, file) = (Arc::downgrade(&inner), inner.path.clone());
        std::thread::Builder::new()
            .name("amtsweg-sqlite-checkpoint".into())
            .spawn(move || checkpointer(weak, &file))
            .map_err(|e| StoreError::Corrupt(format!("checkpoint thread: {e}")))?;
        Ok(Self::with_db(SqliteDb(inner)))
    }

    /// Writes a consistent copy of the whole database to `path` (which must not exist) while
    /// others keep reading and writing: `VACUUM INTO` reads one snapshot.
    pub async fn vacuum_into(&self, path: &Path) -> Result<()> {
        let target = path.to_str().ok_or_else(|| StoreError::Corrupt("backup path".into()))?.to_owned();
        let source = self.db().0.path.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            // A read connection, allowed to write the copy (query_only would refuse that).
            let conn = open(&source, false)?;
            conn.pragma_update(None, "query_only", "OFF")?;
            conn.execute("VACUUM INTO ?1", [target])?;
            Ok(())
        })
        .await
        .map_err(|_| StoreError::Corrupt("backup task".into()))?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.db().0.path
    }

    /// The migrations up to and including `version`: a database as an earlier release left it
    /// (for the upgrade tests).
    #[doc(hidden)]
    pub async fn migrate_through(&self, version: i64) -> Result<()> {
        let all = <Sqlite as Dialect>::MIGRATIONS.0;
        let end = all.iter().position(|m| m.0 > version).unwrap_or(all.len());
        let pool = migration_pool(&self.db().0.path).await?;
        let result = sqlx::migrate::Migrator::new(crate::embedded::Embedded(&all[..end])).await?.run(&pool).await;
        pool.close().await;
        Ok(result?)
    }
}

/// One sqlx connection for the migrator.
async fn migration_pool(path: &Path) -> Result<sqlx::SqlitePool> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    Ok(SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
}

/// Copies the WAL into the database beside the writer (`PASSIVE`: never waits for or blocks
/// the writer or the readers), every [`CHECKPOINT_EVERY`]; the writer's own automatic
/// checkpoint is off, so that no commit carries one.
fn checkpointer(inner: Weak<Inner>, path: &Path) {
    let Ok(conn) = open(path, false).and_then(|c| c.pragma_update(None, "query_only", "OFF").map(|_| c)) else { return };
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        let Some(inner) = inner.upgrade() else { return };
        if inner.wake.closed.load(Ordering::SeqCst) {
            return;
        }
        drop(inner);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// The committer: commits each batch once the writers queued before it are through.
fn committer(inner: Weak<Inner>, wake: Arc<Wake>) {
    loop {
        {
            let Ok(mut pending) = wake.pending.lock() else { return };
            while !*pending {
                if wake.closed.load(Ordering::SeqCst) {
                    return;
                }
                pending = match wake.signal.wait_timeout(pending, Duration::from_secs(1)) {
                    Ok((p, _)) => p,
                    Err(_) => return,
                };
            }
            *pending = false;
        }
        let Some(inner) = inner.upgrade() else { return };
        // Fair: the writers already waiting go first and join the batch.
        let w = inner.writer.clone().blocking_lock_owned();
        let sign = inner.ledger.read().ok().and_then(|s| s.clone());
        commit_batch(w, &SqliteDb(inner.clone()), sign.as_ref());
    }
}

fn commit_batch(mut w: OwnedMutexGuard<Writer>, db: &SqliteDb, sign: Option<&LedgerSign>) {
    let Some(batch) = w.batch.take() else { return };
    let mut let_go = None;
    let result: std::result::Result<(), Arc<str>> = if w.conn.is_autocommit() {
        Err("the batch's transaction was rolled back".into())
    } else if batch.members == 0 {
        let _ = w.conn.execute_batch("ROLLBACK");
        Ok(())
    } else {
        let mut integrated = None;
        if let Some(sign) = sign {
            (w, integrated) = integrate_ledger(w, db, sign);
        }
        match w.conn.execute_batch("COMMIT") {
            Ok(()) => {
                if let Some((integrated, note)) = integrated
                    && let Ok(mut recent) = db.0.recent.lock()
                {
                    let_go = recent.push(integrated, note);
                }
                restart_wal_now_and_then(&mut w);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "commit of a batch failed");
                if !w.conn.is_autocommit() {
                    let _ = w.conn.execute_batch("ROLLBACK");
                }
                Err(Arc::from(format!("commit failed: {e}")))
            }
        }
    };
    let _ = batch.done.send(Some(result));
    // Freed after the writers are answered (a batch's maps hold up to LEDGER_BATCH entries).
    drop(w);
    drop(let_go);
}

/// Under steady load the WAL never runs dry for the passive checkpoints to restart it, so the
/// committer restarts it itself every [`RESTART_EVERY`]: what the passive checkpoints have not
/// copied yet (a fraction of a second's writes) is copied, readers are waited for briefly, and
/// the next batch writes the WAL from its start again. Between the commit and the next batch, so
/// it delays writes by that copy, never a commit.
fn restart_wal_now_and_then(w: &mut Writer) {
    if w.restarted.elapsed() < RESTART_EVERY {
        return;
    }
    w.restarted = std::time::Instant::now();
    let restart = w.conn.busy_timeout(Duration::from_millis(100)).and_then(|_| w.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())));
    if let Err(e) = restart.and_then(|_| w.conn.busy_timeout(Duration::ZERO)) {
        tracing::warn!(error = %e, "WAL restart failed");
    }
}

/// The batch's ledger entries into the tree, and a signed checkpoint, in the batch's
/// transaction (its own savepoint: if this fails, the batch's writes still commit and the
/// entries wait for the next batch or the next receipt).
fn integrate_ledger(w: OwnedMutexGuard<Writer>, db: &SqliteDb, sign: &LedgerSign) -> (OwnedMutexGuard<Writer>, Option<(crate::ledger::Integrated, String)>) {
    if let Err(e) = w.conn.execute_batch("SAVEPOINT ledger") {
        tracing::warn!(error = %e, "ledger savepoint not taken");
        return (w, None);
    }
    let mut write = crate::sql::Write::<Sqlite>::from_tx(SqliteTx { writer: Some(w), db: db.clone() });
    // Every statement on this connection completes at once: the future is ready on first poll.
    let outcome = {
        let future = std::pin::pin!(crate::ledger::integrate_signed_in(&mut write, LEDGER_BATCH, &**sign));
        match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => Err(StoreError::Corrupt("ledger integration waited".into())),
        }
    };
    let w = write.into_tx().writer.take().expect("the hook's transaction holds the writer");
    let (end, integrated) = match outcome {
        Ok(integrated) => ("RELEASE ledger", integrated),
        Err(e) => {
            tracing::warn!(error = %e, "ledger not integrated in this batch");
            ("ROLLBACK TO ledger; RELEASE ledger", None)
        }
    };
    if let Err(e) = w.conn.execute_batch(end) {
        tracing::warn!(error = %e, "ledger savepoint not ended");
        return (w, None);
    }
    (w, integrated)
}

/// Binds the arguments: `$N` names the N-th argument, as in PostgreSQL.
fn bind(stmt: &mut rusqlite::Statement<'_>, args: &[Arg<'_>]) -> rusqlite::Result<()> {
    for i in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(i) {
            Some(name) => name.trim_start_matches(['$', '?']).parse::<usize>().map_err(|_| rusqlite::Error::InvalidParameterName(name.to_owned()))?,
            None => i,
        };
        let arg = args.get(n.wrapping_sub(1)).ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
        match arg {
            Arg::Text(Some(v)) => stmt.raw_bind_parameter(i, v.as_ref())?,
            Arg::Text(None) => stmt.raw_bind_parameter(i, rusqlite::types::Null)?,
            Arg::Bytes(v) => stmt.raw_bind_parameter(i, v.as_ref())?,
            Arg::Int(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::Int32(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::Bool(v) => stmt.raw_bind_parameter(i, i64::from(*v))?,
            Arg::Float(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::OptInt(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::Time(None) => stmt.raw_bind_parameter(i, rusqlite::types::Null)?,
            Arg::Time(Some(v)) => {
                // Always in UTC: the column is compared as text.
                let text = v.to_offset(time::UtcOffset::UTC).format(&time::format_description::well_known::Rfc3339).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                stmt.raw_bind_parameter(i, text)?
            }
        }
    }
    Ok(())
}

fn run_execute(conn: &Connection, sql: &str, args: &[Arg<'_>]) -> rusqlite::Result<u64> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    drop(rows);
    Ok(conn.changes())
}

fn run_fetch<T: FromSqlite>(conn: &Connection, sql: &str, args: &[Arg<'_>], limit: usize) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() < limit {
            out.push(T::from_sqlite(row)?);
        }
        // A statement that writes runs to its end even when one row is wanted.
    }
    Ok(out)
}

impl SqliteDb {
    /// Runs `f` on a read connection, or returns `None` when the statement writes.
    fn read<T>(&self, sql: &str, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<Option<T>> {
        let conn = match self.0.readers.lock().map_err(|_| StoreError::Corrupt("readers".into()))?.pop() {
            Some(c) => c,
            None => open(&self.0.path, false)?,
        };
        let result = match conn.prepare_cached(sql) {
            Ok(stmt) if !stmt.readonly() => Ok(None),
            Ok(stmt) => {
                drop(stmt);
                f(&conn).map(Some)
            }
            Err(e) => Err(e),
        };
        if let Ok(mut idle) = self.0.readers.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        Ok(result?)
    }

    fn wake(&self) {
        if let Ok(mut pending) = self.0.wake.pending.lock() {
            *pending = true;
        }
        self.0.wake.signal.notify_one();
    }
}

/// Runs a statement outside a transaction: on a read connection, or, when it writes, as a write
/// transaction of its own in the writer's batch.
async fn read_or_write<T>(db: &SqliteDb, sql: &str, run: impl Fn(&Connection) -> rusqlite::Result<T> + Send) -> Result<T> {
    if let Some(value) = db.read(sql, &run)? {
        return Ok(value);
    }
    let mut tx = Sqlite::begin(db).await?;
    let value = run(tx.conn())?;
    Sqlite::commit(tx).await?;
    Ok(value)
}

/// Counts a writer as waiting until it holds the writer (or gives up).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A write transaction: a savepoint in the writer's batch.
pub struct SqliteTx {
    writer: Option<OwnedMutexGuard<Writer>>,
    db: SqliteDb,
}

impl SqliteTx {
    fn conn(&mut self) -> &Connection {
        &self.writer.as_ref().expect("a transaction holds the writer until it ends").conn
    }
}

impl Drop for SqliteTx {
    /// Without a commit: back to the savepoint; the batch's other writers are untouched.
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            let _ = w.conn.execute_batch("ROLLBACK TO w; RELEASE w");
            settle_after_rollback(&mut w);
        }
    }
}

/// After a writer rolled back: a batch nobody else is in ends now (the file's write lock is not
/// kept for nothing); a batch SQLite rolled back as a whole is reported to its writers.
fn settle_after_rollback(w: &mut Writer) {
    let lost = w.conn.is_autocommit();
    let empty = w.batch.as_ref().is_some_and(|b| b.members == 0);
    if lost || empty {
        if !lost {
            let _ = w.conn.execute_batch("ROLLBACK");
        }
        if let Some(batch) = w.batch.take() {
            let _ = batch.done.send(Some(if lost { Err("the batch's transaction was rolled back".into()) } else { Ok(()) }));
        }
    }
}

/// `BEGIN IMMEDIATE`, waiting (without holding a thread) while another process writes.
async fn begin_immediate(w: &mut Writer) -> Result<()> {
    let mut pause = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        match w.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy && waited < Duration::from_secs(30) => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether an error is a violated unique or primary key constraint.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

impl Dialect for Sqlite {
    const BACKEND: crate::Backend = crate::Backend::Sqlite;
    const MIGRATIONS: crate::embedded::Embedded = crate::embedded::SQLITE;
    /// SQLite writers are already one at a time.
    const LEDGER_LOCK: Option<&'static str> = None;
    type Db = SqliteDb;
    type Tx = SqliteTx;

    async fn migrate(db: &SqliteDb) -> Result<()> {
        let pool = migration_pool(&db.0.path).await?;
        let result = sqlx::migrate::Migrator::new(Self::MIGRATIONS).await?.run(&pool).await;
        pool.close().await;
        Ok(result?)
    }

    fn execute<'a>(db: &'a SqliteDb, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<u64>> + Send + 'a {
        read_or_write(db, sql, move |c| run_execute(c, sql, args))
    }

    fn fetch_all<'a, T: Rows>(db: &'a SqliteDb, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Vec<T>>> + Send + 'a {
        read_or_write(db, sql, move |c| run_fetch(c, sql, args, usize::MAX))
    }

    fn fetch_optional<'a, T: Rows>(db: &'a SqliteDb, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Option<T>>> + Send + 'a {
        read_or_write(db, sql, move |c| Ok(run_fetch(c, sql, args, 1)?.into_iter().next()))
    }

    async fn begin(db: &SqliteDb) -> Result<SqliteTx> {
        let inner = &db.0;
        if inner.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Overloaded);
        }
        let waiting = Waiting(&inner.waiting);
        let mut w = inner.writer.clone().lock_owned().await;
        drop(waiting);
        if w.batch.is_none() {
            begin_immediate(&mut w).await?;
            w.batch = Some(Batch { members: 0, done: watch::channel(None).0 });
        }
        if let Err(e) = w.conn.execute_batch("SAVEPOINT w") {
            settle_after_rollback(&mut w);
            return Err(e.into());
        }
        Ok(SqliteTx { writer: Some(w), db: db.clone() })
    }

    fn tx_execute<'a>(tx: &'a mut SqliteTx, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<u64>> + Send + 'a {
        async move { Ok(run_execute(tx.conn(), sql, args)?) }
    }

    fn tx_fetch_all<'a, T: Rows>(tx: &'a mut SqliteTx, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Vec<T>>> + Send + 'a {
        async move { Ok(run_fetch(tx.conn(), sql, args, usize::MAX)?) }
    }

    fn tx_fetch_optional<'a, T: Rows>(tx: &'a mut SqliteTx, sql: &'a str, args: &'a [Arg<'a>]) -> impl Future<Output = Result<Option<T>>> + Send + 'a {
        async move { Ok(run_fetch(tx.conn(), sql, args, 1)?.into_iter().next()) }
    }

    async fn commit(mut tx: SqliteTx) -> Result<()> {
        let mut w = tx.writer.take().expect("a transaction holds the writer until it ends");
        if w.conn.is_autocommit() {
            settle_after_rollback(&mut w);
            return Err(StoreError::NotCommitted("the transaction was rolled back by SQLite".into()));
        }
        if let Err(e) = w.conn.execute_batch("RELEASE w") {
            let _ = w.conn.execute_batch("ROLLBACK TO w; RELEASE w");
            settle_after_rollback(&mut w);
            return Err(e.into());
        }
        let batch = w.batch.as_mut().expect("a savepoint lies in a batch");
        batch.members += 1;
        let mut done = batch.done.subscribe();
        drop(w);
        tx.db.wake();
        match done.wait_for(Option::is_some).await.map(|outcome| outcome.clone()) {
            Ok(Some(outcome)) => outcome.map_err(|e| StoreError::NotCommitted(e.to_string())),
            _ => Err(StoreError::NotCommitted("the commit's outcome is unknown".into())),
        }
    }

    async fn rollback(tx: SqliteTx) -> Result<()> {
        drop(tx);
        Ok(())
    }

    fn sign_ledger_per_batch(db: &SqliteDb, sign: LedgerSign) -> bool {
        if let Ok(mut slot) = db.0.ledger.write() {
            *slot = Some(sign);
        }
        true
    }

    fn recent_receipt(db: &SqliteDb, reference: &str) -> Option<crate::RecentReceipt> {
        db.0.recent.lock().ok()?.receipt(reference)
    }
}
