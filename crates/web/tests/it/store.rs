//! Properties of the store itself, on both backends.

use crate::common::TestApp;
use crate::on_both_stores;

on_both_stores!(migrations_run_twice_without_change, audit_trail_is_append_only, concurrent_submissions_get_unique_case_numbers);

async fn migrations_run_twice_without_change(app: TestApp) {
    let before = app.store.audit_count().await.unwrap();
    app.store.migrate().await.unwrap();
    assert_eq!(app.store.audit_count().await.unwrap(), before);
    assert_eq!(app.store.services().await.unwrap().len(), 5);
}

async fn audit_trail_is_append_only(app: TestApp) {
    let (id, _) = app.submitted_application(0).await;
    assert!(!app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &id).await.unwrap().is_empty());
    // The database itself refuses changes to the trail: reach it with raw SQL.
    let refused = match app.store.backend() {
        // A fresh file with the same migrations: the app's own file is private to the test app.
        amtsweg_store::Backend::Sqlite => sqlite_refuses().await,
        amtsweg_store::Backend::Postgres => raw_postgres().await,
    };
    assert!(refused, "UPDATE/DELETE on audit_events must fail");
    assert_eq!(app.store.audit_trail(&amtsweg_domain::AuthorityId::parse("leipzig").unwrap(), &id).await.unwrap().len(), 3);
}

async fn sqlite_refuses() -> bool {
    let dir = std::env::temp_dir().join(format!("amtsweg-audit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("a.db").display());
    let store = amtsweg_store::SqliteStore::connect(&url).await.unwrap();
    use amtsweg_store::Store;
    store.migrate().await.unwrap();
    let pool = &sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO audit_events (at, kind, actor_role, subject_kind, subject_id) VALUES ('2026-01-01T00:00:00Z', 'k', 'system', 's', 'x')")
        .execute(pool)
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit_events SET kind = 'changed'").execute(pool).await;
    let delete = sqlx::query("DELETE FROM audit_events").execute(pool).await;
    let _ = std::fs::remove_dir_all(&dir);
    update.is_err() && delete.is_err()
}

async fn raw_postgres() -> bool {
    let url = std::env::var("AMTSWEG_TEST_POSTGRES_URL").unwrap();
    let schema = format!("audit_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
    let store = amtsweg_store::PgStore::connect_in_schema(&url, &schema).await.unwrap();
    use amtsweg_store::Store;
    store.migrate().await.unwrap();
    let pool = store.pool();
    sqlx::query("INSERT INTO audit_events (at, kind, actor_role, subject_kind, subject_id) VALUES (now(), 'k', 'system', 's', 'x')")
        .execute(pool)
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit_events SET kind = 'changed'").execute(pool).await;
    let delete = sqlx::query("DELETE FROM audit_events").execute(pool).await;
    pool.close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await.unwrap();
    update.is_err() && delete.is_err()
}

async fn concurrent_submissions_get_unique_case_numbers(app: TestApp) {
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move { app.submitted_application(i % 2).await.1 }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=24).map(|n| format!("L-{}-{n:06}", time::OffsetDateTime::now_utc().year())).collect();
    assert_eq!(numbers, expected);
}
