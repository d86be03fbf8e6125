//! Reading a file of responsibilities (from a spreadsheet): a header that names the columns
//! `authority_id`, `service_id` and `region` in any order, comma or semicolon (German
//! spreadsheets write semicolons), then one responsibility a line. Pure: what the lines name is
//! checked by the use case, line by line.

/// One line of the file, as it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvLine {
    Row { line: usize, authority_id: String, service_id: String, region: String },
    /// A line the CSV reader could not read (a stray quote).
    Unreadable { line: usize },
    /// The file has more lines than are taken; this is the first one left out.
    TooMany { line: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("Die erste Zeile der CSV-Datei ist nicht lesbar.")]
    Header,
    #[error("Die erste Zeile muss die Spalten authority_id, service_id und region nennen.")]
    Columns,
}

/// Line breaks as the CSV reader and editors count them: `\r\n`, a lone `\n` and a lone `\r`.
pub fn line_breaks(text: &str) -> usize {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter(|(i, b)| **b == b'\n' || (**b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))).count()
}

/// The lines of a responsibility file (at most `max` rows; blank lines are skipped but counted,
/// so that each line number is the one an editor shows).
pub fn read(text: &str, max: usize) -> Result<Vec<CsvLine>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|_| CsvError::Header)?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(a), Some(s), Some(r)) = (column("authority_id"), column("service_id"), column("region")) else {
        return Err(CsvError::Columns);
    };
    let mut out = Vec::new();
    let mut rows = 0;
    for (n, record) in reader.records().enumerate() {
        // From the record's byte offset: the reader's own line count leaves out blank lines, and
        // the offset lies before them.
        let line_of = |position: Option<&csv::Position>| {
            let start = position.map_or(0, |p| p.byte() as usize).min(text.len());
            let rest = text.get(start..).unwrap_or("");
            let start = start + (rest.len() - rest.trim_start_matches(['\r', '\n']).len());
            position.and_then(|_| text.get(..start)).map_or(n + 2, |before| line_breaks(before) + 1)
        };
        match record {
            Err(e) => out.push(CsvLine::Unreadable { line: line_of(e.position()) }),
            Ok(record) => {
                if record.iter().all(str::is_empty) {
                    continue;
                }
                let line = line_of(record.position());
                if rows == max {
                    out.push(CsvLine::TooMany { line });
                    break;
                }
                rows += 1;
                let get = |i: usize| record.get(i).unwrap_or("").to_owned();
                out.push(CsvLine::Row { line, authority_id: get(a), service_id: get(s), region: get(r) });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_as_an_editor_shows_them() {
        let text = "\u{feff}service_id;Region;authority_id\nparken;14612;dresden\n\n\nblau;14;land\n\"kaputt;1;x\n";
        let lines = read(text, 100).unwrap();
        assert_eq!(lines[0], CsvLine::Row { line: 2, authority_id: "dresden".into(), service_id: "parken".into(), region: "14612".into() });
        assert_eq!(lines[1], CsvLine::Row { line: 5, authority_id: "land".into(), service_id: "blau".into(), region: "14".into() });
        // An unterminated quote takes the rest of the line into one field (then refused by the
        // checks of what it names).
        assert_eq!(lines[2], CsvLine::Row { line: 6, authority_id: String::new(), service_id: "kaputt;1;x".into(), region: String::new() });
        assert_eq!(read("a,b\n", 1), Err(CsvError::Columns));
        assert_eq!(read("", 1), Err(CsvError::Columns));
        let many = read("authority_id,service_id,region\na,b,14\nc,d,15\ne,f,16\n", 2).unwrap();
        assert_eq!(many.last(), Some(&CsvLine::TooMany { line: 4 }));
        // Old Mac line ends (a lone CR) count as lines too (found by the fuzz target).
        let mac = read("service_id;region;authority_id\rparken;14612;dresden\r\rblau;14;land\r", 10).unwrap();
        let lines: Vec<usize> = mac.iter().map(|l| match l { CsvLine::Row { line, .. } | CsvLine::Unreadable { line } | CsvLine::TooMany { line } => *line }).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(line_breaks("a\r\nb\rc\nd"), 3);
        // Commas, short rows.
        let short = read("authority_id,service_id,region\nx,y\n", 5).unwrap();
        assert_eq!(short, [CsvLine::Row { line: 2, authority_id: "x".into(), service_id: "y".into(), region: String::new() }]);
    }
}
