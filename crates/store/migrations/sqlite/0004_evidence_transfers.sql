-- amtsweg, SQLite, migration 4: evidence attached to applications, and the transfer log
-- (Datenschutzcockpit) of every exchange with a register.

CREATE TABLE transfers (
    id             TEXT PRIMARY KEY,
    citizen_id     TEXT NOT NULL REFERENCES users(id),
    at             TEXT NOT NULL,
    authority_id   TEXT NOT NULL,
    authority_name TEXT NOT NULL,
    register       TEXT NOT NULL,
    evidence_type  TEXT NOT NULL,
    procedure      TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    legal_basis    TEXT NOT NULL,
    idnr_used      INTEGER NOT NULL,
    consent_ref    TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    request_hash   TEXT NOT NULL
);
CREATE INDEX transfers_by_citizen ON transfers (citizen_id, at);
CREATE INDEX transfers_by_time ON transfers (at);

CREATE TABLE evidence (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    citizen_id     TEXT NOT NULL REFERENCES users(id),
    evidence_type  TEXT NOT NULL,
    source         TEXT NOT NULL,
    status         TEXT NOT NULL,
    register       TEXT,
    media_type     TEXT NOT NULL,
    document       TEXT NOT NULL,
    transfer_id    TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX evidence_by_application ON evidence (application_id);
