//! Documents from outside: what citizens upload as evidence and what is handed on to staff and
//! specialist procedures. The type is read from the content, never from the name or the
//! declared type. A PDF is parsed and refused when it carries active content (JavaScript,
//! actions that launch programs, send data or open other files, embedded files, XFA forms,
//! multimedia) or HTML. An image is decoded and encoded again, within a pixel limit, so that
//! what is stored is a plain image of the type it claims: nothing appended, no metadata (EXIF
//! with its GPS position goes; the orientation it recorded is applied first).

pub mod map;
mod pdf;
mod picture;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The most pixels an image may have (40 megapixels: a photo of a modern phone camera).
pub const MAX_PIXELS: u64 = 40_000_000;

/// A document as it may be stored: its media type and its bytes (images newly encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Why a document is refused. [`Refusal::message`] says it in German; nothing of the
/// document's content is in either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a PDF, PNG or JPEG")]
    UnknownType,
    #[error("HTML in the document")]
    Html,
    #[error("the PDF cannot be read")]
    UnreadablePdf,
    #[error("the PDF is encrypted")]
    EncryptedPdf,
    #[error("active content in the PDF: {0}")]
    ActiveContent(&'static str),
    #[error("the image cannot be read")]
    UnreadableImage,
    #[error("the image has too many pixels ({width} × {height})")]
    TooManyPixels { width: u32, height: u32 },
    /// A HEIC/HEIF photo (iPhones write them): not decoded here, refused with a way out.
    #[error("a HEIC photo")]
    Heic,
    /// Not a photo (a PDF where a photo was asked for).
    #[error("not a PNG or JPEG photo")]
    NotAPhoto,
}

impl Refusal {
    /// What the person who uploaded it reads.
    pub fn message(&self) -> String {
        match self {
            Refusal::UnknownType => "Bitte laden Sie ein PDF, PNG oder JPEG hoch; die Datei ist keines davon.".into(),
            Refusal::Html => "Die Datei enthält HTML (eine Webseite) und wird deshalb nicht angenommen. Bitte laden Sie das Dokument als PDF, PNG oder JPEG hoch.".into(),
            Refusal::UnreadablePdf => "Das PDF lässt sich nicht lesen; es ist beschädigt oder kein PDF. Bitte speichern Sie das Dokument erneut als PDF und laden Sie es noch einmal hoch.".into(),
            Refusal::EncryptedPdf => "Das PDF ist verschlüsselt oder mit einem Kennwort geschützt. Bitte laden Sie es ohne Kennwortschutz hoch.".into(),
            Refusal::ActiveContent(what) => format!(
                "Das PDF enthält {what}. Solche aktiven Inhalte nehmen wir aus Sicherheitsgründen nicht an. Bitte drucken Sie das Dokument als PDF („Als PDF drucken“) und laden Sie diese Fassung hoch."
            ),
            Refusal::UnreadableImage => "Das Bild lässt sich nicht lesen; es ist beschädigt oder kein echtes PNG- oder JPEG-Bild. Bitte speichern Sie es erneut als PNG oder JPEG und laden Sie es noch einmal hoch.".into(),
            Refusal::Heic => "Das Foto ist im Format HEIC (so speichern iPhones Fotos). Bitte senden Sie es als JPEG: Auf dem iPhone unter „Einstellungen > Kamera > Formate“ „Maximale Kompatibilität“ wählen, oder das Foto vor dem Senden teilen, dann wird es meist als JPEG übertragen.".into(),
            Refusal::NotAPhoto => "Bitte senden Sie ein Foto als JPEG oder PNG; die Datei ist keines davon.".into(),
            Refusal::TooManyPixels { width, height } => format!(
                "Das Bild ist mit {} × {} Bildpunkten zu groß (höchstens {} Megapixel). Bitte verkleinern Sie es und laden Sie es erneut hoch.",
                german_number(*width),
                german_number(*height),
                MAX_PIXELS / 1_000_000
            ),
        }
    }
}

