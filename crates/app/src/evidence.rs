//! Once-only evidence: with the citizen's explicit consent, the authority responsible for the
//! application asks the register that holds the evidence, over the signed EDM exchange. Every
//! exchange, whatever its outcome, is written to the transfer log the citizen sees.

use crate::error::AppError;
use amtsweg_domain::records::{EvidenceRecord, Transfer};
use amtsweg_domain::{ApplicationId, Authority, EvidenceRequirement, FieldError, Person, Service, UserId};
use amtsweg_exchange::client::{FetchError, Outcome, Peer, prepare, send};
use amtsweg_exchange::seal::{Identity, PinnedKeys};
use amtsweg_exchange::write::{self, EvidenceTypeRef, Party, Request, Subject};
use amtsweg_store::DynStore;
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;

/// How this installation reaches the registers.
pub struct Exchange {
    /// The platform's key; registers pin its public key.
    pub identity: Identity,
    /// The registers' keys.
    pub pinned: PinnedKeys,
    /// Register id → URL of its `/edm` endpoint.
    pub registers: HashMap<String, String>,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

/// The register nodes this installation may ask, as an operator lists them in a TOML file:
///
/// ```toml
/// [[register]]
/// id = "melderegister"                      # as the services name it
/// url = "http://10.0.0.5:7001/edm"
/// public_key = "base64 of the node's Ed25519 key (amtsweg register keygen prints it)"
/// ```
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistersFile {
    #[serde(default)]
    register: Vec<RegisterEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterEntry {
    id: String,
    url: String,
    public_key: String,
}

impl Exchange {
    /// The exchange as configured: the platform's key (`id`, key file text as written by
    /// `amtsweg register keygen`) and the registers file. Errors name what is wrong, never a key.
    pub fn configured(id: &str, key_text: &str, registers_toml: &str, timeout: Duration) -> Result<Exchange, String> {
        let identity = Identity::from_seed_text(id, key_text).map_err(|_| "Der Schlüssel der Plattform ist kein Base64 von 32 Bytes.".to_owned())?;
        let file: RegistersFile = toml::from_str(registers_toml).map_err(|e| format!("Registerliste: {}", e.message()))?;
        let mut pinned = PinnedKeys::default();
        let mut registers = HashMap::new();
        for entry in file.register {
            let url = reqwest::Url::parse(&entry.url).map_err(|e| format!("Register „{}“: Adresse „{}“ ungültig ({e})", entry.id, entry.url))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("Register „{}“: nur http- und https-Adressen", entry.id));
            }
            pinned.pin(&entry.id, &entry.public_key).map_err(|_| format!("Register „{}“: der öffentliche Schlüssel ist kein Ed25519-Schlüssel (Base64, 32 Bytes)", entry.id))?;
            if registers.insert(entry.id.clone(), entry.url).is_some() {
                return Err(format!("Register „{}“ ist doppelt eingetragen", entry.id));
            }
        }
        Ok(Exchange { identity, pinned, registers, http: reqwest::Client::new(), timeout })
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// What a fetch produced.
pub enum Fetched {
    /// Attached to the application.
    Attached(EvidenceRecord),
    /// The register asked for a preview: kept aside until the citizen accepts or discards it.
    Preview(EvidenceRecord),
}

struct Ask<'a> {
    store: &'a DynStore,
    exchange: &'a Exchange,
    citizen: &'a UserId,
    person: &'a Person,
    application: &'a ApplicationId,
    service: &'a Service,
    requirement: &'a EvidenceRequirement,
    authority: &'a Authority,
}

impl Ask<'_> {
    /// One signed exchange with the register, logged in the transfer log whatever its outcome.
    async fn exchange(&self, url: &str, preview_location: Option<String>) -> Result<(Result<Outcome, FetchError>, String), AppError> {
        let now = OffsetDateTime::now_utc();
        let idnr = self.person.idnr.as_ref();
        let request = Request {
            id: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            issued: rfc3339(now),
            procedure: self.service.name.clone(),
            requirement_id: format!("urn:amtsweg:requirement:{}:{}", self.service.id, self.requirement.evidence_type),
            requirement_name: self.requirement.purpose.clone(),
            requester: Party { id: self.authority.id.to_string(), scheme: "urn:amtsweg:authority".into(), name: self.authority.name.clone() },
            provider: Party { id: self.requirement.register.clone(), scheme: "urn:amtsweg:register".into(), name: self.requirement.register.clone() },
            subject: Subject {
                identifier: idnr.map(|i| i.as_str().to_owned()).unwrap_or_default(),
                scheme: "urn:de:idnr".into(),
                family_name: self.person.family_name.clone(),
                given_name: self.person.given_name.clone(),
                date_of_birth: self.person.date_of_birth.to_string(),
                level_of_assurance: "High".into(),
            },
            evidence_type: EvidenceTypeRef {
                id: self.requirement.evidence_type.clone(),
                classification: self.requirement.evidence_type.clone(),
                title: self.requirement.purpose.clone(),
            },
            preview_possible: true,
            explicit_request: true,
            preview_location,
        };
        let prepared = prepare(&request);
        let request_hash = prepared.digest().as_str().to_owned();
        let peer = Peer { id: &self.requirement.register, url };
        let result = send(&self.exchange.http, &self.exchange.identity, &self.exchange.pinned, &peer, &prepared, self.exchange.timeout).await;
        if let Err(e) = &result {
            // The kind only: a malformed answer's message may quote the register's text.
            let reason = match e {
                FetchError::Unreachable => "unreachable",
                FetchError::Timeout => "timeout",
                FetchError::Status(_) => "refused with an HTTP error",
                FetchError::Seal(_) => "seal not valid",
                FetchError::Malformed(_) => "malformed answer",
            };
            tracing::warn!(register = %self.requirement.register, reason, "evidence exchange failed");
        }
        let outcome = match &result {
            Ok(Outcome::Evidence { .. }) => "delivered",
            Ok(Outcome::PreviewRequired { .. }) => "preview_required",
            Ok(Outcome::Refused { code, .. }) if code == write::NOT_FOUND => "not_found",
            Ok(Outcome::Refused { .. }) => "refused",
            Err(FetchError::Unreachable | FetchError::Timeout | FetchError::Status(_)) => "unavailable",
            Err(FetchError::Seal(_) | FetchError::Malformed(_)) => "untrustworthy",
        };
        let transfer = Transfer {
            id: uuid::Uuid::new_v4().to_string(),
            citizen_id: self.citizen.clone(),
            at: now,
            authority_id: self.authority.id.to_string(),
            authority_name: self.authority.name.clone(),
            register: self.requirement.register.clone(),
            evidence_type: self.requirement.evidence_type.clone(),
            procedure: self.service.name.clone(),
            purpose: self.requirement.purpose.clone(),
            legal_basis: self.requirement.legal_basis.clone(),
            idnr_used: idnr.is_some(),
            consent_ref: format!("Zustimmung im Antrag {} am {}", self.application, rfc3339(now)),
            outcome: outcome.into(),
            request_hash,
        };
        self.store.record_transfer(&transfer).await?;
        Ok((result, transfer.id))
    }
}

