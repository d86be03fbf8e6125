//! Deleting what the law says must not be kept: transfer log entries after two years
//! (§ 9 IDNrG). The sweep takes "now" as an argument so that tests can move the clock; the
//! background job calls it with the real time once an hour.

use amtsweg_store::DynStore;
use time::OffsetDateTime;

/// How long a transfer log entry is kept.
pub fn transfer_retention() -> time::Duration {
    time::Duration::days(2 * 365 + 1)
}

/// Deletes transfer log entries older than the retention period (returns how many), expired
/// access tokens of API clients, and rate-limit state of clients back at full allowance.
pub async fn sweep(store: &DynStore, now: OffsetDateTime) -> Result<u64, amtsweg_store::StoreError> {
    store.delete_expired_client_tokens(now).await?;
    store.forget_allowances((now.unix_timestamp_nanos() / 1_000_000) as i64).await?;
    store.delete_security_events_before(now - crate::security::RETENTION).await?;
    store.delete_transfers_before(now - transfer_retention()).await
}

/// Deletes the personal data of the Mängelmelder's reports closed longer ago than `retention`
/// (the reports stay, anonymised; each deletion is in the ledger). Returns how many.
pub async fn forget_reporters(store: &DynStore, now: OffsetDateTime, retention: time::Duration) -> Result<u64, amtsweg_store::StoreError> {
    store.forget_reporters(now - retention).await
}
