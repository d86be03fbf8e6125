-- amtsweg, sqlite, migration 6: casework. Decision rules per service, assignment, deadlines and
-- the rule trace of a case, documents (the Bescheid as PDF), requests for information, memos,
-- status events from specialist procedures and their API clients.

ALTER TABLE services ADD COLUMN decision_rules TEXT NOT NULL DEFAULT '{}';

-- An authority's own decision rules for a service (set by its service admin); without a row
-- the service's rules apply.
CREATE TABLE service_rules (
    service_id   TEXT NOT NULL REFERENCES services(id),
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    rules        TEXT NOT NULL,
    PRIMARY KEY (service_id, authority_id)
);

ALTER TABLE cases ADD COLUMN assignee_id TEXT REFERENCES users(id);
ALTER TABLE cases ADD COLUMN due_at TEXT;
ALTER TABLE cases ADD COLUMN rule_trace TEXT;

ALTER TABLE decisions ADD COLUMN automated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN message_id TEXT;
-- Failed attempts to write the Bescheid (the background job gives up after a few).
ALTER TABLE decisions ADD COLUMN bescheid_tries INTEGER NOT NULL DEFAULT 0;

-- The platform's own actor for automated decisions (§ 35a VwVfG).
INSERT INTO users (id, role, display_name, authority_id, person, created_at)
VALUES ('automat', 'system', 'Automatisiertes Verfahren', NULL, NULL, '1970-01-01T00:00:00Z');

CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id),
    kind         TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    content      BLOB NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (case_id, kind)
);

ALTER TABLE mailbox_messages ADD COLUMN document_id TEXT REFERENCES documents(id);
ALTER TABLE mailbox_messages ADD COLUMN info_request_id TEXT;

CREATE TABLE info_requests (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id),
    question    TEXT NOT NULL,
    asked_by    TEXT NOT NULL REFERENCES users(id),
    asked_at    TEXT NOT NULL,
    answer      TEXT,
    answered_at TEXT
);
CREATE INDEX info_requests_by_case ON info_requests (case_id);

CREATE TABLE memos (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases(id),
    author_id  TEXT NOT NULL REFERENCES users(id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX memos_by_case ON memos (case_id);

CREATE TABLE api_clients (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

-- Status events a specialist procedure reports; the key makes retries harmless.
CREATE TABLE case_events (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases(id),
    client_id       TEXT NOT NULL REFERENCES api_clients(id),
    idempotency_key TEXT NOT NULL,
    kind            TEXT NOT NULL,
    note            TEXT NOT NULL,
    at              TEXT NOT NULL,
    UNIQUE (client_id, idempotency_key)
);
CREATE INDEX case_events_by_case ON case_events (case_id);


-- Access tokens of API clients (client credentials); only their SHA-256 is kept.
CREATE TABLE client_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_clients(id),
    expires_at TEXT NOT NULL
);
