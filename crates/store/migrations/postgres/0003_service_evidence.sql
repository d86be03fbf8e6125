-- amtsweg, PostgreSQL, migration 3: the evidence each service needs (JSON list).
ALTER TABLE services ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]';
