//! What the process tests share: the PostgreSQL of the tests, and `amtsweg serve` as a child
//! process that is killed when dropped.
#![allow(dead_code)]

use std::process::Command;

pub fn postgres_url() -> Option<String> {
    match std::env::var("AMTSWEG_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: AMTSWEG_TEST_POSTGRES_URL must be set");
            None
        }
    }
}

pub struct Server(pub std::process::Child, pub String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve(database_url: &str, key: &std::path::Path, dir: &std::path::Path) -> Server {
    serve_with(database_url, key, dir, &[])
}

/// `serve` with more configuration in the environment (e.g. `AMTSWEG_RATE_LIMIT_API_PER_SECOND`).
#[allow(dead_code)]
pub fn serve_with(database_url: &str, key: &std::path::Path, dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .env("AMTSWEG_DATABASE_URL", database_url)
        .env("AMTSWEG_DATA_DIR", dir)
        .env("AMTSWEG_LEDGER_KEY", key)
        .env("AMTSWEG_UPLOAD_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
        .env("AMTSWEG_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("läuft unter") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "serve ended early");
    }
    std::thread::spawn(move || for _ in out.lines() {});
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_owned();
    Server(child, url)
}


/// A database of its own on the test PostgreSQL, for several `amtsweg serve` processes, with a
/// data folder and the ledger key they share. `None` (skipped) without a PostgreSQL, outside CI.
pub struct SharedDatabase {
    pub url: String,
    pub dir: std::path::PathBuf,
    pub key_file: std::path::PathBuf,
    admin: sqlx::PgPool,
    name: String,
}

/// The seed of the ledger key the processes share.
pub const LEDGER_SEED: [u8; 32] = [7; 32];

impl SharedDatabase {
    pub async fn create(prefix: &str) -> Option<SharedDatabase> {
        let Some(admin_url) = postgres_url() else {
            eprintln!("skipped: AMTSWEG_TEST_POSTGRES_URL is not set (several processes need one PostgreSQL)");
            return None;
        };
        let name = format!("{prefix}_{}", std::process::id());
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("ledger.key");
        std::fs::write(&key_file, "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n").unwrap();
        Some(SharedDatabase { url, dir, key_file, admin, name })
    }

    /// The key in `key_file`, under the default ledger origin.
    pub fn ledger_key(&self) -> amtsweg_ledger::LogKey {
        amtsweg_ledger::LogKey::from_seed("amtsweg.local/ledger", LEDGER_SEED).unwrap()
    }

    /// A server process on this database.
    pub fn serve(&self) -> Server {
        serve(&self.url, &self.key_file, &self.dir)
    }

    /// Drops the database (connections closed by force) and the folder.
    pub async fn remove(self) {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&self.admin).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
