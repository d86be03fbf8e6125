-- amtsweg, sqlite, migration 9: background jobs. A job waits until run_at; a worker claims it
-- (locked_until, attempts counted) and removes it when done, or sets it to wait again (run_at,
-- last_error) or gives it up (failed_at; kept for operators, never claimed again). last_error
-- holds the code a worker passes, never personal data.

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    unique_key   TEXT,
    payload      TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       TEXT NOT NULL,
    locked_until TEXT,
    last_error   TEXT,
    failed_at    TEXT,
    created_at   TEXT NOT NULL
);
-- One job per kind and key while it waits or runs (finished jobs are deleted).
CREATE UNIQUE INDEX jobs_unique_key ON jobs (kind, unique_key) WHERE failed_at IS NULL;
CREATE INDEX jobs_due ON jobs (run_at) WHERE failed_at IS NULL;