/// A whole number as German text writes it: 20.000.
fn german_number(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

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

/// The longest side of a stored photo, in pixels.
pub const MAX_PHOTO_SIDE: u32 = 2048;

/// Whether the bytes are a HEIF container (HEIC, HEIF, AVIF photos): an ISO base media file
/// whose `ftyp` box names one of their brands.
pub fn is_heif(bytes: &[u8]) -> bool {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(16, bytes.len().min(256));
    // The major brand at 8..12, then the compatible brands from 16 on, four bytes each.
    std::iter::once(&bytes[8..12]).chain(bytes[16..end].chunks_exact(4)).any(|brand| {
        matches!(brand, b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif" | b"avis")
    })
}

/// Checks a photo for a report: PNG or JPEG by its content (HEIC recognised and refused with
/// a way out), encoded again without metadata (EXIF and its GPS position go), turned upright,
/// and at most [`MAX_PHOTO_SIDE`] pixels on its longest side.
pub fn photo(bytes: &[u8]) -> Result<Checked, Refusal> {
    if is_heif(bytes) {
        return Err(Refusal::Heic);
    }
    let media_type = match sniff(bytes) {
        Some("image/png") => "image/png",
        Some("image/jpeg") => "image/jpeg",
        Some(_) => return Err(Refusal::NotAPhoto),
        None => return Err(Refusal::NotAPhoto),
    };
    let format = if media_type == "image/png" { image::ImageFormat::Png } else { image::ImageFormat::Jpeg };
    let bytes = picture::reencode_within(bytes, format, Some(MAX_PHOTO_SIDE))?;
    Ok(Checked { media_type, bytes })
}

/// Blacks out a rectangle of a stored photo (`(left, top, width, height)` as fractions of its
/// size, clamped to the picture) and encodes it again; used by moderation for faces and number
/// plates.
pub fn black_out(bytes: &[u8], media_type: &str, rect: (f32, f32, f32, f32)) -> Result<Vec<u8>, Refusal> {
    let format = match media_type {
        "image/png" => image::ImageFormat::Png,
        "image/jpeg" => image::ImageFormat::Jpeg,
        _ => return Err(Refusal::NotAPhoto),
    };
    picture::black_out(bytes, format, rect)
}

/// Checks a document: a PDF without active content is stored as it came (a signed PDF keeps
/// its signature), an image as newly encoded.
pub fn check(bytes: &[u8]) -> Result<Checked, Refusal> {
    let media_type = sniff(bytes).ok_or(Refusal::UnknownType)?;
    let bytes = match media_type {
        "application/pdf" => {
            pdf::check(bytes)?;
            bytes.to_vec()
        }
        "image/png" => picture::reencode(bytes, image::ImageFormat::Png)?,
        _ => picture::reencode(bytes, image::ImageFormat::Jpeg)?,
    };
    Ok(Checked { media_type, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_from_the_content() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(check(b"<html>").unwrap_err(), Refusal::UnknownType);
    }

    #[test]
    fn heic_is_recognised_by_its_brand() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert!(is_heif(&heic));
        assert_eq!(photo(&heic).unwrap_err(), Refusal::Heic);
        let mut mp4 = vec![0, 0, 0, 20];
        mp4.extend_from_slice(b"ftypisom\0\0\0\0isom");
        assert!(!is_heif(&mp4));
        assert_eq!(photo(b"%PDF-1.7").unwrap_err(), Refusal::NotAPhoto);
    }

    #[test]
    fn every_refusal_says_what_to_do() {
        for r in [Refusal::Heic, Refusal::NotAPhoto, Refusal::UnknownType, Refusal::Html, Refusal::UnreadablePdf, Refusal::EncryptedPdf, Refusal::ActiveContent("JavaScript"), Refusal::UnreadableImage, Refusal::TooManyPixels { width: 20_000, height: 20_000 }] {
            let m = r.message();
            assert!(m.contains(" Sie ") && m.contains("Bitte "), "polite and with a next step: {m}");
        }
        assert!(Refusal::TooManyPixels { width: 20_000, height: 1_234_567 }.message().contains("20.000 × 1.234.567"));
        assert_eq!(german_number(999), "999");
    }
}
