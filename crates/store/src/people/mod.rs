//! People and their credentials: users, API tokens, the citizen linked to a login provider's
//! subject, and staff password logins with their lock after failed attempts. Sessions and
//! logins under way are in [`sessions`].

pub(crate) mod invitations;
pub(crate) mod sessions;

pub(crate) use invitations::end_access_of_authority;

/// Who may act: a user not deactivated, of no authority or of an active one. Appended to the
/// queries that let someone in (`u` is the user).
macro_rules! may_act {
    () => {
        " AND u.deactivated_at IS NULL AND (u.authority_id IS NULL OR u.authority_id IN (SELECT id FROM authorities WHERE deactivated_at IS NULL))"
    };
}
pub(crate) use may_act;

use crate::sql::{Dialect, SqlStore, Write, args, corrupt, new_id, row};
use crate::Result;
use amtsweg_domain::records::StaffCredential;
use amtsweg_domain::{AuthorityId, Person, Role, User, UserId};
use time::OffsetDateTime;

// --- users -------------------------------------------------------------------------------

macro_rules! user_select {
    () => {
        "SELECT id, role, display_name, authority_id, person FROM users"
    };
}
const USER: &str = concat!(user_select!(), " WHERE id = $1");
const USERS_WITH_ROLE: &str = concat!(user_select!(), " WHERE role = $1 ORDER BY display_name");
const AUTHORITY_STAFF: &str = concat!(user_select!(), " WHERE authority_id = $1 AND role IN ('caseworker', 'team_lead') ORDER BY display_name, id");
const CREATE_USER: &str = "INSERT INTO users (id, role, display_name, authority_id, person, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

row!(UserRow { id: String, role: String, display_name: String, authority_id: Option<String>, person: Option<String> });

impl UserRow {
    fn into_domain(self) -> Result<User> {
        Ok(User {
            id: UserId::from_stored(self.id),
            role: Role::parse(&self.role).ok_or_else(|| corrupt("user role"))?,
            display_name: self.display_name,
            authority_id: self.authority_id.map(AuthorityId::from_stored),
            person: match self.person {
                Some(p) => Some(serde_json::from_str(&p).map_err(|_| corrupt("person"))?),
                None => None,
            },
        })
    }
}

pub(crate) async fn create_user<DB: Dialect>(store: &SqlStore<DB>, u: &User) -> Result<()> {
    let mut tx = store.write().await?;
    create_user_in(&mut tx, u).await?;
    tx.commit().await
}

pub(crate) async fn create_user_in<DB: Dialect>(tx: &mut Write<DB>, u: &User) -> Result<()> {
    let person = match &u.person {
        Some(p) => Some(serde_json::to_string(p).map_err(|_| corrupt("person"))?),
        None => None,
    };
    let authority = u.authority_id.as_ref().map(|a| a.as_str());
    let args = args![u.id.as_str(), u.role.as_str(), &u.display_name, authority, person, OffsetDateTime::now_utc()];
    tx.execute(CREATE_USER, args).await?;
    Ok(())
}

pub(crate) async fn user<DB: Dialect>(store: &SqlStore<DB>, id: &UserId) -> Result<Option<User>> {
    store.optional::<UserRow>(USER, args![id.as_str()]).await?.map(UserRow::into_domain).transpose()
}

pub(crate) async fn users_with_role<DB: Dialect>(store: &SqlStore<DB>, role: Role) -> Result<Vec<User>> {
    store.all::<UserRow>(USERS_WITH_ROLE, args![role.as_str()]).await?.into_iter().map(UserRow::into_domain).collect()
}

/// Staff of the authority who can be given cases (caseworkers and team leads).
pub(crate) async fn authority_staff<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId) -> Result<Vec<User>> {
    store.all::<UserRow>(AUTHORITY_STAFF, args![authority.as_str()]).await?.into_iter().map(UserRow::into_domain).collect()
}

// --- API tokens ----------------------------------------------------------------------------

