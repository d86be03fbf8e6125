//! What happens to a case between submission and the mailbox: the decision rules run on
//! submission; where the law allows and every rule holds, the platform decides at once
//! (§ 35a VwVfG); every decision, automated or not, is delivered with its Bescheid as PDF/A,
//! which names its place in the ledger.

use crate::Platform;
use crate::error::AppError;
use amtsweg_domain::records::{CaseFile, Decision, Document, NewMessage};
use amtsweg_domain::{Authority, AuthorityId, CaseId, Outcome, Role, RuleResult, RuleTrace, Service, UserId};
use amtsweg_domain::decision::RuleInput;
use amtsweg_store::Actor;
use sha2::{Digest, Sha256};

/// The platform as actor of automated decisions (a user row made by migration 6).
pub fn system_actor() -> Actor {
    Actor { id: UserId::parse("automat").expect("valid id"), role: Role::System }
}

/// The legal remedy (Rechtsbehelfsbelehrung) of a Bescheid.
pub fn remedy(authority_name: &str, address: &str) -> String {
    format!(
        "Gegen diesen Bescheid können Sie innerhalb eines Monats nach Bekanntgabe Widerspruch erheben. \
         Der Widerspruch ist schriftlich, elektronisch oder zur Niederschrift bei der {authority_name}, {address}, einzulegen."
    )
}

/// Runs the decision rules (the authority's own for the service, or the service's) on a submission.
pub fn run_rules(rules: &amtsweg_domain::DecisionRules, data: &amtsweg_domain::FormData, evidence: &[amtsweg_domain::records::EvidenceRecord], authority: &Authority) -> Option<RuleTrace> {
    if rules.rules.is_empty() {
        return None;
    }
    Some(rules.run(&RuleInput { data, evidence, authority_region: &authority.region, today: crate::today() }))
}

fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Approved => "Ihrem Antrag wird stattgegeben.",
        Outcome::Rejected => "Ihr Antrag wird abgelehnt.",
    }
}

/// The mailbox message that carries a decision (the PDF is attached once rendered).
pub fn decision_message(authority: &Authority, case_number: &str, service: &Service, outcome: Outcome, reason: &str) -> NewMessage {
    NewMessage {
        sender: authority.name.clone(),
        subject: format!("Bescheid zu Ihrem Antrag „{}“ ({case_number})", service.name),
        body: format!(
            "Sehr geehrte Antragstellerin, sehr geehrter Antragsteller,\n\n{}\n\nBegründung:\n{reason}\n\nRechtsgrundlage: {}\n\nRechtsbehelfsbelehrung: {}\n\nDen Bescheid finden Sie als PDF-Dokument bei dieser Nachricht.\n\nMit freundlichen Grüßen\n{}",
            verdict(outcome),
            service.legal_basis,
            remedy(&authority.name, &authority.address),
            authority.name
        ),
    }
}

/// The reasons of an automated approval: each rule checked, with its explanation.
pub fn automated_reason(trace: &RuleTrace) -> String {
    let mut out = String::from("Ihr Antrag wurde automatisiert geprüft. Alle Voraussetzungen sind erfüllt:\n");
    for o in &trace.outcomes {
        out.push_str(&format!("\n– {}: {}", o.label, o.explanation));
    }
    out
}

/// A submitted application: its case, where it went, and how the rules judged it. Only the
/// citizen's own desk makes one.
pub struct Submission {
    pub application_id: amtsweg_domain::ApplicationId,
    pub citizen: UserId,
    pub data: amtsweg_domain::FormData,
    pub case: amtsweg_domain::records::CaseRef,
    pub authority: Authority,
    pub service: std::sync::Arc<Service>,
    pub trace: Option<RuleTrace>,
}

/// After a submission: decides at once when the rules allow it. Returns the decision, if any.
pub(crate) async fn after_submission(app: &Platform, submission: &Submission, person: &amtsweg_domain::Person) -> Result<Option<Decision>, AppError> {
    let Some(trace) = submission.trace.as_ref().filter(|t| t.decides_automatically()) else { return Ok(None) };
    let (authority, service, case) = (&submission.authority, &submission.service, &submission.case);
    let reason = automated_reason(trace);
    let message = decision_message(authority, &case.case_number, service, Outcome::Approved, &reason);
    // The submission has committed: whatever fails from here is logged, and the case stays
    // in the inbox (no decision) or the Bescheid is issued later (decision made).
    let decision = match app.store.decide(&authority.id, &case.id, &system_actor(), Outcome::Approved, &reason, &message, false).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = AppError::from(e).code(), "automated decision not made; the case goes to the inbox");
            return Ok(None);
        }
    };
    app.metrics.decision(Outcome::Approved);
    app.metrics.automated_decision();
    // The case file as it now stands, from what this request already holds.
    let file = CaseFile {
        id: case.id.clone(),
        case_number: case.case_number.clone(),
        authority_id: authority.id.clone(),
        application_id: decision.application_id.clone(),
        status: amtsweg_domain::ApplicationStatus::Decided,
        service: service.clone(),
        data: submission.data.clone(),
        applicant_id: submission.citizen.clone(),
        applicant: Some(person.clone()),
        created_at: decision.decided_at,
        decision: Some(decision.info(true)),
        assignee_id: None,
        assignee_name: None,
        due_at: None,
        rule_trace: Some(trace.clone()),
    };
    write_or_leave_to_a_job(app, &file, authority, &decision).await;
    Ok(Some(decision))
}

