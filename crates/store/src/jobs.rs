//! Background jobs: enqueued (at most one waiting or running per kind and unique key), claimed
//! by one worker at a time across processes with a lock that expires (a crashed worker's job is
//! taken again), then removed when done, set to wait for a retry, or given up and kept as
//! failed. Jobs are machinery, not casework: they write no audit events.

use crate::sql::{Arg, Dialect, SqlStore, args, row};
use crate::{Backend, Job, JobCounts, Result};
use time::OffsetDateTime;

/// Stored errors are cut to this many characters (callers pass codes, never personal data).
const MAX_ERROR_CHARS: usize = 500;

/// The partial unique index `jobs_unique_key` is the arbiter: a concurrent duplicate waits for
/// the first and then does nothing.
const ENQUEUE: &str = "INSERT INTO jobs (kind, unique_key, payload, attempts, run_at, created_at) VALUES ($1, $2, $3, 0, $4, $5) \
     ON CONFLICT (kind, unique_key) WHERE failed_at IS NULL DO NOTHING \
     RETURNING id";
/// `{kinds}` is replaced by the placeholders `$3, $4, …`. The row is chosen and locked in
/// one statement; `SKIP LOCKED` lets concurrent claimers pass over the rows others are taking.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
     WHERE id = (SELECT id FROM jobs \
                 WHERE kind IN ({kinds}) AND failed_at IS NULL AND run_at <= $2 \
                   AND (locked_until IS NULL OR locked_until <= $2) \
                 ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, unique_key, payload, attempts, run_at";
/// SQLite runs it in a write transaction (one writer at a time). Its times are RFC 3339 text
/// of varying length (sqlx leaves out a zero fraction), which compares as text only to the
/// second: `julianday` compares them as times (to the millisecond).
const CLAIM_SQLITE: &str = "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
     WHERE id = (SELECT id FROM jobs \
                 WHERE kind IN ({kinds}) AND failed_at IS NULL AND julianday(run_at) <= julianday($2) \
                   AND (locked_until IS NULL OR julianday(locked_until) <= julianday($2)) \
                 ORDER BY julianday(run_at), id LIMIT 1) \
     RETURNING id, kind, unique_key, payload, attempts, run_at";
/// Whether any job of the kinds is due, read without taking the writer: the common answer of
/// an idle worker's poll is "no", and on SQLite a claim would queue behind every request's write.
/// `{kinds}` is replaced by `$2, $3, …`.
const ANY_DUE_POSTGRES: &str = "SELECT id FROM jobs WHERE kind IN ({kinds}) AND failed_at IS NULL AND run_at <= $1 \
     AND (locked_until IS NULL OR locked_until <= $1) LIMIT 1";
const ANY_DUE_SQLITE: &str = "SELECT id FROM jobs WHERE kind IN ({kinds}) AND failed_at IS NULL AND julianday(run_at) <= julianday($1) \
     AND (locked_until IS NULL OR julianday(locked_until) <= julianday($1)) LIMIT 1";
/// Each names the claim (`locked_until`, the claim's token): a worker that lost its job to
/// another after its lock expired changes nothing.
const FINISH: &str = "DELETE FROM jobs WHERE id = $1 AND locked_until = $2";
const RESCHEDULE: &str = "UPDATE jobs SET run_at = $1, attempts = 0, locked_until = NULL, last_error = NULL WHERE id = $2 AND locked_until = $3";
const RETRY: &str = "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3 AND locked_until = $4";
const GIVE_UP: &str = "UPDATE jobs SET failed_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3 AND locked_until = $4";
const COUNTS: &str = "SELECT COUNT(*) - COUNT(failed_at) AS waiting, COUNT(failed_at) AS failed FROM jobs";

row!(JobRow { id: i64, kind: String, unique_key: Option<String>, payload: String, attempts: i32, run_at: OffsetDateTime });

impl JobRow {
    /// The job as claimed with `lock` (the value bound, so that it names the claim exactly).
    fn into_domain(self, lock: OffsetDateTime) -> Job {
        Job {
            id: self.id,
            kind: self.kind,
            unique_key: self.unique_key,
            payload: self.payload,
            attempts: self.attempts,
            run_at: self.run_at,
            locked_until: lock,
        }
    }
}

/// Job times to the millisecond: what both databases store and compare exactly, so that a lock
/// can name the claim and a comparison never rounds across it.
fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
}

