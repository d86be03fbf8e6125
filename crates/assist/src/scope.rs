//! Retrieval per authority: whose texts answer a question first.
//!
//! A document may belong to an authority (`authority`, its id) or apply to a region
//! (`region`, the significant prefix of an Amtlicher Regionalschlüssel: `14` Sachsen, `14713`
//! Leipzig); a document with neither is shared. When it is known where the asker belongs (they
//! are logged in, named their municipality in the question or chose it), the search ranks their
//! authority's documents and the shared ones first, and other authorities' after them: another
//! city's rules answer a question wrongly even when their words fit better.
//!
//! [`Places`] recognises a municipality or Land named in a question, from the names the
//! platform knows (its authorities' places and the Länder).

use crate::kb::Document;

/// Where the asker belongs, as far as known. Empty: everyone's documents rank alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The authorities responsible for the asker (their ids).
    pub authorities: Vec<String>,
    /// The asker's region: an ARS of 12 digits (or a prefix of one).
    pub region: Option<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.authorities.is_empty() && self.region.is_none()
    }

    /// Whether a document answers this asker first: it is shared (no authority, no region), of
    /// one of their authorities, or applies to a region that contains theirs. Everything does
    /// when nothing is known about the asker.
    pub fn first(&self, document: &Document) -> bool {
        if self.is_empty() || (document.authority.is_none() && document.region.is_none()) {
            return true;
        }
        let own_authority = document.authority.as_ref().is_some_and(|a| self.authorities.contains(a));
        let own_region = match (&document.region, &self.region) {
            (Some(applies), Some(asker)) => region_contains(applies, asker),
            _ => false,
        };
        own_authority || own_region
    }
}

/// Whether the region `outer` (an ARS prefix) contains `inner` (an ARS or prefix): `14`
/// contains `147130000000`; trailing zero segments of `outer` mean the whole area above.
pub fn region_contains(outer: &str, inner: &str) -> bool {
    let outer = significant(outer);
    !outer.is_empty() && inner.starts_with(outer)
}

/// An ARS without its trailing all-zero segments (`146120000000` → `14612`); the same rule as
/// the domain's `RegionKey::prefix`, for keys as plain text (this crate knows no domain types).
fn significant(key: &str) -> &str {
    const SEGMENT_ENDS: [usize; 5] = [2, 3, 5, 9, 12];
    let mut len = key.len();
    for window in SEGMENT_ENDS.windows(2).rev() {
        let (start, end) = (window[0], window[1]);
        if end == len && key.get(start..end).is_some_and(|s| s.bytes().all(|b| b == b'0')) {
            len = start;
        }
    }
    &key[..len]
}

/// The Länder by name (Destatis' two-digit keys).
const LAENDER: [(&str, &str); 16] = [
    ("Schleswig-Holstein", "01"),
    ("Hamburg", "02"),
    ("Niedersachsen", "03"),
    ("Bremen", "04"),
    ("Nordrhein-Westfalen", "05"),
    ("Hessen", "06"),
    ("Rheinland-Pfalz", "07"),
    ("Baden-Württemberg", "08"),
    ("Bayern", "09"),
    ("Saarland", "10"),
    ("Berlin", "11"),
    ("Brandenburg", "12"),
    ("Mecklenburg-Vorpommern", "13"),
    ("Sachsen", "14"),
    ("Sachsen-Anhalt", "15"),
    ("Thüringen", "16"),
];

/// Words before a place's name in an authority's name that people leave out when they name
/// the place ("Stadt Leipzig" → "Leipzig").
const PREFIXES: [&str; 9] = ["Landeshauptstadt", "Hansestadt", "Universitätsstadt", "Lutherstadt", "Stadt", "Gemeinde", "Landkreis", "Kreis", "Verbandsgemeinde"];

/// The places a question can name, each with its region.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// Lower-case name and region, longest names first (so "Sachsen-Anhalt" wins over "Sachsen").
    names: Vec<(String, String)>,
}