/// Delivers the Bescheid of a decision a member of staff just made, from the case file they
/// opened to decide it. The decision has committed: a failure is logged and the delivery job
/// issues the Bescheid later.
pub(crate) async fn deliver(app: &Platform, mut file: CaseFile, authority: &Authority, decision: &Decision) {
    file.decision = Some(decision.info(false));
    file.status = amtsweg_domain::ApplicationStatus::Decided;
    write_or_leave_to_a_job(app, &file, authority, decision).await;
}

/// Writes the Bescheid of a decision that has committed; when that fails, a delivery job is
/// left for it (and should even that fail, the periodic sweep finds the case).
async fn write_or_leave_to_a_job(app: &Platform, file: &CaseFile, authority: &Authority, decision: &Decision) {
    let Err(e) = write_bescheid(app, file, authority, &decision.message_id).await else { return };
    tracing::warn!(error = e.code(), "bescheid not written; it will be issued by a job");
    let job = crate::jobs::JobKind::DeliverBescheid { authority: authority.id.clone(), case: file.id.clone() };
    if let Err(e) = crate::jobs::enqueue(app, &job).await {
        tracing::warn!(error = e.code(), "delivery job not enqueued; the periodic sweep will find the case");
    }
}

/// The Bescheid of a decided case, for a case whose document is missing: the case file is read
/// (as the platform) and the document rendered and attached. A stored document is returned as is.
pub async fn issue_bescheid(app: &Platform, authority_id: &AuthorityId, case_id: &CaseId) -> Result<Document, AppError> {
    if let Some(d) = app.store.case_document(authority_id, case_id, "bescheid").await? {
        return Ok(d);
    }
    let message = app.store.decision_message(authority_id, case_id).await?.ok_or_else(|| AppError::Conflict("Der Vorgang ist noch nicht entschieden.".into()))?;
    let case = app.store.case_file(authority_id, case_id).await?.ok_or(AppError::NotFound)?;
    let authority = app.store.authority(authority_id).await?.ok_or(AppError::NotFound)?;
    write_bescheid(app, &case, &authority, &message).await
}

/// Renders the Bescheid with the ledger receipt of the decision, stores it and attaches it to
/// the message that delivered the decision (once: a second attempt returns the first document).
async fn write_bescheid(app: &Platform, case: &CaseFile, authority: &Authority, message: &amtsweg_domain::MessageId) -> Result<Document, AppError> {
    let receipt = app.receipt_or_log(&amtsweg_domain::LedgerRef::decision_issued(&case.id)).await;
    let mut letter = letter(case, authority, receipt.as_ref().map(ledger_paragraph))?;
    letter.receipt = receipt.and_then(|r| serde_json::to_vec_pretty(&r).ok());
    let pdf = tokio::task::spawn_blocking(move || crate::bescheid::render(&letter))
        .await
        .map_err(|_| AppError::Unavailable("Der Bescheid konnte nicht erzeugt werden.".into()))?
        .map_err(|e| {
            tracing::error!(error = %e, "bescheid not rendered");
            AppError::Unavailable("Der Bescheid konnte nicht erzeugt werden. Bitte versuchen Sie es später erneut.".into())
        })?;
    let document = Document {
        id: uuid::Uuid::new_v4().to_string(),
        case_id: case.id.clone(),
        kind: "bescheid".into(),
        media_type: "application/pdf".into(),
        sha256: hex::encode(Sha256::digest(&pdf)),
        content: pdf,
        created_at: time::OffsetDateTime::now_utc(),
    };
    Ok(app.store.attach_document(&authority.id, &document, message).await?)
}

/// Issues the Bescheide that a stopped process left undelivered (decided before `before`, no
/// document); returns how many were issued.
pub async fn deliver_missing(app: &Platform, before: time::OffsetDateTime) -> Result<usize, AppError> {
    let missing = app.store.undelivered_decisions(before, 100).await?;
    let mut issued = 0;
    for (authority, case) in missing {
        match issue_bescheid(app, &authority, &case).await {
            Ok(_) => issued += 1,
            Err(e) => {
                tracing::warn!(error = e.code(), "bescheid not delivered");
                // Counted, so that a case that keeps failing is given up after a few tries.
                app.store.bescheid_failed(&case).await?;
            }
        }
    }
    Ok(issued)
}

fn ledger_paragraph(r: &amtsweg_ledger::Receipt) -> String {
    let mut lines = r.checkpoint.lines();
    let origin = lines.next().unwrap_or_default();
    let size = lines.next().unwrap_or_default();
    let root = lines.next().unwrap_or_default();
    format!(
        "Diese Entscheidung ist im Transparenzprotokoll „{origin}“ als Eintrag Nr. {} verzeichnet. Der signierte Protokollstand umfasst {size} Einträge, Prüfwert {root}. Die vollständige Quittung ist diesem Dokument als Datei „quittung.json“ beigefügt; sie lässt sich mit dem öffentlichen Schlüssel des Protokolls unabhängig prüfen.",
        r.index
    )
}

