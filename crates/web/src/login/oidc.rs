//! Citizen login through OpenID Connect: the authorization code flow with PKCE (S256), against
//! any configured provider (the BundID, a Land's account, or another certified provider).
//!
//! What is checked, and by whom:
//! - `state` against the login under way, which is bound to this browser by a cookie and taken
//!   once from the store (the caller, the login pages);
//! - the code exchange with the PKCE verifier (the provider refuses a replayed or stolen code);
//! - the ID token's signature against the provider's keys, its issuer, its audience (our client
//!   id), its expiry and the nonce (the `openidconnect` crate);
//! - the access token's hash (`at_hash`) when the token carries one; the user info's subject
//!   against the ID token's.
//!
//! The claims become the [`Person`]: names, date of birth and address are standard claims; the
//! regional key (ARS, decides which authority is responsible) and the IdNr come in claims whose
//! names are configured. The level of assurance is read from `acr`.

use amtsweg_domain::{AssuranceLevel, IdNr, Person, RegionKey};
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreGenderClaim};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// The path of our redirect URI (under [`OidcSettings::public_url`]).
pub const CALLBACK_PATH: &str = "/anmelden/rueckkehr";

/// How long the provider's metadata and keys are kept before they are fetched again (a key
/// rotation is picked up after this long).
const METADATA_TTL: Duration = Duration::from_secs(300);

/// The provider and our registration with it (from the configuration). `Debug` leaves the
/// client secret out.
#[derive(Clone)]
pub struct OidcSettings {
    /// The issuer, e.g. `https://id.bund.de` (its `/.well-known/openid-configuration` is read).
    pub issuer: String,
    pub client_id: String,
    /// Empty: a public client (PKCE alone).
    pub client_secret: String,
    /// Our address as the browser sees it, e.g. `https://amtsweg.leipzig.de`.
    pub public_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The `acr` values that mean "substantiell" and "hoch".
    pub acr_substantiell: String,
    pub acr_hoch: String,
    /// The claim with the 12-digit regional key (ARS) of the residence.
    pub claim_region: String,
    /// The claim with the IdNr, where the provider sends it.
    pub claim_idnr: String,
    pub timeout: Duration,
}

