//! The responsibility file reader and the region keys it carries, on arbitrary input: no panic,
//! every line number within the file, no more rows than allowed, and every region either refused
//! or a key whose significant prefix reads back to the same key.
#![no_main]
use amtsweg_domain::RegionKey;
use amtsweg_domain::responsibility_csv::{CsvLine, line_breaks, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(lines) = read(text, 8) else { return };
    let total = line_breaks(text.strip_prefix('\u{feff}').unwrap_or(text)) + 1;
    let rows = lines.iter().filter(|l| matches!(l, CsvLine::Row { .. })).count();
    assert!(rows <= 8, "{rows} rows");
    for entry in &lines {
        let (CsvLine::Row { line, .. } | CsvLine::Unreadable { line } | CsvLine::TooMany { line }) = entry;
        assert!(*line >= 2 && *line <= total + 1, "line {line} of {total}");
        if let CsvLine::Row { region, .. } = entry {
            if let Ok(key) = RegionKey::parse_prefix(region) {
                assert_eq!(RegionKey::parse_prefix(key.prefix()).unwrap(), key);
                assert!(key.contains(&key));
            }
        }
    }
});
