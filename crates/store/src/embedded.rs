//! Migrations compiled into the binary, so that `amtsweg migrate` needs no files beside it.
//! (sqlx's `migrate!` macro would do the same but needs its compile-time macro crate, which
//! doubles the build of sqlx for two backends.)

use futures_core::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy)]
pub struct Embedded(pub &'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(*version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
                })
                .collect())
        })
    }
}

pub const SQLITE: Embedded = Embedded(&[
    (1, "initial", include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, "fim schemas", include_str!("../migrations/sqlite/0002_fim_schemas.sql")),
    (3, "service evidence", include_str!("../migrations/sqlite/0003_service_evidence.sql")),
    (4, "evidence and transfers", include_str!("../migrations/sqlite/0004_evidence_transfers.sql")),
    (5, "ledger", include_str!("../migrations/sqlite/0005_ledger.sql")),
    (6, "casework", include_str!("../migrations/sqlite/0006_casework.sql")),
    (7, "assistant", include_str!("../migrations/sqlite/0007_assistant.sql")),
    (8, "login", include_str!("../migrations/sqlite/0008_login.sql")),
    (9, "jobs", include_str!("../migrations/sqlite/0009_jobs.sql")),
    (10, "operator", include_str!("../migrations/sqlite/0010_operator.sql")),
    (11, "accountability", include_str!("../migrations/sqlite/0011_accountability.sql")),
    (12, "cache versions", include_str!("../migrations/sqlite/0012_cache_versions.sql")),
    (13, "cache rows", include_str!("../migrations/sqlite/0013_cache_rows.sql")),
    (14, "reports", include_str!("../migrations/sqlite/0014_reports.sql")),
    (15, "report_deadlines_regions", include_str!("../migrations/sqlite/0015_report_deadlines_regions.sql")),
]);
pub const POSTGRES: Embedded = Embedded(&[
    (1, "initial", include_str!("../migrations/postgres/0001_initial.sql")),
    (2, "fim schemas", include_str!("../migrations/postgres/0002_fim_schemas.sql")),
    (3, "service evidence", include_str!("../migrations/postgres/0003_service_evidence.sql")),
    (4, "evidence and transfers", include_str!("../migrations/postgres/0004_evidence_transfers.sql")),
    (5, "ledger", include_str!("../migrations/postgres/0005_ledger.sql")),
    (6, "casework", include_str!("../migrations/postgres/0006_casework.sql")),
    (7, "assistant", include_str!("../migrations/postgres/0007_assistant.sql")),
    (8, "login", include_str!("../migrations/postgres/0008_login.sql")),
    (9, "jobs", include_str!("../migrations/postgres/0009_jobs.sql")),
    (10, "operator", include_str!("../migrations/postgres/0010_operator.sql")),
    (11, "accountability", include_str!("../migrations/postgres/0011_accountability.sql")),
    (12, "cache versions", include_str!("../migrations/postgres/0012_cache_versions.sql")),
    (13, "cache rows", include_str!("../migrations/postgres/0013_cache_rows.sql")),
    (14, "reports", include_str!("../migrations/postgres/0014_reports.sql")),
    (15, "report_deadlines_regions", include_str!("../migrations/postgres/0015_report_deadlines_regions.sql")),
]);
