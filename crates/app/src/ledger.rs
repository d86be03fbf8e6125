//! The ledger as the platform runs it: pending entries are integrated into the tree and a signed
//! checkpoint is made at an interval and on demand; proofs are answered only for tree sizes a
//! stored checkpoint covers; `verify` recomputes everything from the stored entries.

use amtsweg_ledger::note::{LogKey, open_checkpoint};
use amtsweg_ledger::proof::{ConsistencyProof, InclusionProof, Receipt, b64};
use amtsweg_ledger::tree::{self, Hash, Known};
use amtsweg_domain::LedgerRef;
use amtsweg_store::{DynStore, StoreError};
use base64::Engine;
use serde::Serialize;

/// Integrated per transaction at most.
const BATCH: usize = 5000;

/// The stored hashes with these indexes, loaded.
async fn known(store: &DynStore, indexes: &[u64]) -> Result<Known, StoreError> {
    Ok(Known(store.ledger_hashes(indexes).await?.into_iter().map(|(i, h)| (i, Hash(h))).collect()))
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("ledger: {e}"))
}

/// The root of the tree of `size` entries, from the stored hashes.
pub async fn root(store: &DynStore, size: u64) -> Result<Hash, StoreError> {
    let k = known(store, &tree::needed_for_root(size)).await?;
    tree::root(size, &k).map_err(corrupt)
}

/// Integrates everything pending and, if the tree grew since the last checkpoint, signs and
/// stores a new one. Returns the latest checkpoint (size, note), if the tree has any entry.
pub async fn checkpoint(store: &DynStore, key: &LogKey) -> Result<Option<(u64, String)>, StoreError> {
    // Only reads when nothing waits: a write transaction (the integrator's lock) only when
    // needed, and then integration and the signed checkpoint in one.
    if store.ledger_pending().await? > 0 {
        let sign = |size: u64, root: [u8; 32]| key.checkpoint(size, Hash(root));
        while let Some((size, note, more)) = store.ledger_integrate_signed(BATCH, &sign).await? {
            if !more {
                // Everything that waited when we looked is in this checkpoint.
                return Ok(Some((size, note)));
            }
        }
        // Another process took the rest: the general path below covers it.
    }
    // Nothing waited (or another process took it meanwhile): sign if the tree grew since the
    // last checkpoint.
    let size = store.ledger_size().await?;
    let latest = store.ledger_latest_checkpoint().await?;
    if size == 0 || latest.as_ref().is_some_and(|(s, _)| *s >= size) {
        return Ok(latest);
    }
    let note = key.checkpoint(size, root(store, size).await?);
    store.ledger_add_checkpoint(size, &note).await?;
    Ok(Some((size, note)))
}

/// The ledger's signing key, with the checkpoints shared between the requests of this process.
pub struct Signer {
    key: LogKey,
    checkpointer: Checkpointer,
    /// The store integrates and signs in each commit (`Store::sign_ledger_per_batch`).
    per_batch: std::sync::atomic::AtomicBool,
}

impl Signer {
    pub fn new(key: LogKey) -> Self {
        Self { key, checkpointer: Checkpointer::default(), per_batch: Default::default() }
    }

    /// Notes that the store signs a checkpoint with each commit.
    pub(crate) fn set_per_batch(&self, on: bool) {
        self.per_batch.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn key(&self) -> &LogKey {
        &self.key
    }

    /// The latest checkpoint, covering every entry committed before this call.
    pub async fn fresh(&self, store: &DynStore) -> Result<Option<(u64, String)>, StoreError> {
        self.checkpointer.fresh(store, &self.key).await
    }
}

impl crate::Platform {
    /// The receipt for the entry recorded under `reference`: where each commit signs a
    /// checkpoint, against the latest one this process committed (from memory, for an entry of
    /// its last commits) or the latest stored; otherwise with a checkpoint shared between
    /// concurrent requests. Any of them covers the entry and verifies.
    pub async fn receipt(&self, reference: &LedgerRef) -> Result<Option<Receipt>, ProofError> {
        // Where each commit integrated its entries under a signed checkpoint, the latest one
        // covers an entry whose write has returned: from memory when this process committed it
        // lately, otherwise only reads, no turn to wait for.
        if self.ledger.per_batch.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(r) = self.store.ledger_recent_receipt(reference.as_str()) {
                let known = Known(r.hashes.into_iter().map(|(i, h)| (i, Hash(h))).collect());
                return Ok(Some(receipt_from(r.index, r.entry, r.size, r.note, &known)?));
            }
            if let Some((index, entry)) = self.store.ledger_entry_of(reference.as_str()).await?
                && let Some((size, note)) = self.store.ledger_latest_checkpoint().await?
                && index < size
            {
                return Ok(Some(receipt_of(&self.store, index, entry, size, note).await?));
            }
        }
        let Some((size, note)) = self.ledger.fresh(&self.store).await? else { return Ok(None) };
        receipt_at(&self.store, reference.as_str(), size, note).await
    }

