//! `amtsweg bench load`: complete applications through the public HTTP API of a running server,
//! as citizens' clients send them (one keep-alive connection per client, bearer tokens), for a
//! fixed time per concurrency level. Prints applications/s, p50/p99 of a complete application,
//! the errors, and the server's CPU time per application when it can read it (a process on this
//! machine: `--server-pid`, or found by the listening port of a loopback URL). With `--baseline`,
//! the bare durable insert into a scratch table of that database at the same concurrency, in
//! the same run.

use crate::bench::{figures, ms, quantile};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The server's address (a node, or nginx in front of several).
    #[arg(long)]
    url: String,
    /// `demo-tokens.json` of the server: the citizens' API tokens.
    #[arg(long)]
    tokens: PathBuf,
    /// `complete` (Bewohnerparkausweis: create, data, submit with its receipt) or `mass`
    /// (Energiepreispauschale: create, data, evidence from the register with preview and accept,
    /// submit with automated decision and PDF/A Bescheid in the mailbox).
    #[arg(long, default_value = "complete")]
    scenario: Scenario,
    /// Concurrency levels (parallel clients), comma-separated.
    #[arg(long, default_value = "1,16,64,256", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Seconds per level.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server processes whose CPU time is counted (comma-separated); default: the process
    /// listening on the URL's port when the URL is on this machine.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// A database for the baseline (bare durable insert into a scratch table, same concurrency):
    /// `sqlite:PATH` (a new file) or `postgres://…` (a new schema, dropped afterwards).
    #[arg(long)]
    baseline: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Scenario {
    Complete,
    Mass,
}

/// One level's tally.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// Submissions answered with a receipt against a signed checkpoint / with a signed promise.
    receipts: u64,
    promises: u64,
    /// Errors by kind (status and step, or the transport's failure).
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.receipts += other.receipts;
        self.promises += other.promises;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

/// What one application step went wrong with.
struct Failure(String);

async fn call(request: reqwest::RequestBuilder, step: &str, status: u16) -> Result<serde_json::Value, Failure> {
    let response = request.send().await.map_err(|e| Failure(format!("{step}: {}", transport(&e))))?;
    let got = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| Failure(format!("{step}: {}", transport(&e))))?;
    if got != status {
        return Err(Failure(format!("{step}: {got}")));
    }
    serde_json::from_slice(&body).map_err(|_| Failure(format!("{step}: kein JSON")))
}

fn transport(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "Zeitüberschreitung"
    } else if e.is_connect() {
        "keine Verbindung"
    } else {
        "Übertragung abgebrochen"
    }
}

/// One complete application of the scenario; `Ok(true)` when the submission carried a receipt,
/// `Ok(false)` for a signed promise.
async fn application(client: &reqwest::Client, base: &str, token: &str, scenario: Scenario) -> Result<bool, Failure> {
    let service = match scenario {
        Scenario::Complete => "bewohnerparkausweis",
        Scenario::Mass => "energiepreispauschale",
    };
    let created = call(client.post(format!("{base}/api/v1/applications")).bearer_auth(token).json(&serde_json::json!({"service_id": service})), "create", 201).await?;
    let id = created["id"].as_str().ok_or_else(|| Failure("create: keine id".into()))?.to_owned();
    let app = format!("{base}/api/v1/applications/{id}");
    let data = match scenario {
        Scenario::Complete => serde_json::json!({"kennzeichen": "L-AB 1234", "halter": "selbst", "beginn": "2099-03-01", "gueltigkeit": "12", "richtigkeit": true}),
        Scenario::Mass => serde_json::json!({"hochschule": "Universität Erfurt", "iban": "DE02120300000000202051", "richtigkeit": true}),
    };
    call(client.put(format!("{app}/data")).bearer_auth(token).json(&data), "data", 200).await?;
    if let Scenario::Mass = scenario {
        let fetch = serde_json::json!({"type": "urn:amtsweg:evidence:enrolment", "source": "register", "consent": true});
        let preview = call(client.post(format!("{app}/evidence")).bearer_auth(token).json(&fetch), "evidence", 409).await?;
        let evidence = preview["evidence_id"].as_str().ok_or_else(|| Failure("evidence: keine Vorschau".into()))?.to_owned();
        call(client.post(format!("{app}/evidence/{evidence}/accept")).bearer_auth(token), "accept", 200).await?;
    }
    let submitted = call(client.post(format!("{app}/submit")).bearer_auth(token), "submit", 200).await?;
    if let Scenario::Mass = scenario
        && submitted["status"] != "decided"
    {
        return Err(Failure("submit: nicht automatisiert entschieden".into()));
    }
    if submitted["receipt"].is_object() {
        Ok(true)
    } else if submitted["promise"].is_object() {
        Ok(false)
    } else {
        Err(Failure("submit: weder Quittung noch Zusage".into()))
    }
}

