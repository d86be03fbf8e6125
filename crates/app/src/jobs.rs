//! Background work as jobs in the store's `jobs` table: delivering a Bescheid whose writing
//! failed, sweeping for Bescheide a stopped process left undelivered, integrating the ledger and
//! signing checkpoints, and deleting what must not be kept (retention).
//!
//! Every app node runs a [`Worker`], started and stopped with its server. A job is claimed
//! atomically (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite `UPDATE … RETURNING`), so with several
//! nodes on one database each job runs once. Periodic work is one job per kind with the unique
//! key `periodic`: whichever node finishes it enqueues the next run, and no node can enqueue a
//! second while one waits or runs. A failed job waits and is tried again, later each time; a
//! one-off job is given up after [`MAX_ATTEMPTS`] and kept for operators to see.

use crate::Platform;
use amtsweg_domain::{AuthorityId, CaseId};
use amtsweg_store::Job;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Tries of a one-off job before it is given up.
pub const MAX_ATTEMPTS: i32 = 5;
/// How long a claimed job is locked: a worker that dies holding it frees it after this.
const LEASE: time::Duration = time::Duration::minutes(5);
/// How often an idle worker looks for due jobs.
const POLL: Duration = Duration::from_secs(2);
/// The unique key of the periodic job of each kind.
const PERIODIC: &str = "periodic";

/// The kinds of background work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// Issues the Bescheid of one decided case (enqueued when writing it failed).
    DeliverBescheid { authority: AuthorityId, case: CaseId },
    /// Issues the Bescheide of decisions whose document is missing (a process stopped between
    /// the decision and the document).
    DeliverBescheide,
    /// Integrates waiting ledger entries and signs a checkpoint.
    LedgerCheckpoint,
    /// Deletes transfer log entries past their retention, and expired client tokens.
    Retention,
}

/// The periodic kinds, with how long after one run the next is due.
pub const PERIODIC_KINDS: [(JobKind, Duration); 3] = [
    (JobKind::DeliverBescheide, Duration::from_secs(60)),
    (JobKind::LedgerCheckpoint, Duration::from_secs(10)),
    (JobKind::Retention, Duration::from_secs(3600)),
];

const KINDS: [&str; 4] = ["deliver_bescheid", "deliver_bescheide", "ledger_checkpoint", "retention"];

impl JobKind {
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::DeliverBescheid { .. } => "deliver_bescheid",
            JobKind::DeliverBescheide => "deliver_bescheide",
            JobKind::LedgerCheckpoint => "ledger_checkpoint",
            JobKind::Retention => "retention",
        }
    }

    fn payload(&self) -> String {
        match self {
            JobKind::DeliverBescheid { authority, case } => serde_json::json!({"authority": authority.as_str(), "case": case.as_str()}).to_string(),
            _ => String::new(),
        }
    }

    fn from_job(job: &Job) -> Option<Self> {
        Some(match job.kind.as_str() {
            "deliver_bescheid" => {
                let v: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
                JobKind::DeliverBescheid { authority: AuthorityId::parse(v["authority"].as_str()?)?, case: CaseId::parse(v["case"].as_str()?)? }
            }
            "deliver_bescheide" => JobKind::DeliverBescheide,
            "ledger_checkpoint" => JobKind::LedgerCheckpoint,
            "retention" => JobKind::Retention,
            _ => return None,
        })
    }

    fn every(&self) -> Option<Duration> {
        PERIODIC_KINDS.iter().find(|(k, _)| k == self).map(|(_, every)| *every)
    }
}

/// Enqueues a one-off job, due now.
pub async fn enqueue(app: &Platform, kind: &JobKind) -> Result<(), crate::AppError> {
    app.store.enqueue_job(kind.name(), None, &kind.payload(), OffsetDateTime::now_utc()).await?;
    Ok(())
}

