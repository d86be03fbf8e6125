//! Security events for the SIEM: one structured event per security-relevant happening (a login
//! and its failure, a lockout, a step-up, a refused CSRF token, a rate limit reached, access
//! denied, a change by the platform operator or a service admin, the use of a key, a ledger
//! that does not verify).
//!
//! Each event is an Elastic Common Schema (ECS 8) document: `@timestamp`, `event.kind`,
//! `event.category`, `event.type`, `event.action`, `event.outcome`, `event.reason`, `user.id`,
//! `user.roles`, `organization.id`, `url.path` (the route pattern, never the address with its
//! ids), `http.request.method`, `service.name`, and `amtsweg.client` (a hash of the client's
//! address). No names, no login names typed, no addresses, no contents: only pseudonymous ids.
//!
//! Every event is kept in the database (the operator's page shows the latest and the counts)
//! and, when configured, written to a sink: JSON lines appended to a file, or RFC 5424 syslog
//! messages (the JSON as the message) to a UDP address or a local socket such as `/dev/log`.

use amtsweg_domain::{AuthorityId, Role, UserId};
use amtsweg_store::DynStore;
use std::path::PathBuf;
use std::sync::Mutex;
use time::OffsetDateTime;

/// How long events are kept in the database (the SIEM keeps its own copy).
pub const RETENTION: time::Duration = time::Duration::days(90);

/// What happened, with its ECS category and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    Lockout,
    StepUp,
    CsrfRefused,
    RateLimited,
    AccessDenied,
    /// A change by the platform operator or a service admin.
    ConfigurationChange,
    KeyUse,
    LedgerVerification,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::Lockout => "lockout",
            Action::StepUp => "step-up",
            Action::CsrfRefused => "csrf-refused",
            Action::RateLimited => "rate-limited",
            Action::AccessDenied => "access-denied",
            Action::ConfigurationChange => "configuration-change",
            Action::KeyUse => "key-use",
            Action::LedgerVerification => "ledger-verification",
        }
    }

    /// German, for the operator's page.
    pub fn label(self) -> &'static str {
        match self {
            Action::Login => "Anmeldung",
            Action::Lockout => "Sperre nach Fehlversuchen",
            Action::StepUp => "Höheres Vertrauensniveau",
            Action::CsrfRefused => "Formular-Token abgelehnt",
            Action::RateLimited => "Anfragelimit erreicht",
            Action::AccessDenied => "Zugriff verweigert",
            Action::ConfigurationChange => "Änderung durch Betrieb oder Fachadministration",
            Action::KeyUse => "Schlüssel verwendet",
            Action::LedgerVerification => "Prüfung des Protokolls",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use Action::*;
        [Login, Lockout, StepUp, CsrfRefused, RateLimited, AccessDenied, ConfigurationChange, KeyUse, LedgerVerification].into_iter().find(|a| a.as_str() == s)
    }

    fn category(self) -> &'static str {
        match self {
            Action::Login | Action::Lockout | Action::StepUp => "authentication",
            Action::CsrfRefused | Action::RateLimited => "web",
            Action::AccessDenied => "iam",
            Action::ConfigurationChange => "configuration",
            Action::KeyUse | Action::LedgerVerification => "process",
        }
    }

    fn kind_type(self, success: bool) -> &'static str {
        match (self, success) {
            (Action::ConfigurationChange, _) => "change",
            (Action::Login | Action::StepUp, true) => "start",
            (Action::KeyUse | Action::LedgerVerification, true) => "info",
            _ => "denied",
        }
    }
}

/// One event, before it is written.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    pub action: Action,
    pub success: bool,
    /// A code, e.g. `invalid-credentials`, `locked`, `not-found-or-foreign`, `role`.
    pub reason: Option<&'static str>,
    pub user: Option<UserId>,
    pub role: Option<Role>,
    pub authority: Option<AuthorityId>,
    /// The route pattern (`/api/v1/cases/{id}`), never the address with its ids.
    pub route: Option<String>,
    pub method: Option<String>,
    /// A hash of the client's address.
    pub client: Option<String>,
}

impl SecurityEvent {
    pub fn new(action: Action, success: bool) -> Self {
        Self { action, success, reason: None, user: None, role: None, authority: None, route: None, method: None, client: None }
    }

    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn by(mut self, user: &amtsweg_domain::User) -> Self {
        self.user = Some(user.id.clone());
        self.role = Some(user.role);
        self.authority = user.authority_id.clone();
        self
    }

