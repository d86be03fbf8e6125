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
    /// Whether the configured model rephrased it (and its citations were checked).
    #[serde(default)]
    pub rephrased: bool,
    /// Why a requested rephrasing was not used, in German.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

fn st(text: impl Into<String>, sources: &[&str]) -> Statement {
    Statement { text: text.into(), sources: sources.iter().map(|s| (*s).to_owned()).collect() }
}

/// The draft for a case file.
pub fn draft(case: &CaseFile, evidence: &[EvidenceRecord]) -> MemoDraft {
    let mut facts = vec![st(
        format!(
            "Am {} ist der Antrag „{}“ eingegangen (Aktenzeichen {}).",
            amtsweg_domain::form::format_date_german(amtsweg_domain::local_time::berlin(case.created_at).date()),
            case.service.name,
            case.case_number
        ),
        &["case"],
    )];
    for page in amtsweg_domain::form::answers(&case.service.form, &case.data) {
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
    MemoDraft { sections, text, rephrased: false, notice: None }
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

/// Every source a draft may cite for this case: the case, its data, the fields and evidence of
/// its service, its evidence and its rules.
pub fn known_sources(case: &CaseFile, evidence: &[EvidenceRecord]) -> Vec<String> {
    let mut known = vec!["case".to_owned()];
    known.extend(case.data.keys().map(|k| format!("field:{k}")));
    known.extend(case.service.form.fields().iter().map(|f| format!("field:{}", f.id)));
    known.extend(case.service.form.groups.iter().map(|g| format!("field:{}", g.id)));
    known.extend(case.service.evidence.iter().map(|e| format!("evidence:{}", e.evidence_type)));
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

const REPHRASE_PROMPT: &str = "Du überarbeitest Entwürfe von Vermerken einer deutschen Behörde sprachlich. \
Du erhältst JSON mit Abschnitten (title) und Aussagen (text, sources). Formuliere jede Aussage in klarem, sachlichem \
Verwaltungsdeutsch. Füge keine Tatsachen hinzu, lasse keine weg, ändere keine Zahlen, Namen oder Daten. \
Behalte Abschnitte, Reihenfolge und die Liste sources jeder Aussage unverändert bei. \
Antworte nur mit JSON in derselben Form: {\"sections\": [{\"title\": ..., \"statements\": [{\"text\": ..., \"sources\": [...]}]}]}.";

#[derive(Deserialize)]
struct Rephrased {
    sections: Vec<Section>,
}

/// Why a rephrased draft was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum RephraseRefused {
    /// The endpoint failed (unreachable, error status, no completion).
    Unavailable,
    /// The answer was not the draft's JSON shape.
    Malformed,
    /// Sections or statements were added, dropped or reordered.
    Structure,
    /// A statement cites a source the case file does not have, or none.
    Citations(Vec<String>),
}

/// Lets the configured model rephrase a draft; the result is used only if it keeps the
/// structure and every citation points at a real source of the case.
pub async fn rephrase(model: &crate::model::ModelClient, draft: &MemoDraft, known: &[String]) -> Result<MemoDraft, RephraseRefused> {
    let input = serde_json::json!({"sections": draft.sections});
    let answer = model.chat(REPHRASE_PROMPT, &input.to_string()).await.map_err(|e| {
        tracing::warn!(error = %e, "memo not rephrased");
        RephraseRefused::Unavailable
    })?;
    let json = answer.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    let rephrased: Rephrased = serde_json::from_str(json).map_err(|_| RephraseRefused::Malformed)?;
    let same_shape = rephrased.sections.len() == draft.sections.len()
        && rephrased.sections.iter().zip(&draft.sections).all(|(a, b)| a.title == b.title && a.statements.len() == b.statements.len());
    if !same_shape {
        return Err(RephraseRefused::Structure);
    }
    let bad = unknown_citations(&rephrased.sections, known);
    if !bad.is_empty() {
        return Err(RephraseRefused::Citations(bad));
    }
    let lost: Vec<String> = rephrased
        .sections
        .iter()
        .zip(&draft.sections)
        .flat_map(|(a, b)| a.statements.iter().zip(&b.statements))
        .filter(|(a, b)| a.sources != b.sources || a.text.trim().is_empty())
        .flat_map(|(_, b)| b.sources.clone())
        .collect();
    if !lost.is_empty() {
        return Err(RephraseRefused::Citations(lost));
    }
    let text = render_text(&rephrased.sections);
    Ok(MemoDraft { sections: rephrased.sections, text, rephrased: true, notice: None })
}

/// The draft for a case, rephrased by the configured model when asked and possible; otherwise
/// the deterministic draft with a notice why.
pub async fn draft_for(model: Option<&crate::model::ModelClient>, case: &CaseFile, evidence: &[EvidenceRecord], rephrase_it: bool) -> MemoDraft {
    let plain = draft(case, evidence);
    if !rephrase_it {
        return plain;
    }
    let Some(model) = model else {
        return MemoDraft { notice: Some("Es ist kein Sprachmodell eingerichtet; der Entwurf ist unverändert.".into()), ..plain };
    };
    match rephrase(model, &plain, &known_sources(case, evidence)).await {
        Ok(better) => better,
        Err(why) => {
            let notice = match why {
                RephraseRefused::Unavailable => "Das Sprachmodell war nicht erreichbar; der Entwurf ist unverändert.",
                RephraseRefused::Malformed | RephraseRefused::Structure => "Die Überarbeitung des Sprachmodells hatte nicht die Form des Entwurfs und wurde verworfen.",
                RephraseRefused::Citations(_) => "Die Überarbeitung des Sprachmodells nannte Quellen, die es in der Akte nicht gibt, und wurde verworfen.",
            };
            MemoDraft { notice: Some(notice.into()), ..plain }
        }
    }
}
