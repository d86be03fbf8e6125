-- amtsweg, SQLite, migration 1: the whole path of an application.
-- Timestamps are RFC 3339 text (as sqlx stores OffsetDateTime in SQLite).

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
    created_at   TEXT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE applications (
    id           TEXT PRIMARY KEY,
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    service_id   TEXT NOT NULL REFERENCES services(id),
    status       TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    submitted_at TEXT
);
CREATE INDEX applications_by_citizen ON applications (citizen_id, created_at);

CREATE TABLE case_counters (
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    year         INTEGER NOT NULL,
    next_value   INTEGER NOT NULL,
    PRIMARY KEY (authority_id, year)
);

CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL UNIQUE REFERENCES applications(id),
    authority_id   TEXT NOT NULL REFERENCES authorities(id),
    case_number    TEXT NOT NULL UNIQUE,
    created_at     TEXT NOT NULL
);
CREATE INDEX cases_by_authority ON cases (authority_id, created_at);

CREATE TABLE decisions (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL UNIQUE REFERENCES cases(id),
    outcome    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    decided_by TEXT NOT NULL REFERENCES users(id),
    decided_at TEXT NOT NULL
);

CREATE TABLE mailbox_messages (
    id             TEXT PRIMARY KEY,
    citizen_id     TEXT NOT NULL REFERENCES users(id),
    application_id TEXT REFERENCES applications(id),
    sender         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    read_at        TEXT
);
CREATE INDEX mailbox_by_citizen ON mailbox_messages (citizen_id, created_at);

-- Append-only audit trail: ids and kinds only, never personal data.
CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     TEXT,
    actor_role   TEXT NOT NULL,
    authority_id TEXT,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL
);
CREATE INDEX audit_by_subject ON audit_events (subject_id);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
