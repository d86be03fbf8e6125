//! What app nodes share through the database (the jobs table, the rate limits, the versions of
//! what each node keeps in memory) on both backends: SQLite always, PostgreSQL when `AMTSWEG_TEST_POSTGRES_URL`
//! is set (mandatory when `CI=true`), each test in a fresh database file or schema, opened by
//! two store handles (two pools, as two processes would).

use amtsweg_domain::{Authority, AuthorityId, Role, User, UserId};
use amtsweg_store::{Actor, DynStore, JobCounts, PgStore, SqliteStore, Store};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A fresh database with two store handles on it.
struct Db {
    stores: Vec<DynStore>,
    place: Place,
}

enum Place {
    Sqlite { dir: PathBuf, handles: Vec<SqliteStore> },
    Postgres { url: String, schema: String, handles: Vec<PgStore> },
}

fn postgres_url() -> Option<String> {
    match std::env::var("AMTSWEG_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true: AMTSWEG_TEST_POSTGRES_URL must be set; the PostgreSQL run is mandatory in CI");
            }
            None
        }
    }
}

impl Db {
    async fn sqlite() -> Db {
        let dir = std::env::temp_dir().join(format!("amtsweg-jobs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite:{}", dir.join("jobs.db").display());
        let mut handles = Vec::new();
        for _ in 0..2 {
            handles.push(SqliteStore::connect(&url).await.unwrap());
        }
        handles[0].migrate().await.unwrap();
        let stores = handles.iter().map(|s| Arc::new(s.clone()) as DynStore).collect();
        Db { stores, place: Place::Sqlite { dir, handles } }
    }

    async fn postgres() -> Option<Db> {
        let url = postgres_url()?;
        let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&url).await.expect("PostgreSQL reachable at AMTSWEG_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
        admin.close().await;
        let mut handles = Vec::new();
        for _ in 0..2 {
            handles.push(PgStore::connect_in_schema(&url, &schema).await.unwrap());
        }
        handles[0].migrate().await.unwrap();
        let stores = handles.iter().map(|s| Arc::new(s.clone()) as DynStore).collect();
        Some(Db { stores, place: Place::Postgres { url, schema, handles } })
    }

    /// The error text stored with a job, read past the store.
    async fn last_error(&self, id: i64) -> Option<String> {
        let sql = "SELECT last_error FROM jobs WHERE id = $1";
        match &self.place {
            Place::Sqlite { handles, .. } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", handles[0].path().display())).await.unwrap();
                sqlx::query_scalar::<_, Option<String>>(sql).bind(id).fetch_one(&pool).await.unwrap()
            }
            Place::Postgres { handles, .. } => sqlx::query_scalar::<_, Option<String>>(sql).bind(id).fetch_one(handles[0].pool()).await.unwrap(),
        }
    }

    /// Runs a statement on the database directly, as an operator's hand would.
    async fn execute_past_the_store(&self, sql: &str) {
        match &self.place {
            Place::Sqlite { handles, .. } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", handles[0].path().display())).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Place::Postgres { handles, .. } => {
                sqlx::query(sql).execute(handles[0].pool()).await.unwrap();
            }
        }
    }

    async fn remove(self) {
        match self.place {
            Place::Sqlite { dir, handles } => {
                drop(handles);
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres { url, schema, handles } => {
                for h in handles {
                    h.pool().close().await;
                }
                let admin = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await.unwrap();
                admin.close().await;
            }
        }
    }
}

/// Runs each test on SQLite and on PostgreSQL; the database goes afterwards, also when the
/// test fails.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::run(super::Db::sqlite().await, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = super::Db::postgres().await else {
                        eprintln!("AMTSWEG_TEST_POSTGRES_URL not set: PostgreSQL skipped");
                        return;
                    };
                    super::run(db, super::$name).await;
                }
            )*
        }
    };
}

async fn run<F: Future<Output = ()> + Send + 'static>(db: Db, test: impl FnOnce(Arc<Db>) -> F) {
    let db = Arc::new(db);
    let outcome = tokio::spawn(test(db.clone())).await;
    let db = Arc::into_inner(db).expect("the test keeps no handle");
    db.remove().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

