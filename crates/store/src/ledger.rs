//! The tamper-evident ledger: entries wait in `ledger_pending` (written with their audit event,
//! see `crate::audit`); an integrator moves them, in order, into the tree (`ledger_entries`,
//! the leaves, and `ledger_hashes`, the stored hashes of the RFC 6962 tree) and signs
//! checkpoints. One integrator at a time across processes (the dialect's ledger lock).

use crate::sql::{Arg, Dialect, SqlStore, Write, args};
use crate::{Result, StoreError};
use amtsweg_domain::LedgerRef;
use amtsweg_ledger::tree::{self, Known};
use std::collections::HashMap;
use time::OffsetDateTime;

const SIZE: &str = "SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM ledger_entries";
const PENDING: &str = "SELECT id, entry, reference FROM ledger_pending ORDER BY id LIMIT $1";
const PENDING_COUNT: &str = "SELECT COUNT(*) AS n FROM ledger_pending";
const HASH: &str = "SELECT hash FROM ledger_hashes WHERE idx = $1";
const HASH_RANGE: &str = "SELECT idx, hash FROM ledger_hashes WHERE idx >= $1 AND idx < $2 ORDER BY idx";
const ENTRIES: &str = "SELECT idx, entry FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx";
const INDEX_OF: &str = "SELECT idx FROM ledger_entries WHERE reference = $1 ORDER BY idx LIMIT 1";
const ENTRY_OF: &str = "SELECT idx, entry FROM ledger_entries WHERE reference = $1 ORDER BY idx LIMIT 1";
const ADD_CHECKPOINT: &str = "INSERT INTO ledger_checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING";
const CHECKPOINTS: &str = "SELECT size, note FROM ledger_checkpoints ORDER BY size";
const LATEST_CHECKPOINT: &str = "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1";
const HAS_CHECKPOINT: &str = "SELECT 1 FROM ledger_checkpoints WHERE size = $1";
const HAS_SALT: &str = "SELECT 1 FROM ledger_salts WHERE subject = $1";

fn hash_of(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| StoreError::Corrupt("a ledger hash is not 32 bytes".into()))
}

/// `INSERT INTO {table} ({columns}) VALUES ($1, $2), ($3, $4), …` for `rows` rows.
fn insert_many(table_and_columns: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table_and_columns} VALUES ");
    for r in 0..rows {
        let placeholders: Vec<String> = (1..=columns).map(|c| format!("${}", r * columns + c)).collect();
        sql.push_str(&format!("{}({})", if r == 0 { "" } else { ", " }, placeholders.join(", ")));
    }
    sql
}

/// `{head} ($1, …, $n){tail}` for the integers `values` (not empty), padded to a power of two
/// with the last value again (which changes no `IN`).
fn in_list(head: &str, values: &[impl Copy + TryInto<i64>], tail: &str) -> (String, Vec<Arg<'static>>) {
    let size = values.len().next_power_of_two();
    let last = values.len() - 1;
    let args = (0..size).map(|n| Arg::from(values[n.min(last)].try_into().unwrap_or(i64::MAX))).collect();
    let placeholders: Vec<String> = (1..=size).map(|n| format!("${n}")).collect();
    (format!("{head} ({}){tail}", placeholders.join(", ")), args)
}

/// `items` in chunks whose lengths are powers of two, at most `max` (a power of two) each.
fn pow2_chunks<T>(mut items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let len = items.len().min(max);
        let len = if len.is_power_of_two() { len } else { len.next_power_of_two() / 2 };
        let (chunk, rest) = items.split_at(len);
        items = rest;
        Some(chunk)
    })
}

/// What one integration did: the size afterwards, how many entries it took, the stored hashes
/// it read or wrote (the tree's right edge and everything new), and the entries taken whose
/// reference is recorded once (`LedgerRef::recorded_once`), by reference.
pub(crate) struct Integrated {
    pub(crate) size: u64,
    pub(crate) taken: usize,
    pub(crate) known: Known,
    pub(crate) once: HashMap<String, (u64, Vec<u8>)>,
}

