//! The Mängelmelder: reports of what is broken in public space (a pothole, a dark street
//! light, dumped rubbish), the categories an authority offers for them (Open311 "services")
//! with their extra questions, the departments that handle them, and the areas that decide
//! which department a place belongs to.
//!
//! A report's personal data (who reported it and how to reach them) is kept apart from its
//! public part in [`Reporter`], so that nothing public can reach it by accident, and so that it
//! can be deleted after the retention period while the report stays.

use crate::AuthorityId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Longest description of a report, in characters (Open311 GeoReport v2).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Reports of the same category nearer than this are shown as possible duplicates.
pub const DUPLICATE_RADIUS_M: f64 = 250.0;

/// A team of an authority that handles reports (the "department" of Open311).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub authority_id: AuthorityId,
    pub name: String,
}

/// The datatypes of Open311 attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub const ALL: [Datatype; 6] = [Self::String, Self::Number, Self::Datetime, Self::Text, Self::Singlevaluelist, Self::Multivaluelist];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Datetime => "datetime",
            Self::Text => "text",
            Self::Singlevaluelist => "singlevaluelist",
            Self::Multivaluelist => "multivaluelist",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    pub fn is_list(self) -> bool {
        matches!(self, Self::Singlevaluelist | Self::Multivaluelist)
    }
}

/// An extra question of a category (an Open311 attribute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub code: String,
    /// The question as the citizen reads it.
    pub description: String,
    pub datatype: Datatype,
    pub required: bool,
    /// A hint on the answer ("Anzahl", "TT.MM.JJJJ").
    #[serde(default)]
    pub datatype_description: String,
    /// Position among the category's questions, from 1.
    pub order: u32,
    /// For list types: the choices, as (key, name).
    #[serde(default)]
    pub values: Vec<(String, String)>,
}

/// When a report becomes public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Publication {
    /// After a member of the department checked it (and blacked out what must not be seen).
    Moderated,
    /// At once.
    Immediate,
}

/// A kind of report an authority takes (an Open311 "service").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub authority_id: AuthorityId,
    /// Unique within the authority; letters, digits, `-` and `_`.
    pub code: String,
    pub name: String,
    pub group: String,
    pub keywords: Vec<String>,
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub publication: Publication,
    /// Days the department has for a report before it is overdue.
    pub deadline_days: u32,
}

/// Why a category is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("Der Kurzname darf nur Buchstaben, Ziffern, „-“ und „_“ enthalten (höchstens 40 Zeichen).")]
    Code,
    #[error("Der Name fehlt oder ist länger als 100 Zeichen.")]
    Name,
    #[error("Frage {0}: Der Kurzname ist leer, ungültig oder doppelt.")]
    AttributeCode(usize),
    #[error("Frage {0}: Der Fragetext fehlt.")]
    AttributeText(usize),
    #[error("Frage {0}: Eine Auswahlliste braucht mindestens eine Auswahl, jeden Schlüssel nur einmal.")]
    AttributeValues(usize),
    #[error("Die Reihenfolge der Fragen muss aus verschiedenen Zahlen ab 1 bestehen.")]
    Order,
    #[error("Die Frist muss zwischen 1 und 365 Tagen liegen.")]
    Deadline,
}

/// Whether `code` may name a category, an attribute or an area: 1–40 of `[A-Za-z0-9_-]`.
pub fn valid_code(code: &str) -> bool {
    (1..=40).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Category {
    pub fn check(&self) -> Result<(), CategoryError> {
        if !valid_code(&self.code) {
            return Err(CategoryError::Code);
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(CategoryError::Name);
        }
        if !(1..=365).contains(&self.deadline_days) {
            return Err(CategoryError::Deadline);
        }
        let mut codes = std::collections::BTreeSet::new();
        let mut orders = std::collections::BTreeSet::new();
        for (i, a) in self.attributes.iter().enumerate() {
            let n = i + 1;
            if !valid_code(&a.code) || !codes.insert(a.code.as_str()) {
                return Err(CategoryError::AttributeCode(n));
            }
            if a.description.trim().is_empty() {
                return Err(CategoryError::AttributeText(n));
            }
            let keys: std::collections::BTreeSet<&str> = a.values.iter().map(|(k, _)| k.as_str()).collect();
            if a.datatype.is_list() && (a.values.is_empty() || keys.len() != a.values.len() || keys.iter().any(|k| k.is_empty())) {
                return Err(CategoryError::AttributeValues(n));
            }
            if a.order == 0 || !orders.insert(a.order) {
                return Err(CategoryError::Order);
            }
        }
        Ok(())
    }

    /// Whether Open311 clients must read the definition (the category has questions).
    pub fn has_questions(&self) -> bool {
        !self.attributes.is_empty()
    }
}

/// Where a department is responsible: a drawn area (GeoJSON) or a whole region by its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub id: String,
    pub authority_id: AuthorityId,
    pub name: String,
    /// A `MultiPolygon` in WGS 84 (checked on import); empty for a region by key.
    pub geometry: String,
    /// Square metres: the smaller of two areas that hold a point is the more specific.
    pub area_m2: f64,
    /// `(west, south, east, north)`, for a quick test before the exact one.
    pub bounds: (f64, f64, f64, f64),
    /// For a whole region by its Amtlicher Regionalschlüssel (12 digits, trailing zero
    /// segments for the whole Kreis or Land): no drawing (`geometry` empty, size and bounds 0).
    #[serde(default)]
    pub ars: Option<String>,
}

