//! Staff set up by the platform operator: invited with a one-time link (only its hash is kept)
//! where they choose a password and a second factor; their access reset the same way;
//! deactivated, which ends their sessions and tokens at once.

use crate::audit::{audit, who};
use crate::sql::{Dialect, SqlStore, Write, args, exists_as, row};
use crate::{Actor, Result, StoreError};
use amtsweg_domain::records::{Member, OpenInvitation};
use amtsweg_domain::{AuditKind, AuthorityId, User, UserId};
use time::OffsetDateTime;

/// A credential no password matches and no code passes, until the invitation is taken.
const NOT_SET: &str = "";

const RESERVE_LOGIN: &str = "INSERT INTO staff_credentials (user_id, login, password_hash, totp_secret, failed_attempts, locked_until, last_totp_step) \
     VALUES ($1, $2, $3, $3, 0, NULL, NULL)";
const CLEAR_CREDENTIAL: &str = "UPDATE staff_credentials SET password_hash = $1, totp_secret = $1, failed_attempts = 0, locked_until = NULL WHERE user_id = $2";
const SET_CREDENTIAL: &str = "UPDATE staff_credentials SET password_hash = $1, totp_secret = $2, failed_attempts = 0, locked_until = NULL, last_totp_step = NULL WHERE user_id = $3";
const CLOSE_INVITATIONS: &str = "UPDATE invitations SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL";
const PUT_INVITATION: &str = "INSERT INTO invitations (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
const INVITATION: &str = concat!(
    "SELECT i.user_id, c.login, i.expires_at FROM invitations i \
     JOIN staff_credentials c ON c.user_id = i.user_id JOIN users u ON u.id = i.user_id \
     WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2",
    super::may_act!()
);
const TAKE_INVITATION: &str = "UPDATE invitations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1";
const MEMBER_AUTHORITY: &str = "SELECT authority_id FROM users WHERE id = $1";
const DEACTIVATE_USER: &str = "UPDATE users SET deactivated_at = $1 WHERE id = $2 AND deactivated_at IS NULL";
const END_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
const REVOKE_TOKENS: &str = "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL";
const END_AUTHORITY_SESSIONS: &str = "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE authority_id = $1)";
const CLOSE_AUTHORITY_INVITATIONS: &str = "UPDATE invitations SET used_at = $1 WHERE used_at IS NULL AND user_id IN (SELECT id FROM users WHERE authority_id = $2)";
const REVOKE_AUTHORITY_TOKENS: &str = "UPDATE api_tokens SET revoked_at = $1 WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE authority_id = $2)";
const MEMBERS: &str = "SELECT u.id, u.role, u.display_name, u.authority_id, u.person, c.login, u.deactivated_at, \
     (SELECT MAX(i.expires_at) FROM invitations i WHERE i.user_id = u.id AND i.used_at IS NULL AND i.expires_at > $2) AS open_invitation \
     FROM users u LEFT JOIN staff_credentials c ON c.user_id = u.id WHERE u.authority_id = $1 ORDER BY u.display_name, u.id";

row!(InvitationRow { user_id: String, login: String, expires_at: OffsetDateTime });
row!(MemberRow {
    id: String,
    role: String,
    display_name: String,
    authority_id: Option<String>,
    person: Option<String>,
    login: Option<String>,
    deactivated_at: Option<OffsetDateTime>,
    open_invitation: Option<OffsetDateTime>,
});

/// Creates a member of staff whose login waits for the invitation to be taken.
/// `Exists("login")` when the login is taken.
pub(crate) async fn invite_staff<DB: Dialect>(
    store: &SqlStore<DB>,
    user: &User,
    login: &str,
    token_hash: &str,
    expires_at: OffsetDateTime,
    actor: &Actor,
) -> Result<()> {
    // Staff of an authority, or a platform operator (of none).
    let authority = user.authority_id.as_ref().map(|a| a.as_str());
    let mut tx = store.write().await?;
    if tx.optional::<(String,)>("SELECT user_id FROM staff_credentials WHERE login = $1", args![login]).await?.is_some() {
        return Err(StoreError::Exists("login"));
    }
    super::create_user_in(&mut tx, user).await.map_err(exists_as("user"))?;
    tx.execute(RESERVE_LOGIN, args![user.id.as_str(), login, NOT_SET]).await.map_err(exists_as("login"))?;
    tx.execute(PUT_INVITATION, args![token_hash, user.id.as_str(), OffsetDateTime::now_utc(), expires_at]).await?;
    audit(&mut tx, AuditKind::StaffInvited, who(actor), authority, ("user", user.id.as_str())).await?;
    tx.commit().await
}

/// The authority of a member of staff (`None` for a platform operator); `NotFound` for an
/// unknown user.
async fn member_authority<DB: Dialect>(tx: &mut Write<DB>, user: &UserId) -> Result<Option<String>> {
    tx.optional::<(Option<String>,)>(MEMBER_AUTHORITY, args![user.as_str()]).await?.map(|(a,)| a).ok_or(StoreError::NotFound)
}