    /// The receipt for a reference, for a response that has already succeeded: a failure to
    /// make it is logged (without the reference) and leaves the receipt out.
    pub async fn receipt_or_log(&self, reference: &LedgerRef) -> Option<Receipt> {
        match self.receipt(reference).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "ledger receipt not made");
                None
            }
        }
    }

    /// The latest signed checkpoint, covering every entry committed before this call.
    pub async fn checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.ledger.fresh(&self.store).await
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries (a signed size).
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, ProofError> {
        inclusion(&self.store, index, size).await
    }

    /// The consistency proof between two signed sizes.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<ConsistencyProof, ProofError> {
        consistency(&self.store, from, to).await
    }

    /// The ledger's verifier key (`name+keyid+base64`).
    pub fn ledger_verifier_key(&self) -> String {
        self.ledger.key.verifier_key().to_string()
    }

    /// The ledger index of the entry recorded under `reference`, once integrated.
    pub async fn ledger_index(&self, reference: &LedgerRef) -> Result<Option<u64>, StoreError> {
        self.store.ledger_index_of(reference.as_str()).await
    }
}

/// Makes checkpoints for many waiting requests at once (group commit): a request is served by
/// a checkpoint that began after the request did; whoever finds none running or finished since
/// makes one, the others wait for it and then only read.
#[derive(Default)]
pub struct Checkpointer {
    turn: tokio::sync::Mutex<()>,
    finished: std::sync::atomic::AtomicU64,
}

impl Checkpointer {
    /// The latest checkpoint, covering every entry committed before this call.
    pub async fn fresh(&self, store: &DynStore, key: &LogKey) -> Result<Option<(u64, String)>, StoreError> {
        use std::sync::atomic::Ordering;
        let seen = self.finished.load(Ordering::SeqCst);
        let _turn = self.turn.lock().await;
        // Two runs finished since we came: the second began after us.
        if self.finished.load(Ordering::SeqCst) >= seen + 2 {
            return store.ledger_latest_checkpoint().await;
        }
        let result = checkpoint(store, key).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        result
    }
}

/// Why a proof cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no signed checkpoint covers a tree of {0} entries")]
    NoCheckpoint(u64),
    #[error("the index must be smaller than the size")]
    OutOfRange,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProofError> for crate::AppError {
    fn from(e: ProofError) -> Self {
        use amtsweg_domain::FieldError;
        match e {
            ProofError::NoCheckpoint(_) => Self::Invalid(vec![FieldError::new("size", "Für diese Größe des Ledgers gibt es keinen signierten Checkpoint.")]),
            ProofError::OutOfRange => Self::Invalid(vec![FieldError::new("index", "Der Index muss kleiner als die Größe sein (from höchstens to).")]),
            ProofError::Store(s) => s.into(),
        }
    }
}

async fn checkpointed(store: &DynStore, size: u64) -> Result<(), ProofError> {
    if store.ledger_has_checkpoint(size).await? { Ok(()) } else { Err(ProofError::NoCheckpoint(size)) }
}

pub async fn inclusion(store: &DynStore, index: u64, size: u64) -> Result<InclusionProof, ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange);
    }
    checkpointed(store, size).await?;
    let (_, entry) = store.ledger_entries(index, index + 1).await?.pop().ok_or(StoreError::NotFound)?;
    proof_of(store, index, &entry, size).await
}

/// The inclusion proof of entry `index` (`entry`) in the tree of `size` entries (`index < size`).
async fn proof_of(store: &DynStore, index: u64, entry: &[u8], size: u64) -> Result<InclusionProof, ProofError> {
    proof_from(index, entry, size, &known(store, &tree::needed_for_inclusion(index, size)).await?)
}

/// The inclusion proof from the stored hashes it needs.
fn proof_from(index: u64, entry: &[u8], size: u64, known: &Known) -> Result<InclusionProof, ProofError> {
    let hashes = tree::inclusion(index, size, known).map_err(corrupt)?;
    Ok(InclusionProof { index, size, leaf_hash: b64(&amtsweg_ledger::leaf_hash(entry)), hashes: hashes.iter().map(b64).collect() })
}

pub async fn consistency(store: &DynStore, from: u64, to: u64) -> Result<ConsistencyProof, ProofError> {
    if from > to {
        return Err(ProofError::OutOfRange);
    }
    checkpointed(store, to).await?;
    if from > 0 {
        checkpointed(store, from).await?;
    }
    let k = known(store, &tree::needed_for_consistency(from, to)).await?;
    let hashes = tree::consistency(from, to, &k).map_err(corrupt)?;
    Ok(ConsistencyProof { from, to, hashes: hashes.iter().map(b64).collect() })
}