/// Moves up to `max` pending entries into the tree inside `tx` (which holds the integrator's
/// lock).
async fn integrate_in<DB: Dialect>(tx: &mut Write<DB>, max: usize) -> Result<Integrated> {
    let size = tx.one::<(i64,)>(SIZE, &[]).await?.0 as u64;
    let pending = tx.all::<(i64, Vec<u8>, Option<String>)>(PENDING, args![max as i64]).await?;
    if pending.is_empty() {
        return Ok(Integrated { size, taken: 0, known: Known::default(), once: HashMap::new() });
    }
    // The stored hashes of the tree so far that the appends read: its right edge.
    let first_new = tree::stored_count(size);
    let mut needed: Vec<u64> = (size..size + pending.len() as u64).flat_map(tree::needed_for_append).filter(|i| *i < first_new).collect();
    needed.sort_unstable();
    needed.dedup();
    let mut known = Known::default();
    for i in needed {
        let (hash,) = tx.one::<(Vec<u8>,)>(HASH, args![i as i64]).await?;
        known.0.insert(i, amtsweg_ledger::Hash(hash_of(hash)?));
    }
    let taken = pending.len();
    let mut ids: Vec<i64> = Vec::with_capacity(taken);
    let mut entries: Vec<(i64, Vec<u8>, Option<String>)> = Vec::with_capacity(taken);
    let mut hashes: Vec<(i64, [u8; 32])> = Vec::with_capacity(taken * 2);
    for (n, (id, entry, reference)) in pending.into_iter().enumerate() {
        let index = size + n as u64;
        ids.push(id);
        let stored = tree::append(index, amtsweg_ledger::leaf_hash(&entry), &mut known).map_err(|e| StoreError::Corrupt(format!("ledger: {e}")))?;
        hashes.extend(stored.into_iter().map(|(i, h)| (i as i64, h.0)));
        entries.push((index as i64, entry, reference));
    }
    // Many rows per statement: integration is the ledger's hot path. The statements come in
    // a few sizes only (powers of two), so that each connection prepares each text once
    // rather than a new one per batch.
    for chunk in pow2_chunks(&entries, 256) {
        let args: Vec<Arg> = chunk.iter().flat_map(|(i, e, r)| [Arg::from(*i), Arg::from(e.as_slice()), Arg::from(r)]).collect();
        tx.execute(&insert_many("ledger_entries (idx, entry, reference)", 3, chunk.len()), &args).await?;
    }
    for chunk in pow2_chunks(&hashes, 512) {
        let args: Vec<Arg> = chunk.iter().flat_map(|(i, h)| [Arg::from(*i), Arg::from(h.as_slice())]).collect();
        tx.execute(&insert_many("ledger_hashes (idx, hash)", 2, chunk.len()), &args).await?;
    }
    // Exactly the rows taken: on PostgreSQL a row with a smaller id may have been committed
    // after the SELECT above (ids are drawn before commit), and must wait for the next round
    // rather than be deleted unseen. Padded to a power of two with the last id again.
    for chunk in ids.chunks(512) {
        let (sql, args) = in_list("DELETE FROM ledger_pending WHERE id IN", chunk, "");
        tx.execute(&sql, &args).await?;
    }
    let once = entries
        .into_iter()
        .filter_map(|(index, entry, reference)| reference.filter(|r| LedgerRef::recorded_once(r)).map(|r| (r, (index as u64, entry))))
        .collect();
    Ok(Integrated { size: size + taken as u64, taken, known, once })
}

pub(crate) async fn ledger_integrate<DB: Dialect>(store: &SqlStore<DB>, max: usize) -> Result<u64> {
    let mut tx = store.write().await?;
    tx.lock_ledger().await?;
    let Integrated { size, taken, .. } = integrate_in(&mut tx, max).await?;
    if taken > 0 {
        tx.commit().await?;
    }
    Ok(size)
}

pub(crate) async fn ledger_integrate_signed<DB: Dialect>(
    store: &SqlStore<DB>,
    max: usize,
    sign: &(dyn Fn(u64, [u8; 32]) -> String + Send + Sync),
) -> Result<Option<(u64, String, bool)>> {
    let mut tx = store.write().await?;
    tx.lock_ledger().await?;
    let Some((integrated, note)) = integrate_signed_in(&mut tx, max, sign).await? else { return Ok(None) };
    tx.commit().await?;
    Ok(Some((integrated.size, note, integrated.taken == max)))
}

