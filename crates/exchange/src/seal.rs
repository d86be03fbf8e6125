//! Signing the exchange. Every EDM message travels with an Ed25519 signature in HTTP headers,
//! made with the sender's key and checked against the key pinned for that peer:
//!
//! - a request is signed over its body's SHA-256 and the id of the node it is meant for, so a
//!   request sent to another node is refused there;
//! - a response is signed over its body's SHA-256 and the SHA-256 of the request it answers
//!   (sent back as `Amtsweg-Request-Digest`), so an altered response, one for another request
//!   and one replayed from an earlier exchange are all refused by the requester.
//!
//! Signing the bytes as sent avoids XML canonicalisation; the EDM body stays schema-valid.
//!
//! **Batch signatures** (as X-Road's security servers do): under load, the messages waiting to
//! be signed at the same moment become the leaves of a Merkle tree (RFC 6962, `ct-merkle`) and
//! one Ed25519 signature covers its root. Each message carries the signature, its index, the
//! tree's size and root, and its inclusion proof (`Amtsweg-Batch: INDEX SIZE ROOT PROOF`), so
//! each one stays verifiable on its own, by anyone holding the sender's public key. A receiver
//! remembers the roots whose signature it has checked, so a batch costs one check, not one per
//! message. Without load a batch has one message, its root is the message's leaf hash and the
//! proof is empty (`-`); a message without the batch header is read as such a batch of one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{InclusionProof, RootHash};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

pub const HEADER_KEY_ID: &str = "amtsweg-key-id";
pub const HEADER_SIGNATURE: &str = "amtsweg-signature";
pub const HEADER_REQUEST_DIGEST: &str = "amtsweg-request-digest";
pub const HEADER_BATCH: &str = "amtsweg-batch";

/// The most messages one signature covers.
const MAX_BATCH: usize = 256;
/// How many times a signer lets the ready tasks run while its batch keeps growing.
const GATHER_ROUNDS: usize = 8;
/// How many checked batch roots a receiver remembers.
const REMEMBERED_ROOTS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the message is not signed")]
    Unsigned,
    #[error("the signature or key id is malformed")]
    Malformed,
    #[error("no key is pinned for peer {0}")]
    UnknownPeer(String),
    #[error("the signature does not match the message")]
    BadSignature,
    #[error("the response answers another request")]
    OtherRequest,
}

/// A message body's SHA-256, hex: what a signature covers and a response is bound to. Only
/// [`digest`] makes one, so a digest read from a header can never be passed where the digest of
/// the bytes in hand is meant. Each side computes it once per message and passes it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDigest(String);

impl BodyDigest {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

pub fn digest(body: &[u8]) -> BodyDigest {
    let mut hex = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(body), &mut hex).expect("64 hex digits for 32 bytes");
    BodyDigest(String::from_utf8(hex.to_vec()).expect("hex digits"))
}

fn request_material(audience: &str, body_digest: &str) -> Vec<u8> {
    format!("amtsweg-edm-request-v1\n{audience}\n{body_digest}").into_bytes()
}

fn response_material(request_digest: &str, body_digest: &str) -> Vec<u8> {
    format!("amtsweg-edm-response-v1\n{request_digest}\n{body_digest}").into_bytes()
}

/// What the Ed25519 signature covers: the batch tree's size and root.
fn batch_material(size: u64, root: &[u8]) -> Vec<u8> {
    let mut m = b"amtsweg-edm-batch-v1\n".to_vec();
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(root);
    m
}

/// One message's share of a batch signature.
#[derive(Debug, Clone)]
struct Sealed {
    signature: Signature,
    index: u64,
    size: u64,
    root: [u8; 32],
    proof: Vec<u8>,
}

impl Sealed {
    fn batch_header(&self) -> String {
        let proof = if self.proof.is_empty() { "-".to_owned() } else { STANDARD.encode(&self.proof) };
        format!("{} {} {} {proof}", self.index, self.size, STANDARD.encode(self.root))
    }
}

