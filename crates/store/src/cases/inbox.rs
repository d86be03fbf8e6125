//! The inbox of an authority, assigning cases to its staff, and the figures of its casework
//! (backlog, lead times).

use amtsweg_domain::AuditKind;
use super::{CaseSummaryRow, begin_review, case_summary_select, is_case_of};
use crate::applications::status;
use crate::audit::{audit, who};
use crate::sql::{Arg, Dialect, Present, SqlStore, args, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::{AssigneeFilter, CaseFilter, CaseSort, CaseSummary, CaseTiming};
use amtsweg_domain::{AuthorityId, CaseId, ServiceId, UserId};
use time::OffsetDateTime;

/// The inbox; the filter's conditions follow, with numbered placeholders.
const INBOX: &str = concat!(case_summary_select!(), " WHERE c.authority_id = $1");
const STAFF_OF_AUTHORITY: &str = "SELECT 1 AS one FROM users WHERE id = $1 AND authority_id = $2 AND role IN ('caseworker', 'team_lead')";
const ASSIGN: &str = "UPDATE cases SET assignee_id = $1 WHERE id = $2 AND authority_id = $3";
/// The condition of a claim is part of the update: two claims at once cannot both win.
const CLAIM: &str = "UPDATE cases SET assignee_id = $1 WHERE id = $2 AND authority_id = $3 AND (assignee_id IS NULL OR assignee_id = $1)";
const RELEASE: &str = "UPDATE cases SET assignee_id = NULL WHERE id = $1 AND authority_id = $2 AND assignee_id = $3";
const BACKLOG: &str = "SELECT c.authority_id, COUNT(*) AS open, \
            SUM(CASE WHEN c.due_at < $1 THEN 1 ELSE 0 END) AS overdue \
     FROM cases c JOIN applications a ON a.id = c.application_id \
     WHERE a.status IN ('submitted', 'in_review') GROUP BY c.authority_id ORDER BY c.authority_id";
const TIMINGS: &str = "SELECT a.service_id, s.name AS service_name, a.status, c.created_at, c.due_at, d.decided_at, d.automated \
     FROM cases c JOIN applications a ON a.id = c.application_id JOIN services s ON s.id = a.service_id \
     LEFT JOIN decisions d ON d.case_id = c.id WHERE c.authority_id = $1";

row!(BacklogRow { authority_id: String, open: i64, overdue: Option<i64> });

row!(TimingRow {
    service_id: String,
    service_name: String,
    status: String,
    created_at: OffsetDateTime,
    due_at: Option<OffsetDateTime>,
    decided_at: Option<OffsetDateTime>,
    automated: Option<bool>,
});

impl TimingRow {
    fn into_domain(self) -> Result<CaseTiming> {
        Ok(CaseTiming {
            service_id: ServiceId::from_stored(self.service_id),
            service_name: self.service_name,
            status: status(&self.status)?,
            created_at: self.created_at,
            due_at: self.due_at,
            decided_at: self.decided_at,
            automated: self.automated.unwrap_or(false),
        })
    }
}

pub(crate) async fn cases<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, f: &CaseFilter) -> Result<Vec<CaseSummary>> {
    // Conditions with numbered placeholders, the arguments pushed in the same order.
    let mut sql = INBOX.to_owned();
    let mut args: Vec<Arg> = vec![authority.as_str().into()];
    if let Some(st) = f.status {
        args.push(st.as_str().into());
        sql.push_str(&format!(" AND a.status = ${}", args.len()));
    }
    if let Some(sv) = &f.service {
        args.push(sv.as_str().into());
        sql.push_str(&format!(" AND a.service_id = ${}", args.len()));
    }
    match &f.assignee {
        Some(AssigneeFilter::Nobody) => sql.push_str(" AND c.assignee_id IS NULL"),
        Some(AssigneeFilter::User(u)) => {
            args.push(u.as_str().into());
            sql.push_str(&format!(" AND c.assignee_id = ${}", args.len()));
        }
        None => {}
    }
    if f.overdue {
        args.push(OffsetDateTime::now_utc().into());
        sql.push_str(&format!(" AND c.due_at < ${} AND a.status IN ('submitted', 'in_review')", args.len()));
    }
    sql.push_str(match f.sort {
        CaseSort::Newest => " ORDER BY c.created_at DESC, c.id",
        CaseSort::Oldest => " ORDER BY c.created_at, c.id",
        CaseSort::Deadline => " ORDER BY c.due_at IS NULL, c.due_at, c.created_at, c.id",
    });
    args.push(f.limit.unwrap_or(500).into());
    sql.push_str(&format!(" LIMIT ${}", args.len()));
    store.all::<CaseSummaryRow>(&sql, &args).await?.into_iter().map(CaseSummaryRow::into_domain).collect()
}

pub(crate) async fn assign_case<DB: Dialect>(
    store: &SqlStore<DB>,
    authority: &AuthorityId,
    id: &CaseId,
    actor: &Actor,
    assignee: Option<&UserId>,
    claim: bool,
) -> Result<()> {
    let mut tx = store.write().await?;
    let staff = match assignee {
        Some(a) => tx.optional::<Present>(STAFF_OF_AUTHORITY, args![a.as_str(), authority.as_str()]).await?.is_some(),
        None => true,
    };
    if !staff {
        return Err(StoreError::NotFound);
    }
    let update = if claim { CLAIM } else { ASSIGN };
    if tx.execute(update, args![assignee.map(|a| a.as_str()), id.as_str(), authority.as_str()]).await? == 0 {
        return Err(if is_case_of(&mut tx, authority, id).await? { StoreError::Taken } else { StoreError::NotFound });
    }
    let kind = if assignee.is_some() { AuditKind::CaseAssigned } else { AuditKind::CaseUnassigned };
    audit(&mut tx, kind, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    if assignee.is_some() {
        begin_review(&mut tx, authority, id, actor).await?;
    }
    tx.commit().await
}

pub(crate) async fn release_case<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId, id: &CaseId, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    if tx.execute(RELEASE, args![id.as_str(), authority.as_str(), actor.id.as_str()]).await? == 0 {
        return Err(if is_case_of(&mut tx, authority, id).await? { StoreError::Taken } else { StoreError::NotFound });
    }
    audit(&mut tx, AuditKind::CaseUnassigned, who(actor), Some(authority.as_str()), ("case", id.as_str())).await?;
    tx.commit().await
}

pub(crate) async fn backlog<DB: Dialect>(store: &SqlStore<DB>) -> Result<Vec<(String, i64, i64)>> {
    let rows = store.all::<BacklogRow>(BACKLOG, args![OffsetDateTime::now_utc()]).await?;
    Ok(rows.into_iter().map(|r| (r.authority_id, r.open, r.overdue.unwrap_or(0))).collect())
}

pub(crate) async fn case_timings<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId) -> Result<Vec<CaseTiming>> {
    store.all::<TimingRow>(TIMINGS, args![authority.as_str()]).await?.into_iter().map(TimingRow::into_domain).collect()
}
