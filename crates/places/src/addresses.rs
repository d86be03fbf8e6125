//! The address list an authority imports, so that citizens can give a place without a map:
//! CSV with a header row, separated by `;` or `,`, one house per row with WGS 84 coordinates.
//! The columns are found by name (as the Länder's house coordinates and common exports name
//! them): street `strasse`/`straße`/`stn`/`street`, house number `hausnummer`/`hnr`/
//! `housenumber` (with an optional addition `adz`/`zusatz`), postcode `plz`/`postcode`, place
//! `ort`/`onm`/`gemeinde`/`city`, latitude `lat`/`breite`/`latitude`, longitude `lon`/`lng`/
//! `laenge`/`länge`/`longitude`, and optionally the regional key `ars`/`ags`.

use geo::Point;

/// Most rows one import may have (a large city has well under 200,000 houses).
pub const MAX_ADDRESSES: usize = 500_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub place: String,
    /// Regional key (ARS or AGS), when the list has one.
    pub ars: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

impl Address {
    /// "Karl-Liebknecht-Straße 12, 04107 Leipzig".
    pub fn label(&self) -> String {
        let mut out = format!("{} {}", self.street, self.house_number);
        let tail = [self.postcode.as_str(), self.place.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
        if !tail.is_empty() {
            out.push_str(", ");
            out.push_str(&tail);
        }
        out
    }

    /// The search key: street and number, normalised ([`normalize`]).
    pub fn key(&self) -> String {
        normalize(&format!("{} {}", self.street, self.house_number))
    }

    pub fn point(&self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }
}

/// What is wrong with an address list; the messages are for the service admin.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AddressError {
    #[error("Die Adressliste ist leer oder hat keine Kopfzeile.")]
    Empty,
    #[error("In der Kopfzeile fehlt die Spalte „{0}“.")]
    MissingColumn(&'static str),
    #[error("Zeile {line}: {reason}")]
    Row { line: u64, reason: String },
    #[error("Die Adressliste hat mehr als {MAX_ADDRESSES} Zeilen.")]
    TooLarge,
}

/// A parsed list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressList {
    pub addresses: Vec<Address>,
}

struct Columns {
    street: usize,
    number: usize,
    addition: Option<usize>,
    postcode: Option<usize>,
    place: Option<usize>,
    lat: usize,
    lon: usize,
    ars: Option<usize>,
}

fn find(header: &[String], names: &[&str]) -> Option<usize> {
    header.iter().position(|h| names.contains(&h.as_str()))
}

impl AddressList {
    /// Reads a list; the first bad row stops the import (nothing of it is kept).
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let first = text.lines().next().ok_or(AddressError::Empty)?;
        let delimiter = if first.matches(';').count() >= first.matches(',').count() { b';' } else { b',' };
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().map_err(|_| AddressError::Empty)?.iter().map(|h| h.trim().to_lowercase()).collect();
        if header.iter().all(|h| h.is_empty()) {
            return Err(AddressError::Empty);
        }
        let columns = Columns {
            street: find(&header, &["strasse", "straße", "stn", "street"]).ok_or(AddressError::MissingColumn("strasse"))?,
            number: find(&header, &["hausnummer", "hnr", "housenumber"]).ok_or(AddressError::MissingColumn("hausnummer"))?,
            addition: find(&header, &["adz", "zusatz"]),
            postcode: find(&header, &["plz", "postcode"]),
            place: find(&header, &["ort", "onm", "gemeinde", "city"]),
            lat: find(&header, &["lat", "breite", "latitude"]).ok_or(AddressError::MissingColumn("lat"))?,
            lon: find(&header, &["lon", "lng", "laenge", "länge", "longitude"]).ok_or(AddressError::MissingColumn("lon"))?,
            ars: find(&header, &["ars", "ags"]),
        };
        let mut addresses = Vec::new();
        for record in reader.records() {
            let line = |r: &csv::StringRecord| r.position().map(|p| p.line()).unwrap_or(0);
            let record = record.map_err(|e| AddressError::Row {
                line: e.position().map(|p| p.line()).unwrap_or(0),
                reason: "Die Zeile hat nicht so viele Spalten wie die Kopfzeile, oder sie ist kein gültiges UTF-8.".into(),
            })?;
            if addresses.len() >= MAX_ADDRESSES {
                return Err(AddressError::TooLarge);
            }
            let get = |i: usize| record.get(i).unwrap_or("").trim();
            let get_opt = |i: Option<usize>| i.map(|i| record.get(i).unwrap_or("").trim().to_owned()).unwrap_or_default();
            let row_error = |reason: &str| AddressError::Row { line: line(&record), reason: reason.into() };
            let street = get(columns.street);
            let mut number = get(columns.number).to_owned();
            number.push_str(&get_opt(columns.addition));
            if street.is_empty() || number.is_empty() {
                return Err(row_error("Straße oder Hausnummer fehlt."));
            }
            if street.chars().count() > 200 || number.chars().count() > 20 {
                return Err(row_error("Straße oder Hausnummer ist zu lang."));
            }
            let degree = |s: &str| s.replace(',', ".").parse::<f64>().ok();
            let (Some(lat), Some(lon)) = (degree(get(columns.lat)), degree(get(columns.lon))) else {
                return Err(row_error("Breite und Länge müssen Dezimalgrad sein (zum Beispiel 51.3397 und 12.3731)."));
            };
            if crate::point(lat, lon).is_none() {
                return Err(row_error("Breite oder Länge liegt außerhalb von WGS 84."));
            }
            let ars = get_opt(columns.ars);
            if !ars.is_empty() && !ars.chars().all(|c| c.is_ascii_digit()) {
                return Err(row_error("Der Regionalschlüssel darf nur Ziffern enthalten."));
            }
            addresses.push(Address {
                street: street.to_owned(),
                house_number: number,
                postcode: get_opt(columns.postcode),
                place: get_opt(columns.place),
                ars: (!ars.is_empty()).then_some(ars),
                lat,
                lon,
            });
        }
        if addresses.is_empty() {
            return Err(AddressError::Empty);
        }
        Ok(Self { addresses })
    }
}

