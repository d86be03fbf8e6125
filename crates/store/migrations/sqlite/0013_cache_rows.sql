-- amtsweg, SQLite, migration 13: new users and tokens move `access` too (issue 18): a hand-made
-- INSERT OR REPLACE over an old row deletes it without a DELETE trigger. (SQLite's triggers
-- already fire per row; an UPDATE that changes nothing is left out by the statements themselves.)

CREATE TRIGGER users_insert_cache AFTER INSERT ON users BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access';
END;

CREATE TRIGGER api_tokens_insert_cache AFTER INSERT ON api_tokens BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access';
END;
