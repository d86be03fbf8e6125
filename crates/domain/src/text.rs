//! Free text as people type it, made safe to store and show (issue 22, finding 5): Unicode NFC,
//! so that the same word is the same bytes, and without characters that make text lie about
//! itself: bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069),
//! which reorder what staff pages and the Bescheid show; control characters (C0 except tab
//! and line breaks, DEL, C1), which are invisible or cut text off (NUL); and the invisible
//! carriers of hidden text (tag characters U+E0000–U+E007F, interlinear annotations
//! U+FFF9–U+FFFB, the deprecated format characters U+206A–U+206F). The web layer applies it
//! to every field of every form and JSON body at the boundary; the bidi marks (U+200E, U+200F,
//! U+061C) stay, as Arabic and Hebrew text needs them.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Whether a character is removed from free text.
pub fn is_unsafe(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        // Invisible carriers of hidden text: the deprecated format characters, the interlinear
        // annotation characters and the tag characters.
        || matches!(c, '\u{206A}'..='\u{206F}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
        || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The text in NFC without unsafe characters; borrowed when it already is.
pub fn clean(text: &str) -> Cow<'_, str> {
    let has_unsafe = text.chars().any(is_unsafe);
    let is_nfc = is_nfc_quick(text.chars()) == IsNormalized::Yes;
    if !has_unsafe && is_nfc {
        return Cow::Borrowed(text);
    }
    // Composed again after the removal: what was removed may have stood between a letter and
    // its combining mark (found by the fuzz target).
    Cow::Owned(text.chars().filter(|c| !is_unsafe(*c)).nfc().collect())
}

/// Cleans a string in place (only writes when something changes).
pub fn clean_in_place(text: &mut String) {
    if let Cow::Owned(cleaned) = clean(text) {
        *text = cleaned;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_and_removes_what_lies() {
        assert_eq!(clean("Cafe\u{301}"), "Café");
        assert_eq!(clean("abc\u{202E}fed"), "abcfed");
        assert_eq!(clean("a\u{2066}b\u{2069}c"), "abc");
        assert_eq!(clean("Antrag\u{E0041}\u{E0042} ok\u{FFF9}"), "Antrag ok", "tag and annotation characters");
        assert_eq!(clean("a\0b\u{7}c\u{7F}d\u{85}e"), "abcde");
        assert_eq!(clean("Zeile 1\r\nZeile 2\tEnde"), "Zeile 1\r\nZeile 2\tEnde");
        assert_eq!(clean("e\0\u{301}"), "é", "a removed control between a letter and its mark");
        assert_eq!(clean("مرحبا\u{200F} world"), "مرحبا\u{200F} world", "bidi marks stay");
        assert!(matches!(clean("schon sauber: Straße"), Cow::Borrowed(_)));
    }

    #[test]
    fn cleaning_is_idempotent() {
        for s in ["e\u{301}\u{202E}\u{0}x", "\u{1100}\u{1161}\u{11A8}", "A\u{30A}\u{2067}"] {
            let once = clean(s).into_owned();
            assert_eq!(clean(&once), once);
            assert!(!once.chars().any(is_unsafe));
        }
    }
}
