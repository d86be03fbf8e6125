-- amtsweg, postgres, migration 7: questions the assistant could not answer, handed over by a citizen
-- to the responsible authority. The question is kept as the citizen sent it: they chose to send
-- it to that authority.

CREATE TABLE inquiries (
    id           TEXT PRIMARY KEY,
    authority_id TEXT NOT NULL REFERENCES authorities(id),
    citizen_id   TEXT NOT NULL REFERENCES users(id),
    question     TEXT NOT NULL,
    -- The title of the text the assistant found closest, if any (helps the authority route it).
    topic        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    -- The authority's answer, which also went to the citizen's mailbox.
    answer       TEXT,
    answered_at  TIMESTAMPTZ,
    answered_by  TEXT REFERENCES users(id)
);
CREATE INDEX inquiries_by_authority ON inquiries (authority_id, created_at);
