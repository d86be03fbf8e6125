-- The tamper-evident ledger (issue 5). Entries wait in ledger_pending, written in the same
-- transaction as the change they record; an integrator moves them, in order, into the tree:
-- ledger_entries (the leaves) and ledger_hashes (the stored hashes of the RFC 6962 tree, as in
-- Go's sumdb/tlog). Checkpoints are signed notes. Salts of the commitments live apart, so that
-- deleting personal data deletes its salt and the ledger keeps nothing that leads back to it.
CREATE TABLE ledger_pending (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry     BYTEA NOT NULL,
    reference TEXT
);
CREATE TABLE ledger_entries (
    idx       BIGINT PRIMARY KEY,
    entry     BYTEA NOT NULL,
    reference TEXT
);
CREATE INDEX ledger_entries_by_reference ON ledger_entries (reference);
CREATE TABLE ledger_hashes (
    idx  BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);
CREATE TABLE ledger_checkpoints (
    size       BIGINT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE ledger_salts (
    subject TEXT PRIMARY KEY,
    salt    BYTEA NOT NULL
);