/// Which department handles a category in an area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub authority_id: AuthorityId,
    pub category: String,
    pub area_id: String,
    pub department_id: String,
}

/// The state of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Open,
    InProgress,
    Scheduled,
    Fixed,
    Closed,
    Duplicate,
    /// Not ours: forwarded to the responsible authority.
    Forwarded,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 7] = [Self::Open, Self::InProgress, Self::Scheduled, Self::Fixed, Self::Closed, Self::Duplicate, Self::Forwarded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Scheduled => "scheduled",
            Self::Fixed => "fixed",
            Self::Closed => "closed",
            Self::Duplicate => "duplicate",
            Self::Forwarded => "forwarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "offen",
            Self::InProgress => "in Bearbeitung",
            Self::Scheduled => "eingeplant",
            Self::Fixed => "behoben",
            Self::Closed => "abgeschlossen",
            Self::Duplicate => "bereits gemeldet",
            Self::Forwarded => "weitergeleitet",
        }
    }

    /// Whether the report is finished (Open311 `closed`).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Fixed | Self::Closed | Self::Duplicate | Self::Forwarded)
    }

    /// The core Open311 status: `open` or `closed`.
    pub fn open311(self) -> &'static str {
        if self.is_closed() { "closed" } else { "open" }
    }

    /// FixMyStreet's extended status for `servicerequestupdates` (lower case).
    pub fn fixmystreet(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Scheduled => "action_scheduled",
            Self::Fixed => "fixed",
            Self::Closed => "closed",
            Self::Duplicate => "duplicate",
            Self::Forwarded => "not_councils_responsibility",
        }
    }

    /// A status as FixMyStreet sends it (`OPEN`, `FIXED`, `IN_PROGRESS`, …; any case).
    /// `None` for `unchanged` and unknown ones.
    pub fn from_fixmystreet(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().replace(' ', "_").as_str() {
            "open" | "reopen" | "confirmed" | "investigating" | "for_triage" => Self::Open,
            "in_progress" | "internal_referral" => Self::InProgress,
            "action_scheduled" | "planned" => Self::Scheduled,
            "fixed" => Self::Fixed,
            "closed" | "no_further_action" | "cancelled" => Self::Closed,
            "duplicate" => Self::Duplicate,
            "not_councils_responsibility" => Self::Forwarded,
            _ => return None,
        })
    }
}

/// What a reporter is told of a public change of their report (in the mailbox or by e-mail):
/// the subject and the text, ending with `link` to the report's page.
pub fn update_message(report: i64, status: ReportStatus, note: &str, link: &str) -> (String, String) {
    let mut body = format!("Ihre Meldung Nr. {report} ist jetzt: {}.", status.label());
    if !note.is_empty() {
        body.push_str("\n\n");
        body.push_str(note);
    }
    body.push_str(&format!("\n\nStand und Verlauf: {link}"));
    (format!("Ihre Meldung Nr. {report}: {}", status.label()), body)
}

/// Who reported, and how to reach them: personal data, never public, deleted after the
/// retention period. Its `Debug` names only which fields are set (as `Person`'s does), so that
/// no value reaches a log through a `{:?}`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reporter {
    /// A logged-in citizen: updates go to their mailbox.
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "<set>" } else { "-" };
        f.debug_struct("Reporter")
            .field("user_id", &set(&self.user_id))
            .field("email", &set(&self.email))
            .field("first_name", &set(&self.first_name))
            .field("last_name", &set(&self.last_name))
            .field("phone", &set(&self.phone))
            .field("device_id", &set(&self.device_id))
            .field("account_id", &set(&self.account_id))
            .finish()
    }
}

impl Reporter {
    pub fn is_empty(&self) -> bool {
        *self == Reporter::default()
    }
}

