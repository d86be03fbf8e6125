//! Security events as the SIEM gets them, kept for the operator's page (newest first, counts by
//! action) and swept after their retention.

use crate::Result;
use crate::sql::{Dialect, SqlStore, args, row};
use time::OffsetDateTime;

const PUT: &str = "INSERT INTO security_events (at, action, outcome, event) VALUES ($1, $2, $3, $4)";
const LATEST: &str = "SELECT event FROM security_events ORDER BY id DESC LIMIT $1";
const COUNTS_SQLITE: &str = "SELECT action, outcome, COUNT(*) AS n FROM security_events WHERE julianday(at) >= julianday($1) GROUP BY action, outcome ORDER BY action, outcome";
const COUNTS_POSTGRES: &str = "SELECT action, outcome, COUNT(*) AS n FROM security_events WHERE at >= $1 GROUP BY action, outcome ORDER BY action, outcome";
const SWEEP_SQLITE: &str = "DELETE FROM security_events WHERE julianday(at) < julianday($1)";
const SWEEP_POSTGRES: &str = "DELETE FROM security_events WHERE at < $1";

row!(CountRow { action: String, outcome: String, n: i64 });

pub(crate) async fn put<DB: Dialect>(store: &SqlStore<DB>, at: OffsetDateTime, action: &str, outcome: &str, event: &str) -> Result<()> {
    store.execute(PUT, args![at, action, outcome, event]).await?;
    Ok(())
}

pub(crate) async fn latest<DB: Dialect>(store: &SqlStore<DB>, limit: i64) -> Result<Vec<String>> {
    Ok(store.all::<(String,)>(LATEST, args![limit]).await?.into_iter().map(|(e,)| e).collect())
}

pub(crate) async fn counts<DB: Dialect>(store: &SqlStore<DB>, since: OffsetDateTime) -> Result<Vec<(String, String, i64)>> {
    let sql = match DB::BACKEND {
        crate::Backend::Sqlite => COUNTS_SQLITE,
        crate::Backend::Postgres => COUNTS_POSTGRES,
    };
    Ok(store.all::<CountRow>(sql, args![since]).await?.into_iter().map(|r| (r.action, r.outcome, r.n)).collect())
}

pub(crate) async fn sweep<DB: Dialect>(store: &SqlStore<DB>, before: OffsetDateTime) -> Result<u64> {
    let sql = match DB::BACKEND {
        crate::Backend::Sqlite => SWEEP_SQLITE,
        crate::Backend::Postgres => SWEEP_POSTGRES,
    };
    store.execute(sql, args![before]).await
}