impl OidcSettings {
    /// Defaults for everything but the provider and the client.
    pub fn new(issuer: &str, client_id: &str, client_secret: &str, public_url: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            scopes: vec!["profile".into(), "address".into()],
            acr_substantiell: "http://eidas.europa.eu/LoA/substantial".into(),
            acr_hoch: "http://eidas.europa.eu/LoA/high".into(),
            claim_region: "ars".into(),
            claim_idnr: "idnr".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why a login did not succeed. The messages are for the citizen; none carries personal data.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the provider cannot be reached or answered nonsense: {0}")]
    Provider(String),
    #[error("the login was refused by the provider: {0}")]
    Refused(String),
    #[error("the provider's answer failed a check: {0}")]
    Untrusted(String),
    #[error("claims missing: {0:?}")]
    MissingClaims(Vec<&'static str>),
}

impl LoginError {
    pub fn message(&self) -> String {
        match self {
            LoginError::Provider(_) => "Der Anmeldedienst ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal.".into(),
            LoginError::Refused(_) | LoginError::Untrusted(_) => {
                "Die Anmeldung konnte nicht abgeschlossen werden. Bitte beginnen Sie die Anmeldung noch einmal.".into()
            }
            LoginError::MissingClaims(missing) => format!(
                "Ihr Nutzerkonto hat uns nicht alle Angaben übermittelt, die für Anträge nötig sind (es fehlen: {}). Bitte ergänzen Sie diese in Ihrem Nutzerkonto oder melden Sie sich mit der Online-Ausweisfunktion an.",
                missing.join(", ")
            ),
        }
    }
}

/// The claims beyond the standard ones, by name (the configured region and IdNr claims).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub rest: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

/// What a finished login tells us.
pub struct Identity {
    /// The provider's subject (pseudonymous); with the issuer, the key of the account.
    pub subject: String,
    pub issuer: String,
    pub person: Person,
    /// `None`: the provider named no level we know (e.g. a username and password login).
    pub level: Option<AssuranceLevel>,
}

/// What the callback needs to finish a login; kept server-side until then.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &if self.client_secret.is_empty() { "" } else { "[redacted]" })
            .field("public_url", &self.public_url)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

pub struct OidcLogin {
    settings: OidcSettings,
    http: reqwest::Client,
    metadata: RwLock<Option<(ProviderMetadataWithLogout, Instant)>>,
}

impl OidcLogin {
    pub fn new(settings: OidcSettings) -> Result<Self, LoginError> {
        IssuerUrl::new(settings.issuer.clone()).map_err(|e| LoginError::Provider(format!("issuer URL: {e}")))?;
        RedirectUrl::new(format!("{}{CALLBACK_PATH}", settings.public_url)).map_err(|e| LoginError::Provider(format!("public URL: {e}")))?;
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send us elsewhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .build()
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        Ok(Self { settings, http, metadata: RwLock::new(None) })
    }

    /// Fetches the provider's metadata now (at start), so that [`Self::provider_origins`] knows
    /// its end-session endpoint. A provider that cannot be reached is tried again at the first
    /// login.
    pub async fn warm_up(&self) {
        if let Err(e) = self.metadata().await {
            tracing::warn!(error = %e, "the login provider could not be reached at start");
        }
    }

    /// The origins (`scheme://host[:port]`) the browser is sent to: the issuer's, and the
    /// end-session endpoint's once the metadata is known.
    pub fn provider_origins(&self) -> Vec<String> {
        let origin = |url: &openidconnect::url::Url| Some(url.origin().ascii_serialization()).filter(|o| o != "null");
        let mut origins: Vec<String> = IssuerUrl::new(self.settings.issuer.clone()).ok().and_then(|u| origin(u.url())).into_iter().collect();
        if let Ok(guard) = self.metadata.try_read() {
            if let Some(end) = guard.as_ref().and_then(|(m, _)| m.additional_metadata().end_session_endpoint.as_ref()).and_then(|e| origin(e.url())) {
                if !origins.contains(&end) {
                    origins.push(end);
                }
            }
        }
        origins
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's metadata (with its keys), fetched at first use and again after a while,
    /// so that a provider that was down at start or rotated its keys is picked up.
    async fn metadata(&self) -> Result<ProviderMetadataWithLogout, LoginError> {
        if let Some((meta, at)) = self.metadata.read().await.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(meta.clone());
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| LoginError::Provider(e.to_string()))?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| LoginError::Provider(error_chain(&e)))?;
        *self.metadata.write().await = Some((meta.clone(), Instant::now()));
        Ok(meta)
    }

    fn client(
        &self,
        meta: ProviderMetadataWithLogout,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        LoginError,
    > {
        let secret = (!self.settings.client_secret.is_empty()).then(|| ClientSecret::new(self.settings.client_secret.clone()));
        let redirect = RedirectUrl::new(format!("{}{CALLBACK_PATH}", self.settings.public_url)).map_err(|e| LoginError::Provider(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(meta, ClientId::new(self.settings.client_id.clone()), secret).set_redirect_uri(redirect))
    }

    fn acr(&self, level: AssuranceLevel) -> &str {
        match level {
            AssuranceLevel::Substantiell => &self.settings.acr_substantiell,
            AssuranceLevel::Hoch => &self.settings.acr_hoch,
        }
    }

    fn level_of(&self, acr: Option<&str>) -> Option<AssuranceLevel> {
        match acr {
            Some(a) if a == self.settings.acr_hoch => Some(AssuranceLevel::Hoch),
            Some(a) if a == self.settings.acr_substantiell => Some(AssuranceLevel::Substantiell),
            _ => None,
        }
    }

    /// The address to send the browser to. `reauthenticate` asks the provider for a new login
    /// even if it has a session (a step-up to a higher level).
    pub async fn start(&self, level: AssuranceLevel, reauthenticate: bool) -> Result<Started, LoginError> {
        let client = self.client(self.metadata().await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new))
            .add_auth_context_value(AuthenticationContextClass::new(self.acr(level).to_owned()))
            .add_extra_param("ui_locales", "de")
            .set_pkce_challenge(challenge);
        if reauthenticate {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code and checks everything the provider sent.
    pub async fn finish(&self, code: &str, nonce: &str, pkce_verifier: &str) -> Result<Identity, LoginError> {
        let meta = self.metadata().await?;
        let issuer = meta.issuer().to_string();
        let client = self.client(meta)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| LoginError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            // Only the kind of failure: a response that does not parse could be quoted in the
            // error's text, and it holds the person's claims.
            .map_err(|e| {
                LoginError::Refused(match &e {
                    openidconnect::RequestTokenError::ServerResponse(r) => {
                        let code: String = r.error().to_string().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
                        format!("token endpoint answered {code}")
                    }
                    openidconnect::RequestTokenError::Request(_) => "token endpoint not reachable".into(),
                    openidconnect::RequestTokenError::Parse(..) => "token response not readable".into(),
                    openidconnect::RequestTokenError::Other(_) => "token endpoint failed".into(),
                })
            })?;
        let id_token = token.id_token().ok_or_else(|| LoginError::Untrusted("no ID token".into()))?;
        let verifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, &Nonce::new(nonce.to_owned())).map_err(|e| LoginError::Untrusted(e.to_string()))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token.signing_alg().map_err(|e| LoginError::Untrusted(e.to_string()))?;
            let key = id_token.signing_key(&verifier).map_err(|e| LoginError::Untrusted(e.to_string()))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key).map_err(|e| LoginError::Untrusted(e.to_string()))?;
            if actual != *expected {
                return Err(LoginError::Untrusted("access token hash".into()));
            }
        }
        let subject = claims.subject().clone();
        let level = self.level_of(claims.auth_context_ref().map(|a| a.as_str()));
        let info: UserInfoClaims<ExtraClaims, CoreGenderClaim> = client
            .user_info(token.access_token().to_owned(), Some(subject.clone()))
            .map_err(|_| LoginError::Provider("the provider has no user info endpoint".into()))?
            .request_async(&self.http)
            .await
            // Not the error's text: a parse error could quote a claim's value.
            .map_err(|_| LoginError::Untrusted("the user info could not be read or did not match the ID token".into()))?;
        let person = self.person(&info)?;
        Ok(Identity { subject: subject.to_string(), issuer, person, level })
    }

    fn person(&self, info: &UserInfoClaims<ExtraClaims, CoreGenderClaim>) -> Result<Person, LoginError> {
        let mut missing = Vec::new();
        let mut need = |value: Option<String>, name: &'static str| {
            let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            if value.is_none() {
                missing.push(name);
            }
            value.unwrap_or_default()
        };
        let given_name = need(info.given_name().and_then(|n| n.get(None)).map(|n| n.to_string()), "Vorname");
        let family_name = need(info.family_name().and_then(|n| n.get(None)).map(|n| n.to_string()), "Familienname");
        let birthdate = need(info.birthdate().map(|b| b.to_string()), "Geburtsdatum");
        let address = info.address();
        let street = need(address.and_then(|a| a.street_address.as_ref()).map(|s| s.to_string()), "Straße und Hausnummer");
        let postal_code = need(address.and_then(|a| a.postal_code.as_ref()).map(|s| s.to_string()), "Postleitzahl");
        let city = need(address.and_then(|a| a.locality.as_ref()).map(|s| s.to_string()), "Wohnort");
        let extra = &info.additional_claims().rest;
        let region = need(extra.get(&self.settings.claim_region).and_then(claim_text), "Gemeindeschlüssel des Wohnorts");
        let date_of_birth = time::Date::parse(&birthdate, time::macros::format_description!("[year]-[month]-[day]")).ok();
        let region = RegionKey::parse(&region).ok();
        if missing.is_empty() && date_of_birth.is_none() {
            missing.push("Geburtsdatum");
        }
        if missing.is_empty() && region.is_none() {
            missing.push("Gemeindeschlüssel des Wohnorts");
        }
        let (Some(date_of_birth), Some(region), true) = (date_of_birth, region, missing.is_empty()) else {
            return Err(LoginError::MissingClaims(missing));
        };
        // A malformed IdNr is left out rather than refusing the login: it is optional.
        let idnr = extra.get(&self.settings.claim_idnr).and_then(claim_text).and_then(|v| IdNr::parse(&v).ok());
        Ok(Person { given_name, family_name, date_of_birth, street, postal_code, city, region, idnr })
    }

    /// Where to send the browser to end the provider's session too, if it supports that.
    pub async fn logout_url(&self) -> Option<String> {
        let meta = self.metadata().await.ok()?;
        let endpoint = meta.additional_metadata().end_session_endpoint.clone()?;
        let back = PostLogoutRedirectUrl::new(format!("{}/", self.settings.public_url)).ok()?;
        let request = openidconnect::LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.settings.client_id.clone()))
            .set_post_logout_redirect_uri(back);
        Some(request.http_get_url().to_string())
    }
}

fn claim_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
