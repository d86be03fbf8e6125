//! `amtsweg`: the one binary. `serve` runs the platform, `demo` a complete demo world on a
//! throwaway folder, `migrate` brings a store up to date, `config` prints the default
//! configuration, `bench` measures submissions per second.

/// mimalloc instead of the system allocator: the server allocates many small, short-lived
/// buffers on several threads at once, where glibc's malloc spent a fifth of the exchange's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod assist;
mod backup;
mod bench;
mod bench_evidence;
mod bench_fim;
mod bench_ledger;
mod bench_load;
mod config;
mod fim;
mod ledger;
mod maengel;
mod operator;
mod register;
mod staff;

use amtsweg_app::Platform;
use amtsweg_web::{AppState, Application, WebConfig};
use clap::{Args, Parser, Subcommand};
use config::Config;
use figment::providers::Serialized;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "amtsweg", version, about = "Digitale Verwaltungsleistungen: beantragen, entscheiden, zustellen.")]
struct Cli {
    /// Configuration file (TOML); also AMTSWEG_CONFIG.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform with the production configuration.
    Serve(ServerFlags),
    /// Start a complete demo (authorities, services, citizens) on a throwaway data folder.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(ServerFlags),
    /// Print the default configuration file.
    Config,
    /// Benchmarks that print figures against a baseline measured in the same run.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// FIM XDatenfelder schemas: check, import, export.
    #[command(subcommand)]
    Fim(fim::FimCommand),
    /// Once-only exchange: OOTS EDM messages.
    #[command(subcommand)]
    Oots(OotsCommand),
    /// Register nodes: serve, generate data, make keys.
    #[command(subcommand)]
    Register(register::RegisterCommand),
    /// The tamper-evident ledger: checkpoint, verify, verify a receipt, print the key.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// The assistant's knowledge base: import documents.
    #[command(subcommand)]
    Kb(assist::KbCommand),
    /// The citizen assistant: search, answer, evaluate.
    #[command(subcommand)]
    Assist(assist::AssistCommand),
    /// Staff accounts: invitations, tokens, password login with a second factor (TOTP).
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// Write a consistent backup (database, keys, the assistant's index, a manifest) into an
    /// empty folder while the server runs.
    Backup {
        dir: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Restore a backup into an empty data folder (and an empty database), then migrate.
    Restore {
        dir: PathBuf,
        #[command(flatten)]
        flags: ServerFlags,
    },
    /// Authorities on the platform (the platform operator): add, list, edit.
    #[command(subcommand)]
    Authority(operator::AuthorityCommand),
    /// Responsibilities: which authority handles which service for which region.
    #[command(subcommand)]
    Responsibility(operator::ResponsibilityCommand),
    /// The Mängelmelder of an authority: departments, categories, areas, assignments, addresses,
    /// Open311 API keys.
    #[command(subcommand)]
    Maengel(maengel::MaengelCommand),
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    flags: ServerFlags,
    /// Folder of the FIM fixtures whose real schemas the demo imports as services.
    #[arg(long, default_value = "../shared/fixtures/fim")]
    fim_fixtures: PathBuf,
}

#[derive(Subcommand)]
enum OotsCommand {
    /// Print a JSON summary of an EDM message (kind, ids, procedure, requester, person,
    /// evidence type, or the exception's code); exit 1 with a located error for malformed input.
    Inspect { file: PathBuf },
}

/// Flags that override the configuration (only those given).
#[derive(Args, Default)]
pub(crate) struct ServerFlags {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Data folder.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL (sqlite:PATH or postgres://…).
    #[arg(long)]
    database_url: Option<String>,
    /// Folder of the KERN UX files.
    #[arg(long)]
    kern_dir: Option<PathBuf>,
    /// TOML file listing the register nodes (id, url, public_key).
    #[arg(long)]
    registers: Option<String>,
    /// The platform's key file for the evidence exchange.
    #[arg(long)]
    exchange_key: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Fehler: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The flags given, under the keys of the configuration file.
fn flags_figment(flags: &ServerFlags) -> figment::Figment {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let given = [
        ("server.listen", flags.listen.map(|a| a.to_string())),
        ("data_dir", path(&flags.data_dir)),
        ("store.database_url", flags.database_url.clone()),
        ("server.kern_dir", path(&flags.kern_dir)),
        ("exchange.registers", flags.registers.clone()),
        ("exchange.key", flags.exchange_key.clone()),
    ];
    given.into_iter().filter_map(|(key, value)| Some((key, value?))).fold(figment::Figment::new(), |f, (key, value)| f.merge(Serialized::default(key, value)))
}

pub(crate) fn load(cli_config: Option<&PathBuf>, flags: &ServerFlags) -> Result<Config, String> {
    let config = Config::load(cli_config.map(PathBuf::as_path), flags_figment(flags))
        .map_err(|e| format!("Konfiguration ungültig: {e}"))?;
    init_tracing(&config.log);
    Ok(config)
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to standard error; standard output is for what a command prints (JSON, notes).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).try_init();
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Config => {
            print!("{}", Config::default_toml());
            Ok(())
        }
        Command::Migrate(flags) => {
            let config = load(cli.config.as_ref(), &flags)?;
            let store = open_store(&config).await?;
            println!("Datenbank ist auf dem neuesten Stand ({}).", store.backend().name());
            Ok(())
        }
        Command::Serve(flags) => {
            let config = load(cli.config.as_ref(), &flags)?;
            let store = open_store(&config).await?;
            let exchange = config.exchange()?;
            if exchange.is_none() {
                eprintln!("Hinweis: keine Register konfiguriert (registers); Nachweise können nur hochgeladen werden.");
            }
            serve(config, store, false, None, exchange).await
        }
        Command::Demo(DemoArgs { flags, fim_fixtures }) => {
            let mut config = load(cli.config.as_ref(), &flags)?;
            if flags.data_dir.is_none() {
                config.data_dir = std::env::temp_dir().join(format!("amtsweg-demo-{}", std::process::id()));
            }
            // The demo runs on a fresh world each start: its own SQLite file, or with
            // `--database-url postgres://…` a new schema on that database.
            std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("Datenordner nicht anlegbar: {e}"))?;
            let postgres = flags.database_url.as_deref().filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
            let store: amtsweg_store::DynStore = match postgres {
                Some(url) => {
                    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
                    let schema = format!("amtsweg_demo_{since}");
                    let store: amtsweg_store::DynStore =
                        std::sync::Arc::new(amtsweg_store::PgStore::connect_to_new_schema(url, &schema).await.map_err(|e| format!("Datenbank nicht erreichbar: {e}"))?);
                    store.migrate().await.map_err(|e| format!("Migration fehlgeschlagen: {e}"))?;
                    println!("PostgreSQL: die Demo liegt im neuen Schema {schema} (weitere Knoten: search_path={schema}).");
                    store
                }
                None => {
                    let db = config.data_dir.join("amtsweg-demo.db");
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                    }
                    config.set_database_url(format!("sqlite:{}", db.display()));
                    open_store(&config).await?
                }
            };
            let mut tokens = amtsweg_demo::seed(&store).await.map_err(|e| format!("Demo-Daten: {e}"))?;
            amtsweg_demo::seed_staff_logins(&store, &mut tokens).await.map_err(|e| format!("Demo-Zugänge: {e}"))?;
            tokens.open311 = Some(amtsweg_demo::maengel::seed(&store, 300).await.map_err(|e| format!("Mängelmelder: {e}"))?);
            match amtsweg_demo::seed_fim(&store, &fim_fixtures).await {
                Ok(ids) => println!("FIM-Leistungen importiert: {}", ids.join(", ")),
                Err(e) => eprintln!("Warnung: FIM-Leistungen nicht importiert ({e}); die Demo läuft ohne sie."),
            }
            let tokens_path = config.data_dir.join("demo-tokens.json");
            let json = serde_json::to_string_pretty(&tokens).expect("tokens serialise");
            std::fs::write(&tokens_path, json).map_err(|e| format!("{} nicht schreibbar: {e}", tokens_path.display()))?;
            // Register nodes as configured, or the demo's own, in this process.
            let exchange = match config.exchange()? {
                Some(configured) => configured,
                None => amtsweg_demo::start_registers(&[]).await.map_err(|e| format!("Register: {e}"))?,
            };
            for (id, url) in &exchange.registers {
                println!("Register „{id}“: {url}");
            }
            serve(config, store, true, Some(tokens_path), Some(exchange)).await
        }
        Command::Bench(args) => bench::run(args).await,
        Command::Ledger(command) => ledger::run(command, cli.config.as_ref()).await,
        Command::Kb(command) => assist::run_kb(command, cli.config.as_ref()).await,
        Command::Assist(command) => assist::run_assist(command, cli.config.as_ref()).await,
        Command::Staff(command) => staff::run(command, cli.config.as_ref()).await,
        Command::Backup { dir, flags } => backup::backup(dir, cli.config.as_ref(), &flags).await,
        Command::Restore { dir, flags } => backup::restore(dir, cli.config.as_ref(), &flags).await,
        Command::Authority(command) => operator::run_authority(command, cli.config.as_ref()).await,
        Command::Responsibility(command) => operator::run_responsibility(command, cli.config.as_ref()).await,
        Command::Maengel(command) => maengel::run(command, cli.config.as_ref()).await,
        Command::Register(command) => {
            init_tracing("info");
            register::run(command).await
        }
        Command::Oots(OotsCommand::Inspect { file }) => {
            let xml = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            match amtsweg_exchange::inspect(&xml) {
                Ok(summary) => {
                    println!("{}", serde_json::to_string_pretty(&summary).expect("JSON"));
                    Ok(())
                }
                Err(e) => Err(format!(
                    "{}:{}:{}: {}{}",
                    file.display(),
                    e.location.line,
                    e.location.column,
                    e.element.map(|el| format!("<{el}>: ")).unwrap_or_default(),
                    e.message
                )),
            }
        }
        Command::Fim(command) => {
            let config_path = cli.config.clone();
            let ok = fim::run(command, async move || {
                let config = load(config_path.as_ref(), &ServerFlags::default())?;
                open_store(&config).await
            })
            .await?;
            if ok { Ok(()) } else { Err("nicht alles fehlerfrei (siehe oben)".into()) }
        }
    }
}

