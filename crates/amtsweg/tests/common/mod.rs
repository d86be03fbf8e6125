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
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["serve", "--listen", "127.0.0.1:0"])
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

