//! The login forms' token before a session exists (issue 22, finding 3). A plain double submit
//! (the same value in a cookie and a form field) takes any value the client sets in both, so
//! someone who can plant a cookie (a sibling subdomain, plain HTTP) could log a victim into an
//! account of theirs. The token is therefore issued by the server: a random nonce and an expiry,
//! signed with HMAC-SHA-256 under a key every node of the installation derives from the same
//! secret. The login forms are accepted only with a token that the server signed, that has not
//! expired, and that matches the browser's cookie (`__Host-` behind TLS, so that no other
//! origin can set it).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long a login form stays valid.
pub const LIFETIME_SECS: i64 = 3600;
/// A token with less left than this is replaced when the login page is shown again.
const RENEW_BELOW_SECS: i64 = 600;

/// Issues and checks the login forms' tokens.
pub struct FormTokens {
    key: [u8; 32],
}

impl FormTokens {
    /// A key of this process alone (the demo, tests: one node).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        Self { key }
    }

    /// The key derived from a secret that every node of the installation has, so that a form
    /// shown by one node is accepted by another.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"amtsweg login form key\0");
        hasher.update(secret);
        Self { key: hasher.finalize().into() }
    }

    /// A new token, valid for [`LIFETIME_SECS`] from `now` (Unix seconds):
    /// `<nonce>.<expiry>.<signature>`, all hex or digits (safe in a cookie).
    pub fn issue(&self, now: i64) -> String {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let nonce = hex::encode(nonce);
        let expires = now + LIFETIME_SECS;
        let signature = hex::encode(self.mac(&nonce, expires).finalize().into_bytes());
        format!("{nonce}.{expires}.{signature}")
    }

    /// Seconds the token has left, when the server signed it and it has not expired.
    pub fn remaining(&self, token: &str, now: i64) -> Option<i64> {
        let mut parts = token.split('.');
        let (nonce, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expires: i64 = expires.parse().ok().filter(|_| expires.bytes().all(|b| b.is_ascii_digit()))?;
        let signature = hex::decode(signature).ok()?;
        self.mac(nonce, expires).verify_slice(&signature).ok()?;
        let left = expires - now;
        (left > 0 && left <= LIFETIME_SECS).then_some(left)
    }

    /// The token to show on the login page: the browser's own while it has time left, else a
    /// new one (`true`: set the cookie).
    pub fn for_page(&self, cookie: Option<&str>, now: i64) -> (String, bool) {
        match cookie {
            Some(t) if self.remaining(t, now).is_some_and(|left| left > RENEW_BELOW_SECS) => (t.to_owned(), false),
            _ => (self.issue(now), true),
        }
    }

    fn mac(&self, nonce: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"login-form\0");
        mac.update(nonce.as_bytes());
        mac.update(b".");
        mac.update(expires.to_string().as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_server_signed_and_while_it_lasts() {
        let tokens = FormTokens::from_secret(b"secret");
        let now = 1_800_000_000;
        let token = tokens.issue(now);
        assert_eq!(tokens.remaining(&token, now), Some(LIFETIME_SECS));
        assert_eq!(FormTokens::from_secret(b"secret").remaining(&token, now + 10), Some(LIFETIME_SECS - 10), "every node");
        assert_eq!(FormTokens::from_secret(b"other").remaining(&token, now), None, "another installation");
        assert_eq!(tokens.remaining(&token, now + LIFETIME_SECS), None, "expired");
        let (nonce, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        assert_eq!(tokens.remaining(&format!("{nonce}.{}.{signature}", now + 10 * LIFETIME_SECS), now), None, "a later expiry is not signed");
        for chosen in ["", "a".repeat(40).as_str(), "x.y.z", "0123456789abcdef0123456789abcdef.1.00"] {
            assert_eq!(tokens.remaining(chosen, now), None, "{chosen}");
        }
        let (same, set) = tokens.for_page(Some(&token), now + 60);
        assert!(same == token && !set);
        let (renewed, set) = tokens.for_page(Some(&token), now + LIFETIME_SECS - 60);
        assert!(renewed != token && set);
    }
}