/// Signs the materials of one batch with one signature over their tree's root.
fn seal_batch(key: &SigningKey, materials: &[Vec<u8>]) -> Vec<Sealed> {
    let mut tree = MemoryBackedTree::<Sha256, &[u8]>::new();
    for m in materials {
        tree.push(m.as_slice());
    }
    let root_hash = tree.root();
    let root: [u8; 32] = root_hash.as_bytes().as_slice().try_into().expect("SHA-256");
    let size = materials.len() as u64;
    let signature = key.sign(&batch_material(size, &root));
    (0..materials.len())
        .map(|i| Sealed {
            signature,
            index: i as u64,
            size,
            root,
            proof: if materials.len() == 1 { Vec::new() } else { tree.prove_inclusion(i).as_bytes().to_vec() },
        })
        .collect()
}

type Job = (Vec<u8>, oneshot::Sender<Sealed>);

/// Flat combining: whoever asks for a signature while nobody is signing becomes the signer, lets
/// the tasks that are ready run once, and signs everything then waiting as one batch; whoever
/// asks while a batch is open or being signed waits for it or the next. No extra task and no
/// timer: alone, a message is signed at once; under load, those that arrive meanwhile share one
/// signature. A signer that is cancelled (its request dropped) while its batch is open hands the
/// role on: the waiting are woken and one of them signs.
#[derive(Default)]
struct Combiner {
    waiting: Mutex<Vec<Job>>,
    signing: AtomicBool,
    released: tokio::sync::Notify,
    /// Signatures made and messages they covered (for the benchmark's average batch).
    signatures: AtomicU64,
    messages: AtomicU64,
}

/// Gives the signer's role back however the signer ends.
struct Release<'a>(&'a Combiner);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.signing.store(false, Ordering::SeqCst);
        self.0.released.notify_waiters();
    }
}

impl Combiner {
    async fn seal(&self, key: &SigningKey, material: Vec<u8>) -> Sealed {
        let (reply, mut answer) = oneshot::channel();
        self.waiting.lock().expect("not poisoned").push((material, reply));
        loop {
            if !self.signing.swap(true, Ordering::SeqCst) {
                let release = Release(self);
                // Let the tasks that are ready now queue theirs before the batch closes, and
                // again while that brings more (at most a few rounds): under load a batch
                // gathers what the other tasks are about to send; alone, nothing is waited for.
                let mut seen = self.waiting.lock().expect("not poisoned").len();
                for _ in 0..GATHER_ROUNDS {
                    tokio::task::yield_now().await;
                    let now = self.waiting.lock().expect("not poisoned").len();
                    if now <= seen || now >= MAX_BATCH {
                        break;
                    }
                    seen = now;
                }
                loop {
                    let jobs: Vec<Job> = {
                        let mut waiting = self.waiting.lock().expect("not poisoned");
                        let n = waiting.len().min(MAX_BATCH);
                        waiting.drain(..n).collect()
                    };
                    if jobs.is_empty() {
                        break;
                    }
                    // From taking the jobs to answering them nothing awaits: no job is lost.
                    self.signatures.fetch_add(1, Ordering::Relaxed);
                    self.messages.fetch_add(jobs.len() as u64, Ordering::Relaxed);
                    let (materials, replies): (Vec<Vec<u8>>, Vec<oneshot::Sender<Sealed>>) = jobs.into_iter().unzip();
                    for (sealed, reply) in seal_batch(key, &materials).into_iter().zip(replies) {
                        let _ = reply.send(sealed);
                    }
                }
                drop(release);
            }
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if let Ok(sealed) = answer.try_recv() {
                return sealed;
            }
            if !self.signing.load(Ordering::SeqCst) {
                // Nobody signs and ours still waits: sign it.
                continue;
            }
            tokio::select! {
                sealed = &mut answer => return sealed.expect("a signer answers every job it takes"),
                _ = released => {}
            }
        }
    }
}