const PUT_API_TOKEN: &str = "INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
const USER_BY_API_TOKEN: &str = concat!(
    "SELECT u.id, u.role, u.display_name, u.authority_id, u.person, t.expires_at FROM api_tokens t \
     JOIN users u ON u.id = t.user_id \
     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
    may_act!()
);

pub(crate) async fn put_api_token<DB: Dialect>(store: &SqlStore<DB>, token_hash: &str, user: &UserId, expires_at: OffsetDateTime) -> Result<()> {
    store.execute(PUT_API_TOKEN, args![token_hash, user.as_str(), OffsetDateTime::now_utc(), expires_at]).await?;
    Ok(())
}

row!(TokenUserRow { id: String, role: String, display_name: String, authority_id: Option<String>, person: Option<String>, expires_at: OffsetDateTime });

/// The user a valid token belongs to, and when the token expires.
pub(crate) async fn user_by_api_token<DB: Dialect>(store: &SqlStore<DB>, token_hash: &str) -> Result<Option<(User, OffsetDateTime)>> {
    let Some(row) = store.optional::<TokenUserRow>(USER_BY_API_TOKEN, args![token_hash, OffsetDateTime::now_utc()]).await? else { return Ok(None) };
    let TokenUserRow { id, role, display_name, authority_id, person, expires_at } = row;
    Ok(Some((UserRow { id, role, display_name, authority_id, person }.into_domain()?, expires_at)))
}

// --- citizens from a login provider --------------------------------------------------------

const LINKED_USER: &str = "SELECT user_id FROM external_logins WHERE issuer = $1 AND subject = $2";
/// Only when something changed: an update moves the version of what app nodes keep (`cache.rs`).
const UPDATE_CITIZEN: &str =
    "UPDATE users SET display_name = $1, person = $2 WHERE id = $3 AND role = $4 AND (display_name <> $1 OR person IS NULL OR person <> $2)";
const CREATE_CITIZEN: &str = "INSERT INTO users (id, role, display_name, authority_id, person, created_at) VALUES ($1, $2, $3, NULL, $4, $5)";
const LINK: &str = "INSERT INTO external_logins (issuer, subject, user_id) VALUES ($1, $2, $3) ON CONFLICT (issuer, subject) DO NOTHING";

pub(crate) async fn upsert_citizen_login<DB: Dialect>(
    store: &SqlStore<DB>,
    issuer: &str,
    subject: &str,
    display_name: &str,
    person: &Person,
) -> Result<User> {
    let person_json = serde_json::to_string(person).map_err(|_| corrupt("person"))?;
    let citizen = Role::Citizen.as_str();
    loop {
        let mut tx = store.write().await?;
        let id = match tx.optional::<(String,)>(LINKED_USER, args![issuer, subject]).await? {
            Some((id,)) => {
                tx.execute(UPDATE_CITIZEN, args![display_name, &person_json, &id, citizen]).await?;
                id
            }
            None => {
                let id = new_id();
                tx.execute(CREATE_CITIZEN, args![&id, citizen, display_name, &person_json, OffsetDateTime::now_utc()]).await?;
                // Two first logins of the same subject at once: the second waits for the first
                // and finds the link taken; it starts over and updates.
                if tx.execute(LINK, args![issuer, subject, &id]).await? == 0 {
                    tx.rollback().await?;
                    continue;
                }
                id
            }
        };
        let user = tx.one::<UserRow>(USER, args![&id]).await?.into_domain()?;
        tx.commit().await?;
        return Ok(user);
    }
}

// --- staff password logins -----------------------------------------------------------------

