//! PDFs: parsed with lopdf (which also opens object streams, where a compressed PDF keeps its
//! dictionaries), then every dictionary is looked at for the keys and action types that make a
//! document act by itself when it is opened or clicked. Refused, not rewritten: the caseworker
//! sees what the citizen sent, and a signed PDF keeps its signature.

use crate::Refusal;
use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object};

/// Byte sequences that only HTML has (compared without case). A browser that is handed the
/// file as a page would run it.
const HTML_MARKERS: &[&[u8]] = &[b"<html", b"<script", b"<!doctype html", b"<iframe", b"<body", b"<object", b"<embed"];

pub(crate) fn check(bytes: &[u8]) -> Result<(), Refusal> {
    if HTML_MARKERS.iter().any(|m| contains_ignoring_case(bytes, m)) {
        return Err(Refusal::Html);
    }
    // lopdf is not built for hostile input everywhere: a panic inside it is an unreadable PDF,
    // not a failed request.
    let document = std::panic::catch_unwind(|| lopdf::Document::load_mem(bytes)).map_err(|_| Refusal::UnreadablePdf)?.map_err(|_| Refusal::UnreadablePdf)?;
    if document.trailer.get(b"Encrypt").is_ok() {
        return Err(Refusal::EncryptedPdf);
    }
    // lopdf leaves out what it cannot load (an object that does not parse, an object stream
    // in a filter it does not decode); a viewer repairs and decodes more. A document with an
    // object in use that could not be looked at is not checked, so it is refused.
    let loaded = |number: u32| document.objects.range((number, 0)..=(number, u16::MAX)).next().is_some();
    let unread = document.reference_table.entries.iter().any(|(number, entry)| {
        matches!(entry, XrefEntry::Normal { .. } | XrefEntry::Compressed { .. }) && *number != 0 && !loaded(*number)
    });
    if unread {
        return Err(Refusal::UnreadablePdf);
    }
    let mut pending: Vec<&Object> = document.objects.values().collect();
    let trailer = Object::Dictionary(document.trailer.clone());
    pending.push(&trailer);
    // Depth-first without recursion: nesting is the document's to choose.
    while let Some(object) = pending.pop() {
        match object {
            Object::Dictionary(d) => look_at(&document, d, &mut pending)?,
            Object::Stream(s) => look_at(&document, &s.dict, &mut pending)?,
            Object::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a dictionary with active content; queues its values.
fn look_at<'a>(document: &Document, d: &'a Dictionary, pending: &mut Vec<&'a Object>) -> Result<(), Refusal> {
    for (key, value) in d.iter() {
        let what = match key.as_slice() {
            b"JS" | b"JavaScript" => Some("JavaScript"),
            b"AA" => Some("Aktionen, die beim Öffnen oder Anklicken von selbst ablaufen"),
            b"EmbeddedFiles" | b"EF" => Some("eingebettete Dateien"),
            b"XFA" => Some("ein XFA-Formular"),
            b"RichMediaContent" | b"RichMediaSettings" => Some("Multimedia-Inhalte"),
            // Also when the name is given by reference (`/S 7 0 R`), as viewers resolve it.
            b"S" | b"Type" | b"Subtype" => match value {
                Object::Name(name) => active_name(name),
                Object::Reference(id) => match document.get_object(*id) {
                    Ok(Object::Name(name)) => active_name(name),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        if let Some(what) = what {
            return Err(Refusal::ActiveContent(what));
        }
        pending.push(value);
    }
    Ok(())
}

/// Action types (`/S`) and object types that act by themselves.
fn active_name(name: &[u8]) -> Option<&'static str> {
    match name {
        b"JavaScript" => Some("JavaScript"),
        b"Launch" => Some("eine Aktion, die ein Programm startet"),
        b"SubmitForm" | b"ImportData" => Some("eine Aktion, die Daten sendet oder lädt"),
        b"GoToR" | b"GoToE" => Some("einen Verweis, der eine andere Datei öffnet"),
        b"Rendition" | b"Movie" | b"Sound" | b"RichMedia" | b"RichMediaExecute" | b"3D" => Some("Multimedia-Inhalte"),
        b"EmbeddedFile" | b"FileAttachment" => Some("eingebettete Dateien"),
        _ => None,
    }
}

fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{pdf, pdf_with};

    #[test]
    fn a_plain_pdf_passes() {
        assert_eq!(check(&pdf("Meldebescheinigung")), Ok(()));
        // A destination to open at, and a web link, are not active.
        assert_eq!(check(&pdf_with("Text", "/OpenAction [3 0 R /Fit]", "/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://www.leipzig.de) >> >>]")), Ok(()));
    }

    #[test]
    fn active_content_is_refused() {
        let cases = [
            ("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "", "JavaScript"),
            ("/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>", "", "JavaScript"),
            ("", "/AA << /O << /S /Launch /F (calc.exe) >> >>", "von selbst"),
            ("/OpenAction << /S /Launch /F (cmd.exe) >>", "", "Programm"),
            ("/Names << /EmbeddedFiles << /Names [(a.exe) 6 0 R] >> >>", "", "eingebettete Dateien"),
            ("/AcroForm << /Fields [] /XFA 6 0 R >>", "", "XFA"),
            ("/OpenAction << /S /SubmitForm /F (https://example.invalid) >>", "", "Daten"),
            ("", "/Annots [<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 1 1] >>]", "eingebettete Dateien"),
            // The action type by reference: object 5 is the font; object 6 is replaced below.
            ("/OpenAction << /S 7 0 R /F (cmd.exe) >>", "", "Programm"),
        ];
        for (catalog, page, what) in cases {
            let file = String::from_utf8(pdf_with("x", catalog, page)).unwrap().replace("7 0 obj\n(frei00)", "7 0 obj\n/Launch ");
            match check(file.as_bytes()) {
                Err(Refusal::ActiveContent(found)) => assert!(found.contains(what), "{catalog}{page}: {found}"),
                other => panic!("{catalog}{page}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_object_that_cannot_be_looked_at_is_refused() {
        // Object 6 no longer parses; a viewer might repair it, the check cannot look at it.
        let broken = String::from_utf8(pdf("x")).unwrap().replace("6 0 obj\n<< /Length 0 >>", "6 0 obj\n]] ]] ]] ]] ]]]");
        assert_eq!(check(broken.as_bytes()), Err(Refusal::UnreadablePdf));
    }

    #[test]
    fn html_and_what_is_no_pdf_are_refused() {
        assert_eq!(check(b"%PDF-1.7\n<html><script>alert(1)</script></html>"), Err(Refusal::Html));
        assert_eq!(check(&pdf("<SCRIPT>alert(1)</SCRIPT>")), Err(Refusal::Html));
        assert_eq!(check(b"%PDF-1.7 Fahrzeugschein"), Err(Refusal::UnreadablePdf));
        let encrypted = pdf_with("x", "", "").into_iter().collect::<Vec<u8>>();
        let encrypted = String::from_utf8(encrypted).unwrap().replace("/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O (x) /U (y) /P -4 >>");
        assert!(matches!(check(encrypted.as_bytes()), Err(Refusal::EncryptedPdf | Refusal::UnreadablePdf)));
    }
}