/// CPU time (user + system) of the processes so far; `None` without a process to read.
fn cpu_time(pids: &[u32]) -> Option<Duration> {
    if pids.is_empty() {
        return None;
    }
    let mut ticks = 0u64;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command name (which is in parentheses and may hold spaces).
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        ticks += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    // Linux reports these in USER_HZ, which is 100 on every architecture it supports today.
    Some(Duration::from_millis(ticks * 10))
}

/// The process listening on `port` on this machine, from `/proc/net/tcp{,6}` and the sockets
/// each process holds open.
fn listener_pid(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9)) else { continue };
            let local_port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if *state == "0A" && local_port == Some(port) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for proc_entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = proc_entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && inodes.iter().any(|i| target.as_os_str() == i.as_str())
            {
                return Some(pid);
            }
        }
    }
    None
}

fn citizen_tokens(path: &PathBuf) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: kein JSON ({e})", path.display()))?;
    let tokens: Vec<String> = json["citizens"]
        .as_array()
        .ok_or_else(|| format!("{}: keine Liste „citizens“", path.display()))?
        .iter()
        .filter_map(|c| c["token"].as_str().map(str::to_owned))
        .collect();
    if tokens.is_empty() {
        return Err(format!("{}: keine Tokens von Bürgerinnen und Bürgern", path.display()));
    }
    Ok(tokens)
}

