//! Background jobs with two `amtsweg serve` processes on one PostgreSQL: every job runs once,
//! whichever node takes it.

mod common;

use amtsweg_app::jobs::{self, JobKind};
use amtsweg_domain::{AssuranceLevel, AuthorityId, CaseId, Outcome, Role, UserId};
use common::SharedDatabase;

/// The sum over both nodes of `amtsweg_jobs_total{kind=…,outcome="ok"}`.
async fn runs(http: &reqwest::Client, servers: &[&str], kind: &str) -> u64 {
    let mut total = 0;
    for base in servers {
        let text = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        let series = format!("amtsweg_jobs_total{{kind=\"{kind}\",outcome=\"ok\"}} ");
        total += text.lines().find_map(|l| l.strip_prefix(&series)).map(|v| v.trim().parse::<u64>().unwrap()).unwrap_or(0);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_run_each_job_once() {
    let Some(db) = SharedDatabase::create("amtsweg_jobs").await else { return };
    let url = db.url.clone();
    let store = amtsweg_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    amtsweg_demo::seed(&store).await.unwrap();

    // Five cases decided by a caseworker whose Bescheid was not written (the process stopped):
    // each waits as a delivery job.
    let app = amtsweg_app::Platform::new(store.clone(), db.ledger_key(), amtsweg_app::uploads::UploadKey::random());
    let citizen = store.users_with_role(Role::Citizen).await.unwrap().into_iter().find(|u| u.person.as_ref().is_some_and(|p| p.city == "Leipzig")).unwrap();
    let desk = app.citizen(&citizen, Some(AssuranceLevel::Hoch)).unwrap();
    let data = serde_json::json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true});
    let authority = AuthorityId::parse("leipzig").unwrap();
    let caseworker = amtsweg_store::Actor { id: UserId::parse("sachbearbeitung-leipzig").unwrap(), role: Role::Caseworker };
    let mut cases: Vec<CaseId> = Vec::new();
    for _ in 0..5 {
        let application = desk.start(&amtsweg_domain::ServiceId::parse("bewohnerparkausweis").unwrap()).await.unwrap();
        desk.save(&application.id, data.as_object().unwrap()).await.unwrap();
        let (submission, decision) = desk.submit(&application.id).await.unwrap();
        assert!(decision.is_none(), "without evidence the case goes to the inbox");
        let message = amtsweg_domain::records::NewMessage { sender: "Stadt Leipzig".into(), subject: "Bescheid".into(), body: "Bewilligt.".into() };
        store.decide(&authority, &submission.case.id, &caseworker, Outcome::Approved, "Passt.", &message, false).await.unwrap();
        jobs::enqueue(&app, &JobKind::DeliverBescheid { authority: authority.clone(), case: submission.case.id.clone() }).await.unwrap();
        cases.push(submission.case.id);
    }

    let servers = [db.serve(), db.serve()];
    let bases: Vec<&str> = servers.iter().map(|s| s.1.as_str()).collect();
    let http = reqwest::Client::new();
    // Until every Bescheid is there and the retention job ran (a minute at most).
    let mut settled = false;
    for _ in 0..120 {
        let mut delivered = 0;
        for case in &cases {
            if store.case_document(&authority, case, "bescheid").await.unwrap().is_some() {
                delivered += 1;
            }
        }
        if delivered == cases.len() && runs(&http, &bases, "deliver_bescheid").await == 5 && runs(&http, &bases, "retention").await >= 1 {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(settled, "the jobs did not run");
    // Two more polls of both workers: nothing runs a second time.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(runs(&http, &bases, "deliver_bescheid").await, 5, "each delivery job ran once");
    assert_eq!(runs(&http, &bases, "retention").await, 1, "the retention job ran once (the next is due in an hour)");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let documents: i64 = sqlx::query_scalar("SELECT count(*) FROM documents WHERE kind = 'bescheid'").fetch_one(&pool).await.unwrap();
    assert_eq!(documents, 5, "one Bescheid per case");
    let counts = store.job_counts().await.unwrap();
    assert_eq!(counts.failed, 0);
    // The nodes signed checkpoints in turn: one tree, every checkpoint signed and consistent.
    let verified = amtsweg_app::ledger::verify(&store, db.ledger_key().verifier_key()).await.unwrap().expect("one tree that verifies");
    assert!(verified.checkpoints >= 1);
    drop(servers);
    pool.close().await;
    drop(store);
    db.remove().await;
}
