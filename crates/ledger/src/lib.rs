//! The tamper-evident ledger: every action on personal data becomes an entry (kind, time, actor
//! role, authority, and salted hash commitments to the personal data involved, never the data),
//! a leaf of an append-only Merkle tree as in Certificate Transparency (RFC 6962 / RFC 9162).
//! Checkpoints are C2SP signed notes; proofs are RFC 6962 inclusion and consistency proofs.
//!
//! The tree arithmetic is `tlog_tiles` (Cloudflare's port of Go's `sumdb/tlog`, whose "stored
//! hashes" let a database hold the tree: a constant number of hashes per entry, any proof from
//! O(log n) of them); notes are `signed_note`. No I/O here: the store reads and writes the rows.

pub mod entry;
pub mod note;
pub mod proof;
pub mod tree;

pub use entry::{Commitment, Entry};
pub use note::{LogKey, NoteError, open_checkpoint};
pub use proof::{ConsistencyProof, InclusionProof, Receipt, ReceiptError, verify_receipt};
pub use tree::{Hash, leaf_hash};
