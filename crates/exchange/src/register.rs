//! The data of a register node and the evidence it gives: a resident register (main residence,
//! address, ARS, date of birth), a vehicle register (plate, holder), an enrolment register
//! (enrolled on a key date). Records come from CSV or JSONL; a deterministic generator makes
//! synthetic people for tests and benchmarks.
//!
//! A person is found only when the IdNr, the family name and the date of birth all match.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Resident,
    Vehicle,
    Enrolment,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "resident" | "melderegister" => Some(Self::Resident),
            "vehicle" | "fahrzeugregister" => Some(Self::Vehicle),
            "enrolment" | "immatrikulation" => Some(Self::Enrolment),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Vehicle => "vehicle",
            Self::Enrolment => "enrolment",
        }
    }
    /// The register's German name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Resident => "Melderegister",
            Self::Vehicle => "Fahrzeugregister",
            Self::Enrolment => "Immatrikulationsregister",
        }
    }
    /// The evidence type this register provides.
    pub fn evidence_type(self) -> &'static str {
        match self {
            Self::Resident => "urn:amtsweg:evidence:main-residence",
            Self::Vehicle => "urn:amtsweg:evidence:vehicle-holder",
            Self::Enrolment => "urn:amtsweg:evidence:enrolment",
        }
    }
}

/// One record; which fields are used depends on the register.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub idnr: String,
    pub family_name: String,
    pub given_name: String,
    pub date_of_birth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub street: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub postal_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub city: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ars: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_residence: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub plate: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub university: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub enrolled_from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub enrolled_until: String,
}

#[derive(Debug, Clone)]
pub struct Register {
    pub kind: Kind,
    by_idnr: HashMap<String, Vec<Record>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Zeile {line}: {message}")]
pub struct DataError {
    pub line: usize,
    pub message: String,
}

impl Register {
    /// Reads JSONL (one object a line) or CSV (a header line naming the fields).
    pub fn load(kind: Kind, text: &str) -> Result<Self, DataError> {
        let mut records = Vec::new();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if first.trim_start().starts_with('{') {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let r: Record = serde_json::from_str(line).map_err(|e| DataError { line: i + 1, message: e.to_string() })?;
                records.push(r);
            }
        } else {
            let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
            for (i, row) in reader.deserialize::<Record>().enumerate() {
                records.push(row.map_err(|e| DataError { line: i + 2, message: e.to_string() })?);
            }
        }
        let mut by_idnr: HashMap<String, Vec<Record>> = HashMap::new();
        for (i, r) in records.into_iter().enumerate() {
            if r.idnr.is_empty() || r.family_name.is_empty() || r.date_of_birth.is_empty() {
                return Err(DataError { line: i + 1, message: "idnr, family_name und date_of_birth sind Pflicht".into() });
            }
            by_idnr.entry(r.idnr.clone()).or_default().push(r);
        }
        Ok(Self { kind, by_idnr })
    }