/// Asks the register for one piece of evidence (a second time after a preview request) and
/// logs every exchange. Returns the evidence, attached or set aside for the citizen's preview,
/// or the reason why there is none.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_from_register(
    store: &DynStore,
    exchange: &Exchange,
    citizen: &UserId,
    person: &Person,
    application: &ApplicationId,
    service: &Service,
    requirement: &EvidenceRequirement,
    authority: &Authority,
) -> Result<Fetched, AppError> {
    let url = exchange.registers.get(&requirement.register).ok_or_else(|| {
        AppError::Unavailable(format!("Das {} ist an diese Installation nicht angeschlossen. Bitte laden Sie den Nachweis hoch.", requirement.register))
    })?;
    let ask = Ask { store, exchange, citizen, person, application, service, requirement, authority };
    let (mut result, mut transfer_id) = ask.exchange(url, None).await?;
    let mut preview = false;
    if let Ok(Outcome::PreviewRequired { location: Some(location) }) = &result {
        // The register wants the person to see the evidence first: fetch it as the request
        // after the preview, and keep it aside until the citizen accepts it.
        let location = location.clone();
        (result, transfer_id) = ask.exchange(url, Some(location)).await?;
        preview = true;
    }
    match result {
        Ok(Outcome::Evidence { media_type, document, .. }) => {
            let record = EvidenceRecord {
                id: uuid::Uuid::new_v4().to_string(),
                application_id: application.clone(),
                evidence_type: requirement.evidence_type.clone(),
                source: "register".into(),
                status: if preview { "preview" } else { "attached" }.into(),
                register: Some(requirement.register.clone()),
                media_type,
                document: String::from_utf8_lossy(&document).into_owned(),
                transfer_id: Some(transfer_id),
                created_at: OffsetDateTime::now_utc(),
            };
            store.attach_evidence(citizen, &record).await?;
            Ok(if preview { Fetched::Preview(record) } else { Fetched::Attached(record) })
        }
        Ok(Outcome::PreviewRequired { .. }) => {
            Err(AppError::Unavailable("Das Register verlangt eine Vorschau, die nicht zustande kam. Bitte laden Sie den Nachweis hoch.".into()))
        }
        Ok(Outcome::Refused { code, .. }) if code == write::NOT_FOUND => Err(AppError::NotInRegister),
        Ok(Outcome::Refused { .. }) => Err(AppError::Unavailable("Das Register hat die Anfrage abgelehnt. Bitte laden Sie den Nachweis hoch.".into())),
        Err(FetchError::Seal(_) | FetchError::Malformed(_)) => Err(AppError::Untrustworthy),
        Err(_) => Err(AppError::Unavailable(format!(
            "Das {} ist gerade nicht erreichbar. Ihre Angaben bleiben gespeichert; bitte versuchen Sie es später erneut oder laden Sie den Nachweis hoch.",
            requirement.register
        ))),
    }
}

