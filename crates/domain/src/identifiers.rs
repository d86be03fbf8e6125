//! Official identifiers, parsed once at the boundary: the Amtlicher Regionalschlüssel (ARS), the
//! Identifikationsnummer (IdNr, § 1 IDNrG, the tax identification number) and the LeiKa key.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("Der Regionalschlüssel muss aus genau 12 Ziffern bestehen.")]
    RegionKeyFormat,
    #[error("Eine Region ist ein Regionalschlüssel oder sein Anfang: 2 Ziffern (Land), 3 (Regierungsbezirk), 5 (Kreis), 9 (Gemeindeverband) oder 12 (Gemeinde).")]
    RegionPrefixFormat,
    #[error("Der Regionalschlüssel beginnt nicht mit einem gültigen Länderschlüssel (01 bis 16).")]
    RegionKeyLand,
    #[error("Die Identifikationsnummer muss aus genau 11 Ziffern bestehen.")]
    IdNrFormat,
    #[error("Die Identifikationsnummer darf nicht mit 0 beginnen.")]
    IdNrLeadingZero,
    #[error("In den ersten zehn Ziffern der Identifikationsnummer muss genau eine Ziffer zwei- oder dreimal vorkommen.")]
    IdNrDigitPattern,
    #[error("Die Prüfziffer der Identifikationsnummer stimmt nicht.")]
    IdNrCheckDigit,
    #[error("Der Leistungsschlüssel (LeiKa) muss aus genau 14 Ziffern bestehen.")]
    LeikaFormat,
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Amtlicher Regionalschlüssel: 12 digits, Land (2) · Regierungsbezirk (1) · Kreis (2) ·
/// Gemeindeverband (4) · Gemeinde (3). Trailing zero segments mean "the whole area above".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionKey(String);

/// Where the segments of an ARS end.
const ARS_SEGMENT_ENDS: [usize; 5] = [2, 3, 5, 9, 12];

impl RegionKey {
    pub fn parse(value: &str) -> Result<Self, IdentifierError> {
        let value = value.trim();
        if !all_digits(value, 12) {
            return Err(IdentifierError::RegionKeyFormat);
        }
        let land: u8 = value[..2].parse().map_err(|_| IdentifierError::RegionKeyFormat)?;
        if !(1..=16).contains(&land) {
            return Err(IdentifierError::RegionKeyLand);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A region given as an ARS or its prefix at a segment end: `14` (Land), `146`
    /// (Regierungsbezirk), `14612` (Kreis), `146120000` (Gemeindeverband) or the whole key
    /// (Gemeinde). The prefix is filled with zeros to a key, which by the ARS convention names
    /// the whole area.
    pub fn parse_prefix(value: &str) -> Result<Self, IdentifierError> {
        let value = value.trim();
        if !ARS_SEGMENT_ENDS.contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentifierError::RegionPrefixFormat);
        }
        Self::parse(&format!("{value:0<12}"))
    }

    /// The level of the region, in German: Land, Regierungsbezirk, Kreis, Gemeindeverband or
    /// Gemeinde (a kreisfreie Stadt's key ends like a Kreis).
    pub fn level(&self) -> &'static str {
        match self.significant_len() {
            2 => "Land",
            3 => "Regierungsbezirk",
            5 => "Kreis oder kreisfreie Stadt",
            9 => "Gemeindeverband",
            _ => "Gemeinde",
        }
    }

    /// The significant prefix (`14612` for `146120000000`).
    pub fn prefix(&self) -> &str {
        &self.0[..self.significant_len()]
    }

    /// The two-digit Land code, e.g. `14` for Sachsen.
    pub fn land(&self) -> &str {
        &self.0[..2]
    }

    /// The length of the prefix that matters: the key without its trailing all-zero segments.
    pub fn significant_len(&self) -> usize {
        let mut len = 12;
        for window in ARS_SEGMENT_ENDS.windows(2).rev() {
            let (start, end) = (window[0], window[1]);
            if end == len && self.0[start..end].bytes().all(|b| b == b'0') {
                len = start;
            }
        }
        len
    }

    /// Whether `other` lies within this region (a region contains itself).
    pub fn contains(&self, other: &RegionKey) -> bool {
        let len = self.significant_len();
        other.0.starts_with(&self.0[..len])
    }
}

impl fmt::Display for RegionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifikationsnummer: 11 digits; the first is not 0; in the first ten digits exactly one
/// digit occurs twice or three times (three times never all in a row); the eleventh is a check
/// digit by ISO/IEC 7064 MOD 11,10.
///
/// Its `Debug` output is masked so that it never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNr(String);

impl IdNr {
    pub fn parse(value: &str) -> Result<Self, IdentifierError> {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        if !all_digits(&compact, 11) {
            return Err(IdentifierError::IdNrFormat);
        }
        let digits: Vec<u8> = compact.bytes().map(|b| b - b'0').collect();
        if digits[0] == 0 {
            return Err(IdentifierError::IdNrLeadingZero);
        }
        if !Self::digit_pattern_ok(&digits[..10]) {
            return Err(IdentifierError::IdNrDigitPattern);
        }
        if Self::check_digit(&digits[..10]) != digits[10] {
            return Err(IdentifierError::IdNrCheckDigit);
        }
        Ok(Self(compact))
    }