row!(CountsRow { waiting: i64, failed: i64 });

pub(crate) async fn enqueue_job<DB: Dialect>(
    store: &SqlStore<DB>,
    kind: &str,
    unique_key: Option<&str>,
    payload: &str,
    run_at: OffsetDateTime,
) -> Result<Option<i64>> {
    let mut tx = store.write().await?;
    let id = tx.optional::<(i64,)>(ENQUEUE, args![kind, unique_key, payload, to_millis(run_at), OffsetDateTime::now_utc()]).await?;
    tx.commit().await?;
    Ok(id.map(|(id,)| id))
}

pub(crate) async fn claim_job<DB: Dialect>(store: &SqlStore<DB>, kinds: &[&str], now: OffsetDateTime, lock_until: OffsetDateTime) -> Result<Option<Job>> {
    // Both to the millisecond: SQLite's `julianday` rounds to the nearest millisecond, so a
    // finer `now` could round up onto the lock and take a job a fraction too early.
    let (now, lock_until) = (to_millis(now), to_millis(lock_until));
    if kinds.is_empty() {
        return Ok(None);
    }
    let (claim, any_due) = match DB::BACKEND {
        Backend::Postgres => (CLAIM_POSTGRES, ANY_DUE_POSTGRES),
        Backend::Sqlite => (CLAIM_SQLITE, ANY_DUE_SQLITE),
    };
    let placeholders = |first: usize| (first..first + kinds.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    let kind_args = kinds.iter().map(|k| Arg::from(*k));
    let look_args: Vec<Arg> = std::iter::once(now.into()).chain(kind_args.clone()).collect();
    if store.optional::<(i64,)>(&any_due.replace("{kinds}", &placeholders(2)), &look_args).await?.is_none() {
        return Ok(None);
    }
    let args: Vec<Arg> = [lock_until.into(), now.into()].into_iter().chain(kind_args).collect();
    let sql = claim.replace("{kinds}", &placeholders(3));
    let mut tx = store.write().await?;
    let job = tx.optional::<JobRow>(&sql, &args).await?;
    tx.commit().await?;
    Ok(job.map(|row| row.into_domain(lock_until)))
}

pub(crate) async fn finish_job<DB: Dialect>(store: &SqlStore<DB>, job: &Job) -> Result<bool> {
    let mut tx = store.write().await?;
    let changed = tx.execute(FINISH, args![job.id, job.locked_until]).await?;
    tx.commit().await?;
    Ok(changed == 1)
}

pub(crate) async fn reschedule_job<DB: Dialect>(store: &SqlStore<DB>, job: &Job, run_at: OffsetDateTime) -> Result<bool> {
    let mut tx = store.write().await?;
    let changed = tx.execute(RESCHEDULE, args![to_millis(run_at), job.id, job.locked_until]).await?;
    tx.commit().await?;
    Ok(changed == 1)
}

pub(crate) async fn fail_job<DB: Dialect>(store: &SqlStore<DB>, job: &Job, error: &str, retry_at: Option<OffsetDateTime>) -> Result<bool> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let mut tx = store.write().await?;
    let changed = match retry_at {
        Some(at) => tx.execute(RETRY, args![to_millis(at), error, job.id, job.locked_until]).await?,
        None => tx.execute(GIVE_UP, args![OffsetDateTime::now_utc(), error, job.id, job.locked_until]).await?,
    };
    tx.commit().await?;
    Ok(changed == 1)
}

pub(crate) async fn job_counts<DB: Dialect>(store: &SqlStore<DB>) -> Result<JobCounts> {
    let counts = store.one::<CountsRow>(COUNTS, &[]).await?;
    Ok(JobCounts { waiting: counts.waiting, failed: counts.failed })
}