/// A node's own key.
pub struct Identity {
    pub id: String,
    key: SigningKey,
    combiner: Combiner,
}

impl Identity {
    pub fn from_seed(id: &str, seed: [u8; 32]) -> Self {
        Self { id: id.to_owned(), key: SigningKey::from_bytes(&seed), combiner: Combiner::default() }
    }

    /// Reads `base64(32-byte seed)` as written by [`Identity::seed_text`].
    pub fn from_seed_text(id: &str, text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| SealError::Malformed)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| SealError::Malformed)?;
        Ok(Self::from_seed(id, seed))
    }

    pub fn seed_text(&self) -> String {
        STANDARD.encode(self.key.to_bytes())
    }

    /// The public key to pin at peers, base64.
    pub fn public_key(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// Batch signatures made so far and the messages they covered.
    pub fn batch_counts(&self) -> (u64, u64) {
        (self.combiner.signatures.load(Ordering::Relaxed), self.combiner.messages.load(Ordering::Relaxed))
    }

    /// Signs alone, at once.
    fn seal_now(&self, material: Vec<u8>) -> Sealed {
        seal_batch(&self.key, &[material]).pop().expect("one")
    }

    /// Signs together with whatever else is waiting (one signature per batch).
    async fn seal(&self, material: Vec<u8>) -> Sealed {
        self.combiner.seal(&self.key, material).await
    }

    fn headers(&self, sealed: &Sealed) -> Vec<(&'static str, String)> {
        vec![
            (HEADER_KEY_ID, self.id.clone()),
            (HEADER_SIGNATURE, STANDARD.encode(sealed.signature.to_bytes())),
            (HEADER_BATCH, sealed.batch_header()),
        ]
    }

    /// Headers for a request to `audience`, signed alone.
    pub fn sign_request(&self, audience: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        self.headers(&self.seal_now(request_material(audience, digest(body).as_str())))
    }

    /// Headers for a request to `audience` whose body has this digest, signed in a batch.
    pub async fn seal_request_digest(&self, audience: &str, body: &BodyDigest) -> Vec<(&'static str, String)> {
        self.headers(&self.seal(request_material(audience, body.as_str())).await)
    }

    /// Headers for a response to the request with this digest, signed alone.
    pub fn sign_response(&self, request: &BodyDigest, body: &[u8]) -> Vec<(&'static str, String)> {
        let mut h = self.headers(&self.seal_now(response_material(request.as_str(), digest(body).as_str())));
        h.push((HEADER_REQUEST_DIGEST, request.as_str().to_owned()));
        h
    }

    /// Headers for a response to the request with this digest, signed in a batch.
    pub async fn seal_response(&self, request: &BodyDigest, body: &[u8]) -> Vec<(&'static str, String)> {
        let mut h = self.headers(&self.seal(response_material(request.as_str(), digest(body).as_str())).await);
        h.push((HEADER_REQUEST_DIGEST, request.as_str().to_owned()));
        h
    }
}

/// The seal headers of a received message.
#[derive(Debug, Clone, Copy, Default)]
pub struct SealHeaders<'a> {
    pub key_id: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub batch: Option<&'a str>,
    /// Responses only.
    pub request_digest: Option<&'a str>,
}

impl<'a> SealHeaders<'a> {
    /// Reads them from any header map (`get(name)` → value).
    pub fn read(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self { key_id: get(HEADER_KEY_ID), signature: get(HEADER_SIGNATURE), batch: get(HEADER_BATCH), request_digest: get(HEADER_REQUEST_DIGEST) }
    }

    /// From a list of headers as [`Identity`] makes them.
    pub fn of(headers: &'a [(&'static str, String)]) -> Self {
        Self::read(|name| headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str()))
    }
}

