//! Who someone is: sessions of browsers, API tokens, logins under way with an OpenID Connect
//! provider, citizens linked to their provider's subject, and staff passwords. Secrets (session
//! ids, tokens) are random 256-bit values; the store keeps only their SHA-256.
//!
//! Staff login: a login name, a password (Argon2id) and a one-time code from an authenticator
//! app (TOTP, RFC 6238: SHA-1, six digits, 30 seconds, one step of clock drift either way).
//!
//! - Five attempts without a success lock the account for 15 minutes; a success resets the
//!   count. Attempts are counted before the password is checked (parallel guesses count too),
//!   and a locked account is refused without looking at the password.
//! - A code is good once: the step used is stored, and an equal or earlier step is refused.
//! - An unknown or locked login costs the same Argon2 work as a known one, and every refusal
//!   says the same thing (no account enumeration by answer or timing).

use crate::error::AppError;
use amtsweg_domain::records::{OpenInvitation, PendingLogin, Session, StaffCredential};
use amtsweg_domain::{AssuranceLevel, FieldError, Person, Role, User, UserId};
use amtsweg_store::DynStore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Secret, TOTP};

/// A session ends this long after the login at the latest,
pub const SESSION_HOURS: i64 = 8;
/// and this long after its last use.
pub const SESSION_IDLE_MINUTES: i64 = 30;
/// Its end is moved on by use at most this often (not a write per request).
const SESSION_TOUCH_MINUTES: i64 = 5;

/// A fresh random secret, URL-safe.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a secret, as the store keeps it.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Sessions, tokens and logins.
pub struct Accounts {
    store: DynStore,
}

impl Accounts {
    pub(crate) fn new(store: DynStore) -> Self {
        Self { store }
    }

    /// The session with this id and its user, if it is valid; its end is moved on by use
    /// (at most one write every few minutes, never past [`SESSION_HOURS`] after the login).
    pub async fn session(&self, id: &str) -> Result<Option<(Session, User)>, AppError> {
        let hash = hash_secret(id);
        let Some(mut session) = self.store.session(&hash).await? else { return Ok(None) };
        let Some(user) = self.store.user(&session.user_id).await? else { return Ok(None) };
        let now = OffsetDateTime::now_utc();
        let idle = Duration::minutes(SESSION_IDLE_MINUTES);
        if session.expires_at - now < idle - Duration::minutes(SESSION_TOUCH_MINUTES) {
            let end = (now + idle).min(session.created_at + Duration::hours(SESSION_HOURS));
            if end > session.expires_at {
                match self.store.touch_session(&hash, end).await {
                    Ok(()) => session.expires_at = end,
                    Err(e) => tracing::warn!(error = %e, "session could not be kept alive"),
                }
            }
        }
        Ok(Some((session, user)))
    }

    /// Starts a session for `user` (the previous one of this browser, by its id hash, ends);
    /// returns the new session's id, to be given to the browser only.
    pub async fn begin_session(&self, previous: Option<&str>, user: &User, level: Option<AssuranceLevel>, provider_logout: bool) -> Result<String, AppError> {
        if let Some(previous) = previous {
            self.store.delete_session(previous).await?;
        }
        let id = new_secret();
        let now = OffsetDateTime::now_utc();
        self.store
            .put_session(&Session {
                id_hash: hash_secret(&id),
                user_id: user.id.clone(),
                csrf_token: new_secret(),
                expires_at: now + Duration::minutes(SESSION_IDLE_MINUTES),
                created_at: now,
                level,
                provider_logout,
            })
            .await?;
        Ok(id)
    }

    /// Ends a session (by its id hash).
    pub async fn end_session(&self, id_hash: &str) -> Result<(), AppError> {
        Ok(self.store.delete_session(id_hash).await?)
    }

    /// The user of a valid API token.
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>, AppError> {
        Ok(self.store.user_by_api_token(&hash_secret(token)).await?)
    }

    /// Keeps a login under way with the provider; returns the id the browser holds for it.
    pub async fn begin_provider_login(&self, mut login: PendingLogin) -> Result<String, AppError> {
        let id = new_secret();
        login.id_hash = hash_secret(&id);
        self.store.put_pending_login(&login).await?;
        Ok(id)
    }

    /// Takes a login under way (once): `None` when unknown, already taken or expired.
    pub async fn take_provider_login(&self, id: &str) -> Result<Option<PendingLogin>, AppError> {
        Ok(self.store.take_pending_login(&hash_secret(id)).await?)
    }