/// The form addresses are compared in: lower case, `ß` as `ss`, `str.`/`str` as `strasse`,
/// anything but letters and digits as one space; what follows a comma (postcode, place) is
/// left out. "Karl-Liebknecht-Str. 12a, Leipzig" → "karl liebknecht strasse 12a".
pub fn normalize(text: &str) -> String {
    let head = text.split(',').next().unwrap_or("");
    let lower = head.to_lowercase().replace('ß', "ss");
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    for c in lower.chars() {
        if c.is_alphanumeric() {
            // A house number's letter belongs to it ("12 a" and "12a" are one).
            word.push(c);
        } else {
            flush(&mut word, &mut words);
        }
    }
    flush(&mut word, &mut words);
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        let w = if let Some(stem) = w.strip_suffix("str").filter(|_| !w.ends_with("strasse")) { format!("{stem}strasse") } else { w };
        let w = if w == "strasse" || w == "str" {
            // "Karl-Liebknecht-Str." split into "karl liebknecht str": one word "strasse".
            "strasse".to_owned()
        } else {
            w
        };
        // A letter after a number joins it: "12 a" → "12a".
        if w.len() == 1 && w.chars().all(char::is_alphabetic) && out.last().is_some_and(|l| l.chars().all(|c| c.is_ascii_digit())) {
            if let Some(last) = out.last_mut() {
                last.push_str(&w);
            }
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_address_meet() {
        let a = normalize("Karl-Liebknecht-Straße 12a");
        assert_eq!(a, "karl liebknecht strasse 12a");
        assert_eq!(normalize("karl-liebknecht-str. 12 a, 04107 Leipzig"), a);
        assert_eq!(normalize("Hauptstr 3"), "hauptstrasse 3");
        assert_eq!(normalize("Markt 1"), "markt 1");
    }

    #[test]
    fn a_list_with_semicolons_reads() {
        let list = AddressList::parse("\u{feff}Strasse;Hausnummer;PLZ;Ort;lat;lon;ARS\nMarkt;1;04109;Leipzig;51,3405;12,3747;147130000000\n").unwrap();
        let a = &list.addresses[0];
        assert_eq!((a.lat, a.lon), (51.3405, 12.3747));
        assert_eq!(a.label(), "Markt 1, 04109 Leipzig");
        assert_eq!(a.ars.as_deref(), Some("147130000000"));
    }

    #[test]
    fn bad_lists_say_where() {
        assert_eq!(AddressList::parse(""), Err(AddressError::Empty));
        assert_eq!(AddressList::parse("strasse,lat,lon\nMarkt,1,2\n"), Err(AddressError::MissingColumn("hausnummer")));
        let err = AddressList::parse("strasse,hausnummer,lat,lon\nMarkt,1,51.3,12.3\nMarkt,2,nord,12.3\n").unwrap_err();
        assert!(matches!(err, AddressError::Row { line: 3, .. }), "{err:?}");
        assert!(matches!(AddressList::parse("strasse,hausnummer,lat,lon\nMarkt,1,51.3\n"), Err(AddressError::Row { .. })));
    }
}