on_both!(
    enqueue_claim_finish,
    due_jobs_oldest_first_of_the_kinds_asked,
    unique_key_refused_while_waiting_or_running,
    locked_job_is_not_claimed_by_a_second_claimer,
    expired_lock_is_claimed_again,
    failed_with_retry_waits_until_retry_at,
    failed_without_retry_is_kept_and_never_claimed,
    every_job_is_claimed_once_by_concurrent_claimers,
    rate_limits_hold_across_handles,
    a_kept_token_stops_with_its_revocation_on_every_handle,
    a_kept_token_stops_with_a_change_made_past_the_store,
    the_kept_catalog_follows_a_change_on_another_handle,
);

/// Now, to the microsecond (PostgreSQL keeps microseconds).
fn t0() -> OffsetDateTime {
    // Seven tenths into a millisecond: SQLite's `julianday` rounds such a time up, which once let
    // a claim a millisecond before the lock's end take the job (the store compares whole ms).
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000 + 700_000).unwrap()
}

/// Job times are kept to the millisecond.
fn millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap()
}

const LOCK: Duration = Duration::minutes(5);

async fn enqueue_claim_finish(db: Arc<Db>) {
    let store = &db.stores[0];
    let t = t0();
    let id = store.enqueue_job("mail", None, r#"{"to":"x"}"#, t).await.unwrap().expect("enqueued");
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 1, failed: 0 });
    let job = store.claim_job(&["mail"], t, t + LOCK).await.unwrap().expect("due");
    assert_eq!((job.id, job.kind.as_str(), job.unique_key.clone(), job.payload.as_str(), job.attempts, job.run_at), (id, "mail", None, r#"{"to":"x"}"#, 1, millis(t)));
    // Running: still counted, not claimed again.
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 1, failed: 0 });
    assert!(store.claim_job(&["mail"], t, t + LOCK).await.unwrap().is_none());
    assert!(store.finish_job(&job).await.unwrap());
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 0, failed: 0 });
    assert!(store.claim_job(&["mail"], t + LOCK * 2, t + LOCK * 3).await.unwrap().is_none());
}

async fn due_jobs_oldest_first_of_the_kinds_asked(db: Arc<Db>) {
    let store = &db.stores[0];
    let t = t0();
    let later = store.enqueue_job("mail", None, "later", t + Duration::seconds(30)).await.unwrap().unwrap();
    let newer = store.enqueue_job("mail", None, "newer", t - Duration::milliseconds(10)).await.unwrap().unwrap();
    let older = store.enqueue_job("mail", None, "older", t - Duration::milliseconds(20)).await.unwrap().unwrap();
    let other = store.enqueue_job("report", None, "other", t - Duration::seconds(60)).await.unwrap().unwrap();
    assert!(store.claim_job(&[], t, t + LOCK).await.unwrap().is_none());
    let claimed = |job: Option<amtsweg_store::Job>| job.expect("a job is due").id;
    assert_eq!(claimed(store.claim_job(&["mail"], t, t + LOCK).await.unwrap()), older);
    assert_eq!(claimed(store.claim_job(&["mail"], t, t + LOCK).await.unwrap()), newer);
    // Not due yet.
    assert!(store.claim_job(&["mail"], t + Duration::seconds(29), t + LOCK).await.unwrap().is_none());
    assert_eq!(claimed(store.claim_job(&["mail", "report"], t, t + LOCK).await.unwrap()), other);
    assert_eq!(claimed(store.claim_job(&["mail"], t + Duration::seconds(30), t + LOCK).await.unwrap()), later);
}