    /// The citizen linked to a provider's subject, made at the first login; name and person
    /// data follow the provider's claims.
    pub async fn citizen_login(&self, issuer: &str, subject: &str, person: &Person) -> Result<User, AppError> {
        Ok(self.store.upsert_citizen_login(issuer, subject, &person.full_name(), person).await?)
    }

    /// Checks a staff login (password and one-time code); see [`verify`].
    pub async fn staff_login(&self, login: &str, password: &str, code: &str) -> Result<User, StaffLoginError> {
        verify(&self.store, login, password, code, OffsetDateTime::now_utc()).await
    }

    /// The invitation behind a one-time link, while it can be taken.
    pub async fn invitation(&self, secret: &str) -> Result<Option<OpenInvitation>, AppError> {
        if secret.is_empty() || secret.len() > 100 {
            return Ok(None);
        }
        Ok(self.store.invitation(&hash_secret(secret)).await?)
    }

    /// Takes an invitation: the password chosen (twice, at least [`MIN_PASSWORD_CHARS`]) and the
    /// second factor, proven by a code of the authenticator app set up with `totp_secret`.
    /// `NotFound` when the link is unknown, taken or expired.
    pub async fn accept_invitation(&self, secret: &str, password: &str, repeat: &str, totp_secret: &str, code: &str) -> Result<UserId, AppError> {
        let open = self.invitation(secret).await?.ok_or(AppError::NotFound)?;
        let mut errors = Vec::new();
        if password.chars().count() < MIN_PASSWORD_CHARS || password.chars().count() > 200 {
            errors.push(FieldError::new("password", format!("Das Passwort hat mindestens {MIN_PASSWORD_CHARS} und höchstens 200 Zeichen.")));
        } else if password != repeat {
            errors.push(FieldError::new("password_repeat", "Die beiden Passwörter stimmen nicht überein."));
        }
        let valid_secret = totp_secret.len() == 32 && totp_secret.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        if !valid_secret || code_step(totp_secret, code, OffsetDateTime::now_utc()).is_none() {
            errors.push(FieldError::new("code", "Der Einmalcode stimmt nicht. Bitte prüfen Sie, ob die Uhr Ihres Geräts richtig geht, und geben Sie den aktuellen Code ein."));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let user = self.store.accept_invitation(&hash_secret(secret), &hash, totp_secret).await?;
        debug_assert_eq!(user, open.user_id);
        Ok(user)
    }

    /// A user by id (the demo's persona picker).
    pub async fn user(&self, id: &UserId) -> Result<Option<User>, AppError> {
        Ok(self.store.user(id).await?)
    }

    /// The people of the demo world, by role, with the name of their authority (the persona
    /// picker of the demo).
    pub async fn personas(&self) -> Result<Vec<(User, Option<String>)>, AppError> {
        let authorities = self.store.authorities().await?;
        let mut out = Vec::new();
        for role in [Role::Citizen, Role::Caseworker, Role::TeamLead, Role::DataProtection, Role::Admin, Role::Operator] {
            for user in self.store.users_with_role(role).await? {
                let authority = authorities.iter().find(|a| Some(&a.id) == user.authority_id.as_ref()).map(|a| a.name.clone());
                out.push((user, authority));
            }
        }
        Ok(out)
    }
}

/// Shortest staff password (BSI IT-Grundschutz ORP.4: long passwords over complex ones).
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;
const STEP_SECS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum StaffLoginError {
    #[error("login name, password or code wrong")]
    Invalid,
    /// Wrong, and this attempt locked the account (answered like [`Invalid`](Self::Invalid)).
    #[error("login refused; the account is now locked")]
    Locked,
    #[error("store: {0}")]
    Store(#[from] amtsweg_store::StoreError),
}

impl StaffLoginError {
    pub fn message(&self) -> String {
        match self {
            StaffLoginError::Invalid | StaffLoginError::Locked => "Benutzername, Passwort oder Einmalcode stimmen nicht. Bitte versuchen Sie es noch einmal. Nach fünf erfolglosen Versuchen ist die Anmeldung für 15 Minuten gesperrt.".into(),
            StaffLoginError::Store(_) => "Es ist ein technischer Fehler aufgetreten. Bitte versuchen Sie es später erneut.".into(),
        }
    }
}

/// The PHC string of a password (Argon2id with the crate's defaults: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes are a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("Argon2 with default parameters").to_string()
}

/// A new TOTP secret (160 bits, base32 as authenticator apps take it).
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => unreachable!("to_encoded encodes"),
    }
}

