//! Sessions, logins under way with a provider, and staff password logins.

use crate::ids::UserId;
use time::OffsetDateTime;

/// A logged-in browser session (the cookie holds the id; the store only its hash).
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    /// When the session ends unless it is used (moved on by use, up to the absolute limit).
    pub expires_at: OffsetDateTime,
    /// When the login happened (set by the store).
    pub created_at: OffsetDateTime,
    /// The level of assurance of the login (`None`: a login without one, such as the demo's
    /// persona picker or a staff password).
    pub level: Option<crate::AssuranceLevel>,
    /// The login came from an OpenID Connect provider: logging out also ends it there.
    pub provider_logout: bool,
}

/// An OpenID Connect login under way: what the callback needs to check the answer. Kept in the
/// store (not in memory) so that any instance can finish it; taken once.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub id_hash: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The level asked for (`acr_values`).
    pub level: crate::AssuranceLevel,
    /// Where to go after the login (a local path).
    pub return_to: String,
    pub expires_at: OffsetDateTime,
}

/// A staff member's password login: Argon2id hash and TOTP secret, with the lock after failed
/// attempts. `Debug` is not derived: the secret must not reach a log.
#[derive(Clone)]
pub struct StaffCredential {
    pub user_id: UserId,
    pub login: String,
    /// PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
    /// Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
    pub totp_secret: String,
    pub failed_attempts: i64,
    pub locked_until: Option<OffsetDateTime>,
    /// The last TOTP time step accepted: a code is good once.
    pub last_totp_step: Option<i64>,
}

/// A member of an authority's staff, as the platform operator sees them.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: crate::User,
    /// The password login, when they have one (or one waits for its invitation).
    pub login: Option<String>,
    pub active: bool,
    /// Until when an invitation (or a reset of their access) waits to be taken.
    pub invitation_until: Option<OffsetDateTime>,
}

/// An invitation that can still be taken: who it is for and until when.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub user_id: UserId,
    pub login: String,
    pub expires_at: OffsetDateTime,
}