/// Integrates up to `max` pending entries inside `tx` (which holds the integrator's lock) and
/// stores a checkpoint of the new size signed with `sign`: what was integrated (its `known`
/// also holds the root's subtrees) and the checkpoint's note; `None` when nothing was pending.
/// Also what SQLite's committer runs in each batch.
pub(crate) async fn integrate_signed_in<DB: Dialect>(
    tx: &mut Write<DB>,
    max: usize,
    sign: &(dyn Fn(u64, [u8; 32]) -> String + Send + Sync),
) -> Result<Option<(Integrated, String)>> {
    let mut integrated = integrate_in(tx, max).await?;
    if integrated.taken == 0 {
        return Ok(None);
    }
    let (size, known) = (integrated.size, &mut integrated.known);
    // The root's subtrees lie on the right edge; read any the appends did not touch.
    let untouched: Vec<u64> = tree::needed_for_root(size).into_iter().filter(|i| !known.0.contains_key(i)).collect();
    for i in untouched {
        let (hash,) = tx.one::<(Vec<u8>,)>(HASH, args![i as i64]).await?;
        known.0.insert(i, amtsweg_ledger::Hash(hash_of(hash)?));
    }
    let root = tree::root(size, known).map_err(|e| StoreError::Corrupt(format!("ledger: {e}")))?;
    let note = sign(size, root.0);
    tx.execute(ADD_CHECKPOINT, args![size as i64, &note, OffsetDateTime::now_utc()]).await?;
    Ok(Some((integrated, note)))
}

/// Commits of this process whose ledger is kept in memory, at most.
const RECENT_BATCHES: usize = 16;
/// How long a commit's ledger is used from memory: a receipt is asked for right after its write
/// returns; later ones are read from the database, so that nothing the database has since
/// changed (retention clears a transfer's reference) is answered from memory.
const RECENT_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The ledger as this process's last commits left it, so that the receipt for an entry just
/// recorded is made without reading: per commit, the checkpoint it signed, the stored hashes it
/// read or wrote, and its entries under references recorded once (for any other reference the
/// first entry may lie further back). Filled only after a commit succeeded; a stored hash never
/// changes, so nothing kept goes stale, and an entry whose proof needs a hash not kept is read
/// from the database as before. The checkpoint is the latest of this process's commits: one that
/// covers the entry, though the console or another process may have signed a later one.
#[derive(Default)]
pub(crate) struct Recent {
    batches: std::collections::VecDeque<RecentBatch>,
}

/// One commit's part of [`Recent`].
pub(crate) struct RecentBatch {
    integrated: Integrated,
    note: String,
    at: std::time::Instant,
}

/// A receipt's parts from memory: the entry, its index, the latest checkpoint (size and note)
/// and the stored hashes its inclusion proof needs.
pub struct RecentReceipt {
    pub index: u64,
    pub entry: Vec<u8>,
    pub size: u64,
    pub note: String,
    pub hashes: Vec<(u64, [u8; 32])>,
}

impl Recent {
    /// A committed batch's integration and its checkpoint's note. Returns the batch let go, to
    /// be dropped after the writer is free.
    #[must_use]
    pub(crate) fn push(&mut self, integrated: Integrated, note: String) -> Option<RecentBatch> {
        let old = if self.batches.len() == RECENT_BATCHES { self.batches.pop_front() } else { None };
        self.batches.push_back(RecentBatch { integrated, note, at: std::time::Instant::now() });
        old
    }

    pub(crate) fn receipt(&self, reference: &str) -> Option<RecentReceipt> {
        // The batches of the last RECENT_FOR, newest first.
        let fresh = || self.batches.iter().enumerate().rev().take_while(|(_, b)| b.at.elapsed() < RECENT_FOR);
        let (_, latest) = fresh().next()?;
        let (from, (index, entry)) = fresh().find_map(|(n, b)| b.integrated.once.get(reference).map(|e| (n, e)))?;
        // Every hash the proof needs was read or written by this entry's commit or a later one.
        let hashes = tree::needed_for_inclusion(*index, latest.integrated.size)
            .into_iter()
            .map(|i| self.batches.iter().skip(from).rev().find_map(|b| b.integrated.known.0.get(&i)).map(|h| (i, h.0)))
            .collect::<Option<Vec<_>>>()?;
        Some(RecentReceipt { index: *index, entry: entry.clone(), size: latest.integrated.size, note: latest.note.clone(), hashes })
    }
}

