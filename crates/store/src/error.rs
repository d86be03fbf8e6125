use amtsweg_domain::ApplicationStatus;

/// Errors of the storage layer. Messages never contain stored values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("the application is {current} and cannot change that way")]
    Conflict { current: ApplicationStatus },
    #[error("another schema with the same id and version is stored (sha256 {existing})")]
    SchemaConflict { existing: String },
    #[error("the evidence is not waiting for a preview decision")]
    PreviewSettled,
    #[error("the case is assigned to someone else")]
    Taken,
    #[error("the question has been answered already")]
    Answered,
    #[error("the idempotency key was used for another event")]
    KeyReused,
    /// A unique name or key is taken (the argument names which: `authority`, `short_code`,
    /// `responsibility`, `login`).
    #[error("{0} exists already")]
    Exists(&'static str),
    #[error("the database URL must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The write did not become durable (the batch's commit failed); nothing of it is stored.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
    /// Too many writes wait already: the caller should answer 503 with `Retry-After`.
    #[error("too many writes are waiting")]
    Overloaded,
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}