impl Places {
    /// The Länder, and the places of these `(authority name, region)` pairs under the names
    /// people use: the name itself, without a leading "Stadt", "Landkreis" and the like, and
    /// without an addition in brackets ("Stadt Halle (Saale)" → "Halle (Saale)", "Halle").
    pub fn new<'a>(authorities: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut names: Vec<(String, String)> = LAENDER.iter().map(|(name, key)| (name.to_lowercase(), (*key).to_owned())).collect();
        for (name, region) in authorities {
            for variant in variants(name) {
                names.push((variant.to_lowercase(), region.to_owned()));
            }
        }
        names.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then_with(|| a.cmp(b)));
        names.dedup();
        Self { names }
    }

    /// The region of the place a question names; `None` when it names none, or places in
    /// different regions ("von Halle nach Leipzig gezogen": which one is meant is unclear).
    pub fn named_in(&self, question: &str) -> Option<String> {
        let mut text = question.to_lowercase();
        let mut found: Option<String> = None;
        for (name, region) in &self.names {
            let Some(at) = find_word(&text, name) else { continue };
            // A longer name already matched here contains this one ("Sachsen-Anhalt").
            text.replace_range(at..at + name.len(), &" ".repeat(name.len()));
            match &found {
                None => found = Some(region.clone()),
                Some(f) if f == region => {}
                // Two names, one within the other's region: the narrower is meant ("Leipzig in Sachsen").
                Some(f) if region_contains(f, region) => found = Some(region.clone()),
                Some(f) if region_contains(region, f) => {}
                Some(_) => return None,
            }
        }
        found
    }
}

/// The names of a place as people write them, from an authority's name.
fn variants(name: &str) -> Vec<String> {
    let name = name.trim();
    let mut out = vec![name.to_owned()];
    let mut bare = name;
    for prefix in PREFIXES {
        if let Some(rest) = bare.strip_prefix(prefix).filter(|r| r.starts_with(' ')) {
            bare = rest.trim_start();
            break;
        }
    }
    out.push(bare.to_owned());
    if let Some(open) = bare.find(" (") {
        out.push(bare[..open].trim().to_owned());
    }
    out.retain(|v| v.chars().count() >= 3);
    out.dedup();
    out
}

/// Where `word` occurs in `text` as whole words (not inside another word).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let at = from + i;
        let end = at + word.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return Some(at);
        }
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(authority: Option<&str>, region: Option<&str>) -> Document {
        Document {
            id: "x".into(),
            title: "x".into(),
            text: "x".into(),
            url: None,
            authority: authority.map(Into::into),
            region: region.map(Into::into),
            origin: "import".into(),
            language: "de".into(),
        }
    }

    #[test]
    fn own_shared_and_foreign_documents() {
        let leipzig = Scope { authorities: vec!["leipzig".into()], region: Some("147130000000".into()) };
        assert!(leipzig.first(&document(None, None)), "shared");
        assert!(leipzig.first(&document(Some("leipzig"), None)), "own authority");
        assert!(leipzig.first(&document(None, Some("14"))), "Sachsen contains Leipzig");
        assert!(leipzig.first(&document(None, Some("14713"))));
        assert!(!leipzig.first(&document(Some("halle"), None)), "another authority");
        assert!(!leipzig.first(&document(None, Some("15002"))), "another region");
        assert!(!leipzig.first(&document(None, Some("147130001"))), "a part of Leipzig's area does not contain all of it");
        assert!(Scope::default().first(&document(Some("halle"), None)), "nothing known: all alike");
    }

    #[test]
    fn significant_prefixes() {
        assert_eq!(significant("146120000000"), "14612");
        assert_eq!(significant("147130000000"), "14713");
        assert_eq!(significant("140000000000"), "14");
        assert_eq!(significant("14"), "14");
        assert!(region_contains("140000000000", "147130000000"));
        assert!(!region_contains("", "147130000000"));
    }

    #[test]
    fn places_named_in_questions() {
        let places = Places::new([("Stadt Leipzig", "147130000000"), ("Stadt Halle (Saale)", "150020000000"), ("Stadt Erfurt", "160510000000")]);
        assert_eq!(places.named_in("Wann wird in Leipzig der Sperrmüll abgeholt?").as_deref(), Some("147130000000"));
        assert_eq!(places.named_in("Ich wohne in Halle (Saale)").as_deref(), Some("150020000000"));
        assert_eq!(places.named_in("ich wohne in halle, was muss ich tun?").as_deref(), Some("150020000000"));
        assert_eq!(places.named_in("Gilt das in Sachsen-Anhalt?").as_deref(), Some("15"), "not Sachsen");
        assert_eq!(places.named_in("Gilt das in Sachsen?").as_deref(), Some("14"));
        assert_eq!(places.named_in("Leipzig in Sachsen").as_deref(), Some("147130000000"), "the narrower place");
        assert_eq!(places.named_in("Ich bin von Halle nach Leipzig gezogen."), None, "two places: unclear");
        assert_eq!(places.named_in("Wo ist die Leipziger Straße?"), None, "only whole words");
        assert_eq!(places.named_in("Wie beantrage ich einen Parkausweis?"), None);
        assert_eq!(places.named_in("Where do I register in Erfurt?").as_deref(), Some("160510000000"));
    }
}
