//! Browser sessions (by the hash of their id), and OpenID Connect logins under way.

use crate::sql::{Dialect, SqlStore, args, corrupt, row};
use crate::Result;
use amtsweg_domain::records::{PendingLogin, Session};
use amtsweg_domain::{AssuranceLevel, UserId};
use time::OffsetDateTime;

// --- sessions ----------------------------------------------------------------------------

const PUT_SESSION: &str = "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, level, provider_logout) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SESSION: &str = concat!(
    "SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at, s.level, s.provider_logout FROM sessions s \
     JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
    super::may_act!()
);
const TOUCH_SESSION: &str = "UPDATE sessions SET expires_at = $1 WHERE id_hash = $2";
const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id_hash = $1";

row!(SessionRow {
    id_hash: String,
    user_id: String,
    csrf_token: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    level: Option<String>,
    provider_logout: bool,
});

impl SessionRow {
    fn into_domain(self) -> Result<Session> {
        Ok(Session {
            id_hash: self.id_hash,
            user_id: UserId::from_stored(self.user_id),
            csrf_token: self.csrf_token,
            expires_at: self.expires_at,
            created_at: self.created_at,
            level: match self.level {
                Some(l) => Some(AssuranceLevel::parse(&l).ok_or_else(|| corrupt("session level"))?),
                None => None,
            },
            provider_logout: self.provider_logout,
        })
    }
}

pub(crate) async fn put_session<DB: Dialect>(store: &SqlStore<DB>, s: &Session) -> Result<()> {
    let level = s.level.map(|l| l.as_str());
    let args = args![&s.id_hash, s.user_id.as_str(), &s.csrf_token, OffsetDateTime::now_utc(), s.expires_at, level, s.provider_logout];
    store.execute(PUT_SESSION, args).await?;
    Ok(())
}

pub(crate) async fn session<DB: Dialect>(store: &SqlStore<DB>, id_hash: &str) -> Result<Option<Session>> {
    let row = store.optional::<SessionRow>(SESSION, args![id_hash, OffsetDateTime::now_utc()]).await?;
    row.map(SessionRow::into_domain).transpose()
}

pub(crate) async fn touch_session<DB: Dialect>(store: &SqlStore<DB>, id_hash: &str, expires_at: OffsetDateTime) -> Result<()> {
    store.execute(TOUCH_SESSION, args![expires_at, id_hash]).await?;
    Ok(())
}

pub(crate) async fn delete_session<DB: Dialect>(store: &SqlStore<DB>, id_hash: &str) -> Result<()> {
    store.execute(DELETE_SESSION, args![id_hash]).await?;
    Ok(())
}

// --- logins under way ----------------------------------------------------------------------

/// Abandoned logins go with the next one.
const DELETE_EXPIRED_LOGINS: &str = "DELETE FROM pending_logins WHERE expires_at <= $1";
const PUT_PENDING_LOGIN: &str = "INSERT INTO pending_logins (id_hash, state, nonce, pkce_verifier, level, return_to, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const TAKE_PENDING_LOGIN: &str = "DELETE FROM pending_logins WHERE id_hash = $1 \
     RETURNING id_hash, state, nonce, pkce_verifier, level, return_to, expires_at";

row!(PendingLoginRow {
    id_hash: String,
    state: String,
    nonce: String,
    pkce_verifier: String,
    level: String,
    return_to: String,
    expires_at: OffsetDateTime,
});

impl PendingLoginRow {
    fn into_domain(self) -> Result<PendingLogin> {
        Ok(PendingLogin {
            id_hash: self.id_hash,
            state: self.state,
            nonce: self.nonce,
            pkce_verifier: self.pkce_verifier,
            level: AssuranceLevel::parse(&self.level).ok_or_else(|| corrupt("login level"))?,
            return_to: self.return_to,
            expires_at: self.expires_at,
        })
    }
}

pub(crate) async fn put_pending_login<DB: Dialect>(store: &SqlStore<DB>, p: &PendingLogin) -> Result<()> {
    store.execute(DELETE_EXPIRED_LOGINS, args![OffsetDateTime::now_utc()]).await?;
    let args = args![&p.id_hash, &p.state, &p.nonce, &p.pkce_verifier, p.level.as_str(), &p.return_to, p.expires_at];
    store.execute(PUT_PENDING_LOGIN, args).await?;
    Ok(())
}

pub(crate) async fn take_pending_login<DB: Dialect>(store: &SqlStore<DB>, id_hash: &str) -> Result<Option<PendingLogin>> {
    let Some(row) = store.optional::<PendingLoginRow>(TAKE_PENDING_LOGIN, args![id_hash]).await? else {
        return Ok(None);
    };
    let login = row.into_domain()?;
    Ok((login.expires_at > OffsetDateTime::now_utc()).then_some(login))
}
