-- amtsweg, SQLite, migration 11: accountability (issue 22). An authority may require that only
-- the person a case is assigned to (or a team lead) decides it.

ALTER TABLE authorities ADD COLUMN assignee_decides INTEGER NOT NULL DEFAULT 0;
