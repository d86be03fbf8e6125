//! `amtsweg kb import` and `amtsweg assist search|ask|eval`: the assistant's knowledge base from
//! the command line.

use crate::{ServerFlags, load, open_store};
use amtsweg_assist::dense::{DenseIndex, Embedder};
use amtsweg_assist::eval::{self, FullText, Page, Question, Ranker};
use amtsweg_assist::kb::{Document, Hit, KbError, KnowledgeBase};
use amtsweg_assist::lines::AnswerModel;
use amtsweg_assist::scope::Scope;
use amtsweg_domain::Authority;
use amtsweg_assist::{Assistant, Policy};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum KbCommand {
    /// Import documents (JSON lines: id, title, text with one sentence a line, optional url,
    /// authority and language, German when absent) into the knowledge base of the data folder;
    /// a document with a known id and language is replaced, the versions of a page in other
    /// languages stay beside it. The catalog's service descriptions are brought up to date at the same time.
    Import {
        file: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
}

#[derive(Subcommand)]
pub enum AssistCommand {
    /// Rank documents for questions.
    Search(QueryArgs),
    /// Answer questions from the knowledge base, with the sentences cited. An input line may
    /// carry `"page"` (a document id: answer from that document only) and `"language"`.
    Ask(QueryArgs),
    /// Recall@1/5, MRR@10, answer-sentence precision/recall/F1, declines and latency on a page
    /// collection and questions about it (built in memory; the data folder is not touched), for
    /// the baseline (BM25 with stemmer, no compound splitting), full text, and with `--embeddings`
    /// full text fused with dense retrieval. Also the dataset authors' measures: answer-line
    /// P/R/F and declines on the question's own page and end to end, all lines of the page as
    /// baseline, and per question language (`language` of each question line, German if absent).
    Eval(EvalArgs),
    /// Train the answer-line models (which lines answer; when to decline) from labelled
    /// questions about pages: the models on `--questions`, their settings on `--dev` (at most
    /// 10 % of answerable dev questions declined). Writes the parameter file into the data
    /// folder's assistant (used by `assist ask` and by the server from its next start) or to
    /// `--out`; a malformed file is refused with its line and nothing is written.
    Train(TrainArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    /// Pages, one JSON object a line: id, title, text (one sentence a line), optional
    /// language (German when absent). Repeat for the pages' versions in other languages.
    #[arg(long, required = true)]
    pages: Vec<PathBuf>,
    /// Training questions, one JSON object a line: id, question, page, answer_sentences
    /// (0-based lines of the page; empty when the page does not answer), answerable, optional
    /// language (German when absent). Repeat for more files (e.g. one per language).
    #[arg(long, required = true)]
    questions: Vec<PathBuf>,
    /// Dev questions (same form), on which the settings are chosen and the figures measured.
    /// Repeat for more files.
    #[arg(long, required = true)]
    dev: Vec<PathBuf>,
    /// Write the parameter file here instead of into the data folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also train the parameter set with embeddings (the question's similarity with each line,
    /// through the configured embeddings endpoint), used when the assistant has one.
    #[arg(long)]
    embeddings: bool,
    /// With `--embeddings`: keep the lines' vectors in this file and reuse them (also a file
    /// `assist eval --vectors` wrote for the same pages).
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    flags: ServerFlags,
}

#[derive(Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// One JSON object a line, for each `{"id", "question"}` line on standard input.
    #[default]
    Jsonl,
}

#[derive(Args)]
pub struct QueryArgs {
    /// How many documents (search).
    #[arg(long, default_value_t = 10)]
    k: usize,
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// One question from the command line instead of standard input; prints one JSON object.
    #[arg(long, value_name = "QUERY")]
    json: Option<String>,
    #[command(flatten)]
    flags: ServerFlags,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Pages, one JSON object a line: id, title, text (one sentence a line), optional
    /// language (German when absent). Repeat for the pages' versions in other languages.
    #[arg(long, required = true)]
    pages: Vec<PathBuf>,
    /// Questions, one JSON object a line: id, question, page, answer_sentences, answerable,
    /// optional language (German when absent; the search and the answer use it).
    #[arg(long)]
    questions: PathBuf,
    /// Also measure with dense retrieval through the configured embeddings endpoint
    /// (`embeddings_url`), fused with the full text.
    #[arg(long)]
    embeddings: bool,
    /// The hand-weighted baseline's policy as JSON (for tuning), e.g. `{"relative":0.5,"follow":2}`.
    #[arg(long)]
    policy: Option<String>,
    /// An answer-line parameter file (from `assist train --out`) instead of the shipped one.
    #[arg(long)]
    model: Option<PathBuf>,
    /// With `--embeddings`: keep the pages' vectors in this file and reuse them when it holds
    /// vectors of the same model for the same pages (embedding takes minutes on two cores).
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,
    /// Ask every question as a citizen of its page's authority (the page's `authority`; `city`
    /// in the dataset's files): the search puts that authority's and the shared pages first.
    #[arg(long)]
    own_authority: bool,
}

/// One line of `search` or `ask` input.
#[derive(Deserialize)]
struct QuestionLine {
    id: serde_json::Value,
    question: String,
    /// `ask` only: answer from this document alone (its id), as an evaluation on the question's
    /// own page needs.
    #[serde(default)]
    page: Option<String>,
    /// The question's language (ISO 639-1, e.g. `de`, `en`, `ar`, `fr`, `uk`).
    #[serde(default)]
    language: Option<String>,
    /// The asker's authority (its id): its texts and the shared ones are searched first.
    #[serde(default)]
    authority: Option<String>,
    /// The asker's region (ARS or a prefix of one): texts for a region containing it, and the
    /// shared ones, are searched first.
    #[serde(default)]
    region: Option<String>,
}

impl QuestionLine {
    fn check(&self) -> Result<(), String> {
        if let Some(l) = &self.language {
            amtsweg_assist::language::check_code(l).map_err(|e| format!("\"language\": {e}"))?;
        }
        if let Some(r) = &self.region {
            amtsweg_domain::RegionKey::parse_prefix(r).map_err(|_| format!("\"region\": kein Regionalschlüssel (12 Ziffern oder ein Anfang davon an einer Stufengrenze): {r:?}"))?;
        }
        Ok(())
    }

    /// Where the asker belongs, as the platform tells it (see [`amtsweg_app::assistant::scope_of`]):
    /// a place named in the question, else the line's region; the authorities responsible
    /// there, and the line's authority.
    fn scope(&self, authorities: &[Authority]) -> Scope {
        let region = self.region.as_deref().and_then(|r| amtsweg_domain::RegionKey::parse_prefix(r).ok());
        let authority = self.authority.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned);
        amtsweg_app::assistant::scope_of(&self.question, &amtsweg_app::assistant::Asker { region, authority }, authorities)
    }
}

