//! Vermerk drafts: a structured draft (Sachverhalt, Prüfung, Ergebnis) made from the case file
//! and the rule trace, deterministically. Every statement names its sources: a form field
//! (`field:ID`), a piece of evidence (`evidence:TYPE`), a rule (`rule:ID`) or the case itself
//! (`case`). The caseworker edits the text and saves it to the file.

use amtsweg_domain::records::{CaseFile, EvidenceRecord};
use amtsweg_domain::RuleResult;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Statement {
    pub text: String,
    /// What the statement rests on: `case`, `field:ID`, `evidence:TYPE`, `rule:ID`.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Section {
    pub title: String,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemoDraft {
    pub sections: Vec<Section>,
    /// The draft as editable text, each statement followed by its sources in brackets.
    pub text: String,
}

fn st(text: impl Into<String>, sources: &[&str]) -> Statement {
    Statement { text: text.into(), sources: sources.iter().map(|s| (*s).to_owned()).collect() }
}

/// The draft for a case file.
pub fn draft(case: &CaseFile, evidence: &[EvidenceRecord]) -> MemoDraft {
    let mut facts = vec![st(
        format!(
            "Am {} ist der Antrag „{}“ eingegangen (Aktenzeichen {}).",
            crate::pages::date(case.created_at),
            case.service.name,
            case.case_number
        ),
        &["case"],
    )];
    for page in crate::forms::answers(&case.service.form, &case.data) {
        for a in page.answers {
            if a.value.trim().is_empty() {
                continue;
            }
            let top = a.id.split('.').next().unwrap_or(&a.id).to_owned();
            if !case.data.contains_key(&top) {
                continue;
            }
            facts.push(Statement { text: format!("{}: {}", a.label, a.value), sources: vec![format!("field:{top}")] });
        }
    }
    for e in evidence.iter().filter(|e| e.status == "attached") {
        let how = match (&e.source[..], &e.register) {
            ("register", Some(r)) => format!("mit Zustimmung aus dem {r} abgerufen"),
            _ => "hochgeladen".to_owned(),
        };
        facts.push(Statement { text: format!("Nachweis {}: {how}.", e.evidence_type), sources: vec![format!("evidence:{}", e.evidence_type)] });
    }
    let mut checks = Vec::new();
    let mut result = Vec::new();
    match &case.rule_trace {
        Some(trace) => {
            for o in &trace.outcomes {
                let mut sources = vec![format!("rule:{}", o.id)];
                sources.extend(o.sources.iter().cloned());
                checks.push(Statement { text: format!("{} – {}: {}", o.label, o.result.label(), o.explanation), sources });
            }
            let unmet: Vec<String> = trace.unmet().map(|o| format!("rule:{}", o.id)).collect();
            if unmet.is_empty() {
                result.push(Statement {
                    text: "Alle Voraussetzungen sind erfüllt. Es wird vorgeschlagen, dem Antrag stattzugeben.".into(),
                    sources: trace.outcomes.iter().map(|o| format!("rule:{}", o.id)).collect(),
                });
            } else {
                let open = trace.outcomes.iter().any(|o| o.result == RuleResult::Open);
                let text = if open {
                    "Nicht alle Voraussetzungen konnten maschinell geprüft werden. Die offenen Punkte sind anhand der Nachweise zu prüfen; danach ist zu entscheiden."
                } else {
                    "Nicht alle Voraussetzungen sind erfüllt. Vor einer Ablehnung ist der Antragstellerin oder dem Antragsteller Gelegenheit zur Stellungnahme zu geben (§ 28 VwVfG)."
                };
                result.push(Statement { text: text.into(), sources: unmet });
            }
        }
        None => {
            checks.push(st("Für diese Leistung sind keine Entscheidungsregeln hinterlegt; die Voraussetzungen sind nach der Rechtsgrundlage zu prüfen.", &["case"]));
            result.push(st(format!("Zu entscheiden nach {}.", case.service.legal_basis), &["case"]));
        }
    }
    let sections = vec![
        Section { title: "Sachverhalt".into(), statements: facts },
        Section { title: "Prüfung".into(), statements: checks },
        Section { title: "Ergebnis".into(), statements: result },
    ];
    let text = render_text(&sections);
    MemoDraft { sections, text }
}

pub fn render_text(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        out.push_str(&s.title);
        out.push('\n');
        for st in &s.statements {
            out.push_str(&format!("- {} [{}]\n", st.text, st.sources.join(", ")));
        }
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// Every source a draft may cite for this case: what the case file really holds.
pub fn known_sources(case: &CaseFile, evidence: &[EvidenceRecord]) -> Vec<String> {
    let mut known = vec!["case".to_owned()];
    known.extend(case.data.keys().map(|k| format!("field:{k}")));
    known.extend(evidence.iter().filter(|e| e.status == "attached").map(|e| format!("evidence:{}", e.evidence_type)));
    if let Some(t) = &case.rule_trace {
        known.extend(t.outcomes.iter().map(|o| format!("rule:{}", o.id)));
    }
    known
}

/// Checks that every statement of a (possibly rephrased) draft cites only real sources and
/// cites at least one. Returns the sources that do not exist.
pub fn unknown_citations(sections: &[Section], known: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    for s in sections.iter().flat_map(|s| &s.statements) {
        if s.sources.is_empty() {
            bad.push(String::new());
        }
        for src in &s.sources {
            if !known.contains(src) && !bad.contains(src) {
                bad.push(src.clone());
            }
        }
    }
    bad
}