    /// The ECS document.
    pub fn to_ecs(&self, at: OffsetDateTime) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "@timestamp": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "ecs": {"version": "8.11.0"},
            "service": {"name": "amtsweg"},
            "event": {
                "kind": "event",
                "category": [self.action.category()],
                "type": [self.action.kind_type(self.success)],
                "action": self.action.as_str(),
                "outcome": if self.success { "success" } else { "failure" },
            },
        });
        if let Some(reason) = self.reason {
            doc["event"]["reason"] = reason.into();
        }
        if let Some(user) = &self.user {
            doc["user"] = serde_json::json!({"id": user.as_str()});
        }
        if let Some(role) = self.role {
            doc["user"]["roles"] = serde_json::json!([role.as_str()]);
        }
        if let Some(authority) = &self.authority {
            doc["organization"] = serde_json::json!({"id": authority.as_str()});
        }
        if let Some(route) = &self.route {
            doc["url"] = serde_json::json!({"path": route});
        }
        if let Some(method) = &self.method {
            doc["http"] = serde_json::json!({"request": {"method": method}});
        }
        if let Some(client) = &self.client {
            doc["amtsweg"] = serde_json::json!({"client": client});
        }
        doc
    }
}


/// Where events go besides the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    None,
    /// JSON lines appended to a file.
    File(PathBuf),
    /// RFC 5424 over UDP to `host:port`.
    SyslogUdp(String),
    /// RFC 5424 to a local datagram socket (`/dev/log`).
    SyslogUnix(PathBuf),
}

impl Sink {
    /// `""` (none), `file:PATH`, `syslog:udp:HOST:PORT` or `syslog:unix:PATH`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Sink::None);
        }
        if let Some(path) = text.strip_prefix("file:").filter(|p| !p.is_empty()) {
            return Ok(Sink::File(PathBuf::from(path)));
        }
        if let Some(address) = text.strip_prefix("syslog:udp:").filter(|a| a.contains(':')) {
            return Ok(Sink::SyslogUdp(address.to_owned()));
        }
        if let Some(path) = text.strip_prefix("syslog:unix:").filter(|p| !p.is_empty()) {
            return Ok(Sink::SyslogUnix(PathBuf::from(path)));
        }
        Err("security_events: erwartet „file:PFAD“, „syslog:udp:HOST:PORT“ oder „syslog:unix:PFAD“".into())
    }
}

/// The security log of one process.
pub struct SecurityLog {
    sink: Sink,
    /// Appends from concurrent requests do not interleave.
    file: Mutex<()>,
    /// The key of the client hashes: an unkeyed hash of an IPv4 address could be reversed by
    /// trying all of them. Nodes of one installation share it (derived from its upload key).
    client_key: [u8; 32],
    /// The minute of the last event per throttle key (see [`SecurityLog::first_this_minute`]).
    recent: Mutex<std::collections::HashMap<String, u64>>,
}

impl Default for SecurityLog {
    fn default() -> Self {
        Self::new(Sink::None)
    }
}

/// The RFC 5424 message: facility authpriv (10), severity notice (5) or warning (4); the ECS
/// document is the message, the action its MSGID, no structured data.
pub fn syslog_line(event: &SecurityEvent, doc: &serde_json::Value, at: OffsetDateTime) -> String {
    let severity = if event.success { 5 } else { 4 };
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty() && h.is_ascii() && !h.contains(' ')).unwrap_or_else(|| "-".into());
    let timestamp = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| "-".into());
    format!("<{}>1 {timestamp} {host} amtsweg {} {} - {doc}", 10 * 8 + severity, std::process::id(), event.action.as_str())
}

impl SecurityLog {
    /// A log with a random client key (one process: the demo, tests).
    pub fn new(sink: Sink) -> Self {
        let mut client_key = [0u8; 32];
        getrandom::fill(&mut client_key).expect("the operating system's random source");
        Self { sink, file: Mutex::new(()), client_key, recent: Mutex::new(Default::default()) }
    }