/// Clears a member's password and second factor, ends their sessions, and opens a new one-time
/// link (earlier open ones close). `NotFound` for someone without a staff login.
pub(crate) async fn reset_staff_access<DB: Dialect>(store: &SqlStore<DB>, user: &UserId, token_hash: &str, expires_at: OffsetDateTime, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    let authority = member_authority(&mut tx, user).await?;
    if tx.execute(CLEAR_CREDENTIAL, args![NOT_SET, user.as_str()]).await? == 0 {
        return Err(StoreError::NotFound);
    }
    let now = OffsetDateTime::now_utc();
    tx.execute(END_SESSIONS, args![user.as_str()]).await?;
    tx.execute(CLOSE_INVITATIONS, args![now, user.as_str()]).await?;
    tx.execute(PUT_INVITATION, args![token_hash, user.as_str(), now, expires_at]).await?;
    audit(&mut tx, AuditKind::SecondFactorReset, who(actor), authority.as_deref(), ("user", user.as_str())).await?;
    tx.commit().await
}

/// An invitation not yet taken and not expired, of a member who may act.
pub(crate) async fn invitation<DB: Dialect>(store: &SqlStore<DB>, token_hash: &str) -> Result<Option<OpenInvitation>> {
    let row = store.optional::<InvitationRow>(INVITATION, args![token_hash, OffsetDateTime::now_utc()]).await?;
    Ok(row.map(|r| OpenInvitation { user_id: UserId::from_stored(r.user_id), login: r.login, expires_at: r.expires_at }))
}

/// Takes an invitation: sets the password hash and the second factor chosen. `NotFound` when
/// the invitation is unknown, taken or expired (a second taker changes nothing).
pub(crate) async fn accept_invitation<DB: Dialect>(store: &SqlStore<DB>, token_hash: &str, password_hash: &str, totp_secret: &str) -> Result<UserId> {
    let open = invitation(store, token_hash).await?.ok_or(StoreError::NotFound)?;
    let mut tx = store.write().await?;
    let now = OffsetDateTime::now_utc();
    if tx.execute(TAKE_INVITATION, args![now, token_hash]).await? != 1 {
        return Err(StoreError::NotFound);
    }
    tx.execute(SET_CREDENTIAL, args![password_hash, totp_secret, open.user_id.as_str()]).await?;
    let authority = member_authority(&mut tx, &open.user_id).await?;
    let me = Some((open.user_id.as_str(), "staff"));
    audit(&mut tx, AuditKind::StaffActivated, me, authority.as_deref(), ("user", open.user_id.as_str())).await?;
    tx.commit().await?;
    Ok(open.user_id)
}

/// Deactivates a member of staff: sessions end, tokens are revoked, open invitations close.
/// `NotFound` for an unknown or already deactivated one.
pub(crate) async fn deactivate_user<DB: Dialect>(store: &SqlStore<DB>, user: &UserId, actor: &Actor) -> Result<()> {
    let mut tx = store.write().await?;
    let authority = member_authority(&mut tx, user).await?;
    let now = OffsetDateTime::now_utc();
    if tx.execute(DEACTIVATE_USER, args![now, user.as_str()]).await? == 0 {
        return Err(StoreError::NotFound);
    }
    tx.execute(END_SESSIONS, args![user.as_str()]).await?;
    tx.execute(REVOKE_TOKENS, args![now, user.as_str()]).await?;
    tx.execute(CLOSE_INVITATIONS, args![now, user.as_str()]).await?;
    audit(&mut tx, AuditKind::StaffDeactivated, who(actor), authority.as_deref(), ("user", user.as_str())).await?;
    tx.commit().await
}

/// Inside an authority's deactivation: its members' sessions end and their tokens stop.
pub(crate) async fn end_access_of_authority<DB: Dialect>(tx: &mut Write<DB>, authority: &AuthorityId, now: OffsetDateTime) -> Result<()> {
    tx.execute(END_AUTHORITY_SESSIONS, args![authority.as_str()]).await?;
    tx.execute(REVOKE_AUTHORITY_TOKENS, args![now, authority.as_str()]).await?;
    tx.execute(CLOSE_AUTHORITY_INVITATIONS, args![now, authority.as_str()]).await?;
    Ok(())
}

/// Whether a user may act (known and not deactivated).
pub(crate) async fn user_active<DB: Dialect>(store: &SqlStore<DB>, user: &UserId) -> Result<bool> {
    let row = store.optional::<(String,)>("SELECT id FROM users WHERE id = $1 AND deactivated_at IS NULL", args![user.as_str()]).await?;
    Ok(row.is_some())
}

/// Everyone who works for an authority, with their login and state.
pub(crate) async fn members<DB: Dialect>(store: &SqlStore<DB>, authority: &AuthorityId) -> Result<Vec<Member>> {
    let rows = store.all::<MemberRow>(MEMBERS, args![authority.as_str(), OffsetDateTime::now_utc()]).await?;
    rows.into_iter()
        .map(|r| {
            let user = super::UserRow { id: r.id, role: r.role, display_name: r.display_name, authority_id: r.authority_id, person: r.person }.into_domain()?;
            Ok(Member { user, login: r.login, active: r.deactivated_at.is_none(), invitation_until: r.open_invitation })
        })
        .collect()
}
