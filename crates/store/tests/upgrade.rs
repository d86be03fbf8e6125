//! Upgrades: a database as the previous release left it (migrations up to 9, before the platform
//! operator), with rows written the way that release wrote them, migrated to now on both
//! backends. Everything stored before is read as before, and the new parts work on it.

use amtsweg_store::{PgStore, SqliteStore, Store};
use amtsweg_domain::{AuthorityId, ServiceId};

/// The last migration of the previous release.
const PREVIOUS_RELEASE: i64 = 9;

/// What the previous release wrote, in its own columns.
const ROWS: [&str; 5] = [
    "INSERT INTO authorities (id, name, short_code, region_key, address) VALUES ('leipzig', 'Stadt Leipzig', 'L', '147130000000', 'Martin-Luther-Ring 4–6, 04109 Leipzig')",
    "INSERT INTO users (id, role, display_name, authority_id, person, created_at) VALUES ('sachbearbeitung-leipzig', 'caseworker', 'Katrin Müller', 'leipzig', NULL, '2026-11-01T08:00:00Z')",
    "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ('abc123', 'sachbearbeitung-leipzig', '2026-11-01T08:00:00Z', '2099-01-01T00:00:00Z')",
    "INSERT INTO services (id, name, leika_key, summary, description, legal_basis, form, evidence, decision_rules, required_level) VALUES ('dienst', 'Dienst', NULL, 'Kurz', 'Lang', 'Gesetz', '{\"id\":\"dienst\",\"title\":\"Dienst\",\"groups\":[]}', '[]', '{\"automation\":false,\"rules\":[]}', NULL)",
    "INSERT INTO responsibilities (service_id, region_key, authority_id) VALUES ('dienst', '147130000000', 'leipzig')",
];

async fn upgrade_keeps_what_was_there(store: &dyn Store, write: impl AsyncFn(&str)) {
    for sql in ROWS {
        write(sql).await;
    }
    store.migrate().await.expect("the migrations of this release apply to the previous release's database");
    let leipzig = store.authority(&AuthorityId::parse("leipzig").unwrap()).await.unwrap().expect("kept");
    assert_eq!((leipzig.name.as_str(), leipzig.short_code.as_str(), leipzig.active), ("Stadt Leipzig", "L", true));
    assert_eq!((leipzig.contact.phone.as_str(), leipzig.letterhead.as_str(), leipzig.letterhead()), ("", "", "Stadt Leipzig"));
    let user = store.user_by_api_token("abc123").await.unwrap().expect("the old token still lets its user in");
    assert_eq!(user.display_name, "Katrin Müller");
    let responsible = store.responsibilities(&ServiceId::parse("dienst").unwrap()).await.unwrap();
    assert_eq!(responsible.len(), 1);
    let members = store.members(&leipzig.id).await.unwrap();
    assert!(members.len() == 1 && members[0].active && members[0].login.is_none(), "{members:?}");
    // Migrating again changes nothing.
    store.migrate().await.unwrap();
}

#[tokio::test]
async fn sqlite_database_of_the_previous_release_is_migrated() {
    let dir = std::env::temp_dir().join(format!("amtsweg-upgrade-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::connect(&format!("sqlite:{}", dir.join("old.db").display())).await.unwrap();
    store.migrate_through(PREVIOUS_RELEASE).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", store.path().display())).await.unwrap();
    upgrade_keeps_what_was_there(&store, async |sql: &str| {
        sqlx::query(sql).execute(&pool).await.unwrap();
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn postgres_database_of_the_previous_release_is_migrated() {
    let url = match std::env::var("AMTSWEG_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI=true: AMTSWEG_TEST_POSTGRES_URL must be set");
            eprintln!("skipped: AMTSWEG_TEST_POSTGRES_URL is not set");
            return;
        }
    };
    let schema = format!("upgrade_{}", uuid::Uuid::new_v4().simple());
    let store = PgStore::connect_to_new_schema(&url, &schema).await.unwrap();
    store.migrate_through(PREVIOUS_RELEASE).await.unwrap();
    let pool = store.pool().clone();
    upgrade_keeps_what_was_there(&store, async |sql: &str| {
        // PostgreSQL takes the times as timestamptz literals.
        sqlx::query(sql).execute(&pool).await.unwrap();
    })
    .await;
    pool.close().await;
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await.unwrap();
}
