-- amtsweg, PostgreSQL, migration 1: the whole path of an application.
-- Timestamps are timestamptz.

CREATE TABLE authorities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    short_code  TEXT NOT NULL UNIQUE,
    region_key  TEXT NOT NULL,
    address     TEXT NOT NULL
);

CREATE TABLE services (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    leika_key   TEXT,
    summary     TEXT NOT NULL,
    description TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    form        TEXT NOT NULL
);

CREATE TABLE responsibilities (
    service_id   TEXT NOT NULL REFERENCES services(id),
    region_key   TEXT NOT NULL,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    PRIMARY KEY (service_id, region_key)
);

CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    role         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    authority_id TEXT REFERENCES authorities(id),
    person       TEXT,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE applications (
    id           TEXT PRIMARY KEY,
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    service_id   TEXT NOT NULL REFERENCES services(id),
    status       TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    submitted_at TIMESTAMPTZ
);
CREATE INDEX applications_by_citizen ON applications (citizen_id, created_at);

CREATE TABLE case_counters (
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    year         INTEGER NOT NULL,
    next_value   BIGINT NOT NULL,
    PRIMARY KEY (authority_id, year)
);

CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL UNIQUE REFERENCES applications(id),
    authority_id   TEXT NOT NULL REFERENCES authorities(id),
    case_number    TEXT NOT NULL UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX cases_by_authority ON cases (authority_id, created_at);

CREATE TABLE decisions (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL UNIQUE REFERENCES cases(id),
    outcome    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decided_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE mailbox_messages (
    id             TEXT PRIMARY KEY,
    citizen_id     TEXT NOT NULL REFERENCES users(id),
    application_id TEXT REFERENCES applications(id),
    sender         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    read_at        TIMESTAMPTZ
);
CREATE INDEX mailbox_by_citizen ON mailbox_messages (citizen_id, created_at);

-- Append-only audit trail: ids and kinds only, never personal data.
CREATE TABLE audit_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     TEXT,
    actor_role   TEXT NOT NULL,
    authority_id TEXT,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL
);
CREATE INDEX audit_by_subject ON audit_events (subject_id);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
