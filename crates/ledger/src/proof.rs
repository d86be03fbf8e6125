//! Proofs and receipts as JSON, hashes in base64: inclusion `{"index", "size", "leaf_hash",
//! "hashes"}`, consistency `{"from", "to", "hashes"}`; a receipt carries the entry, its index,
//! a signed checkpoint and the inclusion proof for that checkpoint's size, so that it can be
//! checked offline with nothing but the log's verifier key.

use crate::entry::Entry;
use crate::note::{NoteError, open_checkpoint};
use crate::tree::{Hash, check_inclusion, leaf_hash};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

pub fn b64(h: &Hash) -> String {
    STANDARD.encode(h.0)
}

pub fn unb64(s: &str) -> Option<Hash> {
    STANDARD.decode(s).ok()?.try_into().ok().map(Hash)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub leaf_hash: String,
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry as the tree hashes it, base64.
    pub entry: String,
    pub index: u64,
    /// The signed checkpoint (C2SP signed note) the proof leads to.
    pub checkpoint: String,
    pub inclusion: InclusionProof,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("the checkpoint does not verify: {0}")]
    Checkpoint(#[from] NoteError),
    #[error("the receipt is malformed: {0}")]
    Malformed(&'static str),
    #[error("the entry is not in the tree the checkpoint signs")]
    NotIncluded,
}

fn hashes(list: &[String]) -> Result<Vec<Hash>, ReceiptError> {
    list.iter().map(|h| unb64(h).ok_or(ReceiptError::Malformed("a hash is not base64 of 32 bytes"))).collect()
}

/// Checks a receipt offline: the checkpoint's signature with the log's verifier key, the leaf
/// hash of the entry, and the inclusion proof up to the checkpoint's root. Returns the entry.
pub fn verify_receipt(receipt: &Receipt, vkey: &str) -> Result<Entry, ReceiptError> {
    let (size, root) = open_checkpoint(&receipt.checkpoint, vkey)?;
    let entry = STANDARD.decode(&receipt.entry).map_err(|_| ReceiptError::Malformed("the entry is not base64"))?;
    let proof = &receipt.inclusion;
    if proof.size != size || proof.index != receipt.index {
        return Err(ReceiptError::Malformed("the proof is for another size or index than the checkpoint"));
    }
    let leaf = leaf_hash(&entry);
    if unb64(&proof.leaf_hash) != Some(leaf) {
        return Err(ReceiptError::NotIncluded);
    }
    if !check_inclusion(&hashes(&proof.hashes)?, proof.index, size, leaf, root) {
        return Err(ReceiptError::NotIncluded);
    }
    Entry::from_bytes(&entry).map_err(|_| ReceiptError::Malformed("the entry is not a ledger entry"))
}
