//! Known answers: the RFC 6962 test vectors published with Certificate Transparency (as in
//! transparency-dev/merkle, testonly/constants.go) and the C2SP signed-note example of
//! golang.org/x/mod/sumdb/note. Plus receipts made by us, checked offline.

use amtsweg_ledger::entry::{Commitment, Entry};
use amtsweg_ledger::note::{LogKey, NoteError, open_checkpoint, open_note};
use amtsweg_ledger::proof::{InclusionProof, Receipt, ReceiptError, b64, verify_receipt};
use amtsweg_ledger::tree::{self, Hash, Known, leaf_hash};

fn hex(h: &Hash) -> String {
    h.0.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

const LEAVES: [&str; 8] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn built(leaves: &[Vec<u8>]) -> Known {
    let mut known = Known::default();
    for (n, leaf) in leaves.iter().enumerate() {
        tree::append(n as u64, leaf_hash(leaf), &mut known).unwrap();
    }
    known
}

fn ct_tree() -> Known {
    built(&LEAVES.iter().map(|l| unhex(l)).collect::<Vec<_>>())
}

#[test]
fn leaf_and_node_hashes_and_roots_are_rfc6962s() {
    assert_eq!(hex(&leaf_hash(b"")), ROOTS[0], "leaf hash: SHA-256(0x00 ‖ entry)");
    let known = ct_tree();
    for n in 1..=8u64 {
        assert_eq!(hex(&tree::root(n, &known).unwrap()), ROOTS[n as usize - 1], "root of size {n}");
    }
    // Node hash: SHA-256(0x01 ‖ left ‖ right) of the first two leaves is the root of size 2.
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(leaf_hash(&unhex(LEAVES[0])).0);
    h.update(leaf_hash(&unhex(LEAVES[1])).0);
    assert_eq!(h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>(), ROOTS[1]);
    // Each computation reads only what it says it needs.
    for n in 1..=8 {
        let needed = tree::needed_for_root(n);
        let only = Known(needed.iter().map(|i| (*i, known.0[i])).collect());
        assert_eq!(tree::root(n, &only).unwrap(), tree::root(n, &known).unwrap());
    }
}

#[test]
fn inclusion_proofs_are_the_published_ones() {
    let known = ct_tree();
    let cases = [
        (0, 8, vec!["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (5, 8, vec!["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    ];
    for (index, size, expected) in cases {
        let proof = tree::inclusion(index, size, &known).unwrap();
        assert_eq!(proof.iter().map(hex).collect::<Vec<_>>(), expected, "inclusion of {index} in {size}");
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        let root = tree::root(size, &known).unwrap();
        assert!(tree::check_inclusion(&proof, index, size, leaf, root));
        assert!(!tree::check_inclusion(&proof, index + 1, size, leaf, root), "another index");
        assert!(!tree::check_inclusion(&proof, index, size, leaf_hash(b"x"), root), "another leaf");
    }
}

#[test]
fn consistency_proofs_are_the_published_ones() {
    let known = ct_tree();
    let cases = [
        (2, 8, vec!["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
        (6, 8, vec!["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
        (2, 5, vec!["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    ];
    for (from, to, expected) in cases {
        let proof = tree::consistency(from, to, &known).unwrap();
        assert_eq!(proof.iter().map(hex).collect::<Vec<_>>(), expected, "consistency {from} → {to}");
        let (r1, r2) = (tree::root(from, &known).unwrap(), tree::root(to, &known).unwrap());
        assert!(tree::check_consistency(&proof, from, r1, to, r2));
        assert!(!tree::check_consistency(&proof, from, r2, to, r2), "another old root");
    }
}

#[test]
fn every_proof_of_a_larger_tree_verifies() {
    let leaves: Vec<Vec<u8>> = (0..70u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let known = built(&leaves);
    for size in 1..=70u64 {
        let root = tree::root(size, &known).unwrap();
        for index in (0..size).step_by(7) {
            let proof = tree::inclusion(index, size, &known).unwrap();
            assert!(tree::check_inclusion(&proof, index, size, leaf_hash(&leaves[index as usize]), root));
        }
        for from in (1..=size).step_by(5) {
            let proof = tree::consistency(from, size, &known).unwrap();
            assert!(tree::check_consistency(&proof, from, tree::root(from, &known).unwrap(), size, root), "{from} → {size}");
        }
    }
}

const PETER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn the_c2sp_example_note_verifies_with_its_published_key() {
    let text = open_note(PETER_NOTE, PETER_KEY).unwrap();
    assert!(text.starts_with("If you think cryptography"));
    assert_eq!(open_note(&PETER_NOTE.replace("cryptography", "cryptographY"), PETER_KEY), Err(NoteError::NotSigned));
    let other = LogKey::from_seed("PeterNeumann", [9; 32]).unwrap();
    assert!(open_note(PETER_NOTE, other.verifier_key()).is_err(), "another key with the same name");
}

#[test]
fn our_checkpoints_verify_with_our_key_only() {
    let key = LogKey::from_seed("amtsweg.example/ledger", [5; 32]).unwrap();
    assert!(key.verifier_key().starts_with("amtsweg.example/ledger+"));
    let known = ct_tree();
    let note = key.checkpoint(8, tree::root(8, &known).unwrap());
    assert!(note.starts_with(&format!("amtsweg.example/ledger\n8\n{}\n\n— amtsweg.example/ledger ", b64(&tree::root(8, &known).unwrap()))), "{note}");
    assert_eq!(open_checkpoint(&note, key.verifier_key()).unwrap(), (8, tree::root(8, &known).unwrap()));
    let stranger = LogKey::from_seed("amtsweg.example/ledger", [6; 32]).unwrap();
    let forged = stranger.checkpoint(8, tree::root(8, &known).unwrap());
    assert_eq!(open_checkpoint(&forged, key.verifier_key()), Err(NoteError::NotSigned), "signed by another key");
    assert!(open_checkpoint(&note.replace("\n8\n", "\n9\n"), key.verifier_key()).is_err(), "altered size");
}

#[test]
fn a_receipt_is_checked_offline_with_the_public_key_alone() {
    let key = LogKey::from_seed("amtsweg.example/ledger", [5; 32]).unwrap();
    let entries: Vec<Vec<u8>> = (0..13)
        .map(|i| {
            let mut commitments = std::collections::BTreeMap::new();
            commitments.insert("subject".to_owned(), Commitment::new(&[i as u8; 32], &format!("antrag-{i}")));
            Entry { v: 1, kind: "application_submitted".into(), at: "2026-11-22T10:00:00Z".into(), actor_role: "citizen".into(), authority: None, subject_kind: "application".into(), commitments }.to_bytes()
        })
        .collect();
    let known = built(&entries);
    let (index, size) = (9, 13);
    let receipt = Receipt {
        entry: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &entries[9]),
        index,
        checkpoint: key.checkpoint(size, tree::root(size, &known).unwrap()),
        inclusion: InclusionProof { index, size, leaf_hash: b64(&leaf_hash(&entries[9])), hashes: tree::inclusion(index, size, &known).unwrap().iter().map(b64).collect() },
    };
    assert_eq!(verify_receipt(&receipt, key.verifier_key()).unwrap().kind, "application_submitted");
    let mut other_entry = receipt.clone();
    other_entry.entry = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &entries[8]);
    assert_eq!(verify_receipt(&other_entry, key.verifier_key()), Err(ReceiptError::NotIncluded));
    let mut bent = receipt.clone();
    bent.inclusion.hashes.swap(0, 1);
    assert_eq!(verify_receipt(&bent, key.verifier_key()), Err(ReceiptError::NotIncluded));
    let stranger = LogKey::from_seed("amtsweg.example/ledger", [6; 32]).unwrap();
    assert!(matches!(verify_receipt(&receipt, stranger.verifier_key()), Err(ReceiptError::Checkpoint(_))));
}
