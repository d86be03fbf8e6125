//! `amtsweg fim`: check, import and export FIM XDatenfelder schemas.

use amtsweg_fim::codelist::CodeLists;
use amtsweg_fim::form::{Options, RuleFile, to_form};
use amtsweg_fim::model::FieldKind;
use amtsweg_app::catalog::{self, ImportOutcome, ImportRequest};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum FimCommand {
    /// Check a schema: located errors and quality warnings; exit 1 on errors.
    Check {
        file: PathBuf,
        /// Folder with the genericode code lists (default: the schema's folder).
        #[arg(long)]
        codelists: Option<PathBuf>,
    },
    /// Import schemas as services into the catalog.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Folder with the genericode code lists (default: each schema's folder).
        #[arg(long)]
        codelists: Option<PathBuf>,
        /// The service name citizens see (default: the schema's title).
        #[arg(long)]
        service: Option<String>,
        /// Rule files (JSON, see docs/fim-rules.md), matched to schemas by their `schema` id.
        #[arg(long)]
        rules: Vec<PathBuf>,
        /// Accept free text for a code list that cannot be resolved (its URI); repeatable.
        #[arg(long = "accept-free-text")]
        accept_free_text: Vec<String>,
        /// The topic the portal lists the service under (e.g. "Verkehr und Mobilität").
        #[arg(long)]
        category: Option<String>,
    },
    /// Export the form of a schema.
    Export {
        file: PathBuf,
        /// Only `json-schema` (draft 2020-12).
        #[arg(long, default_value = "json-schema")]
        format: String,
        #[arg(long)]
        codelists: Option<PathBuf>,
        #[arg(long)]
        rules: Option<PathBuf>,
        #[arg(long = "accept-free-text")]
        accept_free_text: Vec<String>,
    },
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn code_lists(dir: Option<&PathBuf>, file: &Path) -> Result<CodeLists, String> {
    let folder = dir.cloned().unwrap_or_else(|| file.parent().map(Path::to_path_buf).unwrap_or_default());
    let folder = if folder.as_os_str().is_empty() { PathBuf::from(".") } else { folder };
    catalog::load_code_lists(&folder)
}

