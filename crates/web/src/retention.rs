//! Deleting what the law says must not be kept: transfer log entries after two years
//! (§ 9 IDNrG). The sweep takes "now" as an argument so that tests can move the clock; the
//! background job calls it with the real time once an hour.

use amtsweg_store::DynStore;
use time::OffsetDateTime;

/// How long a transfer log entry is kept.
pub fn transfer_retention() -> time::Duration {
    time::Duration::days(2 * 365 + 1)
}

/// Deletes transfer log entries older than the retention period (returns how many), and
/// expired access tokens of API clients.
pub async fn sweep(store: &DynStore, now: OffsetDateTime) -> Result<u64, amtsweg_store::StoreError> {
    store.delete_expired_client_tokens(now).await?;
    store.delete_transfers_before(now - transfer_retention()).await
}

/// Runs the sweep now and then every hour, for as long as the process lives.
pub fn spawn(store: DynStore) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match sweep(&store, OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "transfer log entries past their retention deleted"),
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
        }
    });
}