/// What answering one line gave: a JSON object, or a refusal of that line (the run goes on).
enum Outcome {
    Answer(serde_json::Value),
    Refused(&'static str, String),
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})").expect("valid template").progress_chars("=> "));
    bar.set_message(what.to_owned());
    bar
}

pub async fn run_kb(command: KbCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    let KbCommand::Import { file, flags } = command;
    let config = load(config_path, &flags)?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let bar = progress(lines.len() as u64, "Einlesen");
    let mut imported = Vec::with_capacity(lines.len());
    for (i, line) in lines {
        let mut document: Document = serde_json::from_str(line).map_err(|e| format!("{}:{}: kein gültiges Dokument: {e}", file.display(), i + 1))?;
        if document.id.trim().is_empty() || document.title.trim().is_empty() {
            return Err(format!("{}:{}: id und title dürfen nicht leer sein", file.display(), i + 1));
        }
        amtsweg_assist::language::check_code(&document.language).map_err(|e| format!("{}:{}: language: {e}", file.display(), i + 1))?;
        if let Some(region) = document.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            let key = amtsweg_domain::RegionKey::parse_prefix(region)
                .map_err(|_| format!("{}:{}: region: kein Regionalschlüssel (12 Ziffern oder ein Anfang davon an einer Stufengrenze, zum Beispiel 14 oder 14713): {region:?}", file.display(), i + 1))?;
            document.region = Some(key.prefix().to_owned());
        } else {
            document.region = None;
        }
        document.authority = document.authority.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
        document.origin = "import".into();
        imported.push((i + 1, document));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let count = imported.len();
    let dir = config.assistant_dir();
    let existing = amtsweg_app::assistant::open(&dir)?;
    let store = open_store(&config).await?;
    let authorities = store.authorities().await.map_err(|e| format!("Behörden nicht lesbar: {e}"))?;
    for (line, document) in &imported {
        if let Some(authority) = &document.authority
            && !authorities.iter().any(|a| a.id.as_str() == authority)
        {
            return Err(format!("{}:{line}: authority: keine Behörde mit der id {authority:?} (die Behörden zeigt „amtsweg authority list“)", file.display()));
        }
    }
    let imported: Vec<Document> = imported.into_iter().map(|(_, d)| d).collect();
    let catalog = amtsweg_app::assistant::catalog_documents(&store).await.map_err(|e| format!("Katalog nicht lesbar: {e:?}"))?;
    let mut documents: Vec<Document> = existing.documents().iter().filter(|d| d.origin == "import").cloned().collect();
    documents.extend(imported);
    documents.extend(catalog);
    let documents = amtsweg_assist::kb::unique(documents);
    let dense = match config.embedder() {
        Some(embedder) => Some(embed_with_progress(&embedder, &documents).await?),
        None => None,
    };
    let spinner = ProgressBar::new_spinner();
    spinner.set_message("Index aufbauen");
    let kb = tokio::task::spawn_blocking(move || KnowledgeBase::build(&dir, documents, dense)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    spinner.finish_and_clear();
    println!("{count} Dokumente importiert; die Wissensbasis enthält {} Dokumente ({}).", kb.documents().len(), config.assistant_dir().display());
    Ok(())
}

/// The pages' vectors from `cache` when it holds vectors of this model for these pages (the
/// file keeps the pages' fingerprint), else embedded and written there.
async fn cached_vectors(embedder: &Embedder, documents: &[Document], cache: Option<&std::path::Path>) -> Result<DenseIndex, String> {
    cached(embedder, documents, cache, None).await
}

/// Vectors from `cache` as [`cached_vectors`]; with `lines_of`, only the lines of the documents
/// it picks are needed (a cache with passages serves too).
async fn cached(embedder: &Embedder, documents: &[Document], cache: Option<&std::path::Path>, lines_of: Option<&dyn Fn(usize) -> bool>) -> Result<DenseIndex, String> {
    #[derive(Serialize, Deserialize)]
    struct Cached {
        pages: u64,
        dense: DenseIndex,
    }
    let fingerprint = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for d in documents {
            (&d.id, &d.language, &d.title, &d.text).hash(&mut h);
        }
        h.finish()
    };
    if let Some(path) = cache
        && let Ok(text) = std::fs::read_to_string(path)
        && let Ok(cached) = serde_json::from_str::<Cached>(&text)
        && cached.pages == fingerprint
        && cached.dense.model == embedder.model()
        && cached.dense.documents() == documents.len()
        && cached.dense.has_lines()
        && (lines_of.is_some() || cached.dense.has_passages())
    {
        return Ok(cached.dense);
    }
    let dense = match lines_of {
        None => embed_with_progress(embedder, documents).await?,
        Some(wanted) => {
            let bar = progress(0, "Zeilen einbetten");
            let lines = embedder
                .lines_only(documents, wanted, |done, all| {
                    bar.set_length(all as u64);
                    bar.set_position(done as u64);
                })
                .await
                .map_err(|e| format!("Einbettungen: {e}"))?;
            bar.finish_and_clear();
            lines
        }
    };
    if let Some(path) = cache {
        let cached = Cached { pages: fingerprint, dense };
        std::fs::write(path, serde_json::to_string(&cached).expect("JSON")).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(cached.dense);
    }
    Ok(dense)
}