fn letter(case: &CaseFile, authority: &Authority, ledger: Option<String>) -> Result<crate::bescheid::Bescheid, AppError> {
    let decision = case.decision.as_ref().ok_or_else(|| AppError::Conflict("Der Vorgang ist noch nicht entschieden.".into()))?;
    let recipient = case
        .applicant
        .as_ref()
        .map(|p| vec![p.full_name(), p.street.clone(), format!("{} {}", p.postal_code, p.city)])
        .unwrap_or_default();
    let automated = if decision.automated {
        case.rule_trace.as_ref().map(|t| {
            (
                t.automation_basis.clone(),
                t.outcomes.iter().filter(|o| o.result == RuleResult::Passed).map(|o| (o.label.clone(), o.explanation.clone())).collect(),
            )
        })
    } else {
        None
    };
    // The letterhead the operator set (or the name), and under it the address with how to reach
    // the authority.
    let contact = authority.contact.line();
    Ok(crate::bescheid::Bescheid {
        authority_name: authority.letterhead().to_owned(),
        authority_address: if contact.is_empty() { authority.address.clone() } else { format!("{} · {contact}", authority.address) },
        case_number: case.case_number.clone(),
        date: amtsweg_domain::form::format_date_german(amtsweg_domain::local_time::berlin(decision.decided_at).date()),
        created: time::OffsetDateTime::now_utc(),
        recipient,
        service_name: case.service.name.clone(),
        verdict: verdict(decision.outcome).into(),
        reason: if decision.automated { "Die Voraussetzungen für die Leistung liegen vor.".into() } else { decision.reason.clone() },
        automated,
        legal_basis: case.service.legal_basis.clone(),
        remedy: remedy(&authority.name, &authority.address),
        ledger,
        receipt: None,
    })
}

/// Lead times and backlog of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    pub service_id: String,
    pub service_name: String,
    pub decided: usize,
    pub automated: usize,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    pub open: usize,
    pub overdue: usize,
}

/// Submission-to-decision times (median, 90th percentile by nearest rank), open and overdue
/// cases, per service, sorted by service name.
pub fn lead_times(timings: &[amtsweg_domain::records::CaseTiming], now: time::OffsetDateTime) -> Vec<LeadTime> {
    use amtsweg_domain::ApplicationStatus;
    let mut by_service: std::collections::BTreeMap<(String, String), (Vec<f64>, usize, usize, usize)> = Default::default();
    for t in timings {
        let e = by_service.entry((t.service_name.clone(), t.service_id.to_string())).or_default();
        if let Some(d) = t.decided_at {
            e.0.push((d - t.created_at).as_seconds_f64());
            if t.automated {
                e.1 += 1;
            }
        }
        if matches!(t.status, ApplicationStatus::Submitted | ApplicationStatus::InReview) {
            e.2 += 1;
            if t.due_at.is_some_and(|due| due < now) {
                e.3 += 1;
            }
        }
    }
    by_service
        .into_iter()
        .map(|((name, id), (mut times, automated, open, overdue))| {
            times.sort_by(f64::total_cmp);
            let rank = |q: f64| (!times.is_empty()).then(|| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1]);
            LeadTime { service_id: id, service_name: name, decided: times.len(), automated, median_seconds: rank(0.5), p90_seconds: rank(0.9), open, overdue }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use amtsweg_domain::records::CaseTiming;
    use amtsweg_domain::{ApplicationStatus, ServiceId};
    use time::{Duration, OffsetDateTime};

    #[test]
    fn lead_times_count_decided_open_and_overdue() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(100);
        let t = |secs: Option<i64>, status, due_days: i64, automated| CaseTiming {
            service_id: ServiceId::parse("s").unwrap(),
            service_name: "S".into(),
            status,
            created_at: OffsetDateTime::UNIX_EPOCH,
            due_at: Some(OffsetDateTime::UNIX_EPOCH + Duration::days(due_days)),
            decided_at: secs.map(|s| OffsetDateTime::UNIX_EPOCH + Duration::seconds(s)),
            automated,
        };
        let rows = [
            t(Some(10), ApplicationStatus::Decided, 14, true),
            t(Some(30), ApplicationStatus::Decided, 14, false),
            t(Some(20), ApplicationStatus::Decided, 14, true),
            t(None, ApplicationStatus::InReview, 14, false),
            t(None, ApplicationStatus::Submitted, 200, false),
            t(None, ApplicationStatus::Withdrawn, 14, false),
        ];
        let l = &lead_times(&rows, now)[0];
        assert_eq!((l.decided, l.automated, l.open, l.overdue), (3, 2, 2, 1));
        assert_eq!(l.median_seconds, Some(20.0));
        assert_eq!(l.p90_seconds, Some(30.0));
    }
}
