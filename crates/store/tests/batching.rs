//! The SQLite writer that commits in batches: a writer that fails leaves the others of its batch
//! whole, too many waiting writers are refused at once (never an unbounded wait), and with the
//! ledger's key set each commit carries its entries integrated under a signed checkpoint.

use amtsweg_domain::{Authority, Role, UserId};
use amtsweg_store::{Actor, SqliteStore, Store, StoreError};
use std::sync::Arc;

async fn store() -> (Arc<SqliteStore>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("amtsweg-batching-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::connect(&format!("sqlite:{}", dir.join("b.db").display())).await.unwrap();
    store.migrate().await.unwrap();
    (Arc::new(store), dir)
}

fn authority(n: usize) -> Authority {
    serde_json::from_value(serde_json::json!({
        "id": format!("behoerde{n}"),
        "name": format!("Behörde {n}"),
        "short_code": format!("B{n}"),
        "region": "147130000000",
        "address": "Markt 1, 04109 Leipzig",
    }))
    .unwrap()
}

fn operator() -> Actor {
    Actor { id: UserId::parse("betrieb").unwrap(), role: Role::Operator }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_writer_leaves_its_batch_whole() {
    let (store, dir) = store().await;
    // 40 authorities, 20 of them twice at once: one of each pair is refused as existing.
    let mut tasks = Vec::new();
    for n in (0..40).chain(0..20) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.create_authority(&authority(n), &operator()).await }));
    }
    let (mut ok, mut exists) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Exists(_)) => exists += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((ok, exists), (40, 20));
    assert_eq!(store.authorities().await.unwrap().len(), 40, "every acknowledged write is stored, nothing of a refused one");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "current_thread")]
async fn too_many_waiting_writers_are_refused_at_once() {
    let (store, dir) = store().await;
    store.put_authority(&authority(0)).await.unwrap();
    let count = amtsweg_store::SQLITE_MAX_WAITING + 2_000;
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.put_authority(&authority(0)).await }));
    }
    let all = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        let mut outcomes = Vec::with_capacity(count);
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        outcomes
    })
    .await
    .expect("no writer waits without bound");
    let refused = all.iter().filter(|r| matches!(r, Err(StoreError::Overloaded))).count();
    let stored = all.iter().filter(|r| r.is_ok()).count();
    assert!(refused > 0, "beyond {} waiting writers some are refused", amtsweg_store::SQLITE_MAX_WAITING);
    assert_eq!(refused + stored, count, "a writer is either stored or refused as overloaded");
    // The store takes writes again once the queue is through.
    store.put_authority(&authority(1)).await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_commit_carries_its_ledger_entries_under_a_signed_checkpoint() {
    let (store, dir) = store().await;
    store.create_authority(&authority(0), &operator()).await.unwrap();
    let before = store.ledger_pending().await.unwrap() + store.ledger_size().await.unwrap();
    assert!(before > 0, "an audited change makes a ledger entry");
    assert!(store.sign_ledger_per_batch(Arc::new(|size, root| format!("signed {size} {}", root[0]))), "SQLite batches its commits");
    let mut tasks = Vec::new();
    for n in 1..30 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.create_authority(&authority(n), &operator()).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
        // Once a write is acknowledged, its entries are in the tree and a checkpoint covers them.
    }
    assert_eq!(store.ledger_pending().await.unwrap(), 0);
    let size = store.ledger_size().await.unwrap();
    assert!(size > before, "{before} → {size}");
    let (latest, note) = store.ledger_latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest, size);
    assert!(note.starts_with(&format!("signed {size} ")), "{note}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_from_memory_equals_the_stored_ledger() {
    use amtsweg_domain::{AuditKind, LedgerRef};
    let (store, dir) = store().await;
    assert!(store.sign_ledger_per_batch(Arc::new(|size, root| format!("signed {size} {}", hex::encode(root)))));
    // Some commits of many writers at once, then one after the other (more commits than are
    // kept): transfers requested (recorded once each) and a change recorded many times.
    let mut transfers = Vec::new();
    for round in 0..40 {
        let writers = if round < 4 { 25 } else { 1 };
        let mut tasks = Vec::new();
        for n in 0..writers {
            let id = format!("t-{round}-{n}");
            transfers.push(id.clone());
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.record_action(AuditKind::EvidenceRequested, Some(("buerger", "citizen")), None, ("transfer", &id)).await?;
                store.record_action(AuditKind::ApplicationDataChanged, Some(("buerger", "citizen")), None, ("application", "a-1")).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    }
    let checkpoints: std::collections::HashMap<u64, String> = store.ledger_checkpoints().await.unwrap().into_iter().collect();
    let mut from_memory = 0;
    for id in &transfers {
        let reference = LedgerRef::evidence_requested(id);
        let Some(recent) = store.ledger_recent_receipt(reference.as_str()) else { continue };
        from_memory += 1;
        let (index, entry) = store.ledger_entry_of(reference.as_str()).await.unwrap().unwrap();
        assert_eq!((recent.index, &recent.entry), (index, &entry), "{id}");
        assert_eq!(checkpoints.get(&recent.size), Some(&recent.note), "a stored checkpoint");
        assert!(recent.index < recent.size);
        let indexes: Vec<u64> = recent.hashes.iter().map(|(i, _)| *i).collect();
        assert_eq!(recent.hashes, store.ledger_hashes(&indexes).await.unwrap(), "the stored hashes");
        assert_eq!(indexes, amtsweg_ledger::tree::needed_for_inclusion(index, recent.size), "every hash the proof needs");
    }
    let last = LedgerRef::evidence_requested(transfers.last().unwrap());
    assert!(store.ledger_recent_receipt(last.as_str()).is_some(), "the last commit's entry is kept");
    assert!(from_memory < transfers.len(), "only the last commits are kept: {from_memory} of {}", transfers.len());
    let repeated = LedgerRef::new(AuditKind::ApplicationDataChanged, "application", "a-1");
    assert!(store.ledger_recent_receipt(repeated.as_str()).is_none(), "a reference recorded many times is read from the database (its first entry)");
    let _ = std::fs::remove_dir_all(dir);
}