/// Checks the citizen's choice before anything is fetched.
pub fn check_choice(service: &Service, evidence_type: &str, source: &str, consent: Option<bool>) -> Result<EvidenceRequirement, AppError> {
    let mut errors = Vec::new();
    let requirement = service.evidence.iter().find(|e| e.evidence_type == evidence_type).cloned();
    if requirement.is_none() {
        errors.push(FieldError::new("type", "Diesen Nachweis braucht die Leistung nicht."));
    }
    match source {
        "register" => {
            if consent != Some(true) {
                errors.push(FieldError::new(
                    "consent",
                    "Ohne Ihre ausdrückliche Zustimmung wird nichts abgerufen. Bitte stimmen Sie dem Abruf zu oder laden Sie den Nachweis hoch.",
                ));
            }
        }
        "upload" => errors.push(FieldError::new("source", "Bitte senden Sie hochgeladene Nachweise als multipart/form-data mit den Feldern „type“ und „file“.")),
        _ => errors.push(FieldError::new("source", "Die Quelle muss „register“ oder „upload“ sein.")),
    }
    match requirement {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(AppError::Invalid(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn public() -> String {
        Identity::from_seed_text("x", KEY).unwrap().public_key()
    }

    #[test]
    fn a_registers_file_configures_the_exchange() {
        let file = format!("[[register]]\nid = \"melderegister\"\nurl = \"http://10.0.0.5:7001/edm\"\npublic_key = \"{}\"\n", public());
        let exchange = Exchange::configured("amtsweg", KEY, &file, Duration::from_secs(3)).unwrap();
        assert_eq!(exchange.registers["melderegister"], "http://10.0.0.5:7001/edm");
        assert_eq!(exchange.pinned.peers().collect::<Vec<_>>(), ["melderegister"]);
        assert_eq!(exchange.identity.id, "amtsweg");
    }

    #[test]
    fn mistakes_in_the_registers_file_are_named() {
        let entry = |id: &str, url: &str, key: &str| format!("[[register]]\nid = \"{id}\"\nurl = \"{url}\"\npublic_key = \"{key}\"\n");
        let good = public();
        let cases = [
            (entry("a", "kein url", &good), "Adresse"),
            (entry("a", "ftp://host/edm", &good), "nur http"),
            (entry("a", "http://host/edm", "kurz"), "öffentliche Schlüssel"),
            (entry("a", "http://host/edm", &good) + &entry("a", "http://other/edm", &good), "doppelt"),
            ("[[register]]\nid = \"a\"\nurl = \"http://h\"\npublic_key = \"x\"\nport = 1\n".to_owned(), "Registerliste"),
        ];
        for (file, expected) in cases {
            let e = Exchange::configured("amtsweg", KEY, &file, Duration::from_secs(1)).err().expect(expected);
            assert!(e.contains(expected), "{e}");
        }
        let e = Exchange::configured("amtsweg", "kein schlüssel", "", Duration::from_secs(1)).err().unwrap();
        assert!(e.contains("Schlüssel der Plattform") && !e.contains("kein schlüssel"), "{e}");
    }
}
