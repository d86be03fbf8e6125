//! A ledger entry: what happened, when, by which role of which authority, and commitments to the
//! personal data involved. A commitment is `SHA-256(salt ‖ value)` with a 32-byte random salt kept
//! apart from the ledger; deleting the salt (with the data) leaves the commitment unlinkable and
//! the tree verifiable, since the tree only ever hashes the entry as written.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `base64(SHA-256(salt ‖ value))`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Commitment(pub String);

impl Commitment {
    pub fn new(salt: &[u8], value: &str) -> Self {
        let mut h = Sha256::new();
        h.update(salt);
        h.update(value.as_bytes());
        Commitment(STANDARD.encode(h.finalize()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version.
    pub v: u8,
    /// e.g. `application_submitted`, `case_viewed`, `evidence_requested`, `data_deleted`.
    pub kind: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `citizen`, `caseworker`, `team_lead`, `admin`, `system`.
    pub actor_role: String,
    /// The acting authority's id, when an authority acts.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authority: Option<String>,
    /// What the entry is about (`application`, `case`, `transfer`, …), not who.
    pub subject_kind: String,
    /// Role of the value (`actor`, `subject`) → commitment.
    pub commitments: BTreeMap<String, Commitment>,
}

impl Entry {
    /// The bytes the tree hashes: JSON with a fixed field order (struct order, sorted map).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_hide_the_value_and_depend_on_the_salt() {
        let a = Commitment::new(&[1; 32], "buerger-1");
        assert_ne!(a, Commitment::new(&[2; 32], "buerger-1"));
        assert_eq!(a, Commitment::new(&[1; 32], "buerger-1"));
        assert!(!a.0.contains("buerger"));
    }

    #[test]
    fn entries_round_trip_with_a_stable_encoding() {
        let mut commitments = BTreeMap::new();
        commitments.insert("subject".into(), Commitment::new(&[3; 32], "a-1"));
        commitments.insert("actor".into(), Commitment::new(&[4; 32], "u-1"));
        let e = Entry { v: 1, kind: "application_submitted".into(), at: "2026-11-22T10:00:00Z".into(), actor_role: "citizen".into(), authority: Some("leipzig".into()), subject_kind: "application".into(), commitments };
        let bytes = e.to_bytes();
        assert_eq!(Entry::from_bytes(&bytes).unwrap(), e);
        assert_eq!(Entry::from_bytes(&bytes).unwrap().to_bytes(), bytes);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.find("\"actor\"").unwrap() < text.find("\"subject\"").unwrap(), "sorted commitments: {text}");
    }
}