async fn embed_with_progress(embedder: &Embedder, documents: &[Document]) -> Result<DenseIndex, String> {
    let bar = progress(0, "Abschnitte einbetten");
    let dense = embedder
        .index(documents, |done, all| {
            bar.set_length(all as u64);
            bar.set_position(done as u64);
        })
        .await
        .map_err(|e| format!("Einbettungen: {e}"))?;
    bar.finish_and_clear();
    Ok(dense)
}

/// The assistant over the data folder's knowledge base, with the catalog brought up to date
/// when a database is reachable.
async fn assistant(flags: &ServerFlags, config_path: Option<&PathBuf>) -> Result<(Assistant, Vec<Authority>), String> {
    let config = load(config_path, flags)?;
    let dir = config.assistant_dir();
    let mut assistant = Assistant::new(amtsweg_app::assistant::open(&dir)?).with_answer_model(AnswerModel::in_dir(&dir)?);
    if let Some(embedder) = config.embedder() {
        assistant = assistant.with_embedder(embedder);
    }
    if let Some(model) = config.model() {
        assistant = assistant.with_model(model);
    }
    if let Ok(store) = open_store(&config).await {
        let state = amtsweg_app::assistant::AssistantState { assistant: std::sync::Arc::new(assistant), dir: Some(dir) };
        amtsweg_app::assistant::sync_catalog(&store, &state).await.map_err(|e| format!("Katalog nicht indexierbar: {e:?}"))?;
        let authorities = store.authorities().await.map_err(|e| format!("Behörden nicht lesbar: {e}"))?;
        let assistant = std::sync::Arc::try_unwrap(state.assistant).map_err(|_| "assistant still shared".to_owned())?;
        return Ok((assistant, authorities));
    }
    Ok((assistant, Vec::new()))
}

