//! Documents from outside: what citizens upload as evidence and what is handed on to staff and
//! specialist procedures. The type is read from the content, never from the name or the
//! declared type. A PDF is parsed and refused when it carries active content (JavaScript,
//! actions that launch programs, send data or open other files, embedded files, XFA forms,
//! multimedia) or HTML. An image is decoded and encoded again, within a pixel limit, so that
//! what is stored is a plain image of the type it claims: nothing appended, no metadata (EXIF
//! with its GPS position goes; the orientation it recorded is applied first).

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
    fn every_refusal_says_what_to_do() {
        for r in [Refusal::UnknownType, Refusal::Html, Refusal::UnreadablePdf, Refusal::EncryptedPdf, Refusal::ActiveContent("JavaScript"), Refusal::UnreadableImage, Refusal::TooManyPixels { width: 20_000, height: 20_000 }] {
            let m = r.message();
            assert!(m.contains(" Sie ") && m.contains("Bitte "), "polite and with a next step: {m}");
        }
        assert!(Refusal::TooManyPixels { width: 20_000, height: 1_234_567 }.message().contains("20.000 × 1.234.567"));
        assert_eq!(german_number(999), "999");
    }
}
