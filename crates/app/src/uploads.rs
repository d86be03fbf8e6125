//! Evidence uploaded instead of fetched: PDF, PNG or JPEG (the type is read from the content,
//! not from the name or the declared type; PDFs without active content, images encoded again:
//! `amtsweg_documents`), at most [`MAX_UPLOAD_BYTES`], stored encrypted (AES-256-GCM with the
//! installation's upload key, a fresh nonce per document).

use crate::error::AppError;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use amtsweg_domain::FieldError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;

/// Checks an upload (see `amtsweg_documents`): the type from the content, a PDF without active
/// content, an image decoded and encoded again within the pixel limit. Returns what to store.
/// The work is done off the async threads (an image of 40 megapixels takes a while).
pub async fn check(bytes: &[u8]) -> Result<amtsweg_documents::Checked, AppError> {
    let refused = |message: String| AppError::Invalid(vec![FieldError::new("file", message)]);
    if bytes.is_empty() {
        return Err(refused("Bitte wählen Sie eine Datei aus.".into()));
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(refused(format!("Die Datei ist zu groß (höchstens {} MiB).", MAX_UPLOAD_BYTES / 1024 / 1024)));
    }
    // At most two checks at a time: decoding a photo of 40 megapixels takes a few hundred MB.
    static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let busy = || AppError::Unavailable("Die Datei konnte gerade nicht geprüft werden. Bitte versuchen Sie es noch einmal.".into());
    let _permit = CHECKS.acquire().await.map_err(|_| busy())?;
    let owned = bytes.to_vec();
    let checked = tokio::task::spawn_blocking(move || amtsweg_documents::check(&owned)).await.map_err(|_| busy())?.map_err(|refusal| {
        tracing::info!(reason = %refusal, "upload refused");
        refused(refusal.message())
    })?;
    // An image encoded again may grow (a palette or one-bit picture stored with full colour).
    if checked.bytes.len() > 2 * MAX_UPLOAD_BYTES {
        return Err(refused("Das Bild wird beim Speichern zu groß. Bitte laden Sie es kleiner oder als PDF hoch.".into()));
    }
    Ok(checked)
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

    #[tokio::test]
    async fn uploads_are_checked_before_anything_is_stored() {
        assert!(check(b"").await.is_err());
        assert!(check(&vec![b'%'; MAX_UPLOAD_BYTES + 1]).await.is_err());
        assert!(check(b"MZ\x90\x00 not a pdf").await.is_err());
        let pdf = amtsweg_documents::testing::pdf("Meldebescheinigung");
        assert_eq!(check(&pdf).await.unwrap().bytes, pdf, "a plain PDF is stored as it came");
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