pub async fn run_assist(command: AssistCommand, config_path: Option<&PathBuf>) -> Result<(), String> {
    match command {
        AssistCommand::Search(args) => {
            let (assistant, authorities) = assistant(&args.flags, config_path).await?;
            answer_lines(&args, |line| {
                let (assistant, authorities) = (&assistant, &authorities);
                async move {
                    let results = assistant.search(&line.question, line.language.as_deref(), args.k, &line.scope(authorities)).await?;
                    Ok(Outcome::Answer(json!({ "results": results })))
                }
            })
            .await
        }
        AssistCommand::Ask(args) => {
            let (assistant, authorities) = assistant(&args.flags, config_path).await?;
            answer_lines(&args, |line| {
                let (assistant, authorities) = (&assistant, &authorities);
                async move {
                    let language = line.language.as_deref();
                    let answer = match &line.page {
                        Some(page) => match assistant.ask_on_page(&line.question, page, language).await {
                            Some(answer) => answer,
                            None => return Ok(Outcome::Refused("unknown_page", format!("kein Dokument mit der id {page:?} in der Wissensbasis"))),
                        },
                        None => assistant.ask_for(&line.question, language, &line.scope(authorities)).await?.0,
                    };
                    let mut out = json!({ "answered": answer.answered, "answer": answer.answer, "citations": answer.citations, "language": answer.language });
                    if let Some(note) = &answer.note {
                        out["note"] = json!(note);
                    }
                    Ok(Outcome::Answer(out))
                }
            })
            .await
        }
        AssistCommand::Eval(args) => evaluate(args, config_path).await,
        AssistCommand::Train(args) => train(args, config_path).await,
    }
}

