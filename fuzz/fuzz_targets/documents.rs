//! Documents and free text from outside, on arbitrary input: `amtsweg_documents::check` never
//! panics (a panic inside the PDF or image decoders is caught there and becomes a refusal), what
//! it accepts has the type its content shows, a PDF is kept byte for byte, an image comes out as
//! one that passes the check again; a report's photo likewise (HEIC refused); a map tile from a
//! tile server is laid into the map picture or left grey, never failing it; and cleaned free
//! text is clean and stays as it is.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libFuzzer's panic hook aborts before any unwinding; the decoders' panics are caught by
    // the code under test, so the default hook is put back (a panic that escapes still fails).
    static DEFAULT_HOOK: std::sync::Once = std::sync::Once::new();
    DEFAULT_HOOK.call_once(|| {
        let _ = std::panic::take_hook();
    });
    if let Ok(checked) = amtsweg_documents::check(data) {
        assert_eq!(Some(checked.media_type), amtsweg_documents::sniff(data));
        if checked.media_type == "application/pdf" {
            assert_eq!(checked.bytes, data);
        } else {
            let again = amtsweg_documents::check(&checked.bytes).expect("a re-encoded image passes again");
            assert_eq!(again.media_type, checked.media_type);
        }
    }
    // A report's photo: never HEIC, a PNG or JPEG that passes again, at most 2048 pixels a side.
    if let Ok(photo) = amtsweg_documents::photo(data) {
        assert!(!amtsweg_documents::is_heif(data));
        assert!(matches!(photo.media_type, "image/png" | "image/jpeg"));
        let again = amtsweg_documents::photo(&photo.bytes).expect("a stored photo passes again");
        assert_eq!(again.media_type, photo.media_type);
    }
    // A map tile as a tile server might send it: the picture comes out at its size either way.
    let tiles = [amtsweg_documents::map::MapTile { left: -30, top: -20, bytes: Some(data) }];
    let (png, broken) = amtsweg_documents::map::compose(64, 48, &tiles, Some((10.0, 10.0)));
    assert!(broken <= 1);
    assert_eq!(amtsweg_documents::sniff(&png), Some("image/png"));
    if let Ok(text) = std::str::from_utf8(data) {
        let clean = amtsweg_domain::text::clean(text);
        assert!(!clean.chars().any(amtsweg_domain::text::is_unsafe));
        assert_eq!(amtsweg_domain::text::clean(&clean), clean);
    }
});
