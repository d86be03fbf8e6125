//! The ledger over the real stores: every action becomes an entry, checkpoints verify with the
//! published key, proofs verify against them, and any change, removal, reordering or insertion
//! of a stored entry is found at its index; a checkpoint signed by another key is refused.

use crate::common::TestApp;
use crate::on_both_stores;
use amtsweg_ledger::note::{LogKey, open_checkpoint};
use amtsweg_ledger::proof::unb64;
use amtsweg_ledger::tree;
use amtsweg_app::ledger::{checkpoint, verify};

on_both_stores!(
    checkpoints_and_proofs_verify_with_the_published_key,
    tampering_is_found_at_its_index,
    entries_hold_no_personal_data,
    deleted_data_leaves_the_ledger_verifiable_and_unlinkable,
    receipts_for_submissions_and_transfers_verify_offline,
);

async fn checkpoints_and_proofs_verify_with_the_published_key(app: TestApp) {
    let key = app.ledger_key();
    let (_, first) = checkpoint(&app.store, &key).await.unwrap().expect("the seed already acted");
    let (first_size, _) = open_checkpoint(&first, key.verifier_key()).unwrap();
    app.submitted_application(0).await;
    // Over the API: the key, a newer checkpoint, and proofs that check against it.
    let r = app.http.get(app.url("/api/v1/ledger/key")).send().await.unwrap();
    let vkey = r.text().await.unwrap().trim().to_owned();
    assert_eq!(vkey, key.verifier_key());
    let note = app.http.get(app.url("/api/v1/ledger/checkpoint")).send().await.unwrap().text().await.unwrap();
    let (size, root) = open_checkpoint(&note, &vkey).unwrap();
    assert!(size > first_size, "the submission added entries: {first_size} → {size}");
    let (status, proof) = app.get("", &format!("/api/v1/ledger/proof/inclusion?index=1&size={size}")).await;
    assert_eq!(status, 200, "{proof}");
    let hashes: Vec<_> = proof["hashes"].as_array().unwrap().iter().map(|h| unb64(h.as_str().unwrap()).unwrap()).collect();
    let leaf = unb64(proof["leaf_hash"].as_str().unwrap()).unwrap();
    assert!(tree::check_inclusion(&hashes, 1, size, leaf, root));
    let (status, proof) = app.get("", &format!("/api/v1/ledger/proof/consistency?from={first_size}&to={size}")).await;
    assert_eq!(status, 200, "{proof}");
    let hashes: Vec<_> = proof["hashes"].as_array().unwrap().iter().map(|h| unb64(h.as_str().unwrap()).unwrap()).collect();
    let (_, first_root) = open_checkpoint(&first, &vkey).unwrap();
    assert!(tree::check_consistency(&hashes, first_size, first_root, size, root));
    // Only for sizes a signed checkpoint covers.
    let (status, body) = app.get("", &format!("/api/v1/ledger/proof/inclusion?index=0&size={}", size - 1)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "size");
    let (status, _) = app.get("", &format!("/api/v1/ledger/proof/inclusion?index={size}&size={size}")).await;
    assert_eq!(status, 422);
    assert!(verify(&app.store, &vkey).await.unwrap().is_ok());
}

