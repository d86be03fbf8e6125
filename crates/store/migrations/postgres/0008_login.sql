-- amtsweg, postgres, migration 8: real login (issue 8). OpenID Connect logins under way, the link of a
-- provider's subject to our user, the level of assurance of a session and the level a service
-- needs, and staff passwords with a second factor.

ALTER TABLE sessions ADD COLUMN level TEXT;
ALTER TABLE sessions ADD COLUMN provider_logout BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE services ADD COLUMN required_level TEXT;

-- Taken (deleted) by the callback: a code or state can finish a login only once.
CREATE TABLE pending_logins (
    id_hash       TEXT PRIMARY KEY,
    state         TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    level         TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);

-- The provider's pseudonymous subject ("sub") per issuer; never logged.
CREATE TABLE external_logins (
    issuer  TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (issuer, subject)
);

-- Staff accounts: a login name, an Argon2id hash (PHC string), a TOTP secret (base32), and the
-- count of failed attempts with the lock that follows them.
CREATE TABLE staff_credentials (
    user_id         TEXT PRIMARY KEY REFERENCES users(id),
    login           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    last_totp_step  BIGINT
);