/// Records a security event of a command (database and the configured sink).
pub(crate) async fn security_event(config: &Config, store: &amtsweg_store::DynStore, event: amtsweg_app::security::SecurityEvent) {
    match config.security_log() {
        Ok(log) => log.record(store, event).await,
        Err(e) => eprintln!("Warnung: {e}"),
    }
}

pub(crate) async fn open_store(config: &Config) -> Result<amtsweg_store::DynStore, String> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| format!("Datenordner nicht anlegbar: {e}"))?;
    }
    let store = amtsweg_store::connect(&url).await.map_err(|e| format!("Datenbank nicht erreichbar: {e}"))?;
    store.migrate().await.map_err(|e| format!("Migration fehlgeschlagen: {e}"))?;
    Ok(store)
}

async fn serve(
    config: Config,
    store: amtsweg_store::DynStore,
    demo: bool,
    tokens: Option<PathBuf>,
    exchange: Option<amtsweg_app::evidence::Exchange>,
) -> Result<(), String> {
    // Outside the demo both keys must exist: a key made up now would leave checkpoints and
    // uploads unreadable after the next start.
    let (ledger_key, upload_key) = if demo {
        (ledger::demo_key(&config)?, config.upload_key()?.unwrap_or_else(amtsweg_app::uploads::UploadKey::random))
    } else {
        let upload_key = config.upload_key()?.ok_or(
            "Es ist kein upload_key konfiguriert, mit dem hochgeladene Nachweise verschlüsselt werden. Erzeugen Sie einen (zum Beispiel „openssl rand -base64 32“), bewahren Sie ihn sicher auf und setzen Sie ihn als [uploads] key oder AMTSWEG_UPLOAD_KEY.",
        )?;
        (ledger::key(&config)?, upload_key)
    };
    // Every node of an installation has the same upload key: the client hashes of security
    // events and rate limits are keyed with it, so that they agree across nodes.
    let mut security = config.security_log()?;
    if let Some(secret) = config.upload_key_base64() {
        security = security.with_client_secret(secret.as_bytes());
    }
    let mut app = Platform::new(store, ledger_key, upload_key).with_security_log(security).with_report_retention_days(config.reports.retention_days);
    if let Some(model) = config.model() {
        app = app.with_model(model);
    }
    if let Some(tiles) = config.map_tiles()? {
        app = app.with_map_tiles(tiles);
    }
    if let Some(mailer) = config.mailer()? {
        app = app.with_mailer(mailer);
    }
    // The assistant's knowledge base in the data folder (the catalog is indexed when serving starts).
    let mut assistant = amtsweg_assist::Assistant::new(amtsweg_app::assistant::open(&config.assistant_dir())?)
        .with_answer_model(amtsweg_assist::lines::AnswerModel::in_dir(&config.assistant_dir())?);
    if let Some(embedder) = config.embedder() {
        assistant = assistant.with_embedder(embedder);
    }
    if let Some(model) = config.model() {
        assistant = assistant.with_model(model);
    }
    app = app.with_assistant(assistant, Some(config.assistant_dir()));
    if let Some(exchange) = exchange {
        app = app.with_exchange(exchange);
    }
    let mut state = AppState::new(app, WebConfig { demo, secure_cookies: config.server.secure_cookies, kern_dir: config.server.kern_dir.clone() })
        .with_rate_limits(config.rate_limits(), config.trusted_proxies()?);
    if let Some(login) = config.oidc()? {
        state = state.with_oidc(login);
    }
    // The login forms' tokens are signed with a key from the upload key, so that every node
    // accepts a login page that another showed.
    if let Some(secret) = config.upload_key_base64() {
        state = state.with_form_secret(secret.as_bytes());
    }
    if let Some(token) = config.server.metrics_token.as_ref() {
        use secrecy::ExposeSecret;
        state = state.with_metrics_token(token.expose_secret().trim());
    }
    let listen = config.server.listen.to_string();
    let metrics_listen = config.server.metrics_listen.map(|a| a.to_string());
    let application = Application::build(state, &listen, metrics_listen.as_deref())
        .await
        .map_err(|e| format!("Adresse nicht verfügbar: {e}"))?;
    let address = application.address();
    if demo {
        println!("amtsweg-Demo läuft unter http://{address}/");
        println!("Anmelden: http://{address}/anmelden – wählen Sie eine Person (Bürgerin/Bürger, Sachbearbeitung, Teamleitung, Datenschutz, Fachadministration oder Plattformbetrieb).");
        println!("Als Plattformbetrieb (Robert Neumann, /betrieb): legen Sie die Landeshauptstadt Dresden an (ARS 146120000000), machen Sie sie für den Bewohnerparkausweis zuständig, und der Antrag von Tom Richter geht durch.");
        println!("Automatisiert entschieden wird z. B. die Energiepreispauschale von Lena Hoffmann (Nachweis aus dem Immatrikulationsregister abrufen, dann absenden).");
        if let Some(path) = tokens {
            println!("API-Tokens der Demo-Personen, Zugangsdaten der Fachverfahren (clients) und Passwort-Anmeldungen der Mitarbeitenden mit TOTP-Schlüssel (staff_logins): {}", path.display());
        }
        println!("Datenordner: {} (wird beim nächsten Start geleert). Beenden mit Strg+C.", config.data_dir.display());
    } else {
        println!("amtsweg läuft unter http://{address}/");
    }
    if let Some(metrics) = application.metrics_address() {
        println!("Metriken unter http://{metrics}/metrics");
    }
    tracing::info!(%address, "listening");
    application.run_until_stopped(shutdown_signal()).await.map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
