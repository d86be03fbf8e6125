//! Background work as jobs in the store's `jobs` table: delivering a Bescheid whose writing
//! failed, sweeping for Bescheide a stopped process left undelivered, integrating the ledger and
//! signing checkpoints, and deleting what must not be kept (retention).
//!
//! Every app node runs a [`Worker`], started and stopped with its server. A job is claimed
//! atomically (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite `UPDATE … RETURNING`), so with several
//! nodes on one database each job runs once. Periodic work is one job per kind with the unique
//! key `periodic`: whichever node runs it sets the same row's next run, and no node can enqueue
//! a second while one waits or runs. A claim is named by its lock: a worker whose lock expired
//! while it ran (another took the job) changes nothing afterwards. A failed job waits and is
//! tried again, later each time; a one-off job is given up after [`MAX_ATTEMPTS`] tries
//! (also when the process died running it) and kept for operators to see. A job runs in a task
//! of its own: a panic fails that job, not the worker.

pub mod worker;

use crate::Platform;
use amtsweg_domain::{AuthorityId, CaseId};
use amtsweg_store::Job;
use std::time::Duration;
use time::OffsetDateTime;

/// Tries of a one-off job before it is given up.
pub const MAX_ATTEMPTS: i32 = 5;
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
    /// Notes reports of the Mängelmelder that passed their deadline (an internal note for the
    /// department, once per report; the workspace shows how many are overdue).
    ReportDeadlines,
    /// E-mails one public update of a report to its reporter's confirmed address.
    ReportMail { report: i64, update: i64 },
    /// E-mails the link that confirms a new report's e-mail address.
    ReportConfirm { report: i64 },
}

/// The periodic kinds, with how long after one run the next is due.
pub const PERIODIC_KINDS: [(JobKind, Duration); 4] = [
    (JobKind::DeliverBescheide, Duration::from_secs(60)),
    (JobKind::LedgerCheckpoint, Duration::from_secs(10)),
    (JobKind::Retention, Duration::from_secs(3600)),
    (JobKind::ReportDeadlines, Duration::from_secs(600)),
];

pub(crate) const KINDS: [&str; 7] = ["deliver_bescheid", "deliver_bescheide", "ledger_checkpoint", "retention", "report_deadlines", "report_mail", "report_confirm"];

impl JobKind {
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::DeliverBescheid { .. } => "deliver_bescheid",
            JobKind::DeliverBescheide => "deliver_bescheide",
            JobKind::LedgerCheckpoint => "ledger_checkpoint",
            JobKind::Retention => "retention",
            JobKind::ReportDeadlines => "report_deadlines",
            JobKind::ReportMail { .. } => "report_mail",
            JobKind::ReportConfirm { .. } => "report_confirm",
        }
    }

    fn payload(&self) -> String {
        match self {
            JobKind::DeliverBescheid { authority, case } => serde_json::json!({"authority": authority.as_str(), "case": case.as_str()}).to_string(),
            JobKind::ReportMail { report, update } => serde_json::json!({"report": report, "update": update}).to_string(),
            JobKind::ReportConfirm { report } => serde_json::json!({"report": report}).to_string(),
            _ => String::new(),
        }
    }

    pub(crate) fn from_job(job: &Job) -> Option<Self> {
        Some(match job.kind.as_str() {
            "deliver_bescheid" => {
                let v: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
                JobKind::DeliverBescheid { authority: AuthorityId::parse(v["authority"].as_str()?)?, case: CaseId::parse(v["case"].as_str()?)? }
            }
            "deliver_bescheide" => JobKind::DeliverBescheide,
            "ledger_checkpoint" => JobKind::LedgerCheckpoint,
            "retention" => JobKind::Retention,
            "report_deadlines" => JobKind::ReportDeadlines,
            "report_mail" => {
                let v: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
                JobKind::ReportMail { report: v["report"].as_i64()?, update: v["update"].as_i64()? }
            }
            "report_confirm" => {
                let v: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
                JobKind::ReportConfirm { report: v["report"].as_i64()? }
            }
            _ => return None,
        })
    }

    pub(crate) fn every(&self) -> Option<Duration> {
        PERIODIC_KINDS.iter().find(|(k, _)| k == self).map(|(_, every)| *every)
    }
}

/// Enqueues a one-off job, due now.
pub async fn enqueue(app: &Platform, kind: &JobKind) -> Result<(), crate::AppError> {
    enqueue_on(&app.store, kind).await
}

/// The same, with the store only.
pub(crate) async fn enqueue_on(store: &amtsweg_store::DynStore, kind: &JobKind) -> Result<(), crate::AppError> {
    store.enqueue_job(kind.name(), None, &kind.payload(), OffsetDateTime::now_utc()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: &JobKind) -> Job {
        let t = OffsetDateTime::UNIX_EPOCH;
        Job { id: 1, kind: kind.name().into(), unique_key: None, payload: kind.payload(), attempts: 1, run_at: t, locked_until: t }
    }

    #[test]
    fn every_kind_is_claimed_by_the_worker_and_reads_back_from_its_row() {
        let one_off = JobKind::DeliverBescheid { authority: AuthorityId::parse("leipzig").unwrap(), case: CaseId::parse("c-1").unwrap() };
        let all = [one_off, JobKind::DeliverBescheide, JobKind::LedgerCheckpoint, JobKind::Retention, JobKind::ReportDeadlines, JobKind::ReportMail { report: 7, update: 9 }, JobKind::ReportConfirm { report: 7 }];
        assert_eq!(all.len(), KINDS.len());
        for kind in &all {
            assert!(KINDS.contains(&kind.name()), "{} is never claimed", kind.name());
            assert_eq!(JobKind::from_job(&job(kind)).as_ref(), Some(kind));
        }
        assert_eq!(all.iter().filter(|k| k.every().is_some()).count(), PERIODIC_KINDS.len());
        assert_eq!(JobKind::from_job(&Job { payload: "{}".into(), ..job(&all[0]) }), None, "a delivery job without its case is no job");
    }
}
