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

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const HEADER_KEY_ID: &str = "amtsweg-key-id";
pub const HEADER_SIGNATURE: &str = "amtsweg-signature";
pub const HEADER_REQUEST_DIGEST: &str = "amtsweg-request-digest";

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

pub fn digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn request_material(audience: &str, body: &[u8]) -> Vec<u8> {
    format!("amtsweg-edm-request-v1\n{audience}\n{}", digest(body)).into_bytes()
}

fn response_material(request_digest: &str, body: &[u8]) -> Vec<u8> {
    format!("amtsweg-edm-response-v1\n{request_digest}\n{}", digest(body)).into_bytes()
}

/// A node's own key.
pub struct Identity {
    pub id: String,
    key: SigningKey,
}

impl Identity {
    pub fn from_seed(id: &str, seed: [u8; 32]) -> Self {
        Self { id: id.to_owned(), key: SigningKey::from_bytes(&seed) }
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

    /// Headers for a request to `audience`.
    pub fn sign_request(&self, audience: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let sig = self.key.sign(&request_material(audience, body));
        vec![(HEADER_KEY_ID, self.id.clone()), (HEADER_SIGNATURE, STANDARD.encode(sig.to_bytes()))]
    }

    /// Headers for a response to the request with this digest.
    pub fn sign_response(&self, request_digest: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let sig = self.key.sign(&response_material(request_digest, body));
        vec![
            (HEADER_KEY_ID, self.id.clone()),
            (HEADER_SIGNATURE, STANDARD.encode(sig.to_bytes())),
            (HEADER_REQUEST_DIGEST, request_digest.to_owned()),
        ]
    }
}

/// The keys of the peers, pinned by configuration.
#[derive(Default, Clone)]
pub struct PinnedKeys(HashMap<String, VerifyingKey>);

impl PinnedKeys {
    pub fn pin(&mut self, peer: &str, public_key_base64: &str) -> Result<(), SealError> {
        let bytes = STANDARD.decode(public_key_base64.trim()).map_err(|_| SealError::Malformed)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SealError::Malformed)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| SealError::Malformed)?;
        self.0.insert(peer.to_owned(), key);
        Ok(())
    }

    fn verify(&self, key_id: Option<&str>, signature: Option<&str>, material: &[u8]) -> Result<String, SealError> {
        let (Some(key_id), Some(signature)) = (key_id, signature) else {
            return Err(SealError::Unsigned);
        };
        let key = self.0.get(key_id).ok_or_else(|| SealError::UnknownPeer(key_id.to_owned()))?;
        let bytes = STANDARD.decode(signature.trim()).map_err(|_| SealError::Malformed)?;
        let signature = Signature::from_slice(&bytes).map_err(|_| SealError::Malformed)?;
        key.verify_strict(material, &signature).or_else(|_| key.verify(material, &signature)).map_err(|_| SealError::BadSignature)?;
        Ok(key_id.to_owned())
    }

    /// Checks a request meant for `me`; returns the sender.
    pub fn open_request(&self, me: &str, key_id: Option<&str>, signature: Option<&str>, body: &[u8]) -> Result<String, SealError> {
        self.verify(key_id, signature, &request_material(me, body))
    }

    /// Checks a response from `peer` to the request whose body was `request_body`.
    pub fn open_response(
        &self,
        peer: &str,
        request_body: &[u8],
        key_id: Option<&str>,
        signature: Option<&str>,
        request_digest: Option<&str>,
        body: &[u8],
    ) -> Result<(), SealError> {
        if key_id != Some(peer) {
            return Err(key_id.map(|k| SealError::UnknownPeer(k.to_owned())).unwrap_or(SealError::Unsigned));
        }
        let expected = digest(request_body);
        match request_digest {
            None => return Err(SealError::Unsigned),
            Some(d) if d != expected => {
                // Check the signature first: an altered digest is a broken signature, an intact
                // one over another digest is an answer to another request (or a replay).
                self.verify(key_id, signature, &response_material(d, body))?;
                return Err(SealError::OtherRequest);
            }
            Some(_) => {}
        }
        self.verify(key_id, signature, &response_material(&expected, body)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

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
        assert_eq!(at_register.open_request("melderegister", header(&h, HEADER_KEY_ID), header(&h, HEADER_SIGNATURE), request).unwrap(), "leipzig");
        let response = b"<query:QueryResponse/>";
        let r = register.sign_response(&digest(request), response);
        at_city
            .open_response("melderegister", request, header(&r, HEADER_KEY_ID), header(&r, HEADER_SIGNATURE), header(&r, HEADER_REQUEST_DIGEST), response)
            .unwrap();
    }

    #[test]
    fn misdirected_altered_foreign_and_replayed_messages_are_refused() {
        let (city, register, at_register, at_city) = setup();
        let request = b"<query:QueryRequest id='1'/>";
        let h = city.sign_request("kfz-register", request);
        // meant for another node
        assert_eq!(
            at_register.open_request("melderegister", header(&h, HEADER_KEY_ID), header(&h, HEADER_SIGNATURE), request),
            Err(SealError::BadSignature)
        );
        // unsigned, unknown sender
        assert_eq!(at_register.open_request("melderegister", None, None, request), Err(SealError::Unsigned));
        let stranger = Identity::from_seed("fremd", [3; 32]);
        let s = stranger.sign_request("melderegister", request);
        assert!(matches!(at_register.open_request("melderegister", header(&s, HEADER_KEY_ID), header(&s, HEADER_SIGNATURE), request), Err(SealError::UnknownPeer(_))));

        let response = b"<query:QueryResponse requestId='1'/>";
        let r = register.sign_response(&digest(request), response);
        let open = |req: &[u8], body: &[u8], r: &[(&'static str, String)]| {
            at_city.open_response("melderegister", req, header(r, HEADER_KEY_ID), header(r, HEADER_SIGNATURE), header(r, HEADER_REQUEST_DIGEST), body)
        };
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
        tampered[2].1 = digest(request2);
        assert_eq!(open(request2, response, &tampered), Err(SealError::BadSignature));
    }

    #[test]
    fn keys_round_trip_as_text() {
        let id = Identity::from_seed("x", [9; 32]);
        let again = Identity::from_seed_text("x", &id.seed_text()).unwrap();
        assert_eq!(id.public_key(), again.public_key());
        assert_eq!(Identity::from_seed_text("x", "kurz").err(), Some(SealError::Malformed));
    }
}