    pub fn len(&self) -> usize {
        self.by_idnr.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The evidence about a person as a JSON document, or `None` when the register does not
    /// know the person (all of IdNr, family name and date of birth must match).
    pub fn evidence(&self, idnr: &str, family_name: &str, date_of_birth: &str, key_date: &str) -> Option<Value> {
        let records: Vec<&Record> = self
            .by_idnr
            .get(idnr)?
            .iter()
            .filter(|r| r.family_name.eq_ignore_ascii_case(family_name.trim()) && r.date_of_birth == date_of_birth.trim())
            .collect();
        let r = records.first()?;
        Some(match self.kind {
            Kind::Resident => json!({
                "register": self.kind.label(),
                "main_residence": r.main_residence.unwrap_or(true),
                "street": r.street, "postal_code": r.postal_code, "city": r.city, "ars": r.ars,
                "date_of_birth": r.date_of_birth,
            }),
            Kind::Vehicle => json!({
                "register": self.kind.label(),
                "vehicles": records.iter().map(|v| json!({"plate": v.plate, "holder": true})).collect::<Vec<_>>(),
            }),
            Kind::Enrolment => {
                let enrolled = records.iter().any(|e| e.enrolled_from.as_str() <= key_date && (e.enrolled_until.is_empty() || key_date <= e.enrolled_until.as_str()));
                json!({
                    "register": self.kind.label(),
                    "key_date": key_date,
                    "enrolled": enrolled,
                    "university": records.iter().find(|e| e.enrolled_from.as_str() <= key_date).map(|e| e.university.clone()).unwrap_or_default(),
                })
            }
        })
    }
}

/// Synthetic people, the same for the same seed: JSONL lines for a register of `kind`.
pub fn generate(kind: Kind, count: usize, seed: u64) -> Vec<String> {
    const FAMILY: [&str; 12] = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter"];
    const GIVEN: [&str; 12] = ["Anna", "Jonas", "Marie", "Paul", "Lena", "Felix", "Sophie", "Lukas", "Emma", "Leon", "Mia", "Ben"];
    const CITIES: [(&str, &str, &str); 3] = [("Leipzig", "04109", "147130000000"), ("Halle (Saale)", "06108", "150020000000"), ("Erfurt", "99084", "160510000000")];
    const PLATES: [&str; 3] = ["L", "HAL", "EF"];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|i| {
            let idnr = synthetic_idnr(&mut next);
            let city = CITIES[(next() % 3) as usize];
            let mut r = Record {
                idnr,
                family_name: FAMILY[(next() % 12) as usize].into(),
                given_name: GIVEN[(next() % 12) as usize].into(),
                date_of_birth: format!("{}-{:02}-{:02}", 1950 + next() % 55, 1 + next() % 12, 1 + next() % 28),
                ..Record::default()
            };
            match kind {
                Kind::Resident => {
                    r.street = format!("Musterstraße {}", 1 + next() % 200);
                    r.postal_code = city.1.into();
                    r.city = city.0.into();
                    r.ars = city.2.into();
                    r.main_residence = Some(next() % 10 != 0);
                }
                Kind::Vehicle => {
                    let p = PLATES[(next() % 3) as usize];
                    r.plate = format!("{p}-{}{} {}", (b'A' + (next() % 26) as u8) as char, (b'A' + (next() % 26) as u8) as char, 1 + i % 9999);
                }
                Kind::Enrolment => {
                    r.university = ["Universität Leipzig", "Martin-Luther-Universität Halle-Wittenberg", "Universität Erfurt"][(next() % 3) as usize].into();
                    let year = 2018 + next() % 8;
                    r.enrolled_from = format!("{year}-10-01");
                    r.enrolled_until = format!("{}-09-30", year + 3 + next() % 3);
                }
            }
            serde_json::to_string(&r).expect("records serialise")
        })
        .collect()
}

/// A valid IdNr: ten digits with exactly one repeated, then the ISO 7064 MOD 11,10 check digit.
fn synthetic_idnr(next: &mut impl FnMut() -> u64) -> String {
    let mut body: Vec<u8> = (0..10u8).collect();
    for i in (1..10).rev() {
        body.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    if body[0] == 0 {
        body.swap(0, 2);
    }
    body[9] = body[1];
    let mut product: u32 = 10;
    for &d in &body {
        let mut sum = (u32::from(d) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = match 11 - product {
        10 => 0,
        c => c,
    };
    body.iter().map(|d| char::from(b'0' + d)).chain(std::iter::once(char::from(b'0' + check as u8))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_people_are_found_and_strangers_are_not() {
        let lines = generate(Kind::Resident, 50, 7);
        assert_eq!(lines, generate(Kind::Resident, 50, 7), "deterministic");
        let register = Register::load(Kind::Resident, &lines.join("\n")).unwrap();
        assert_eq!(register.len(), 50);
        let r: Record = serde_json::from_str(&lines[3]).unwrap();
        let evidence = register.evidence(&r.idnr, &r.family_name, &r.date_of_birth, "2026-11-22").unwrap();
        assert_eq!(evidence["ars"], r.ars);
        assert!(register.evidence(&r.idnr, "Andere", &r.date_of_birth, "2026-11-22").is_none());
        assert!(register.evidence(&r.idnr, &r.family_name, "1900-01-01", "2026-11-22").is_none());
    }

    #[test]
    fn csv_and_enrolment_on_a_key_date() {
        let csv = "idnr,family_name,given_name,date_of_birth,university,enrolled_from,enrolled_until\n86095742719,Schmidt,Anna,2001-06-30,Universität Erfurt,2022-10-01,2026-09-30\n";
        let register = Register::load(Kind::Enrolment, csv).unwrap();
        assert_eq!(register.evidence("86095742719", "schmidt", "2001-06-30", "2022-12-01").unwrap()["enrolled"], true);
        assert_eq!(register.evidence("86095742719", "Schmidt", "2001-06-30", "2026-12-01").unwrap()["enrolled"], false);
        let bad = "idnr,family_name\n1,2\n";
        assert!(Register::load(Kind::Enrolment, bad).is_err());
        let unknown = "{\"idnr\":\"1\",\"family_name\":\"a\",\"given_name\":\"b\",\"date_of_birth\":\"c\",\"colour\":\"x\"}";
        assert_eq!(Register::load(Kind::Resident, unknown).unwrap_err().line, 1);
    }
}
