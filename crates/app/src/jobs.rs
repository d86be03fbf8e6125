//! Background work: delivering Bescheide that a stopped process left undelivered, integrating
//! the ledger and signing checkpoints, and deleting what must not be kept (retention). The
//! [`Worker`] is started and stopped with the server; a job under way finishes before it stops.

use crate::Platform;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The kinds of background work, each with how often it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Issues the Bescheide of decisions whose document is missing.
    DeliverBescheide,
    /// Integrates waiting ledger entries and signs a checkpoint.
    LedgerCheckpoint,
    /// Deletes transfer log entries past their retention, and expired client tokens.
    Retention,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::DeliverBescheide, JobKind::LedgerCheckpoint, JobKind::Retention];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::DeliverBescheide => "deliver_bescheide",
            JobKind::LedgerCheckpoint => "ledger_checkpoint",
            JobKind::Retention => "retention",
        }
    }

    /// How long after one run the next is due.
    pub fn every(self) -> Duration {
        match self {
            JobKind::DeliverBescheide => Duration::from_secs(60),
            JobKind::LedgerCheckpoint => Duration::from_secs(10),
            JobKind::Retention => Duration::from_secs(3600),
        }
    }
}

/// Runs one job of `kind` now. Errors are returned as codes (never personal data).
pub async fn run(app: &Platform, kind: JobKind) -> Result<(), String> {
    match kind {
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

/// The background worker of one process.
pub struct Worker {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker: every kind of job runs at once and then at its interval.
    pub fn start(app: Platform) -> Self {
        let (stop, stopped) = watch::channel(false);
        let tasks = JobKind::ALL
            .into_iter()
            .map(|kind| {
                let (app, mut stopped) = (app.clone(), stopped.clone());
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(kind.every());
                    loop {
                        tokio::select! {
                            _ = tick.tick() => {}
                            _ = stopped.changed() => break,
                        }
                        if let Err(e) = run(&app, kind).await {
                            tracing::warn!(job = kind.as_str(), error = %e, "background job failed");
                        }
                    }
                })
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stops the worker; returns when no job runs any more.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