async fn tampering_is_found_at_its_index(app: TestApp) {
    let key = app.ledger_key();
    app.submitted_application(0).await;
    app.submitted_application(1).await;
    let (size, _) = checkpoint(&app.store, &key).await.unwrap().unwrap();
    let vkey = key.verifier_key().to_owned();
    let fine = verify(&app.store, &vkey).await.unwrap().expect("untouched, the ledger verifies");
    assert_eq!(fine.entries, size);
    let k = size / 2;
    let entries = app.store.ledger_entries(0, size).await.unwrap();
    let (original, next) = (entries[k as usize].1.clone(), entries[k as usize + 1].1.clone());
    let fails_at = |expected: u64, what: &'static str| {
        let store = app.store.clone();
        let vkey = vkey.clone();
        async move {
            let m = verify(&store, &vkey).await.unwrap().expect_err(what);
            assert_eq!(m.index, expected, "{what}: {}", m.reason);
        }
    };
    // Changed.
    let mut changed = original.clone();
    changed[10] ^= 1;
    app.raw("UPDATE ledger_entries SET entry = $1 WHERE idx = 4", &[changed]).await;
    fails_at(4, "a changed entry").await;
    app.raw("UPDATE ledger_entries SET entry = $1 WHERE idx = 4", &[entries[4].1.clone()]).await;
    // Deleted.
    app.raw(&format!("DELETE FROM ledger_entries WHERE idx = {k}"), &[]).await;
    fails_at(k, "a deleted entry").await;
    app.raw(&format!("INSERT INTO ledger_entries (idx, entry) VALUES ({k}, $1)"), &[original.clone()]).await;
    // Reordered.
    app.raw(&format!("UPDATE ledger_entries SET entry = $1 WHERE idx = {k}"), &[next.clone()]).await;
    app.raw(&format!("UPDATE ledger_entries SET entry = $1 WHERE idx = {}", k + 1), &[original.clone()]).await;
    fails_at(k, "two entries swapped").await;
    app.raw(&format!("UPDATE ledger_entries SET entry = $1 WHERE idx = {k}"), &[original.clone()]).await;
    app.raw(&format!("UPDATE ledger_entries SET entry = $1 WHERE idx = {}", k + 1), &[next.clone()]).await;
    // Inserted: in the middle (everything after moves up by one) and at the end.
    app.raw(&format!("UPDATE ledger_entries SET idx = idx + 1000000 WHERE idx >= {k}"), &[]).await;
    app.raw(&format!("UPDATE ledger_entries SET idx = idx - 999999 WHERE idx >= 1000000"), &[]).await;
    app.raw(&format!("INSERT INTO ledger_entries (idx, entry) VALUES ({k}, $1)"), &[b"{\"v\":1}".to_vec()]).await;
    fails_at(k, "an entry inserted in the middle").await;
    app.raw(&format!("DELETE FROM ledger_entries WHERE idx = {k}"), &[]).await;
    app.raw(&format!("UPDATE ledger_entries SET idx = idx + 999999 WHERE idx > {k}"), &[]).await;
    app.raw("UPDATE ledger_entries SET idx = idx - 1000000 WHERE idx >= 1000000", &[]).await;
    assert!(verify(&app.store, &vkey).await.unwrap().is_ok(), "restored");
    app.raw(&format!("INSERT INTO ledger_entries (idx, entry) VALUES ({size}, $1)"), &[original.clone()]).await;
    fails_at(size, "an entry appended behind the tree's back").await;
    app.raw(&format!("DELETE FROM ledger_entries WHERE idx = {size}"), &[]).await;
    // A checkpoint signed by another key.
    let stranger = LogKey::from_seed("amtsweg.test/ledger", [8; 32]).unwrap();
    let forged = stranger.checkpoint(size, amtsweg_app::ledger::root(&app.store, size).await.unwrap());
    app.raw_text(&format!("UPDATE ledger_checkpoints SET note = $1 WHERE size = {size}"), &[&forged]).await;
    let m = verify(&app.store, &vkey).await.unwrap().expect_err("a foreign checkpoint");
    assert!(m.reason.contains("nicht mit dem Schlüssel"), "{}", m.reason);
}

async fn entries_hold_no_personal_data(app: TestApp) {
    let key = app.ledger_key();
    let (id, _) = app.submitted_application(0).await;
    let (size, _) = checkpoint(&app.store, &key).await.unwrap().unwrap();
    let all = app.store.ledger_entries(0, size).await.unwrap();
    let text: String = all.iter().map(|(_, e)| String::from_utf8_lossy(e).into_owned()).collect();
    for value in [id.as_str(), "buerger-1", "Anna", "Schmidt", "L-AB 1234"] {
        assert!(!text.contains(value), "{value} appears in the ledger");
    }
    assert!(text.contains("application_submitted") && text.contains("\"actor_role\":\"citizen\""));
}