/// The receipt for the entry recorded under `reference` (`evidence_requested:transfer:ID`, …):
/// the entry, its index, the latest checkpoint and the inclusion proof up to it.
pub async fn receipt(store: &DynStore, key: &LogKey, reference: &str) -> Result<Option<Receipt>, ProofError> {
    let Some((size, note)) = checkpoint(store, key).await? else { return Ok(None) };
    receipt_at(store, reference, size, note).await
}

async fn receipt_at(store: &DynStore, reference: &str, size: u64, note: String) -> Result<Option<Receipt>, ProofError> {
    let Some((index, entry)) = store.ledger_entry_of(reference).await? else { return Ok(None) };
    Ok(Some(receipt_of(store, index, entry, size, note).await?))
}

/// The receipt of entry `index` (`entry`) against the stored checkpoint `note` of a tree of
/// `size` entries (read from the checkpoints: no need to look it up again).
async fn receipt_of(store: &DynStore, index: u64, entry: Vec<u8>, size: u64, note: String) -> Result<Receipt, ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange);
    }
    let known = known(store, &tree::needed_for_inclusion(index, size)).await?;
    receipt_from(index, entry, size, note, &known)
}

/// The receipt of entry `index` (`entry`) against the checkpoint `note` of a tree of `size`
/// entries, from the stored hashes its inclusion proof needs.
fn receipt_from(index: u64, entry: Vec<u8>, size: u64, note: String, known: &Known) -> Result<Receipt, ProofError> {
    let inclusion = proof_from(index, &entry, size, known)?;
    Ok(Receipt { entry: base64::engine::general_purpose::STANDARD.encode(entry), index, checkpoint: note, inclusion })
}

/// What `amtsweg ledger verify` found.
#[derive(Debug, Serialize)]
pub struct Verified {
    pub entries: u64,
    pub checkpoints: usize,
    pub root: String,
}

/// The first place where the stored ledger differs from what it must be.
#[derive(Debug, Serialize, thiserror::Error)]
#[error("Abweichung bei Index {index}: {reason}")]
pub struct Mismatch {
    pub index: u64,
    pub reason: String,
}

/// Recomputes the tree from the stored entries, in order, compares every stored hash and checks
/// every stored checkpoint (signature with `vkey`, and root at its size).
pub async fn verify(store: &DynStore, vkey: &str) -> Result<Result<Verified, Mismatch>, StoreError> {
    let mismatch = |index: u64, reason: String| Ok(Err(Mismatch { index, reason }));
    let checkpoints = store.ledger_checkpoints().await?;
    let mut signed = std::collections::BTreeMap::new();
    for (size, note) in &checkpoints {
        match open_checkpoint(note, vkey) {
            Ok((s, root)) if s == *size => {
                signed.insert(s, root);
            }
            Ok((s, _)) => return mismatch(*size, format!("der Checkpoint für {size} Einträge nennt {s}")),
            Err(e) => return mismatch(*size, format!("der Checkpoint für {size} Einträge ist nicht mit dem Schlüssel des Ledgers signiert ({e})")),
        }
    }
    let mut known = Known::default();
    let mut next = 0u64;
    const CHUNK: u64 = 10_000;
    loop {
        let entries = store.ledger_entries(next, next + CHUNK).await?;
        let stored: std::collections::HashMap<u64, [u8; 32]> =
            store.ledger_hash_range(tree::stored_count(next), tree::stored_count(next + CHUNK)).await?.into_iter().collect();
        let count = entries.len() as u64;
        for (index, entry) in entries {
            if index != next {
                return mismatch(next, format!("Eintrag {next} fehlt (gefunden: {index})"));
            }
            let computed = tree::append(index, amtsweg_ledger::leaf_hash(&entry), &mut known).map_err(corrupt)?;
            for (i, h) in &computed {
                if stored.get(i) != Some(&h.0) {
                    return mismatch(index, "der Eintrag passt nicht zu den gespeicherten Hashes des Baums".into());
                }
            }
            next += 1;
            if let Some(root) = signed.get(&next) {
                if tree::root(next, &known).map_err(corrupt)? != *root {
                    return mismatch(next - 1, format!("der Baum aus {next} Einträgen hat nicht die signierte Wurzel"));
                }
            }
            // Keep only the right edge of the tree: all that later appends and roots read.
            let mut keep = tree::needed_for_append(next);
            keep.extend(tree::needed_for_root(next));
            known.0.retain(|i, _| keep.contains(i));
        }
        if count < CHUNK {
            break;
        }
    }
    let extra = store.ledger_hash_range(tree::stored_count(next), u64::MAX >> 1).await?;
    if !extra.is_empty() {
        return mismatch(next, "der Baum hat Hashes über den letzten Eintrag hinaus".into());
    }
    if let Some((&size, _)) = signed.range(next + 1..).next() {
        return mismatch(next, format!("ein Checkpoint nennt {size} Einträge, gespeichert sind {next}"));
    }
    let root = tree::root(next, &known).map_err(corrupt)?;
    Ok(Ok(Verified { entries: next, checkpoints: checkpoints.len(), root: b64(&root) }))
}
