//! People who log in, and their roles.

use crate::identifiers::{IdNr, RegionKey};
use crate::ids::{AuthorityId, UserId};
use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Caseworker,
    TeamLead,
    Admin,
    /// Datenschutzbeauftragte: reads transfer logs and the ledger, never case contents.
    DataProtection,
    /// The platform itself: automated decisions (§ 35a VwVfG).
    System,
    /// A specialist procedure (Fachverfahren) through the API.
    Procedure,
    /// The platform operator of a data centre: sets up authorities, their responsibilities,
    /// services and staff; belongs to no authority and reads no case.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Caseworker => "caseworker",
            Self::TeamLead => "team_lead",
            Self::Admin => "admin",
            Self::DataProtection => "data_protection",
            Self::System => "system",
            Self::Procedure => "procedure",
            Self::Operator => "operator",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Citizen, Self::Caseworker, Self::TeamLead, Self::Admin, Self::DataProtection, Self::System, Self::Procedure, Self::Operator].into_iter().find(|r| r.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Citizen => "Bürgerin oder Bürger",
            Self::Caseworker => "Sachbearbeitung",
            Self::TeamLead => "Teamleitung",
            Self::Admin => "Fachadministration",
            Self::DataProtection => "Datenschutz",
            Self::System => "Automatisiertes Verfahren",
            Self::Procedure => "Fachverfahren",
            Self::Operator => "Plattformbetrieb",
        }
    }
    /// A stored role name in German, as a history names the actor; a name this version does
    /// not know (the console, an older role) reads as the platform's.
    pub fn label_of(stored: &str) -> &'static str {
        Self::parse(stored).map(Self::label).unwrap_or("Plattform")
    }
    /// Staff work for one authority and see its cases.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Caseworker | Self::TeamLead)
    }
    /// Everyone who works for an authority (and logs in to the workspace).
    pub fn is_authority_member(self) -> bool {
        matches!(self, Self::Caseworker | Self::TeamLead | Self::Admin | Self::DataProtection)
    }
}

/// Level of assurance of a login (eIDAS: substantial, high). The Länder accounts and the BundID
/// give "substantiell" for ELSTER certificates and "hoch" for the online ID card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssuranceLevel {
    Substantiell,
    Hoch,
}

impl AssuranceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Substantiell => "substantiell",
            Self::Hoch => "hoch",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Substantiell, Self::Hoch].into_iter().find(|l| l.as_str() == s)
    }
}

/// What the state knows of a citizen from the login: the person data that forms and routing use.
/// `Debug` is deliberately not derived: this is personal data.
#[derive(Clone, Serialize, Deserialize)]
pub struct Person {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Date,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// Where the person lives: decides which authority is responsible.
    pub region: RegionKey,
    pub idnr: Option<IdNr>,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Person(***)")
    }
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub role: Role,
    /// The name shown in the header; for staff their work name.
    pub display_name: String,
    /// For staff: the authority they work for.
    pub authority_id: Option<AuthorityId>,
    /// For citizens: their person data.
    pub person: Option<Person>,
}
