//! Evidence uploaded instead of fetched: PDF, PNG or JPEG (the type is read from the content,
//! not from the name or the declared type), at most [`MAX_UPLOAD_BYTES`], stored encrypted
//! (AES-256-GCM with the installation's upload key, a fresh nonce per document).

use crate::error::AppError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use amtsweg_domain::FieldError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

/// The media type the content shows, if it is one we accept.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// Checks an upload; returns its media type.
pub fn check(bytes: &[u8]) -> Result<&'static str, AppError> {
    if bytes.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new("file", "Bitte wählen Sie eine Datei aus.")]));
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(AppError::Invalid(vec![FieldError::new("file", format!("Die Datei ist zu groß (höchstens {} MiB).", MAX_UPLOAD_BYTES / 1024 / 1024))]));
    }
    sniff(bytes).ok_or_else(|| AppError::Invalid(vec![FieldError::new("file", "Bitte laden Sie ein PDF, PNG oder JPEG hoch; die Datei ist keines davon.")]))
}

/// The installation's key for documents at rest.
pub struct UploadKey(Aes256Gcm);

impl UploadKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(Aes256Gcm::new(&key.into()))
    }

    pub fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        Self::new(key)
    }

    /// base64(nonce ‖ ciphertext).
    pub fn seal(&self, plain: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let sealed = self.0.encrypt(Nonce::from_slice(&nonce), plain).expect("encrypting in memory does not fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        self.0.decrypt(Nonce::from_slice(nonce), ciphertext).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_from_the_content() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"MZ\x90\x00 not a pdf"), None);
        assert!(check(b"").is_err());
        assert!(check(&vec![b'%'; MAX_UPLOAD_BYTES + 1]).is_err());
    }

    #[test]
    fn documents_are_sealed_and_opened() {
        let key = UploadKey::random();
        let sealed = key.seal(b"%PDF-1.7 Meldebescheinigung");
        assert!(!sealed.contains("Meldebescheinigung"));
        assert_eq!(key.open(&sealed).unwrap(), b"%PDF-1.7 Meldebescheinigung");
        assert!(UploadKey::random().open(&sealed).is_none(), "another key cannot open it");
    }
}