async fn deleted_data_leaves_the_ledger_verifiable_and_unlinkable(app: TestApp) {
    let key = app.ledger_key();
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let (status, _) = app.post(&anna, &format!("/api/v1/applications/{id}/evidence"), serde_json::json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true})).await;
    assert_eq!(status, 201);
    let transfer = app.store.transfers(&amtsweg_domain::UserId::parse("buerger-1").unwrap()).await.unwrap()[0].id.clone();
    checkpoint(&app.store, &key).await.unwrap();
    let reference = format!("evidence_requested:transfer:{transfer}");
    let index = app.store.ledger_index_of(&reference).await.unwrap().expect("the transfer is in the ledger");
    let entry = app.store.ledger_entries(index, index + 1).await.unwrap().pop().unwrap().1;
    let parsed = amtsweg_ledger::Entry::from_bytes(&entry).unwrap();
    assert_eq!(parsed.kind, "evidence_requested");
    assert!(!String::from_utf8_lossy(&entry).contains(&transfer));

    // Two years later the transfer is deleted, and with it the salt of its commitment.
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(2 * 365 + 5);
    assert_eq!(amtsweg_app::retention::sweep(&app.store, later).await.unwrap(), 1);
    let (size, _) = checkpoint(&app.store, &key).await.unwrap().unwrap();
    let verified = verify(&app.store, key.verifier_key()).await.unwrap().expect("still verifies after the deletion");
    assert_eq!(verified.entries, size);
    assert_eq!(app.store.ledger_entries(index, index + 1).await.unwrap().pop().unwrap().1, entry, "the entry itself is unchanged");
    assert_eq!(app.store.ledger_index_of(&reference).await.unwrap(), None, "nothing beside the tree leads to it any more");
    let last = amtsweg_ledger::Entry::from_bytes(&app.store.ledger_entries(size - 1, size).await.unwrap().pop().unwrap().1).unwrap();
    assert_eq!(last.kind, "data_deleted");
    // The salt is gone: knowing the transfer id no longer links it to its commitment.
    assert!(!app.store.ledger_has_salt(&format!("transfer:{transfer}")).await.unwrap());
    assert!(app.store.ledger_has_salt(&format!("application:{id}")).await.unwrap(), "only what was deleted is forgotten");
}

async fn receipts_for_submissions_and_transfers_verify_offline(app: TestApp) {
    let vkey = app.ledger_key().verifier_key().to_owned();
    let anna = app.citizen(0).to_owned();
    let id = app.draft(0).await;
    let (status, body) = app.post(&anna, &format!("/api/v1/applications/{id}/evidence"), serde_json::json!({"type": "urn:amtsweg:evidence:main-residence", "source": "register", "consent": true})).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = app.put(&anna, &format!("/api/v1/applications/{id}/data"), crate::common::valid_data()).await;
    assert_eq!(status, 200);
    let (status, submitted) = app.post(&anna, &format!("/api/v1/applications/{id}/submit"), serde_json::json!({})).await;
    assert_eq!(status, 200, "{submitted}");
    let receipt: amtsweg_ledger::Receipt = serde_json::from_value(submitted["receipt"].clone()).expect("a receipt with the submission");
    let entry = amtsweg_ledger::verify_receipt(&receipt, &vkey).unwrap();
    assert_eq!(entry.kind, "application_submitted");
    // The transfer log shows each transfer's place in the ledger, with a receipt for it.
    let (_, log) = app.get(&anna, "/api/v1/me/transfers").await;
    let index = log[0]["ledger_index"].as_u64().expect("in the ledger");
    let transfer = log[0]["id"].as_str().unwrap();
    let (status, receipt) = app.get(&anna, &format!("/api/v1/me/transfers/{transfer}/receipt")).await;
    assert_eq!(status, 200, "{receipt}");
    let receipt: amtsweg_ledger::Receipt = serde_json::from_value(receipt).unwrap();
    assert_eq!(receipt.index, index);
    assert_eq!(amtsweg_ledger::verify_receipt(&receipt, &vkey).unwrap().kind, "evidence_requested");
    // Not for another citizen.
    let (status, _) = app.get(app.citizen(1), &format!("/api/v1/me/transfers/{transfer}/receipt")).await;
    assert_eq!(status, 404);
    // After the decision: receipts for the submission and for the delivered decision.
    let case = app.case_id("leipzig", submitted["case_number"].as_str().unwrap()).await;
    let (status, body) = app.post(app.caseworker("leipzig"), &format!("/api/v1/cases/{case}/decision"), serde_json::json!({"outcome": "approved", "reason": "Alle Voraussetzungen liegen vor."})).await;
    assert_eq!(status, 200, "{body}");
    let (status, receipts) = app.get(&anna, &format!("/api/v1/applications/{id}/receipts")).await;
    assert_eq!(status, 200, "{receipts}");
    let events: Vec<&str> = receipts.as_array().unwrap().iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["submitted", "decision_delivered"]);
    let delivered: amtsweg_ledger::Receipt = serde_json::from_value(receipts[1]["receipt"].clone()).unwrap();
    assert_eq!(amtsweg_ledger::verify_receipt(&delivered, &vkey).unwrap().kind, "message_delivered");
    let (status, _) = app.get(app.citizen(1), &format!("/api/v1/applications/{id}/receipts")).await;
    assert_eq!(status, 404, "not another's");
    // The Datenschutzcockpit says so too.
    let browser = crate::pages::browser(&app, "buerger-1").await;
    let (_, _, page) = crate::pages::page(&browser, app.url("/meine-daten")).await;
    assert!(crate::pages::text(&page, "main").contains(&format!("Ja, Eintrag {index}")));
}