async fn unique_key_refused_while_waiting_or_running(db: Arc<Db>) {
    let store = &db.stores[0];
    let t = t0();
    let first = store.enqueue_job("bescheid", Some("case-1"), "a", t).await.unwrap().expect("enqueued");
    assert_eq!(store.enqueue_job("bescheid", Some("case-1"), "b", t).await.unwrap(), None, "waiting");
    // Another key, or the same key for another kind, is another job.
    assert!(store.enqueue_job("bescheid", Some("case-2"), "c", t).await.unwrap().is_some());
    assert!(store.enqueue_job("mail", Some("case-1"), "d", t).await.unwrap().is_some());
    let job = store.claim_job(&["bescheid"], t, t + LOCK).await.unwrap().unwrap();
    assert_eq!(job.id, first);
    assert_eq!(job.unique_key.as_deref(), Some("case-1"));
    assert_eq!(store.enqueue_job("bescheid", Some("case-1"), "e", t).await.unwrap(), None, "running");
    assert!(store.finish_job(&job).await.unwrap());
    let again = store.enqueue_job("bescheid", Some("case-1"), "f", t).await.unwrap().expect("accepted after finish");
    assert_ne!(again, first);
    assert_eq!(store.job_counts().await.unwrap().waiting, 3);
}

async fn locked_job_is_not_claimed_by_a_second_claimer(db: Arc<Db>) {
    let (one, two) = (&db.stores[0], &db.stores[1]);
    let t = t0();
    let id = one.enqueue_job("mail", None, "x", t).await.unwrap().unwrap();
    assert_eq!(one.claim_job(&["mail"], t, t + LOCK).await.unwrap().unwrap().id, id);
    assert!(two.claim_job(&["mail"], t + Duration::seconds(1), t + LOCK).await.unwrap().is_none());
    assert!(one.claim_job(&["mail"], t + Duration::seconds(1), t + LOCK).await.unwrap().is_none());
}

async fn expired_lock_is_claimed_again(db: Arc<Db>) {
    let (one, two) = (&db.stores[0], &db.stores[1]);
    let t = t0();
    let id = one.enqueue_job("mail", None, "x", t).await.unwrap().unwrap();
    let until = t + Duration::seconds(30);
    let first = one.claim_job(&["mail"], t, until).await.unwrap().unwrap();
    assert_eq!(first.attempts, 1);
    // A millisecond before the lock ends it holds; from its end on, the job is taken again.
    assert!(two.claim_job(&["mail"], until - Duration::milliseconds(1), until + LOCK).await.unwrap().is_none());
    let again = two.claim_job(&["mail"], until, until + LOCK).await.unwrap().expect("the crashed worker's job");
    assert_eq!((again.id, again.attempts), (id, 2));
    assert!(one.claim_job(&["mail"], until + Duration::seconds(1), until + LOCK).await.unwrap().is_none());
    // The first worker comes back late: its claim no longer holds, and it changes nothing.
    assert!(!one.finish_job(&first).await.unwrap());
    assert!(!one.fail_job(&first, "E_LATE", None).await.unwrap());
    assert_eq!(one.job_counts().await.unwrap(), JobCounts { waiting: 1, failed: 0 });
    assert!(two.finish_job(&again).await.unwrap());
}

async fn failed_with_retry_waits_until_retry_at(db: Arc<Db>) {
    let store = &db.stores[0];
    let t = t0();
    let id = store.enqueue_job("mail", None, "x", t).await.unwrap().unwrap();
    let claimed = store.claim_job(&["mail"], t, t + LOCK).await.unwrap().unwrap();
    let retry_at = t + Duration::seconds(60);
    assert!(store.fail_job(&claimed, "E_SMTP_TIMEOUT", Some(retry_at)).await.unwrap());
    assert_eq!(db.last_error(id).await.as_deref(), Some("E_SMTP_TIMEOUT"));
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 1, failed: 0 });
    // Unlocked, but not due before retry_at.
    assert!(store.claim_job(&["mail"], retry_at - Duration::milliseconds(1), retry_at + LOCK).await.unwrap().is_none());
    let job = store.claim_job(&["mail"], retry_at, retry_at + LOCK).await.unwrap().expect("due again");
    assert_eq!((job.id, job.attempts, job.run_at), (id, 2, millis(retry_at)));
    // A periodic job is rescheduled in its row: due again later, attempts counted afresh.
    let next = retry_at + Duration::seconds(600);
    assert!(store.reschedule_job(&job, next).await.unwrap());
    assert_eq!(db.last_error(id).await, None);
    assert!(store.claim_job(&["mail"], next - Duration::milliseconds(1), next + LOCK).await.unwrap().is_none());
    let again = store.claim_job(&["mail"], next, next + LOCK).await.unwrap().expect("due again");
    assert_eq!((again.id, again.attempts), (id, 1));
    assert!(store.finish_job(&again).await.unwrap());
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 0, failed: 0 });
}