/// Makes sure every periodic job waits (nothing is enqueued where one waits or runs).
pub async fn schedule_periodic(app: &Platform) -> Result<(), crate::AppError> {
    let now = OffsetDateTime::now_utc();
    for (kind, _) in &PERIODIC_KINDS {
        app.store.enqueue_job(kind.name(), Some(PERIODIC), "", now).await?;
    }
    Ok(())
}

/// Runs one job of `kind` now. Errors are codes (never personal data).
pub async fn run(app: &Platform, kind: &JobKind) -> Result<(), String> {
    match kind {
        JobKind::DeliverBescheid { authority, case } => crate::casework::issue_bescheid(app, authority, case).await.map(|_| ()).map_err(|e| e.code().to_owned()),
        JobKind::DeliverBescheide => {
            // A minute's grace: the request that decided is still writing its Bescheid.
            match crate::casework::deliver_missing(app, OffsetDateTime::now_utc() - time::Duration::minutes(1)).await {
                Ok(0) => Ok(()),
                Ok(n) => {
                    tracing::info!(count = n, "undelivered Bescheide issued");
                    Ok(())
                }
                Err(e) => Err(e.code().to_owned()),
            }
        }
        JobKind::LedgerCheckpoint => crate::ledger::checkpoint(&app.store, app.ledger.key()).await.map(|_| ()).map_err(|e| e.to_string()),
        JobKind::Retention => match crate::retention::sweep(&app.store, OffsetDateTime::now_utc()).await {
            Ok(0) => Ok(()),
            Ok(n) => {
                tracing::info!(deleted = n, "transfer log entries past their retention deleted");
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        },
    }
}

/// Claims and runs one due job; `false` when none was due.
pub async fn run_next(app: &Platform) -> Result<bool, crate::AppError> {
    let now = OffsetDateTime::now_utc();
    let Some(job) = app.store.claim_job(&KINDS, now, now + LEASE).await? else { return Ok(false) };
    let Some(kind) = JobKind::from_job(&job) else {
        app.store.fail_job(job.id, "unknown job", None).await?;
        return Ok(true);
    };
    let outcome = run(app, &kind).await;
    app.metrics.job(kind.name(), outcome.is_ok());
    match (outcome, kind.every()) {
        (Ok(()), None) => app.store.finish_job(job.id).await?,
        (Ok(()), Some(every)) => {
            app.store.finish_job(job.id).await?;
            let next = OffsetDateTime::now_utc() + every;
            app.store.enqueue_job(kind.name(), Some(PERIODIC), "", next).await?;
        }
        (Err(e), every) => {
            tracing::warn!(job = kind.name(), error = %e, "background job failed");
            // Back off: 10 s, 20 s, 40 s, … (a periodic job at most its own interval).
            let backoff = Duration::from_secs(10 << job.attempts.clamp(1, 10).saturating_sub(1));
            let retry = match every {
                Some(every) => Some(backoff.min(every)),
                None => (job.attempts < MAX_ATTEMPTS).then_some(backoff),
            };
            let retry_at = retry.map(|d| OffsetDateTime::now_utc() + d);
            app.store.fail_job(job.id, &e, retry_at).await?;
        }
    }
    Ok(true)
}

/// Runs every job that is due now, until none is (tests: drains the queue on demand).
pub async fn run_pending(app: &Platform) -> Result<usize, crate::AppError> {
    let mut ran = 0;
    while run_next(app).await? {
        ran += 1;
    }
    Ok(ran)
}

/// The background worker of one process.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker: schedules the periodic jobs (where none waits), then runs due jobs.
    pub fn start(app: Platform) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut scheduled = false;
            loop {
                if !scheduled {
                    match schedule_periodic(&app).await {
                        Ok(()) => scheduled = true,
                        Err(e) => tracing::warn!(error = e.code(), "periodic jobs not scheduled"),
                    }
                }
                loop {
                    if *stopped.borrow() {
                        return;
                    }
                    match run_next(&app).await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(error = e.code(), "jobs not read");
                            break;
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the worker; returns when no job runs any more.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
