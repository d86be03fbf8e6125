//! Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note): the text
//! `origin\nsize\nbase64(root)\n`, a blank line, and `— name base64(key id ‖ Ed25519 signature)`.
//! The log's public key is published in the verifier-key format `name+keyid+base64(0x01 ‖ key)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::checkpoint::Checkpoint;
use tlog_tiles::tlog::Hash;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("the log key is malformed")]
    Key,
    #[error("the note is malformed")]
    Malformed,
    #[error("the note is not signed by this log's key")]
    NotSigned,
    #[error("the note is not a checkpoint of origin {0}")]
    Origin(String),
}

/// The log's signing key; the origin is the key's name.
pub struct LogKey {
    origin: String,
    signer: StandardSigner,
    vkey: String,
}

impl LogKey {
    /// From a 32-byte Ed25519 seed; `origin` names the log (no spaces, no `+`).
    pub fn from_seed(origin: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(NoteError::Key);
        }
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let vkey = signed_note::new_ed25519_verifier_key(origin, &key.verifying_key());
        let id = vkey.split('+').nth(1).ok_or(NoteError::Key)?.to_owned();
        let mut material = vec![0x01];
        material.extend_from_slice(&seed);
        let skey = format!("PRIVATE+KEY+{origin}+{id}+{}", STANDARD.encode(material));
        let signer = StandardSigner::new(&skey).map_err(|_| NoteError::Key)?;
        Ok(Self { origin: origin.to_owned(), signer, vkey })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier key: `name+keyid+base64(0x01 ‖ public key)`.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// The signed checkpoint for a tree of `size` entries with this root.
    pub fn checkpoint(&self, size: u64, root: Hash) -> String {
        let body = Checkpoint::new(&self.origin, size, root, "").expect("a valid origin").to_bytes();
        let mut note = Note::new(&body, &[]).expect("a checkpoint is a valid note text");
        note.add_sigs(&[&self.signer]).expect("Ed25519 signs");
        String::from_utf8(note.to_bytes()).expect("notes are UTF-8")
    }
}

/// Verifies a note with a verifier key and returns its text.
pub fn open_note(note: &str, vkey: &str) -> Result<String, NoteError> {
    let verifier = StandardVerifier::new(vkey).map_err(|_| NoteError::Key)?;
    let note = Note::from_bytes(note.as_bytes()).map_err(|_| NoteError::Malformed)?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)])).map_err(|_| NoteError::NotSigned)?;
    String::from_utf8(note.text().to_vec()).map_err(|_| NoteError::Malformed)
}

/// Verifies a checkpoint note with the log's verifier key: (size, root hash).
pub fn open_checkpoint(note: &str, vkey: &str) -> Result<(u64, Hash), NoteError> {
    let text = open_note(note, vkey)?;
    let checkpoint = Checkpoint::from_bytes(text.as_bytes()).map_err(|_| NoteError::Malformed)?;
    let name = vkey.split('+').next().unwrap_or_default();
    if checkpoint.origin() != name {
        return Err(NoteError::Origin(name.to_owned()));
    }
    Ok((checkpoint.size(), *checkpoint.hash()))
}