async fn failed_without_retry_is_kept_and_never_claimed(db: Arc<Db>) {
    let store = &db.stores[0];
    let t = t0();
    let id = store.enqueue_job("bescheid", Some("case-1"), "x", t).await.unwrap().unwrap();
    let claimed = store.claim_job(&["bescheid"], t, t + LOCK).await.unwrap().unwrap();
    // Cut to 500 characters (not bytes: each of these is two).
    assert!(store.fail_job(&claimed, &"ä".repeat(600), None).await.unwrap());
    assert_eq!(db.last_error(id).await.unwrap(), "ä".repeat(500));
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 0, failed: 1 });
    let much_later = t + Duration::days(365);
    assert!(store.claim_job(&["bescheid"], much_later, much_later + LOCK).await.unwrap().is_none());
    // Given up, it no longer holds its key.
    let next = store.enqueue_job("bescheid", Some("case-1"), "y", t).await.unwrap().expect("the key is free");
    assert_eq!(store.job_counts().await.unwrap(), JobCounts { waiting: 1, failed: 1 });
    assert_eq!(store.claim_job(&["bescheid"], much_later, much_later + LOCK).await.unwrap().unwrap().id, next);
}

async fn every_job_is_claimed_once_by_concurrent_claimers(db: Arc<Db>) {
    let t = t0();
    let mut enqueued = BTreeSet::new();
    for n in 0..50 {
        enqueued.insert(db.stores[n % 2].enqueue_job("mail", None, &n.to_string(), t - Duration::milliseconds(n as i64)).await.unwrap().unwrap());
    }
    // Four claimers, two on each handle, each claiming and finishing until nothing is due.
    let mut claimers = Vec::new();
    for c in 0..4 {
        let store = db.stores[c % 2].clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = store.claim_job(&["mail"], t, t + LOCK).await.unwrap() {
                mine.push(job.id);
                assert!(store.finish_job(&job).await.unwrap());
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    assert_eq!(claimed.len(), 50, "every job claimed exactly once");
    assert_eq!(claimed.into_iter().collect::<BTreeSet<_>>(), enqueued);
    assert_eq!(db.stores[0].job_counts().await.unwrap(), JobCounts { waiting: 0, failed: 0 });
}

/// Two handles (two nodes) share one allowance: three a minute, then wait; a minute later one
/// more; another key has its own; swept once back at full allowance.
async fn rate_limits_hold_across_handles(db: Arc<Db>) {
    let (one, two) = (&db.stores[0], &db.stores[1]);
    let now = 1_800_000_000_000i64;
    let minute = 60_000;
    let interval = minute / 3;
    for (n, store) in [one, two, one].into_iter().enumerate() {
        assert_eq!(store.take_allowance("login:a", now + n as i64, interval, 3).await.unwrap(), Ok(()), "request {n}");
    }
    let refused = two.take_allowance("login:a", now + 3, interval, 3).await.unwrap();
    let wait = refused.expect_err("the fourth within the minute");
    assert!(wait > 0 && wait <= interval, "{wait}");
    assert_eq!(one.take_allowance("login:b", now + 3, interval, 3).await.unwrap(), Ok(()), "another client");
    assert_eq!(two.take_allowance("login:a", now + interval + 3, interval, 3).await.unwrap(), Ok(()), "one interval later");
    // Concurrent takers from both handles never get more than the burst.
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let store = db.stores[n % 2].clone();
            tokio::spawn(async move { store.take_allowance("assistant:c", now, interval, 3).await.unwrap().is_ok() })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 3);
    assert_eq!(one.forget_allowances(now + 2 * minute).await.unwrap(), 3);
}

// --- what each handle keeps in memory (`cache.rs`) -------------------------------------------

/// Looks `what` up on a handle until it gives `expected`: at once on SQLite (each lookup reads
/// the catalog's version); on PostgreSQL as soon as the handle's listening connection has heard
/// of the change (well under a millisecond; up to 5 s allowed here so that a busy machine cannot
/// fail the test). Tokens are checked at once on both (their version is always read).
async fn until<T: PartialEq + std::fmt::Debug, F: Future<Output = T>>(db: &Db, expected: T, what: impl Fn() -> F) {
    let tries = if matches!(db.place, Place::Sqlite { .. }) { 1 } else { 500 };
    let mut last = None;
    for _ in 0..tries {
        let got = what().await;
        if got == expected {
            return;
        }
        last = Some(got);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("still {last:?}, expected {expected:?}");
}

async fn citizen_with_token(store: &DynStore, n: &str) -> (UserId, String) {
    let id = UserId::parse(&format!("buerger-{n}")).unwrap();
    let user = User { id: id.clone(), role: Role::Citizen, display_name: format!("Bürgerin {n}"), authority_id: None, person: None };
    store.create_user(&user).await.unwrap();
    let hash = format!("token-hash-{n}");
    store.put_api_token(&hash, &id, OffsetDateTime::now_utc() + Duration::days(1)).await.unwrap();
    (id, hash)
}

fn console() -> Actor {
    Actor { id: UserId::parse("console").unwrap(), role: Role::Operator }
}

async fn a_kept_token_stops_with_its_revocation_on_every_handle(db: Arc<Db>) {
    let (a, b) = (&db.stores[0], &db.stores[1]);
    let (id, hash) = citizen_with_token(a, "eins").await;
    for _ in 0..2 {
        for store in [a, b] {
            assert_eq!(store.user_by_api_token(&hash).await.unwrap().map(|u| u.id), Some(id.clone()), "looked up, then kept");
        }
    }
    b.deactivate_user(&id, &console()).await.unwrap();
    for store in [a, b] {
        assert_eq!(store.user_by_api_token(&hash).await.unwrap().map(|u| u.id), None, "refused on the next look-up, on every handle");
    }
}

async fn a_kept_token_stops_with_a_change_made_past_the_store(db: Arc<Db>) {
    let a = &db.stores[0];
    let (id, hash) = citizen_with_token(a, "zwei").await;
    assert_eq!(a.user_by_api_token(&hash).await.unwrap().map(|u| u.id), Some(id.clone()));
    assert_eq!(a.user_by_api_token(&hash).await.unwrap().map(|u| u.id), Some(id.clone()));
    // As an operator would by hand: the triggers see it all the same.
    db.execute_past_the_store("UPDATE api_tokens SET revoked_at = expires_at").await;
    assert_eq!(a.user_by_api_token(&hash).await.unwrap().map(|u| u.id), None);
}

async fn the_kept_catalog_follows_a_change_on_another_handle(db: Arc<Db>) {
    let (a, b) = (&db.stores[0], &db.stores[1]);
    let mut authority: Authority = serde_json::from_value(serde_json::json!({
        "id": "stadt-probe", "name": "Stadt Probe", "short_code": "SP", "region": "147130000000", "address": "Markt 1, 04109 Leipzig",
    }))
    .unwrap();
    let name_on = |store: &DynStore| {
        let store = store.clone();
        async move { store.authority(&AuthorityId::parse("stadt-probe").unwrap()).await.unwrap().map(|a| a.name) }
    };
    assert_eq!(name_on(a).await, None, "not there yet (and the absence kept)");
    assert_eq!(name_on(b).await, None, "kept on the other handle too");
    b.create_authority(&authority, &console()).await.unwrap();
    assert_eq!(name_on(b).await.as_deref(), Some("Stadt Probe"), "the changing handle reads its own write at once");
    until(&db, Some("Stadt Probe".to_string()), || name_on(a)).await;
    assert_eq!(name_on(a).await.as_deref(), Some("Stadt Probe"), "kept");
    authority.name = "Stadt Probe (neu)".into();
    assert_eq!(name_on(b).await.as_deref(), Some("Stadt Probe"));
    b.update_authority(&authority, &console()).await.unwrap();
    assert_eq!(name_on(b).await.as_deref(), Some("Stadt Probe (neu)"), "at once on the changing handle");
    until(&db, Some("Stadt Probe (neu)".to_string()), || name_on(a)).await;
}
