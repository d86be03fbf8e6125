//! Rate limits shared by every app node on one database: the generic cell rate algorithm (GCRA,
//! as `governor` does it in memory) with its one number per key, the theoretical arrival time,
//! kept in a row. A request is allowed when, after it, the key's time is at most `burst`
//! intervals ahead of now; each allowed request moves it on by one interval.

use crate::Result;
use crate::sql::{Dialect, SqlStore, args};

const ENSURE: &str = "INSERT INTO rate_limits (key, tat) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
const READ_SQLITE: &str = "SELECT tat FROM rate_limits WHERE key = $1";
const READ_POSTGRES: &str = "SELECT tat FROM rate_limits WHERE key = $1 FOR UPDATE";
const WRITE: &str = "UPDATE rate_limits SET tat = $1 WHERE key = $2";
const FORGET: &str = "DELETE FROM rate_limits WHERE tat < $1";

/// `Ok(())` when allowed (and counted), `Err(wait_ms)` when not, with how long until it would be.
pub(crate) async fn take<DB: Dialect>(store: &SqlStore<DB>, key: &str, now_ms: i64, interval_ms: i64, burst: i64) -> Result<std::result::Result<(), i64>> {
    let read = match DB::BACKEND {
        crate::Backend::Sqlite => READ_SQLITE,
        crate::Backend::Postgres => READ_POSTGRES,
    };
    let mut tx = store.write().await?;
    tx.execute(ENSURE, args![key, now_ms]).await?;
    let (tat,) = tx.one::<(i64,)>(read, args![key]).await?;
    let next = tat.max(now_ms) + interval_ms;
    let ahead = next - now_ms;
    if ahead > burst * interval_ms {
        tx.rollback().await?;
        return Ok(Err(ahead - burst * interval_ms));
    }
    tx.execute(WRITE, args![next, key]).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Forgets keys that are back at their full allowance (their time lies before `now_ms`).
pub(crate) async fn forget<DB: Dialect>(store: &SqlStore<DB>, now_ms: i64) -> Result<u64> {
    store.execute(FORGET, args![now_ms]).await
}