    /// The key of the client hashes, derived from a secret every node of the installation has.
    pub fn with_client_secret(mut self, secret: &[u8]) -> Self {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"amtsweg security event client key\0");
        hasher.update(secret);
        self.client_key = hasher.finalize().into();
        self
    }

    /// A keyed hash of a client's address: the same client is recognisable across events and
    /// nodes, but who it is cannot be computed back.
    pub fn client_hash(&self, address: &std::net::IpAddr) -> String {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(self.client_key);
        hasher.update(address.to_string().as_bytes());
        hex::encode(&hasher.finalize()[..12])
    }

    /// Whether this is the first time this minute for `key` (a flood of refusals is one event a
    /// minute, not one write each).
    pub fn first_this_minute(&self, key: String) -> bool {
        let minute = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 60).unwrap_or_default();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() > 100_000 {
            recent.retain(|_, m| *m == minute);
        }
        recent.insert(key, minute) != Some(minute)
    }

    /// Keeps the event in the database and writes it to the sink. Failures are logged, never
    /// passed on: a request does not fail because its event could not be written.
    pub async fn record(&self, store: &DynStore, event: SecurityEvent) {
        let at = OffsetDateTime::now_utc();
        let doc = event.to_ecs(at);
        let json = doc.to_string();
        let outcome = if event.success { "success" } else { "failure" };
        if let Err(e) = store.put_security_event(at, event.action.as_str(), outcome, &json).await {
            tracing::warn!(error = %e, action = event.action.as_str(), "security event not stored");
        }
        if let Err(e) = self.write(&event, &doc, &json, at) {
            tracing::warn!(error = %e, action = event.action.as_str(), "security event not written to its sink");
        }
    }

    fn write(&self, event: &SecurityEvent, doc: &serde_json::Value, json: &str, at: OffsetDateTime) -> std::io::Result<()> {
        match &self.sink {
            Sink::None => Ok(()),
            Sink::File(path) => {
                use std::io::Write;
                let _guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                file.write_all(format!("{json}\n").as_bytes())
            }
            Sink::SyslogUdp(address) => {
                let socket = std::net::UdpSocket::bind(if address.starts_with('[') { "[::]:0" } else { "0.0.0.0:0" })?;
                socket.send_to(syslog_line(event, doc, at).as_bytes(), address.as_str()).map(|_| ())
            }
            #[cfg(unix)]
            Sink::SyslogUnix(path) => {
                let socket = std::os::unix::net::UnixDatagram::unbound()?;
                socket.send_to(syslog_line(event, doc, at).as_bytes(), path).map(|_| ())
            }
            #[cfg(not(unix))]
            Sink::SyslogUnix(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_documents_carry_no_personal_data_and_name_their_fields() {
        let mut e = SecurityEvent::new(Action::Login, false).reason("invalid-credentials");
        e.route = Some("/anmelden/mitarbeitende".into());
        e.method = Some("POST".into());
        let log = SecurityLog::new(Sink::None).with_client_secret(b"test");
        e.client = Some(log.client_hash(&"203.0.113.5".parse().unwrap()));
        assert_eq!(e.client, Some(SecurityLog::new(Sink::None).with_client_secret(b"test").client_hash(&"203.0.113.5".parse().unwrap())), "the same on every node");
        assert_ne!(e.client, Some(SecurityLog::new(Sink::None).client_hash(&"203.0.113.5".parse().unwrap())), "keyed");
        assert!(log.first_this_minute("a".into()) && !log.first_this_minute("a".into()) && log.first_this_minute("b".into()));
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let doc = e.to_ecs(at);
        assert_eq!(doc["event"]["action"], "login");
        assert_eq!(doc["event"]["outcome"], "failure");
        assert_eq!(doc["event"]["category"][0], "authentication");
        assert_eq!(doc["event"]["type"][0], "denied");
        assert_eq!(doc["url"]["path"], "/anmelden/mitarbeitende");
        assert_eq!(doc["@timestamp"], "2027-01-15T08:00:00Z");
        assert!(!doc.to_string().contains("203.0.113.5"), "the address is hashed");
        let line = syslog_line(&e, &doc, at);
        assert!(line.starts_with("<84>1 2027-01-15T08:00:00Z "), "{line}");
        assert!(line.contains(" amtsweg ") && line.contains(" login - {"), "{line}");
    }

    #[test]
    fn sinks_parse() {
        assert_eq!(Sink::parse("").unwrap(), Sink::None);
        assert_eq!(Sink::parse("file:/var/log/amtsweg/security.jsonl").unwrap(), Sink::File("/var/log/amtsweg/security.jsonl".into()));
        assert_eq!(Sink::parse("syslog:udp:127.0.0.1:514").unwrap(), Sink::SyslogUdp("127.0.0.1:514".into()));
        assert_eq!(Sink::parse("syslog:unix:/dev/log").unwrap(), Sink::SyslogUnix("/dev/log".into()));
        assert!(Sink::parse("syslog:tcp:x").is_err() && Sink::parse("file:").is_err());
    }
}
