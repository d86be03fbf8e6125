//! Decision rules of a service, declarative (see `docs/rules.md`): conditions on the form data
//! and on the evidence fetched from registers, and whether a law allows the service to be decided
//! fully automatically (§ 35a VwVfG). On submission the rules run; when the service allows it and
//! every rule holds, the application is approved at once, with an explanation of each rule
//! checked; otherwise the case goes to the inbox with the trace. Rules never reject on their own:
//! a failed rule means a person looks at the case.
//!
//! ```json
//! {"automation": true, "automation_basis": "§ 35a VwVfG in Verbindung mit § 2 EPPSG",
//!  "processing_days": 14,
//!  "rules": [{"id": "eingeschrieben", "label": "Einschreibung am Stichtag", "legal_basis": "§ 1 EPPSG",
//!             "check": {"evidence": {"type": "urn:amtsweg:evidence:enrolment", "pointer": "/enrolled",
//!                                    "test": {"equals": true}}},
//!             "passed": "Das Immatrikulationsregister bestätigt die Einschreibung am Stichtag.",
//!             "failed": "Das Immatrikulationsregister bestätigt keine Einschreibung am Stichtag."}]}
//! ```

use crate::form::{Condition, lookup};
use crate::form::FormData;
use crate::identifiers::RegionKey;
use crate::records::EvidenceRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