/// The `otpauth://` address an authenticator app reads (usually as a QR code).
pub fn totp_uri(secret: &str, login: &str) -> String {
    let label = serde_urlencoded::to_string([("", format!("amtsweg:{login}"))]).unwrap_or_default();
    format!("otpauth://totp/{}?secret={secret}&issuer=amtsweg&algorithm=SHA1&digits=6&period=30", label.trim_start_matches('='))
}

fn totp(secret: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().ok()?;
    Some(TOTP::new_unchecked(Algorithm::SHA1, 6, 1, STEP_SECS, bytes))
}

/// The code of `secret` at `unix_time` (for enrolment checks and tests).
pub fn code_at(secret: &str, unix_time: u64) -> Option<String> {
    totp(secret).map(|t| t.generate(unix_time))
}

/// The time step a code belongs to, within one step of `now`.
fn code_step(secret: &str, code: &str, now: OffsetDateTime) -> Option<i64> {
    // No secret set (an invitation not yet taken, an access reset): no code passes.
    if secret.is_empty() {
        return None;
    }
    let totp = totp(secret)?;
    let code = code.trim().replace(' ', "");
    let step = now.unix_timestamp() / STEP_SECS as i64;
    [step - 1, step, step + 1]
        .into_iter()
        .filter(|s| *s >= 0)
        .find(|s| constant_time_eq(totp.generate(*s as u64 * STEP_SECS).as_bytes(), code.as_bytes()))
}

/// A hash to verify against when the login name is unknown, so that this costs the same.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&base64::engine::general_purpose::STANDARD.encode([0u8; 12])))
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Checks a login. Every attempt counts; the fifth without a success locks the account for 15
/// minutes (that attempt included, unless it succeeds). An unknown, a locked and a wrong login
/// get the same answer after the same Argon2 work, so the answer tells nothing about the name.
pub async fn verify(store: &DynStore, login: &str, password: &str, code: &str, now: OffsetDateTime) -> Result<User, StaffLoginError> {
    let login = login.trim();
    let credential = if login.is_empty() || login.len() > 200 {
        None
    } else {
        store.begin_login_attempt(login, MAX_FAILURES, now + Duration::minutes(LOCK_MINUTES)).await?
    };
    let Some(StaffCredential { user_id, password_hash, totp_secret, locked_until, .. }) = credential else {
        let password = password.to_owned();
        let _ = tokio::task::spawn_blocking(move || password_matches(decoy_hash(), &password)).await;
        tracing::warn!("staff login refused (unknown or locked)");
        return Err(StaffLoginError::Invalid);
    };
    let password = password.to_owned();
    let password_ok = tokio::task::spawn_blocking(move || password_matches(&password_hash, &password)).await.unwrap_or(false);
    let step = code_step(&totp_secret, code, now);
    match (password_ok, step) {
        // A success resets the count and lifts a lock this attempt set; a code used before
        // (someone replays it) is refused.
        (true, Some(step)) if store.record_login_success(&user_id, step).await? => {
            store.user(&user_id).await?.ok_or(StaffLoginError::Invalid)
        }
        _ => {
            tracing::warn!(locked = locked_until.is_some(), "staff login failed");
            Err(if locked_until.is_some() { StaffLoginError::Locked } else { StaffLoginError::Invalid })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238, appendix B: the ASCII secret "12345678901234567890", eight digits there;
        // the last six digits are the six-digit code.
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            _ => unreachable!(),
        };
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1111111109).unwrap(), "081804");
        assert_eq!(code_at(&secret, 2000000000).unwrap(), "279037");
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let secret = new_totp_secret();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let code = code_at(&secret, 1_800_000_000).unwrap();
        assert_eq!(code_step(&secret, &code, now), Some(1_800_000_000 / 30));
        assert!(code_step(&secret, &code, now + Duration::seconds(30)).is_some(), "one step of drift");
        assert!(code_step(&secret, &code, now + Duration::seconds(90)).is_none(), "three steps later");
        assert!(code_step(&secret, "000000x", now).is_none());
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("richtig Pferd Batterie Heftklammer");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches(&hash, "richtig Pferd Batterie Heftklammer"));
        assert!(!password_matches(&hash, "falsch"));
        assert!(!password_matches("not a hash", "falsch"));
    }
}
