//! `amtsweg register`: run a register node, generate synthetic register data, make a node key.

use amtsweg_exchange::node::{Node, router};
use amtsweg_exchange::register::{Kind, Register, generate};
use amtsweg_exchange::seal::{Identity, PinnedKeys};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum RegisterCommand {
    /// Serve a register over HTTP (signed OOTS EDM at /edm).
    Serve {
        /// resident, vehicle or enrolment.
        #[arg(long)]
        kind: String,
        /// Records as CSV (with a header line) or JSONL.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// The node's key file (base64 seed, see `amtsweg register keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The node's id, as requesters name it (default: the kind).
        #[arg(long)]
        id: Option<String>,
        /// A requester's pinned public key: ID=BASE64; repeatable.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// Key date for enrolment (default: today).
        #[arg(long)]
        key_date: Option<String>,
        /// Ask the person to preview evidence before it is given (EDM:ERR:0002).
        #[arg(long)]
        preview: bool,
        /// Answer only after this many milliseconds (to rehearse a slow register).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
    /// Write synthetic records as JSONL to standard output (the same for the same seed).
    Generate {
        #[arg(long)]
        kind: String,
        #[arg(long, default_value_t = 100)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Instead: the demo's register (500 synthetic people and the demo's citizens), to run
        /// the demo against register nodes in their own processes.
        #[arg(long, conflicts_with_all = ["count", "seed"])]
        demo: bool,
    },
    /// Make a key file for a node or an authority and print its public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

fn kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| format!("Unbekanntes Register „{s}“: resident, vehicle oder enrolment."))
}

pub async fn run(command: RegisterCommand) -> Result<(), String> {
    match command {
        RegisterCommand::Generate { kind: k, count, seed, demo } => {
            let lines = if demo { amtsweg_demo::register_lines(kind(&k)?) } else { generate(kind(&k)?, count, seed) };
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        RegisterCommand::Keygen { out } => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
            let identity = Identity::from_seed("", seed);
            std::fs::write(&out, identity.seed_text() + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
            println!("{}", identity.public_key());
            Ok(())
        }
        RegisterCommand::Serve { kind: k, data, listen, key, id, peers, key_date, preview, delay_ms } => {
            let kind = kind(&k)?;
            let text = std::fs::read_to_string(&data).map_err(|e| format!("{}: {e}", data.display()))?;
            let register = Register::load(kind, &text).map_err(|e| format!("{}: {e}", data.display()))?;
            let seed = std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", key.display()))?;
            let id = id.unwrap_or_else(|| kind.as_str().to_owned());
            let identity = Identity::from_seed_text(&id, &seed).map_err(|e| format!("{}: {e}", key.display()))?;
            let mut pinned = PinnedKeys::default();
            for p in &peers {
                let (peer, public) = p.split_once('=').ok_or_else(|| format!("--peer erwartet ID=SCHLÜSSEL, nicht „{p}“"))?;
                pinned.pin(peer, public).map_err(|e| format!("--peer {peer}: {e}"))?;
            }
            let key_date = key_date.unwrap_or_else(|| time::OffsetDateTime::now_utc().date().to_string());
            let records = register.len();
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("{listen}: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            println!("{} „{id}“ mit {records} Einträgen läuft unter http://{address}/edm", kind.label());
            let node = Arc::new(Node::new(register, identity, pinned, key_date, preview).with_delay(std::time::Duration::from_millis(delay_ms)));
            axum::serve(listener, router(node)).await.map_err(|e| e.to_string())
        }
    }
}