    fn digit_pattern_ok(first_ten: &[u8]) -> bool {
        let mut counts = [0u8; 10];
        for &d in first_ten {
            counts[d as usize] += 1;
        }
        let repeated: Vec<usize> = (0..10).filter(|&d| counts[d] > 1).collect();
        if repeated.len() != 1 || counts[repeated[0]] > 3 {
            return false;
        }
        let d = repeated[0] as u8;
        // A digit that occurs three times must not stand three times in a row.
        !first_ten.windows(3).any(|w| w.iter().all(|&x| x == d))
    }

    /// ISO/IEC 7064 MOD 11,10 over the first ten digits.
    pub fn check_digit(first_ten: &[u8]) -> u8 {
        let mut product: u32 = 10;
        for &d in first_ten {
            let mut sum = (u32::from(d) + product) % 10;
            if sum == 0 {
                sum = 10;
            }
            product = (sum * 2) % 11;
        }
        let check = 11 - product;
        if check == 10 { 0 } else { check as u8 }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdNr(***)")
    }
}

/// LeiKa key of a service (Leistungsschlüssel, 14 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeikaKey(String);

impl LeikaKey {
    pub fn parse(value: &str) -> Result<Self, IdentifierError> {
        let value = value.trim();
        if !all_digits(value, 14) {
            return Err(IdentifierError::LeikaFormat);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(RegionKey);
string_serde!(IdNr);
string_serde!(LeikaKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_keys_of_the_demo_cities() {
        for key in ["147130000000", "150020000000", "160510000000"] {
            let k = RegionKey::parse(key).unwrap();
            assert_eq!(k.significant_len(), 5, "{key}");
        }
        assert_eq!(RegionKey::parse("14713000000").unwrap_err(), IdentifierError::RegionKeyFormat);
        assert_eq!(RegionKey::parse("17713000000a").unwrap_err(), IdentifierError::RegionKeyFormat);
        assert_eq!(RegionKey::parse("177130000000").unwrap_err(), IdentifierError::RegionKeyLand);
        assert_eq!(RegionKey::parse("007130000000").unwrap_err(), IdentifierError::RegionKeyLand);
    }

    #[test]
    fn region_prefixes_end_at_segments() {
        for (prefix, key, level) in [
            ("14", "140000000000", "Land"),
            ("146", "146000000000", "Regierungsbezirk"),
            ("14612", "146120000000", "Kreis oder kreisfreie Stadt"),
            ("145225200", "145225200000", "Gemeindeverband"),
            ("145225200320", "145225200320", "Gemeinde"),
        ] {
            let region = RegionKey::parse_prefix(prefix).unwrap();
            assert_eq!((region.as_str(), region.level(), region.prefix()), (key, level, prefix));
        }
        for bad in ["", "1", "1461", "146120", "1461200000", "14612000000", "1461200000000", "14a12", "17", "00"] {
            assert!(RegionKey::parse_prefix(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RegionKey::parse_prefix("1461").unwrap_err(), IdentifierError::RegionPrefixFormat);
        assert_eq!(RegionKey::parse_prefix("17").unwrap_err(), IdentifierError::RegionKeyLand);
    }

    #[test]
    fn region_containment() {
        let saxony = RegionKey::parse("140000000000").unwrap();
        let leipzig = RegionKey::parse("147130000000").unwrap();
        let halle = RegionKey::parse("150020000000").unwrap();
        let village = RegionKey::parse("145225200320").unwrap();
        assert_eq!(saxony.significant_len(), 2);
        assert!(saxony.contains(&leipzig));
        assert!(saxony.contains(&village));
        assert!(leipzig.contains(&leipzig));
        assert!(!leipzig.contains(&saxony));
        assert!(!leipzig.contains(&village));
        assert!(!saxony.contains(&halle));
    }

    #[test]
    fn idnr_known_valid_numbers() {
        // Examples published by the Bundeszentralamt für Steuern.
        for n in ["86095742719", "47036892816", "65929970489", "57549285017", "25768131411"] {
            assert!(IdNr::parse(n).is_ok(), "{n} should be valid");
        }
        assert!(IdNr::parse("86 095 742 719").is_ok());
    }

    #[test]
    fn idnr_rejections() {
        assert_eq!(IdNr::parse("8609574271").unwrap_err(), IdentifierError::IdNrFormat);
        assert_eq!(IdNr::parse("8609574271x").unwrap_err(), IdentifierError::IdNrFormat);
        assert_eq!(IdNr::parse("06095742719").unwrap_err(), IdentifierError::IdNrLeadingZero);
        assert_eq!(IdNr::parse("86095742718").unwrap_err(), IdentifierError::IdNrCheckDigit);
        // all ten digits distinct: no repeated digit
        assert_eq!(IdNr::parse("12345678903").unwrap_err(), IdentifierError::IdNrDigitPattern);
        // two repeated digits
        assert_eq!(IdNr::parse("11223456780").unwrap_err(), IdentifierError::IdNrDigitPattern);
        // three in a row
        assert_eq!(IdNr::parse("11123456780").unwrap_err(), IdentifierError::IdNrDigitPattern);
    }

    #[test]
    fn idnr_debug_is_masked() {
        let n = IdNr::parse("86095742719").unwrap();
        assert!(!format!("{n:?}").contains("860"));
    }

    #[test]
    fn check_digit_matches_every_generated_number() {
        // Any ten-digit body with a valid pattern gets exactly one valid check digit.
        let body = [8u8, 6, 0, 9, 5, 7, 4, 2, 7, 1];
        assert_eq!(IdNr::check_digit(&body), 9);
    }
}
