//! Staff login: a login name, a password (Argon2id) and a one-time code from an authenticator
//! app (TOTP, RFC 6238: SHA-1, six digits, 30 seconds, one step of clock drift either way).
//!
//! - Five attempts without a success lock the account for 15 minutes; a success resets the
//!   count. Attempts are counted before the password is checked (parallel guesses count too),
//!   and a locked account is refused without looking at the password.
//! - A code is good once: the step used is stored, and an equal or earlier step is refused.
//! - An unknown or locked login costs the same Argon2 work as a known one, and every refusal
//!   says the same thing (no account enumeration by answer or timing).

use amtsweg_domain::records::StaffCredential;
use amtsweg_domain::User;
use amtsweg_store::DynStore;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Secret, TOTP};

pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;
const STEP_SECS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum StaffLoginError {
    #[error("login name, password or code wrong")]
    Invalid,
    #[error("store: {0}")]
    Store(#[from] amtsweg_store::StoreError),
}

impl StaffLoginError {
    pub fn message(&self) -> String {
        match self {
            StaffLoginError::Invalid => "Benutzername, Passwort oder Einmalcode stimmen nicht. Bitte versuchen Sie es noch einmal. Nach fünf erfolglosen Versuchen ist die Anmeldung für 15 Minuten gesperrt.".into(),
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
    let totp = totp(secret)?;
    let code = code.trim().replace(' ', "");
    let step = now.unix_timestamp() / STEP_SECS as i64;
    [step - 1, step, step + 1]
        .into_iter()
        .filter(|s| *s >= 0)
        .find(|s| crate::auth::constant_time_eq(totp.generate(*s as u64 * STEP_SECS).as_bytes(), code.as_bytes()))
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
            Err(StaffLoginError::Invalid)
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