/// Runs `f` for the `--json` question or for every line of standard input, printing one JSON
/// object per question (with the line's `id`). A malformed line, or one `f` refuses, gets an
/// error object (`{"line", "error"}`, with the `id` when known) and the run goes on; the exit
/// code says that some were refused.
async fn answer_lines<F, Fut>(args: &QueryArgs, f: F) -> Result<(), String>
where
    F: Fn(QuestionLine) -> Fut,
    Fut: Future<Output = Result<Outcome, KbError>>,
{
    let Format::Jsonl = args.format;
    if let Some(question) = &args.json {
        let line = QuestionLine { id: serde_json::Value::Null, question: question.clone(), page: None, language: None, authority: None, region: None };
        return match f(line).await.map_err(|e| e.to_string())? {
            Outcome::Answer(value) => {
                println!("{}", serde_json::to_string(&value).expect("JSON"));
                Ok(())
            }
            Outcome::Refused(_, message) => Err(message),
        };
    }
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| format!("Standardeingabe: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<QuestionLine>(&line).map_err(|e| format!("kein {{\"id\", \"question\"}}-Objekt ({e})")).and_then(|q| q.check().map(|()| q));
        let value = match parsed {
            Ok(q) => {
                let id = q.id.clone();
                match f(q).await.map_err(|e| e.to_string())? {
                    Outcome::Answer(mut value) => {
                        let mut object = serde_json::Map::new();
                        object.insert("id".into(), id);
                        if let Some(map) = value.as_object_mut() {
                            object.append(map);
                        }
                        serde_json::Value::Object(object)
                    }
                    Outcome::Refused(error, message) => {
                        failed += 1;
                        eprintln!("Zeile {}: {message}", n + 1);
                        json!({ "id": id, "line": n + 1, "error": error })
                    }
                }
            }
            Err(message) => {
                failed += 1;
                eprintln!("Zeile {}: {message}", n + 1);
                json!({ "line": n + 1, "error": "invalid_line" })
            }
        };
        writeln!(out, "{}", serde_json::to_string(&value).expect("JSON")).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    if failed > 0 { Err(format!("{failed} Zeilen waren ungültig")) } else { Ok(()) }
}

/// Dense and full text fused; the question's vector comes from the endpoint (its time counts).
struct Fused {
    embedder: Embedder,
    handle: tokio::runtime::Handle,
    /// The last question's vector.
    last: Option<Vec<f32>>,
}

impl Ranker for Fused {
    fn rank(&mut self, kb: &KnowledgeBase, question: &str, language: &str, k: usize, scope: &Scope) -> Result<Vec<Hit>, KbError> {
        // The question as the assistant embeds it: without identifiers.
        let text = amtsweg_assist::redact::search_text(&amtsweg_assist::redact::redact(question));
        self.last = self.handle.block_on(self.embedder.embed_query(&text)).ok();
        kb.search_for(question, language, self.last.as_deref(), k, scope)
    }

    fn vector(&self) -> Option<&[f32]> {
        self.last.as_deref()
    }
}

/// Page files, each line checked (a language must be an ISO 639-1 code); errors name file and
/// line.
fn read_pages(paths: &[PathBuf]) -> Result<Vec<Page>, String> {
    let mut pages = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (line, page) in eval::read_numbered::<Page>(&text).map_err(|e| format!("{}: {e}", path.display()))? {
            amtsweg_assist::language::check_code(&page.language).map_err(|e| format!("{}: Zeile {line}: language: {e}", path.display()))?;
            pages.push(page);
        }
    }
    Ok(pages)
}

