//! Authorities (tenants), the services they offer, and who is responsible where.

use crate::form::FormModel;
use crate::identifiers::RegionKey;
use crate::ids::{AuthorityId, ServiceId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authority {
    pub id: AuthorityId,
    pub name: String,
    /// Short code used in case numbers, e.g. `L` for Leipzig.
    pub short_code: String,
    pub region: RegionKey,
    /// Postal address for the letterhead, one line.
    pub address: String,
    /// How citizens reach the authority (printed in the Bescheid, shown in the portal).
    #[serde(default)]
    pub contact: Contact,
    /// The head of the Bescheid, e.g. "Stadt Leipzig · Ordnungsamt"; empty: the name.
    #[serde(default)]
    pub letterhead: String,
    /// A deactivated authority keeps its cases and records, but is responsible for nothing new
    /// and its staff cannot log in.
    #[serde(default = "active")]
    pub active: bool,
    /// Only the person a case is assigned to, or a team lead, may decide it (off: any
    /// caseworker of the authority may; a decision instead of the assignee is then marked).
    #[serde(default)]
    pub assignee_decides: bool,
}

fn active() -> bool {
    true
}

impl Authority {
    /// What the Bescheid prints at its head.
    pub fn letterhead(&self) -> &str {
        if self.letterhead.trim().is_empty() { &self.name } else { &self.letterhead }
    }
}

/// How to reach an authority; each part may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// Opening hours as people write them ("Mo–Fr 9–12 Uhr, Do 13–18 Uhr").
    #[serde(default)]
    pub opening_hours: String,
}

impl Contact {
    /// One line for a letter: the parts that are given, separated by " · ".
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if !self.phone.is_empty() {
            parts.push(format!("Telefon {}", self.phone));
        }
        if !self.email.is_empty() {
            parts.push(format!("E-Mail {}", self.email));
        }
        if !self.opening_hours.is_empty() {
            parts.push(format!("Sprechzeiten {}", self.opening_hours));
        }
        parts.join(" · ")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    /// LeiKa key, if the service has one.
    pub leika_key: Option<String>,
    /// One sentence for the list of services.
    pub summary: String,
    /// The topic the service is listed under in the portal (a FIM/LeiKa group such as
    /// "Verkehr und Mobilität", or the operator's own); empty: "Weitere Leistungen".
    #[serde(default)]
    pub category: String,
    /// What the service is, who may apply, what it costs; paragraphs separated by blank lines.
    pub description: String,
    /// The legal basis (Rechtsgrundlage), named to the citizen.
    pub legal_basis: String,
    pub form: FormModel,
    /// The evidence the authority needs, each fetchable from a register with the citizen's
    /// consent (or uploaded instead).
    #[serde(default)]
    pub evidence: Vec<EvidenceRequirement>,
    /// How the service is decided: rules, and whether the law allows full automation.
    #[serde(default)]
    pub decision: crate::decision::DecisionRules,
    /// The level of assurance a login needs to apply (`None`: any login).
    #[serde(default)]
    pub required_level: Option<crate::AssuranceLevel>,
}

impl Service {
    /// Checks the decision rules against this service's form and evidence.
    pub fn check_decision_rules(&self) -> Result<(), crate::decision::RulesError> {
        let mut names: Vec<String> = self.form.fields().iter().map(|f| f.id.clone()).collect();
        names.extend(self.form.groups.iter().map(|g| g.id.clone()));
        let evidence: Vec<String> = self.evidence.iter().map(|e| e.evidence_type.clone()).collect();
        self.decision.check(&names, &evidence)
    }
}

/// One piece of evidence a service needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceRequirement {
    /// The evidence type, e.g. `urn:amtsweg:evidence:main-residence`.
    #[serde(rename = "type")]
    pub evidence_type: String,
    /// The register that holds it, e.g. `melderegister`.
    pub register: String,
    /// Why the authority needs it, in German.
    pub purpose: String,
    /// The legal basis of the transfer.
    pub legal_basis: String,
}

/// Zuständigkeit: for this service, in this region, this authority decides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Responsibility {
    pub service_id: ServiceId,
    pub region: RegionKey,
    pub authority_id: AuthorityId,
}

/// Why an authority is (or is not) responsible for a service at a place: every responsibility
/// whose region contains the place, most specific first; the first is the one that applies.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub place: RegionKey,
    pub matching: Vec<Responsibility>,
}

impl Resolution {
    pub fn new<'a>(candidates: impl IntoIterator<Item = &'a Responsibility>, place: &RegionKey) -> Self {
        let mut matching: Vec<Responsibility> = candidates.into_iter().filter(|r| r.region.contains(place)).cloned().collect();
        matching.sort_by_key(|r| std::cmp::Reverse(r.region.significant_len()));
        Self { place: place.clone(), matching }
    }

    /// The responsibility that applies, if any.
    pub fn chosen(&self) -> Option<&Responsibility> {
        self.matching.first()
    }
}

impl Responsibility {
    /// Of several responsibilities whose region contains `home`, the most specific one wins.
    pub fn most_specific<'a>(
        candidates: impl IntoIterator<Item = &'a Responsibility>,
        home: &RegionKey,
    ) -> Option<&'a Responsibility> {
        candidates
            .into_iter()
            .filter(|r| r.region.contains(home))
            .max_by_key(|r| r.region.significant_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(region: &str, authority: &str) -> Responsibility {
        Responsibility {
            service_id: ServiceId::parse("s").unwrap(),
            region: RegionKey::parse(region).unwrap(),
            authority_id: AuthorityId::parse(authority).unwrap(),
        }
    }

    #[test]
    fn routing_picks_the_most_specific_region() {
        let all = [resp("140000000000", "land-sachsen"), resp("147130000000", "leipzig")];
        let leipzig = RegionKey::parse("147130000000").unwrap();
        let dresden = RegionKey::parse("146120000000").unwrap();
        let halle = RegionKey::parse("150020000000").unwrap();
        assert_eq!(Responsibility::most_specific(&all, &leipzig).unwrap().authority_id.as_str(), "leipzig");
        assert_eq!(
            Responsibility::most_specific(&all, &dresden).unwrap().authority_id.as_str(),
            "land-sachsen"
        );
        assert!(Responsibility::most_specific(&all, &halle).is_none());
    }

    #[test]
    fn gemeinde_over_kreis_over_land() {
        let all = [resp("140000000000", "land"), resp("145220000000", "landkreis"), resp("145225200320", "gemeinde")];
        let pick = |ars: &str| Resolution::new(&all, &RegionKey::parse(ars).unwrap()).chosen().map(|r| r.authority_id.to_string());
        // The municipality that handles the service itself.
        assert_eq!(pick("145225200320").as_deref(), Some("gemeinde"));
        // Another municipality of the same Kreis: the Landkreis.
        assert_eq!(pick("145225200330").as_deref(), Some("landkreis"));
        // Elsewhere in the Land: the Land.
        assert_eq!(pick("147130000000").as_deref(), Some("land"));
        // Another Land: nobody.
        assert_eq!(pick("150020000000"), None);
        // The reasons, most specific first.
        let why = Resolution::new(&all, &RegionKey::parse("145225200320").unwrap());
        let order: Vec<&str> = why.matching.iter().map(|r| r.authority_id.as_str()).collect();
        assert_eq!(order, ["gemeinde", "landkreis", "land"]);
    }
}