/// The columns of [`StaffCredentialRow`].
macro_rules! staff_credential_columns {
    () => {
        "user_id, login, password_hash, totp_secret, failed_attempts, locked_until, last_totp_step"
    };
}
const STAFF_CREDENTIAL: &str = concat!("SELECT ", staff_credential_columns!(), " FROM staff_credentials WHERE login = $1");
const PUT_STAFF_CREDENTIAL: &str = "INSERT INTO staff_credentials (user_id, login, password_hash, totp_secret, failed_attempts, locked_until, last_totp_step) \
     VALUES ($1, $2, $3, $4, 0, NULL, NULL) \
     ON CONFLICT (user_id) DO UPDATE SET login = excluded.login, password_hash = excluded.password_hash, \
     totp_secret = excluded.totp_secret, failed_attempts = 0, locked_until = NULL, last_totp_step = NULL";
/// One statement: the count and the lock cannot be raced (both dialects evaluate the
/// right-hand sides on the row as it was).
const BEGIN_LOGIN_ATTEMPT: &str = concat!(
    "UPDATE staff_credentials SET \
     failed_attempts = CASE WHEN failed_attempts + 1 >= $1 THEN 0 ELSE failed_attempts + 1 END, \
     locked_until = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE NULL END \
     WHERE login = $3 AND (locked_until IS NULL OR locked_until <= $4) \
     AND user_id IN (SELECT u.id FROM users u WHERE 1 = 1",
    may_act!(),
    ") RETURNING ",
    staff_credential_columns!()
);
/// One statement: two requests with the same code cannot both pass.
const LOGIN_SUCCESS: &str = "UPDATE staff_credentials SET failed_attempts = 0, locked_until = NULL, last_totp_step = $1 \
     WHERE user_id = $2 AND (last_totp_step IS NULL OR last_totp_step < $1)";

row!(StaffCredentialRow {
    user_id: String,
    login: String,
    password_hash: String,
    totp_secret: String,
    failed_attempts: i32,
    locked_until: Option<OffsetDateTime>,
    last_totp_step: Option<i64>,
});

impl StaffCredentialRow {
    fn into_domain(self) -> StaffCredential {
        StaffCredential {
            user_id: UserId::from_stored(self.user_id),
            login: self.login,
            password_hash: self.password_hash,
            totp_secret: self.totp_secret,
            failed_attempts: self.failed_attempts.into(),
            locked_until: self.locked_until,
            last_totp_step: self.last_totp_step,
        }
    }
}

/// Sets a password login; links still open for the account close and its sessions end (a
/// new password at the console replaces whatever was under way).
pub(crate) async fn put_staff_credential<DB: Dialect>(store: &SqlStore<DB>, c: &StaffCredential) -> Result<()> {
    let mut tx = store.write().await?;
    tx.execute(PUT_STAFF_CREDENTIAL, args![c.user_id.as_str(), &c.login, &c.password_hash, &c.totp_secret]).await?;
    tx.execute("UPDATE invitations SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL", args![OffsetDateTime::now_utc(), c.user_id.as_str()]).await?;
    tx.execute("DELETE FROM sessions WHERE user_id = $1", args![c.user_id.as_str()]).await?;
    tx.commit().await
}

pub(crate) async fn staff_credential<DB: Dialect>(store: &SqlStore<DB>, login: &str) -> Result<Option<StaffCredential>> {
    Ok(store.optional::<StaffCredentialRow>(STAFF_CREDENTIAL, args![login]).await?.map(StaffCredentialRow::into_domain))
}

pub(crate) async fn begin_login_attempt<DB: Dialect>(
    store: &SqlStore<DB>,
    login: &str,
    max_attempts: i64,
    lock_until: OffsetDateTime,
) -> Result<Option<StaffCredential>> {
    let args = args![max_attempts, lock_until, login, OffsetDateTime::now_utc()];
    Ok(store.optional::<StaffCredentialRow>(BEGIN_LOGIN_ATTEMPT, args).await?.map(StaffCredentialRow::into_domain))
}

pub(crate) async fn record_login_success<DB: Dialect>(store: &SqlStore<DB>, user: &UserId, totp_step: i64) -> Result<bool> {
    Ok(store.execute(LOGIN_SUCCESS, args![totp_step, user.as_str()]).await? == 1)
}