async fn evaluate(args: EvalArgs, config_path: Option<&PathBuf>) -> Result<(), String> {
    let read = |path: &PathBuf| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let pages = read_pages(&args.pages)?;
    let numbered: Vec<(usize, Question)> = eval::read_numbered(&read(&args.questions)?).map_err(|e| format!("{}: {e}", args.questions.display()))?;
    let policy = match &args.policy {
        Some(json) => parse_policy(json)?,
        None => Policy::default(),
    };
    let model = match &args.model {
        Some(path) => AnswerModel::from_json(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
        None => AnswerModel::shipped(),
    };
    // In the order the knowledge base keeps them (a page's versions together): the passage vectors
    // are made for exactly these.
    let documents: Vec<Document> = amtsweg_assist::kb::unique(pages.into_iter().map(Document::from).collect());
    let embedder = if args.embeddings {
        let config = load(config_path, &ServerFlags::default())?;
        Some(config.embedder().ok_or("--embeddings braucht embeddings_url in der Konfiguration (oder AMTSWEG_EMBEDDINGS_URL)")?)
    } else {
        None
    };
    let dense = match &embedder {
        Some(e) => Some(cached_vectors(e, &documents, args.vectors.as_deref()).await?),
        None => None,
    };
    let handle = tokio::runtime::Handle::current();
    let questions_path = args.questions.clone();
    let own_authority = args.own_authority;
    let reports = tokio::task::spawn_blocking(move || -> Result<Vec<eval::Report>, String> {
        let plain = KnowledgeBase::in_memory_without_compounds(documents.clone()).map_err(|e| e.to_string())?;
        // Every question's page and answer lines must exist, or the figures would be wrong.
        amtsweg_assist::train::check(&plain, &numbered).map_err(|e| format!("{}: {e}", questions_path.display()))?;
        let mut questions: Vec<Question> = numbered.into_iter().map(|(_, q)| q).collect();
        if own_authority {
            for question in &mut questions {
                question.authority = plain.document(&question.page).and_then(|d| d.authority.clone());
            }
        }
        let mut reports = vec![eval::evaluate(&plain, &questions, &mut FullText, "bm25_baseline", &policy, &model).map_err(|e| e.to_string())?];
        drop(plain);
        let mut kb = KnowledgeBase::in_memory(documents).map_err(|e| e.to_string())?;
        reports.push(eval::evaluate(&kb, &questions, &mut FullText, "full_text", &policy, &model).map_err(|e| e.to_string())?);
        if let Some(embedder) = embedder {
            kb.set_dense(dense);
            let mut fused = Fused { embedder, handle, last: None };
            reports.push(eval::evaluate(&kb, &questions, &mut fused, "full_text+dense", &policy, &model).map_err(|e| e.to_string())?);
        }
        Ok(reports)
    })
    .await
    .map_err(|e| e.to_string())??;
    if let Some(last) = reports.last() {
        let a = &last.all_lines;
        eprintln!("{:<16} auf der Seite der Frage: Antwortzeilen P {:.3} R {:.3} F {:.3}", "alle_zeilen", a.precision, a.recall, a.f);
        let w = &last.weighted_gold_page;
        eprintln!(
            "{:<16} auf der Seite der Frage: Antwortzeilen P {:.3} R {:.3} F {:.3}, abgelehnt: unbeantwortbar {:.3}, beantwortbar {:.3}",
            "handgewichtet", w.precision, w.recall, w.f, w.unanswerable_declined, w.answerable_declined
        );
    }
    for report in &reports {
        let (g, e) = (&report.gold_page, &report.end_to_end);
        eprintln!(
            "{:<16} auf der Seite der Frage: P {:.3} R {:.3} F {:.3}, abgelehnt: unbeantwortbar {:.3}, beantwortbar {:.3} | Ende zu Ende: F {:.3}, abgelehnt: unbeantwortbar {:.3}, beantwortbar {:.3}",
            report.retrieval, g.precision, g.recall, g.f, g.unanswerable_declined, g.answerable_declined, e.f, e.unanswerable_declined, e.answerable_declined
        );
        for (language, l) in &report.by_language {
            eprintln!(
                "{:<16}   {language} ({} Fragen): recall@5 {:.3}, Seite der Frage F {:.3} ({:.3}/{:.3} abgelehnt), Ende zu Ende F {:.3}",
                "", l.questions, l.recall_at_5, l.gold_page.f, l.gold_page.unanswerable_declined, l.gold_page.answerable_declined, l.end_to_end.f
            );
        }
        eprintln!(
            "{:<16} recall@1 {:.3}  recall@5 {:.3}  MRR@10 {:.3} | Antwortsätze P {:.3} R {:.3} F1 {:.3} | abgelehnt: beantwortbar {:.3}, unbeantwortbar {:.3} | Suche p50 {:.2} ms p95 {:.2} ms p99 {:.2} ms | Antwort p50 {:.2} ms p95 {:.2} ms",
            report.retrieval,
            report.recall_at_1,
            report.recall_at_5,
            report.mrr_at_10,
            report.answer_precision,
            report.answer_recall,
            report.answer_f1,
            report.answerable_declined,
            report.unanswerable_declined,
            report.latency_ms_p50,
            report.latency_ms_p95,
            report.latency_ms_p99,
            report.answer_ms_p50,
            report.answer_ms_p95
        );
        println!("{}", serde_json::to_string(report).expect("JSON"));
    }
    Ok(())
}

async fn train(args: TrainArgs, config_path: Option<&PathBuf>) -> Result<(), String> {
    let read = |path: &PathBuf| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    let pages = read_pages(&args.pages)?;
    // Each file's questions with their line numbers.
    let read_all = |paths: &[PathBuf]| -> Result<Vec<(PathBuf, Vec<(usize, Question)>)>, String> {
        paths.iter().map(|path| Ok((path.clone(), eval::read_numbered(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?))).collect()
    };
    let (train_files, dev_files) = (read_all(&args.questions)?, read_all(&args.dev)?);
    let out_dir = match &args.out {
        Some(_) => None,
        None => Some(load(config_path, &args.flags)?.assistant_dir()),
    };
    let describe = |files: &[(PathBuf, Vec<(usize, Question)>)]| -> String {
        let names: Vec<String> = files.iter().map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
        format!("{} ({} Fragen)", names.join(", "), files.iter().map(|(_, q)| q.len()).sum::<usize>())
    };
    let trained_on = format!("{}, Einstellungen auf {}", describe(&train_files), describe(&dev_files));
    let embedder = if args.embeddings {
        let config = load(config_path, &args.flags)?;
        Some(config.embedder().ok_or("--embeddings braucht embeddings_url in der Konfiguration (oder AMTSWEG_EMBEDDINGS_URL)")?)
    } else {
        None
    };
    let (kb, train, dev) = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let documents: Vec<Document> = pages.into_iter().map(Document::from).collect();
        let kb = KnowledgeBase::in_memory(documents).map_err(|e| e.to_string())?;
        // Each file checked on its own (its errors name it), then its questions joined.
        let joined = |files: Vec<(PathBuf, Vec<(usize, Question)>)>| -> Result<Vec<Question>, String> {
            let mut questions = Vec::new();
            for (path, numbered) in files {
                amtsweg_assist::train::check(&kb, &numbered).map_err(|e| format!("{}: {e}", path.display()))?;
                questions.extend(numbered.into_iter().map(|(_, q)| q));
            }
            Ok(questions)
        };
        let (train, dev) = (joined(train_files)?, joined(dev_files)?);
        Ok((kb, train, dev))
    })
    .await
    .map_err(|e| e.to_string())??;
    // With embeddings: each question's cosine with each line of its page, as the assistant
    // will see them (the question without identifiers).
    let similarities = match &embedder {
        Some(embedder) => {
            let labelled = |q: &Question| amtsweg_assist::train::labelled_version(&kb, q).expect("checked");
            let wanted: std::collections::HashSet<usize> = train.iter().chain(&dev).map(labelled).collect();
            let lines = cached(embedder, kb.documents(), args.vectors.as_deref(), Some(&|i| wanted.contains(&i))).await?;
            let mut sets = Vec::new();
            for questions in [&train, &dev] {
                let texts: Vec<String> = questions.iter().map(|q| amtsweg_assist::redact::search_text(&amtsweg_assist::redact::redact(&q.question))).collect();
                let mut vectors = Vec::with_capacity(texts.len());
                for batch in texts.chunks(32) {
                    vectors.extend(embedder.embed(batch, amtsweg_assist::dense::InputType::Query).await.map_err(|e| format!("Einbettungen: {e}"))?);
                }
                let set: Vec<Vec<f32>> = questions.iter().zip(&vectors).map(|(q, v)| lines.line_similarities(labelled(q), v).unwrap_or_default()).collect();
                sets.push(set);
            }
            let dev_set = sets.pop().expect("two sets");
            let train_set = sets.pop().expect("two sets");
            Some((embedder.model().to_owned(), train_set, dev_set))
        }
        None => None,
    };
    let trained_on = if similarities.is_some() { format!("{trained_on}; mit Einbettungen ({})", embedder.as_ref().map(Embedder::model).unwrap_or_default()) } else { trained_on };
    let (model, report) = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let similarities = similarities.as_ref().map(|(model, t, d)| (model.as_str(), t.as_slice(), d.as_slice()));
        amtsweg_assist::train::train(&kb, &train, &dev, &trained_on, similarities).map_err(|e| format!("Training: {e}"))
    })
    .await
    .map_err(|e| e.to_string())??;
    let written = match (&args.out, out_dir) {
        (Some(path), _) => {
            model.save_as(path).map_err(|e| format!("{}: {e}", path.display()))?;
            path.clone()
        }
        (None, Some(dir)) => model.save_in(&dir).map_err(|e| format!("{}: {e}", dir.display()))?,
        (None, None) => unreachable!("a data folder when no --out"),
    };
    let d = &report.dev;
    eprintln!(
        "Modell geschrieben: {} | Dev ({} Fragen), auf der Seite der Frage: Antwortzeilen P {:.3} R {:.3} F {:.3}, abgelehnt: unbeantwortbar {:.3}, beantwortbar {:.3}",
        written.display(),
        report.dev_questions,
        d.precision,
        d.recall,
        d.f,
        d.unanswerable_declined,
        d.answerable_declined
    );
    for (name, figures) in [("mit Einbettungen", &report.dev_with_embeddings), ("über Sprachen hinweg", &report.dev_across_languages)] {
        if let Some(d) = figures {
            eprintln!(
                "{name}: Antwortzeilen P {:.3} R {:.3} F {:.3}, abgelehnt: unbeantwortbar {:.3}, beantwortbar {:.3}",
                d.precision, d.recall, d.f, d.unanswerable_declined, d.answerable_declined
            );
        }
    }
    if let Some(why) = &report.across_languages_skipped {
        eprintln!(
            "Keine Einstellungen über Sprachen hinweg: {why}. Die {} Trainings- und {} Dev-Fragen in einer anderen Sprache als ihre Seite wurden nicht verwendet.",
            report.train_across_languages, report.dev_questions_across_languages
        );
    }
    println!("{}", serde_json::to_string(&report).expect("JSON"));
    Ok(())
}

fn parse_policy(json: &str) -> Result<Policy, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Overrides {
        min_document_coverage: Option<f32>,
        min_sentence_coverage: Option<f32>,
        relative: Option<f32>,
        follow: Option<usize>,
        max_sentences: Option<usize>,
    }
    let o: Overrides = serde_json::from_str(json).map_err(|e| format!("--policy: {e}"))?;
    let d = Policy::default();
    Ok(Policy {
        min_document_coverage: o.min_document_coverage.unwrap_or(d.min_document_coverage),
        min_sentence_coverage: o.min_sentence_coverage.unwrap_or(d.min_sentence_coverage),
        relative: o.relative.unwrap_or(d.relative),
        follow: o.follow.unwrap_or(d.follow),
        max_sentences: o.max_sentences.unwrap_or(d.max_sentences),
    })
}
