//! The tree over stored hashes. `tlog_tiles` computes what to store per entry and every proof
//! from stored hashes it reads through [`HashReader`]; which hashes a computation reads depends
//! only on the sizes and indexes, never on the values, so the store asks first which it will
//! need ([`reads`]), loads them, and then computes with [`Known`].

use std::cell::RefCell;
use std::collections::HashMap;
pub use tlog_tiles::tlog::{Error as TreeError, Hash, HashReader};
use tlog_tiles::tlog::{check_record, check_tree, prove_record, prove_tree, stored_hash_index, stored_hashes_for_record_hash, tree_hash};

/// RFC 6962 leaf hash: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::tlog::record_hash(entry)
}

/// Records which stored hashes a computation reads, answering zeros.
#[derive(Default)]
struct Recorder(RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TreeError> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash([0; 32]); indexes.len()])
    }
}

fn reads(f: impl FnOnce(&Recorder)) -> Vec<u64> {
    let r = Recorder::default();
    f(&r);
    let mut v = r.0.into_inner();
    v.sort_unstable();
    v.dedup();
    v
}

/// Stored hashes at hand, by stored-hash index.
#[derive(Default, Debug, Clone)]
pub struct Known(pub HashMap<u64, Hash>);

impl HashReader for Known {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TreeError> {
        indexes.iter().map(|i| self.0.get(i).copied().ok_or(TreeError::InvalidProof)).collect()
    }
}

/// The stored hashes that appending entry `n` reads.
pub fn needed_for_append(n: u64) -> Vec<u64> {
    reads(|r| drop(stored_hashes_for_record_hash(n, Hash([0; 32]), r)))
}

/// Appends entry `n` (its leaf hash): the stored hashes to write, with their indexes; they are
/// also added to `known`, so that a batch can append entry after entry.
pub fn append(n: u64, leaf: Hash, known: &mut Known) -> Result<Vec<(u64, Hash)>, TreeError> {
    let hashes = stored_hashes_for_record_hash(n, leaf, known)?;
    let first = stored_hash_index(0, n);
    let out: Vec<(u64, Hash)> = hashes.into_iter().enumerate().map(|(i, h)| (first + i as u64, h)).collect();
    known.0.extend(out.iter().copied());
    Ok(out)
}

/// How many stored hashes a tree of `n` entries has.
pub fn stored_count(n: u64) -> u64 {
    tlog_tiles::tlog::stored_hash_count(n)
}

pub fn needed_for_root(size: u64) -> Vec<u64> {
    reads(|r| drop(tree_hash(size, r)))
}

pub fn root(size: u64, known: &Known) -> Result<Hash, TreeError> {
    tree_hash(size, known)
}

pub fn needed_for_inclusion(index: u64, size: u64) -> Vec<u64> {
    reads(|r| drop(prove_record(size, index, r)))
}

pub fn inclusion(index: u64, size: u64, known: &Known) -> Result<Vec<Hash>, TreeError> {
    prove_record(size, index, known)
}

pub fn needed_for_consistency(from: u64, to: u64) -> Vec<u64> {
    if from == 0 || from == to { Vec::new() } else { reads(|r| drop(prove_tree(to, from, r))) }
}

pub fn consistency(from: u64, to: u64, known: &Known) -> Result<Vec<Hash>, TreeError> {
    if from == 0 || from == to { Ok(Vec::new()) } else { prove_tree(to, from, known) }
}

/// RFC 9162 §2.1.3.2.
pub fn check_inclusion(hashes: &[Hash], index: u64, size: u64, leaf: Hash, root: Hash) -> bool {
    check_record(&hashes.to_vec(), size, root, index, leaf).is_ok()
}

/// RFC 9162 §2.1.4.2 (from size 0 and to the same size: nothing to prove but equal roots).
pub fn check_consistency(hashes: &[Hash], from: u64, from_root: Hash, to: u64, to_root: Hash) -> bool {
    match (from, to) {
        (0, _) => hashes.is_empty(),
        (f, t) if f == t => hashes.is_empty() && from_root == to_root,
        _ => check_tree(&hashes.to_vec(), to, to_root, from, from_root).is_ok(),
    }
}
