-- amtsweg, SQLite, migration 12: versions of what the app nodes keep in memory, and the ledger
-- looked up by reference from one index (issue 18).
-- A bearer token's user (`access`) and the catalog (`catalog`) are read once and kept while
-- their version is unchanged. Every change to a table they read raises the version in the
-- same transaction, by trigger, so that also a change from another process (the console, a
-- hand-made UPDATE) ends what is kept: the next lookup reads the version and finds it moved.

CREATE TABLE cache_versions (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO cache_versions (name, version) VALUES ('access', 0), ('catalog', 0);

CREATE TRIGGER users_update_cache AFTER UPDATE ON users BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access';
END;

CREATE TRIGGER users_delete_cache AFTER DELETE ON users BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access';
END;

CREATE TRIGGER api_tokens_update_cache AFTER UPDATE ON api_tokens BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access';
END;

CREATE TRIGGER api_tokens_delete_cache AFTER DELETE ON api_tokens BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access';
END;

CREATE TRIGGER authorities_insert_cache AFTER INSERT ON authorities BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access' OR name = 'catalog';
END;

CREATE TRIGGER authorities_update_cache AFTER UPDATE ON authorities BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access' OR name = 'catalog';
END;

CREATE TRIGGER authorities_delete_cache AFTER DELETE ON authorities BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'access' OR name = 'catalog';
END;

CREATE TRIGGER services_insert_cache AFTER INSERT ON services BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER services_update_cache AFTER UPDATE ON services BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER services_delete_cache AFTER DELETE ON services BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER responsibilities_insert_cache AFTER INSERT ON responsibilities BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER responsibilities_update_cache AFTER UPDATE ON responsibilities BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER responsibilities_delete_cache AFTER DELETE ON responsibilities BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER service_rules_insert_cache AFTER INSERT ON service_rules BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER service_rules_update_cache AFTER UPDATE ON service_rules BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

CREATE TRIGGER service_rules_delete_cache AFTER DELETE ON service_rules BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'catalog';
END;

-- The first entry recorded under a reference (a receipt's look-up) straight from one index:
-- with the reference alone, the planner could walk the whole tree in index order instead.
CREATE INDEX ledger_entries_by_reference_and_index ON ledger_entries (reference, idx);
DROP INDEX ledger_entries_by_reference;
