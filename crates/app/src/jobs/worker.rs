//! The worker: claims due jobs and runs them (see the module above for what runs when).

use super::{JobKind, KINDS, MAX_ATTEMPTS, schedule_periodic};
use crate::Platform;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a claimed job is locked: a worker that dies holding it frees it after this.
const LEASE: time::Duration = time::Duration::minutes(5);
/// How often an idle worker looks for due jobs.
const POLL: Duration = Duration::from_secs(2);
/// How often a worker makes sure that every periodic job waits.
const RESCHEDULE_EVERY: Duration = Duration::from_secs(60);

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
        JobKind::Retention => {
            let now = OffsetDateTime::now_utc();
            match crate::retention::sweep(&app.store, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "transfer log entries past their retention deleted"),
                Err(e) => return Err(e.to_string()),
            }
            match crate::retention::forget_reporters(&app.store, now, app.report_retention).await {
                Ok(0) => Ok(()),
                Ok(n) => {
                    tracing::info!(reports = n, "reporters' personal data past its retention deleted");
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        JobKind::ReportMail { report, update } => crate::reports::send_update_mail(app, *report, *update).await,
        JobKind::ReportConfirm { report } => crate::reports::send_confirmation(app, *report).await,
        JobKind::ReportDeadlines => match app.store.note_overdue_reports(OffsetDateTime::now_utc()).await {
            Ok(0) => Ok(()),
            Ok(noted) => {
                tracing::info!(reports = noted, "reports past their deadline noted for their departments");
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
        app.store.fail_job(&job, "unknown job", None).await?;
        return Ok(true);
    };
    let every = kind.every();
    if every.is_none() && job.attempts > MAX_ATTEMPTS {
        // Claimed again and again without an answer (the process died running it each time).
        tracing::warn!(job = kind.name(), attempts = job.attempts, "background job given up");
        app.store.fail_job(&job, "given up: no run finished", None).await?;
        return Ok(true);
    }
    // In a task of its own: a panic is a failure of this job, not the end of the worker.
    let outcome = {
        let (app, kind) = (app.clone(), kind.clone());
        match tokio::spawn(async move { run(&app, &kind).await }).await {
            Ok(outcome) => outcome,
            Err(_) => Err("panicked".to_owned()),
        }
    };
    app.metrics.job(kind.name(), outcome.is_ok());
    let held = match (outcome, every) {
        (Ok(()), None) => app.store.finish_job(&job).await?,
        // The next run waits in the same row: the unique key is never free in between.
        (Ok(()), Some(every)) => app.store.reschedule_job(&job, OffsetDateTime::now_utc() + every).await?,
        (Err(e), every) => {
            tracing::warn!(job = kind.name(), error = %e, "background job failed");
            // Back off: 10 s, 20 s, 40 s, … (a periodic job at most its own interval).
            let backoff = Duration::from_secs(10 << job.attempts.clamp(1, 10).saturating_sub(1));
            let retry = match every {
                Some(every) => Some(backoff.min(every)),
                None => (job.attempts < MAX_ATTEMPTS).then_some(backoff),
            };
            let retry_at = retry.map(|d| OffsetDateTime::now_utc() + d);
            app.store.fail_job(&job, &e, retry_at).await?
        }
    };
    if !held {
        tracing::warn!(job = kind.name(), "the job's lock expired while it ran; another worker took it");
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
            let mut scheduled: Option<std::time::Instant> = None;
            loop {
                // Now and then again, every periodic job is made sure of (a row lost to an
                // operator's hand or a restore comes back; nothing is added where one waits).
                if scheduled.is_none_or(|at| at.elapsed() >= RESCHEDULE_EVERY) {
                    match schedule_periodic(&app).await {
                        Ok(()) => scheduled = Some(std::time::Instant::now()),
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
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the background worker ended abnormally");
        }
    }
}