/// Parses `INDEX SIZE ROOT PROOF`.
fn parse_batch(text: &str) -> Result<(u64, u64, [u8; 32], Vec<u8>), SealError> {
    let mut parts = text.split_ascii_whitespace();
    let mut next = || parts.next().ok_or(SealError::Malformed);
    let index: u64 = next()?.parse().map_err(|_| SealError::Malformed)?;
    let size: u64 = next()?.parse().map_err(|_| SealError::Malformed)?;
    let root: [u8; 32] = STANDARD.decode(next()?).ok().and_then(|r| r.try_into().ok()).ok_or(SealError::Malformed)?;
    let proof = match next()? {
        "-" => Vec::new(),
        p => STANDARD.decode(p).map_err(|_| SealError::Malformed)?,
    };
    if index >= size || size as usize > MAX_BATCH * 64 {
        return Err(SealError::Malformed);
    }
    Ok((index, size, root, proof))
}

/// The keys of the peers, pinned by configuration, and the batch roots already checked.
#[derive(Default, Clone)]
pub struct PinnedKeys {
    keys: HashMap<String, VerifyingKey>,
    checked: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl PinnedKeys {
    pub fn pin(&mut self, peer: &str, public_key_base64: &str) -> Result<(), SealError> {
        let bytes = STANDARD.decode(public_key_base64.trim()).map_err(|_| SealError::Malformed)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SealError::Malformed)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| SealError::Malformed)?;
        self.keys.insert(peer.to_owned(), key);
        Ok(())
    }

    /// The same keys, without the batch roots already checked (for measuring a check).
    pub fn clone_without_memory(&self) -> Self {
        Self { keys: self.keys.clone(), checked: Default::default() }
    }

    /// The peers whose keys are pinned.
    pub fn peers(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    fn verify(&self, seal: &SealHeaders<'_>, material: &[u8]) -> Result<String, SealError> {
        let (Some(key_id), Some(signature)) = (seal.key_id, seal.signature) else {
            return Err(SealError::Unsigned);
        };
        let key = self.keys.get(key_id).ok_or_else(|| SealError::UnknownPeer(key_id.to_owned()))?;
        let bytes = STANDARD.decode(signature.trim()).map_err(|_| SealError::Malformed)?;
        let signature = Signature::from_slice(&bytes).map_err(|_| SealError::Malformed)?;
        let (index, size, root, proof) = match seal.batch {
            Some(text) => parse_batch(text)?,
            None => (0, 1, ct_merkle_leaf(material), Vec::new()),
        };
        let proof = InclusionProof::<Sha256>::try_from_bytes(proof).map_err(|_| SealError::Malformed)?;
        RootHash::<Sha256>::new(root.into(), size).verify_inclusion(&material, index, &proof).map_err(|_| SealError::BadSignature)?;
        // One check per batch: remember the roots whose signature holds, for this key.
        let mut remembered = Sha256::new();
        remembered.update(key.as_bytes());
        remembered.update(batch_material(size, &root));
        remembered.update(signature.to_bytes());
        let remembered: [u8; 32] = remembered.finalize().into();
        if self.checked.lock().expect("not poisoned").contains(&remembered) {
            return Ok(key_id.to_owned());
        }
        key.verify_strict(&batch_material(size, &root), &signature).map_err(|_| SealError::BadSignature)?;
        let mut checked = self.checked.lock().expect("not poisoned");
        if checked.len() >= REMEMBERED_ROOTS {
            checked.clear();
        }
        checked.insert(remembered);
        Ok(key_id.to_owned())
    }

    /// Checks a request meant for `me`; returns the sender.
    pub fn open_request(&self, me: &str, seal: &SealHeaders<'_>, body: &[u8]) -> Result<String, SealError> {
        self.open_request_digest(me, seal, &digest(body))
    }

    /// Checks a request meant for `me` whose body has this digest; returns the sender.
    pub fn open_request_digest(&self, me: &str, seal: &SealHeaders<'_>, body: &BodyDigest) -> Result<String, SealError> {
        self.verify(seal, &request_material(me, body.as_str()))
    }

    /// Checks a response from `peer` to the request whose body was `request_body`.
    pub fn open_response(&self, peer: &str, request_body: &[u8], seal: &SealHeaders<'_>, body: &[u8]) -> Result<(), SealError> {
        self.open_response_digest(peer, &digest(request_body), seal, body)
    }

    /// Checks a response from `peer` to the request whose body has the digest `request`.
    pub fn open_response_digest(&self, peer: &str, request: &BodyDigest, seal: &SealHeaders<'_>, body: &[u8]) -> Result<(), SealError> {
        let expected = request.as_str();
        if seal.key_id != Some(peer) {
            return Err(seal.key_id.map(|k| SealError::UnknownPeer(k.to_owned())).unwrap_or(SealError::Unsigned));
        }
        let body_digest = digest(body);
        match seal.request_digest {
            None => return Err(SealError::Unsigned),
            Some(d) if d != expected => {
                // Check the signature first: an altered digest is a broken signature, an intact
                // one over another digest is an answer to another request (or a replay).
                self.verify(seal, &response_material(d, body_digest.as_str()))?;
                return Err(SealError::OtherRequest);
            }
            Some(_) => {}
        }
        self.verify(seal, &response_material(expected, body_digest.as_str())).map(|_| ())
    }
}