fn default_days() -> u32 {
    30
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRules {
    /// Whether a law permits deciding this service fully automatically.
    #[serde(default)]
    pub automation: bool,
    /// The law that permits it (named in the Bescheid).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub automation_basis: String,
    /// Days from submission to the deadline of a case.
    #[serde(default = "default_days")]
    pub processing_days: u32,
    #[serde(default)]
    pub rules: Vec<DecisionRule>,
}

impl Default for DecisionRules {
    fn default() -> Self {
        Self { automation: false, automation_basis: String::new(), processing_days: default_days(), rules: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRule {
    pub id: String,
    /// What is checked, in a few German words.
    pub label: String,
    #[serde(default)]
    pub legal_basis: String,
    #[schema(value_type = Object)]
    pub check: RuleCheck,
    /// The explanation when the rule holds (shown in the Bescheid).
    pub passed: String,
    /// The explanation when it does not (shown to the caseworker).
    pub failed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleCheck {
    /// A condition on the form data, in the language of the form rules.
    Form(Condition),
    /// A value in the evidence a register delivered.
    Evidence(EvidenceCheck),
    /// All of these hold.
    All(Vec<RuleCheck>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceCheck {
    /// The evidence type, e.g. `urn:amtsweg:evidence:enrolment`.
    #[serde(rename = "type")]
    pub evidence_type: String,
    /// A JSON pointer into the register's document; `*` stands for every element of a list.
    pub pointer: String,
    pub test: EvidenceTest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EvidenceTest {
    /// Some value at the pointer equals this.
    Equals(Value),
    /// Some value at the pointer equals the form field's value (letters compared without case
    /// and spaces, as for number plates).
    MatchesField(String),
    /// Some value at the pointer is a regional key within the deciding authority's region.
    WithinAuthorityRegion,
}

/// What the rules need to know of a case.
pub struct RuleInput<'a> {
    pub data: &'a FormData,
    /// The evidence attached to the application (from registers or uploaded).
    pub evidence: &'a [EvidenceRecord],
    pub authority_region: &'a RegionKey,
    pub today: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleResult {
    Passed,
    Failed,
    /// The rule could not be checked by machine (evidence uploaded instead, or missing).
    Open,
}

impl RuleResult {
    pub fn label(self) -> &'static str {
        match self {
            Self::Passed => "erfüllt",
            Self::Failed => "nicht erfüllt",
            Self::Open => "offen",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleOutcome {
    pub id: String,
    pub label: String,
    pub legal_basis: String,
    pub result: RuleResult,
    pub explanation: String,
    /// What the rule looked at: `field:NAME` or `evidence:TYPE`.
    pub sources: Vec<String>,
}

/// The rules as they ran on one case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleTrace {
    /// Whether the service allows full automation.
    pub automation_allowed: bool,
    pub automation_basis: String,
    pub outcomes: Vec<RuleOutcome>,
}

impl RuleTrace {
    /// Decided without a person: the law allows it, there are rules, and every one holds.
    pub fn decides_automatically(&self) -> bool {
        self.automation_allowed && !self.outcomes.is_empty() && self.outcomes.iter().all(|o| o.result == RuleResult::Passed)
    }

    /// The rules that did not hold or stayed open.
    pub fn unmet(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.outcomes.iter().filter(|o| o.result != RuleResult::Passed)
    }
}

/// A problem in a rule set, found before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Regel „{rule}“: {problem}")]
pub struct RulesError {
    pub rule: String,
    pub problem: String,
}

impl DecisionRules {
    /// Reads a rule set from JSON and checks it against the service's form and evidence.
    pub fn parse(json: &str) -> Result<Self, RulesError> {
        serde_json::from_str(json).map_err(|e| RulesError { rule: String::new(), problem: format!("ungültiges JSON: {e}") })
    }

    /// Every field and evidence type a rule names must exist; ids must be unique; automation
    /// needs its legal basis.
    pub fn check(&self, form_fields: &[String], evidence_types: &[String]) -> Result<(), RulesError> {
        if self.automation && self.automation_basis.trim().is_empty() {
            return Err(RulesError { rule: String::new(), problem: "Vollautomatisierung braucht die Rechtsgrundlage, die sie erlaubt (automation_basis).".into() });
        }
        if !(1..=3650).contains(&self.processing_days) {
            return Err(RulesError { rule: String::new(), problem: "Die Bearbeitungsfrist (processing_days) muss zwischen 1 und 3650 Tagen liegen.".into() });
        }
        let mut seen = std::collections::HashSet::new();
        for r in &self.rules {
            let err = |problem: String| RulesError { rule: r.id.clone(), problem };
            if r.id.trim().is_empty() || !seen.insert(r.id.as_str()) {
                return Err(err("die Kennung fehlt oder kommt doppelt vor".into()));
            }
            if has_empty_all(&r.check) {
                return Err(err("„all“ braucht mindestens eine Bedingung".into()));
            }
            if r.label.trim().is_empty() || r.passed.trim().is_empty() || r.failed.trim().is_empty() {
                return Err(err("label, passed und failed dürfen nicht leer sein".into()));
            }
            for source in sources(&r.check) {
                if let Some(field) = source.strip_prefix("field:") {
                    let top = field.split('.').next().unwrap_or_default();
                    if !form_fields.iter().any(|f| f == top) {
                        return Err(err(format!("das Feld „{field}“ gibt es im Formular nicht")));
                    }
                } else if let Some(t) = source.strip_prefix("evidence:") {
                    if !evidence_types.iter().any(|e| e == t) {
                        return Err(err(format!("den Nachweis „{t}“ verlangt die Leistung nicht")));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn run(&self, input: &RuleInput<'_>) -> RuleTrace {
        let outcomes = self
            .rules
            .iter()
            .map(|r| {
                let result = evaluate(&r.check, input);
                let explanation = match result {
                    RuleResult::Passed => r.passed.clone(),
                    RuleResult::Failed => r.failed.clone(),
                    RuleResult::Open => open_explanation(&r.check, input),
                };
                RuleOutcome {
                    id: r.id.clone(),
                    label: r.label.clone(),
                    legal_basis: r.legal_basis.clone(),
                    result,
                    explanation,
                    sources: sources(&r.check),
                }
            })
            .collect();
        RuleTrace { automation_allowed: self.automation, automation_basis: self.automation_basis.clone(), outcomes }
    }
}

fn has_empty_all(check: &RuleCheck) -> bool {
    match check {
        RuleCheck::All(cs) => cs.is_empty() || cs.iter().any(has_empty_all),
        _ => false,
    }
}

fn sources(check: &RuleCheck) -> Vec<String> {
    match check {
        RuleCheck::Form(c) => c.paths().into_iter().map(|p| format!("field:{p}")).collect(),
        RuleCheck::Evidence(e) => {
            let mut s = vec![format!("evidence:{}", e.evidence_type)];
            if let EvidenceTest::MatchesField(f) = &e.test {
                s.push(format!("field:{f}"));
            }
            s
        }
        RuleCheck::All(cs) => {
            let mut all: Vec<String> = Vec::new();
            for s in cs.iter().flat_map(sources) {
                if !all.contains(&s) {
                    all.push(s);
                }
            }
            all
        }
    }
}

fn register_document<'a>(input: &'a RuleInput<'_>, evidence_type: &str) -> Option<&'a EvidenceRecord> {
    input.evidence.iter().find(|e| e.evidence_type == evidence_type && e.status == "attached" && e.source == "register")
}

fn evaluate(check: &RuleCheck, input: &RuleInput<'_>) -> RuleResult {
    match check {
        RuleCheck::Form(c) => {
            if c.holds(input.data, input.today) {
                RuleResult::Passed
            } else {
                RuleResult::Failed
            }
        }
        RuleCheck::Evidence(e) => {
            let Some(record) = register_document(input, &e.evidence_type) else { return RuleResult::Open };
            let Ok(document) = serde_json::from_str::<Value>(&record.document) else { return RuleResult::Open };
            let values = values_at(&document, &e.pointer);
            let holds = match &e.test {
                EvidenceTest::Equals(expected) => values.iter().any(|v| *v == expected),
                EvidenceTest::MatchesField(field) => match lookup(input.data, field).and_then(Value::as_str) {
                    Some(given) => values.iter().filter_map(|v| v.as_str()).any(|v| same_letters(v, given)),
                    None => false,
                },
                EvidenceTest::WithinAuthorityRegion => values
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter_map(|v| RegionKey::parse(v).ok())
                    .any(|k| input.authority_region.contains(&k)),
            };
            if holds { RuleResult::Passed } else { RuleResult::Failed }
        }
        RuleCheck::All(cs) => {
            let results: Vec<RuleResult> = cs.iter().map(|c| evaluate(c, input)).collect();
            if results.contains(&RuleResult::Failed) {
                RuleResult::Failed
            } else if results.contains(&RuleResult::Open) {
                RuleResult::Open
            } else {
                RuleResult::Passed
            }
        }
    }
}

fn open_explanation(check: &RuleCheck, input: &RuleInput<'_>) -> String {
    let missing: Vec<&str> = match check {
        RuleCheck::Evidence(e) => vec![e.evidence_type.as_str()],
        RuleCheck::All(cs) => cs
            .iter()
            .filter_map(|c| match c {
                RuleCheck::Evidence(e) if evaluate(c, input) == RuleResult::Open => Some(e.evidence_type.as_str()),
                _ => None,
            })
            .collect(),
        RuleCheck::Form(_) => Vec::new(),
    };
    let uploaded = missing.iter().any(|t| input.evidence.iter().any(|e| e.evidence_type == *t && e.source == "upload" && e.status == "attached"));
    if uploaded {
        "Der Nachweis wurde hochgeladen statt aus dem Register abgerufen; die Sachbearbeitung prüft ihn.".into()
    } else {
        "Der Nachweis liegt nicht aus dem Register vor; die Sachbearbeitung prüft den Antrag.".into()
    }
}

/// The values a pointer reaches; a `*` segment stands for every element of a list.
fn values_at<'a>(doc: &'a Value, pointer: &str) -> Vec<&'a Value> {
    let mut current = vec![doc];
    for segment in pointer.split('/').skip(1) {
        let mut next = Vec::new();
        for v in current {
            match (segment, v) {
                ("*", Value::Array(items)) => next.extend(items.iter()),
                (key, Value::Object(o)) => next.extend(o.get(key)),
                (index, Value::Array(items)) => next.extend(index.parse::<usize>().ok().and_then(|i| items.get(i))),
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn same_letters(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect::<String>();
    let (a, b) = (norm(a), norm(b));
    !a.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ApplicationId;
    use serde_json::json;

    fn record(t: &str, source: &str, doc: Value) -> EvidenceRecord {
        EvidenceRecord {
            id: "e".into(),
            application_id: ApplicationId::parse("a").unwrap(),
            evidence_type: t.into(),
            source: source.into(),
            status: "attached".into(),
            register: Some("r".into()),
            media_type: "application/json".into(),
            document: doc.to_string(),
            transfer_id: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn parking_rules() -> DecisionRules {
        DecisionRules::parse(
            r#"{"automation": true, "automation_basis": "§ 35a VwVfG", "rules": [
              {"id": "wohnsitz", "label": "Hauptwohnsitz im Gebiet", "check": {"all": [
                 {"evidence": {"type": "res", "pointer": "/main_residence", "test": {"equals": true}}},
                 {"evidence": {"type": "res", "pointer": "/ars", "test": "within_authority_region"}}]},
               "passed": "ja", "failed": "nein"},
              {"id": "halter", "label": "Halter", "check": {"all": [
                 {"form": {"equals": {"field": "halter", "value": "selbst"}}},
                 {"evidence": {"type": "veh", "pointer": "/vehicles/*/plate", "test": {"matches_field": "kennzeichen"}}}]},
               "passed": "ja", "failed": "nein"}]}"#,
        )
        .unwrap()
    }

    fn run(rules: &DecisionRules, data: Value, evidence: &[EvidenceRecord]) -> RuleTrace {
        let data = data.as_object().unwrap().clone();
        let region = RegionKey::parse("147130000000").unwrap();
        rules.run(&RuleInput { data: &data, evidence, authority_region: &region, today: time::macros::date!(2026 - 11 - 22) })
    }

    #[test]
    fn every_rule_holding_decides_automatically() {
        let evidence = [
            record("res", "register", json!({"main_residence": true, "ars": "147130000000"})),
            record("veh", "register", json!({"vehicles": [{"plate": "DD-X 1"}, {"plate": "L-AB 1234"}]})),
        ];
        let trace = run(&parking_rules(), json!({"halter": "selbst", "kennzeichen": "l-ab1234"}), &evidence);
        assert!(trace.decides_automatically(), "{trace:?}");
        assert_eq!(trace.outcomes[1].sources, vec!["field:halter", "evidence:veh", "field:kennzeichen"]);
    }

    #[test]
    fn a_mismatch_fails_and_goes_to_a_person() {
        let evidence = [
            record("res", "register", json!({"main_residence": true, "ars": "150020000000"})),
            record("veh", "register", json!({"vehicles": [{"plate": "L-AB 1234"}]})),
        ];
        let trace = run(&parking_rules(), json!({"halter": "selbst", "kennzeichen": "L-XY 9"}), &evidence);
        assert!(!trace.decides_automatically());
        let results: Vec<RuleResult> = trace.outcomes.iter().map(|o| o.result).collect();
        assert_eq!(results, vec![RuleResult::Failed, RuleResult::Failed]);
        assert_eq!(trace.unmet().count(), 2);
    }

    #[test]
    fn uploaded_evidence_leaves_the_rule_open() {
        let evidence = [record("res", "upload", json!({})), record("veh", "register", json!({"vehicles": [{"plate": "L-AB 1234"}]}))];
        let trace = run(&parking_rules(), json!({"halter": "selbst", "kennzeichen": "L-AB 1234"}), &evidence);
        assert_eq!(trace.outcomes[0].result, RuleResult::Open);
        assert!(trace.outcomes[0].explanation.contains("hochgeladen"));
        assert_eq!(trace.outcomes[1].result, RuleResult::Passed);
        assert!(!trace.decides_automatically());
    }

    #[test]
    fn without_permission_nothing_is_automatic() {
        let mut rules = parking_rules();
        rules.automation = false;
        let evidence = [
            record("res", "register", json!({"main_residence": true, "ars": "147130000000"})),
            record("veh", "register", json!({"vehicles": [{"plate": "L-AB 1234"}]})),
        ];
        let trace = run(&rules, json!({"halter": "selbst", "kennzeichen": "L-AB 1234"}), &evidence);
        assert!(trace.outcomes.iter().all(|o| o.result == RuleResult::Passed));
        assert!(!trace.decides_automatically());
    }

    #[test]
    fn rule_sets_are_checked_against_the_service() {
        let rules = parking_rules();
        let fields = vec!["halter".to_owned(), "kennzeichen".to_owned()];
        assert!(rules.check(&fields, &["res".into(), "veh".into()]).is_ok());
        let e = rules.check(&fields, &["res".into()]).unwrap_err();
        assert_eq!(e.rule, "halter");
        assert!(rules.check(&["halter".into()], &["res".into(), "veh".into()]).is_err());
        let mut no_basis = rules.clone();
        no_basis.automation_basis.clear();
        assert!(no_basis.check(&fields, &["res".into(), "veh".into()]).is_err());
        assert!(DecisionRules::parse(r#"{"rules": [{"id": "x"}]}"#).is_err());
        let empty_all = DecisionRules::parse(r#"{"rules": [{"id": "x", "label": "X", "check": {"all": []}, "passed": "ja", "failed": "nein"}]}"#).unwrap();
        assert!(empty_all.check(&fields, &[]).is_err(), "an empty all would always hold");
        let mut long = rules.clone();
        long.processing_days = 4_000_000;
        assert!(long.check(&fields, &["res".into(), "veh".into()]).is_err());
    }
}