/// Runs the scenario with `clients` parallel clients for `seconds`.
async fn level(client: &reqwest::Client, base: &str, tokens: &Arc<Vec<String>>, scenario: Scenario, clients: usize, seconds: u64) -> Tally {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::with_capacity(clients);
    for w in 0..clients {
        let (client, base, tokens) = (client.clone(), base.to_owned(), tokens.clone());
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = w;
            while Instant::now() < deadline {
                let started = Instant::now();
                match application(&client, &base, &tokens[n % tokens.len()], scenario).await {
                    Ok(receipt) => {
                        tally.latencies.push(started.elapsed());
                        if receipt { tally.receipts += 1 } else { tally.promises += 1 }
                    }
                    Err(Failure(kind)) => {
                        *tally.errors.entry(kind).or_default() += 1;
                        // Back off a little after an error, as a client would (no hot loop).
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                n += clients;
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for w in workers {
        if let Ok(t) = w.await {
            all.merge(t);
        }
    }
    all
}

/// The baseline: bare durable inserts at `clients` for `seconds`.
async fn baseline_level(raw: &Arc<crate::bench::Raw>, clients: usize, seconds: u64) -> Result<crate::bench::Figures, String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..clients {
        let raw = raw.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                crate::bench::baseline_insert(&raw, format!("{clients}-{w}-{i}")).await?;
                latencies.push(t.elapsed());
                i += 1;
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.map_err(|e| e.to_string())??);
    }
    if all.is_empty() {
        return Err("keine Einfügung in der Messzeit".into());
    }
    Ok(figures(all, started.elapsed()))
}

pub async fn run(args: LoadArgs) -> Result<(), String> {
    let base = args.url.trim_end_matches('/').to_owned();
    let parsed = reqwest::Url::parse(&base).map_err(|e| format!("--url: {e}"))?;
    let all_tokens = citizen_tokens(&args.tokens)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    // The citizens for whom the scenario goes through (the others live where no authority on
    // this server is responsible, or are not in the register): tried once each.
    let mut usable = Vec::new();
    let mut refusals = BTreeMap::<String, u64>::new();
    for token in &all_tokens {
        match application(&client, &base, token, args.scenario).await {
            Ok(_) => usable.push(token.clone()),
            Err(Failure(kind)) => *refusals.entry(kind).or_default() += 1,
        }
    }
    if usable.is_empty() {
        return Err(format!("Für keine der {} Personen geht das Szenario durch: {refusals:?}", all_tokens.len()));
    }
    let tokens = Arc::new(usable);
    let pids: Vec<u32> = if !args.server_pid.is_empty() {
        args.server_pid.clone()
    } else {
        let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "::1" | "[::1]"));
        parsed.port_or_known_default().filter(|_| local).and_then(listener_pid).into_iter().collect()
    };
    let baseline = match &args.baseline {
        Some(url) => Some(Arc::new(crate::bench::Raw::scratch(url).await?)),
        None => None,
    };
    let scenario = match args.scenario {
        Scenario::Complete => "complete applications (create, data, submit with receipt)",
        Scenario::Mass => "mass scenario (create, data, evidence with preview and accept, submit → decided, PDF/A Bescheid)",
    };
    println!("{scenario} against {base}, {} s per level, {} citizens; server CPU from {}:\n", args.seconds, tokens.len(), if pids.is_empty() { "—".to_owned() } else { format!("pid {pids:?}") });
    println!("| clients | applications/s | p50 ms | p99 ms | errors | receipts / promises | server CPU ms per application | client CPU ms per application | inserts/s | insert p50 ms | insert p99 ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &clients in &args.concurrency {
        let cpu_before = cpu_time(&pids);
        let self_before = cpu_time(&[std::process::id()]);
        let started = Instant::now();
        let mut tally = level(&client, &base, &tokens, args.scenario, clients.max(1), args.seconds).await;
        let elapsed = started.elapsed();
        let server_cpu = cpu_before.zip(cpu_time(&pids)).map(|(a, b)| b.saturating_sub(a));
        let client_cpu = self_before.zip(cpu_time(&[std::process::id()])).map(|(a, b)| b.saturating_sub(a));
        tally.latencies.sort();
        let done = tally.latencies.len();
        let per_app = |cpu: Option<Duration>| match cpu {
            Some(c) if done > 0 => format!("{:.2}", ms(c) / done as f64),
            _ => "—".into(),
        };
        let (p50, p99) = if done > 0 { (ms(quantile(&tally.latencies, 0.5)), ms(quantile(&tally.latencies, 0.99))) } else { (f64::NAN, f64::NAN) };
        let errors: u64 = tally.errors.values().sum();
        let base_cols = match &baseline {
            Some(raw) => {
                let insert = baseline_level(raw, clients.max(1), args.seconds).await?;
                format!("{:.0} | {:.2} | {:.2}", insert.per_second, ms(insert.p50), ms(insert.p99))
            }
            None => "— | — | —".into(),
        };
        println!(
            "| {clients} | {:.0} | {p50:.1} | {p99:.1} | {errors} | {} / {} | {} | {} | {base_cols} |",
            done as f64 / elapsed.as_secs_f64(),
            tally.receipts,
            tally.promises,
            per_app(server_cpu),
            per_app(client_cpu),
        );
        if errors > 0 {
            eprintln!("  errors at {clients} clients: {:?}", tally.errors);
        }
    }
    if let Some(raw) = baseline {
        raw.drop_scratch().await;
    }
    Ok(())
}