/// The RFC 6962 leaf hash of a message's material: a batch of one has it as its root.
fn ct_merkle_leaf(material: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(material);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Identity, Identity, PinnedKeys, PinnedKeys) {
        let city = Identity::from_seed("leipzig", [1; 32]);
        let register = Identity::from_seed("melderegister", [2; 32]);
        let mut at_register = PinnedKeys::default();
        at_register.pin("leipzig", &city.public_key()).unwrap();
        let mut at_city = PinnedKeys::default();
        at_city.pin("melderegister", &register.public_key()).unwrap();
        (city, register, at_register, at_city)
    }

    #[test]
    fn a_signed_exchange_opens() {
        let (city, register, at_register, at_city) = setup();
        let request = b"<query:QueryRequest/>";
        let h = city.sign_request("melderegister", request);
        assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(&h), request).unwrap(), "leipzig");
        let response = b"<query:QueryResponse/>";
        let r = register.sign_response(&digest(request), response);
        at_city.open_response("melderegister", request, &SealHeaders::of(&r), response).unwrap();
        // Without the batch header, a signature is read as a batch of one.
        let mut bare = h.clone();
        bare.retain(|(k, _)| *k != HEADER_BATCH);
        assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(&bare), request).unwrap(), "leipzig");
    }

    #[test]
    fn misdirected_altered_foreign_and_replayed_messages_are_refused() {
        let (city, register, at_register, at_city) = setup();
        let request = b"<query:QueryRequest id='1'/>";
        let h = city.sign_request("kfz-register", request);
        // meant for another node
        assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(&h), request), Err(SealError::BadSignature));
        // unsigned, unknown sender
        assert_eq!(at_register.open_request("melderegister", &SealHeaders::default(), request), Err(SealError::Unsigned));
        let stranger = Identity::from_seed("fremd", [3; 32]);
        let s = stranger.sign_request("melderegister", request);
        assert!(matches!(at_register.open_request("melderegister", &SealHeaders::of(&s), request), Err(SealError::UnknownPeer(_))));

        let response = b"<query:QueryResponse requestId='1'/>";
        let r = register.sign_response(&digest(request), response);
        let open = |req: &[u8], body: &[u8], r: &[(&'static str, String)]| at_city.open_response("melderegister", req, &SealHeaders::of(r), body);
        // altered on the way
        assert_eq!(open(request, b"<query:QueryResponse requestId='2'/>", &r), Err(SealError::BadSignature));
        // replayed for a new request (the old answer to request 1 for request 2)
        let request2 = b"<query:QueryRequest id='2'/>";
        assert_eq!(open(request2, response, &r), Err(SealError::OtherRequest));
        // signed by someone else than the register asked
        let forged = stranger.sign_response(&digest(request), response);
        assert!(matches!(open(request, response, &forged), Err(SealError::UnknownPeer(_))));
        // a digest header changed to match the new request breaks the signature
        let mut tampered = r.clone();
        tampered.iter_mut().find(|(k, _)| *k == HEADER_REQUEST_DIGEST).unwrap().1 = digest(request2).into_string();
        assert_eq!(open(request2, response, &tampered), Err(SealError::BadSignature));
        // a garbled batch header
        let mut garbled = r.clone();
        garbled.iter_mut().find(|(k, _)| *k == HEADER_BATCH).unwrap().1 = "0 1 kaputt -".into();
        assert_eq!(open(request, response, &garbled), Err(SealError::Malformed));
    }

    #[tokio::test]
    async fn a_batch_signs_many_messages_each_verifiable_alone() {
        let (city, _, at_register, _) = setup();
        let bodies: Vec<Vec<u8>> = (0..64).map(|i| format!("<query:QueryRequest id='{i}'/>").into_bytes()).collect();
        // 63 wait while a signature is being made; the 64th finds the signer free and signs all.
        let mut answers = Vec::new();
        for body in &bodies[..63] {
            let (reply, answer) = oneshot::channel();
            city.combiner.waiting.lock().unwrap().push((request_material("melderegister", digest(body).as_str()), reply));
            answers.push(answer);
        }
        let last = city.seal_request_digest("melderegister", &digest(&bodies[63])).await;
        let mut sealed: Vec<Vec<(&'static str, String)>> = Vec::new();
        for answer in answers {
            sealed.push(city.headers(&answer.await.unwrap()));
        }
        sealed.push(last);
        for (body, h) in bodies.iter().zip(&sealed) {
            assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(h), body).unwrap(), "leipzig");
            assert_eq!(SealHeaders::of(h).batch.unwrap().split(' ').nth(1), Some("64"), "one signature for all");
            // Each message's proof binds it to its own place: another body with this seal fails.
            assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(h), b"<query:QueryRequest id='x'/>"), Err(SealError::BadSignature));
        }
        assert_eq!(SealHeaders::of(&sealed[0]).signature, SealHeaders::of(&sealed[63]).signature);
        // A proof moved to another index of the same batch fails.
        let mut moved = sealed[0].clone();
        let batch = moved.iter_mut().find(|(k, _)| *k == HEADER_BATCH).unwrap();
        batch.1 = batch.1.replacen("0 ", "1 ", 1);
        assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(&moved), &bodies[0]), Err(SealError::BadSignature));
        // Alone, a message is signed at once as a batch of one.
        let alone = city.seal_request_digest("melderegister", &digest(&bodies[0])).await;
        assert!(SealHeaders::of(&alone).batch.unwrap().starts_with("0 1 "));
    }

    #[tokio::test]
    async fn a_cancelled_signer_hands_the_role_on() {
        let (city, _, at_register, _) = setup();
        let city = std::sync::Arc::new(city);
        // A becomes the signer and is cancelled while its batch is open.
        let c = city.clone();
        let a = tokio::spawn(async move { c.seal_request_digest("melderegister", &digest(b"a")).await });
        tokio::task::yield_now().await;
        a.abort();
        // B is not left waiting for a signer that is gone.
        let b = tokio::time::timeout(std::time::Duration::from_secs(5), city.seal_request_digest("melderegister", &digest(b"b"))).await.expect("not stuck behind a cancelled signer");
        assert_eq!(at_register.open_request("melderegister", &SealHeaders::of(&b), b"b").unwrap(), "leipzig");
    }

    #[test]
    fn keys_round_trip_as_text() {
        let id = Identity::from_seed("x", [9; 32]);
        let again = Identity::from_seed_text("x", &id.seed_text()).unwrap();
        assert_eq!(id.public_key(), again.public_key());
        assert_eq!(Identity::from_seed_text("x", "kurz").err(), Some(SealError::Malformed));
    }
}