/// Where a report is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// The address as given or matched.
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub postcode: Option<String>,
}

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The public number (Open311 `service_request_id`).
    pub id: i64,
    pub authority_id: AuthorityId,
    pub category: String,
    pub department_id: String,
    pub area_id: String,
    pub location: Location,
    /// As the reporter wrote it (seen by the department only).
    pub description: String,
    /// What the public sees: the description, after moderation where the category asks for it.
    pub public_description: String,
    /// Answers to the category's questions, by attribute code.
    pub answers: BTreeMap<String, Vec<String>>,
    pub status: ReportStatus,
    pub published: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deadline_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    /// Citizens who said "me too".
    pub supporters: i64,
    /// Report this one duplicates.
    pub duplicate_of: Option<i64>,
    /// Authority it was forwarded to (its name).
    pub forwarded_to: Option<String>,
    /// A token for batch clients (Open311 `tokens/{token}`).
    pub token: String,
    /// Photos kept with the report (their ids), and media URLs a client sent.
    pub photos: Vec<String>,
    /// Where it came from: `portal` or `open311:<client>`.
    pub source: String,
    pub reporter: Reporter,
    /// When the reporter confirmed the e-mail address (updates go there from then on).
    pub email_confirmed_at: Option<OffsetDateTime>,
    /// When the personal data was deleted (retention).
    pub personal_deleted_at: Option<OffsetDateTime>,
}

/// A status change or note on a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportUpdate {
    /// Stable (Open311 `update_id`).
    pub id: i64,
    pub report_id: i64,
    pub at: OffsetDateTime,
    pub status: ReportStatus,
    /// Public note (or, when `internal`, the department's note).
    pub note: String,
    pub internal: bool,
    /// A client's own id for the update (FixMyStreet's), for idempotent re-sends.
    pub external_id: Option<String>,
}

/// A new report, checked and routed, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub authority_id: AuthorityId,
    pub category: String,
    pub department_id: String,
    pub area_id: String,
    pub location: Location,
    pub description: String,
    pub answers: BTreeMap<String, Vec<String>>,
    pub published: bool,
    pub deadline_at: OffsetDateTime,
    pub token: String,
    pub source: String,
    pub reporter: Reporter,
    /// Media URLs a client sent.
    pub photos: Vec<String>,
    /// Photos to keep with the report (checked, encrypted).
    pub photo_files: Vec<PhotoFile>,
}

/// A photo of a report as stored: checked and encoded again, then encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoFile {
    pub id: String,
    pub media_type: String,
    /// The encrypted bytes.
    pub sealed: String,
}

/// What a list of reports may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub authority_id: Option<AuthorityId>,
    pub ids: Vec<i64>,
    pub categories: Vec<String>,
    pub statuses: Vec<ReportStatus>,
    pub department_id: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Only reports whose deadline passed before this time.
    pub deadline_before: Option<OffsetDateTime>,
    /// Only published reports (everything public).
    pub published_only: bool,
    pub limit: i64,
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category() -> Category {
        Category {
            authority_id: AuthorityId::from_stored("leipzig".into()),
            code: "schlagloch".into(),
            name: "Schlagloch".into(),
            group: "Straße".into(),
            keywords: vec![],
            description: String::new(),
            attributes: vec![Attribute {
                code: "tiefe".into(),
                description: "Wie tief?".into(),
                datatype: Datatype::Singlevaluelist,
                required: true,
                datatype_description: String::new(),
                order: 1,
                values: vec![("flach".into(), "flach".into())],
            }],
            publication: Publication::Moderated,
            deadline_days: 14,
        }
    }

    #[test]
    fn categories_are_checked() {
        assert_eq!(category().check(), Ok(()));
        let mut c = category();
        c.code = "a.b".into();
        assert_eq!(c.check(), Err(CategoryError::Code));
        let mut c = category();
        c.attributes[0].values.clear();
        assert_eq!(c.check(), Err(CategoryError::AttributeValues(1)));
        let mut c = category();
        c.attributes.push(c.attributes[0].clone());
        assert_eq!(c.check(), Err(CategoryError::AttributeCode(2)));
    }

    #[test]
    fn a_reporters_debug_shows_no_value() {
        let r = Reporter { email: Some("geheim@example.org".into()), phone: Some("0341 123".into()), ..Default::default() };
        let shown = format!("{r:?}");
        assert!(!shown.contains("geheim") && !shown.contains("0341"), "{shown}");
        assert!(shown.contains("email: \"<set>\""), "{shown}");
    }

    #[test]
    fn statuses_map_to_open311_and_back() {
        for s in ReportStatus::ALL {
            assert_eq!(ReportStatus::parse(s.as_str()), Some(s));
            assert_eq!(ReportStatus::from_fixmystreet(&s.fixmystreet().to_uppercase()), Some(s), "{s:?}");
        }
        assert_eq!(ReportStatus::Fixed.open311(), "closed");
        assert_eq!(ReportStatus::Scheduled.open311(), "open");
        assert_eq!(ReportStatus::from_fixmystreet("UNCHANGED"), None);
    }
}
