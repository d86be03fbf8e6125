-- amtsweg, postgres, migration 10: the platform operator (issue 17). Authorities get their
-- contact, letterhead and a deactivation; staff can be deactivated; invitations are one-time
-- links (only their SHA-256 is kept) where a colleague chooses a password and a second factor.

ALTER TABLE authorities ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE authorities ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE authorities ADD COLUMN opening_hours TEXT NOT NULL DEFAULT '';
ALTER TABLE authorities ADD COLUMN letterhead TEXT NOT NULL DEFAULT '';
ALTER TABLE authorities ADD COLUMN deactivated_at TIMESTAMPTZ;

-- The topic a service is listed under in the portal.
ALTER TABLE services ADD COLUMN category TEXT NOT NULL DEFAULT '';

ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;

CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX invitations_by_user ON invitations (user_id);

-- Rate limits that hold across app nodes (logins, questions to the assistant): per key (the
-- kind and a hash of the client's address) the theoretical arrival time of GCRA, in ms.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);

-- Security events (login, lockout, CSRF refusal, rate limit, access denied, changes by the
-- operator and admins, key use) as the SIEM receives them: the ECS document, with its action and
-- outcome for counting. No personal data beyond pseudonymous ids.
CREATE TABLE security_events (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    action  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    event   TEXT NOT NULL
);
CREATE INDEX security_events_by_time ON security_events (at);