fn rule_file(path: &Path) -> Result<RuleFile, String> {
    catalog::parse_rules(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs a `fim` command; `Ok(false)` means "finished, but exit 1".
pub async fn run(command: FimCommand, store: impl AsyncFnOnce() -> Result<amtsweg_store::DynStore, String>) -> Result<bool, String> {
    match command {
        FimCommand::Check { file, codelists } => check(&file, codelists.as_ref()),
        FimCommand::Export { file, format, codelists, rules, accept_free_text } => {
            if format != "json-schema" {
                return Err(format!("Unbekanntes Format „{format}“: unterstützt wird json-schema."));
            }
            let xml = read(&file)?;
            let message = amtsweg_fim::parse(&xml).map_err(|e| format!("{}:{e}", file.display()))?;
            let lists = code_lists(codelists.as_ref(), &file)?;
            let rules = rules.as_deref().map(rule_file).transpose()?;
            let form = to_form(&message.schema, &Options { code_lists: &lists, rules: rules.as_ref(), accept_free_text: &accept_free_text })
                .map_err(|problems| problems.iter().map(|p| format!("{}: {}", p.element, p.message)).collect::<Vec<_>>().join("\n"))?;
            println!("{}", serde_json::to_string_pretty(&form.json_schema()).expect("JSON"));
            Ok(true)
        }
        FimCommand::Import { files, codelists, service, rules, accept_free_text, category } => {
            let store = store().await?;
            let rule_files = rules.iter().map(|p| rule_file(p)).collect::<Result<Vec<_>, _>>()?;
            let bar = indicatif::ProgressBar::new(files.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("valid template").progress_chars("=> "),
            );
            let mut ok = true;
            for file in &files {
                bar.set_message(file.display().to_string());
                let result = async {
                    let xml = read(file)?;
                    let lists = code_lists(codelists.as_ref(), file)?;
                    let schema_id = amtsweg_fim::parse(&xml).map(|m| m.schema.id).unwrap_or_default();
                    let rules = rule_files.iter().find(|r| r.schema == schema_id);
                    catalog::import(
                        &store,
                        ImportRequest { xml: &xml, code_lists: &lists, rules, service_name: service.as_deref(), accept_free_text: &accept_free_text, category: category.as_deref() },
                    )
                    .await
                    .map_err(|e| e.to_string())
                }
                .await;
                match result {
                    Ok(ImportOutcome::Imported { service_id, fields, pages }) => {
                        bar.suspend(|| println!("{}: importiert als Leistung „{service_id}“ ({fields} Felder auf {pages} Seiten)", file.display()))
                    }
                    Ok(ImportOutcome::Unchanged { service_id }) => {
                        bar.suspend(|| println!("{}: unverändert (Leistung „{service_id}“, gleicher Inhalt bereits importiert)", file.display()))
                    }
                    Err(e) => {
                        ok = false;
                        bar.suspend(|| println!("{}: nicht importiert: {e}", file.display()));
                    }
                }
                bar.inc(1);
            }
            bar.finish_and_clear();
            Ok(ok)
        }
    }
}

fn check(file: &Path, codelists: Option<&PathBuf>) -> Result<bool, String> {
    let xml = read(file)?;
    let message = match amtsweg_fim::parse(&xml) {
        Ok(m) => m,
        Err(e) => {
            println!("{}:{}:{}: Fehler: {}{}", file.display(), e.location.line, e.location.column, e.element.map(|el| format!("<{el}>: ")).unwrap_or_default(), e.message);
            return Ok(false);
        }
    };
    let schema = &message.schema;
    let mut warnings = Vec::new();
    let lists = code_lists(codelists, file).unwrap_or_default();
    for f in schema.field_uses() {
        if f.label.trim().is_empty() {
            warnings.push(format!("Feld {} hat keine Bezeichnung für die Eingabe (bezeichnungEingabe).", f.id));
        }
        if f.kind == FieldKind::Select && f.values.is_empty() {
            match &f.code_list {
                Some(r) if lists.resolve(r).is_none() => warnings.push(format!(
                    "Auswahlfeld {}: Codeliste „{}“ nicht gefunden.",
                    f.id,
                    if r.canonical_version_uri.is_empty() { &r.canonical_identification } else { &r.canonical_version_uri }
                )),
                _ => {}
            }
        }
        if let Some(p) = &f.constraints.pattern {
            let mut probe = amtsweg_domain::form::field("x", "x", amtsweg_domain::form::DataType::Text);
            probe.constraints.pattern = Some(p.clone());
            if probe.check_pattern().is_none() {
                warnings.push(format!("Feld {}: das Muster „{p}“ ist kein gültiger regulärer Ausdruck.", f.id));
            }
        }
    }
    let prose = schema.all_rules().iter().filter(|r| !r.script.contains("return") && !r.definition.trim().is_empty()).count();
    if prose > 0 {
        warnings.push(format!("{prose} Regeln liegen nur als Text vor (leeres Skript); sie brauchen eine Regeldatei (docs/fim-rules.md)."));
    }
    if schema.legal_basis.is_empty() {
        warnings.push("Das Schema nennt keine Rechtsgrundlage (bezug).".into());
    }
    if schema.status == "inVorbereitung" {
        warnings.push("Das Schema hat den Status „inVorbereitung“ (noch nicht freigegeben).".into());
    }
    for w in &warnings {
        println!("{}: Warnung: {w}", file.display());
    }
    println!(
        "{}: {} {} Version {} „{}“: {} Felder, {} Gruppen, {} Regeln, {} Warnungen, keine Fehler.",
        file.display(),
        message.version.label(),
        schema.id,
        schema.version,
        schema.label,
        schema.field_uses().len(),
        schema.group_uses().len(),
        schema.all_rules().len(),
        warnings.len()
    );
    Ok(true)
}