pub(crate) async fn ledger_size<DB: Dialect>(store: &SqlStore<DB>) -> Result<u64> {
    Ok(store.one::<(i64,)>(SIZE, &[]).await?.0 as u64)
}

pub(crate) async fn ledger_pending<DB: Dialect>(store: &SqlStore<DB>) -> Result<u64> {
    Ok(store.one::<(i64,)>(PENDING_COUNT, &[]).await?.0 as u64)
}

pub(crate) async fn ledger_hashes<DB: Dialect>(store: &SqlStore<DB>, indexes: &[u64]) -> Result<Vec<(u64, [u8; 32])>> {
    // One statement per 512 indexes (a proof reads a few dozen at most), padded to a power of
    // two with the last index again: a few statement texts, each prepared once per connection.
    let mut out = Vec::with_capacity(indexes.len());
    for chunk in indexes.chunks(512) {
        let (sql, args) = in_list("SELECT idx, hash FROM ledger_hashes WHERE idx IN", chunk, " ORDER BY idx");
        for (idx, hash) in store.all::<(i64, Vec<u8>)>(&sql, &args).await? {
            out.push((idx as u64, hash_of(hash)?));
        }
    }
    Ok(out)
}

pub(crate) async fn ledger_hash_range<DB: Dialect>(store: &SqlStore<DB>, from: u64, to: u64) -> Result<Vec<(u64, [u8; 32])>> {
    let rows = store.all::<(i64, Vec<u8>)>(HASH_RANGE, args![from as i64, to as i64]).await?;
    rows.into_iter().map(|(idx, hash)| Ok((idx as u64, hash_of(hash)?))).collect()
}

pub(crate) async fn ledger_entries<DB: Dialect>(store: &SqlStore<DB>, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    let rows = store.all::<(i64, Vec<u8>)>(ENTRIES, args![from as i64, to as i64]).await?;
    Ok(rows.into_iter().map(|(idx, entry)| (idx as u64, entry)).collect())
}

pub(crate) async fn ledger_index_of<DB: Dialect>(store: &SqlStore<DB>, reference: &str) -> Result<Option<u64>> {
    Ok(store.optional::<(i64,)>(INDEX_OF, args![reference]).await?.map(|(idx,)| idx as u64))
}

pub(crate) async fn ledger_entry_of<DB: Dialect>(store: &SqlStore<DB>, reference: &str) -> Result<Option<(u64, Vec<u8>)>> {
    Ok(store.optional::<(i64, Vec<u8>)>(ENTRY_OF, args![reference]).await?.map(|(idx, entry)| (idx as u64, entry)))
}

pub(crate) async fn ledger_add_checkpoint<DB: Dialect>(store: &SqlStore<DB>, size: u64, note: &str) -> Result<()> {
    let mut tx = store.write().await?;
    tx.execute(ADD_CHECKPOINT, args![size as i64, note, OffsetDateTime::now_utc()]).await?;
    tx.commit().await
}

pub(crate) async fn ledger_checkpoints<DB: Dialect>(store: &SqlStore<DB>) -> Result<Vec<(u64, String)>> {
    Ok(store.all::<(i64, String)>(CHECKPOINTS, &[]).await?.into_iter().map(|(size, note)| (size as u64, note)).collect())
}

pub(crate) async fn ledger_latest_checkpoint<DB: Dialect>(store: &SqlStore<DB>) -> Result<Option<(u64, String)>> {
    Ok(store.optional::<(i64, String)>(LATEST_CHECKPOINT, &[]).await?.map(|(size, note)| (size as u64, note)))
}

pub(crate) async fn ledger_has_checkpoint<DB: Dialect>(store: &SqlStore<DB>, size: u64) -> Result<bool> {
    Ok(store.optional::<crate::sql::Present>(HAS_CHECKPOINT, args![size as i64]).await?.is_some())
}

pub(crate) async fn ledger_has_salt<DB: Dialect>(store: &SqlStore<DB>, subject: &str) -> Result<bool> {
    Ok(store.optional::<crate::sql::Present>(HAS_SALT, args![subject]).await?.is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_are_powers_of_two_and_cover_everything_in_order() {
        for n in 0..1100usize {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = super::pow2_chunks(&items, 256).collect();
            assert!(chunks.iter().all(|c| c.len().is_power_of_two() && c.len() <= 256), "{n}");
            assert_eq!(chunks.concat(), items);
        }
    }
}
