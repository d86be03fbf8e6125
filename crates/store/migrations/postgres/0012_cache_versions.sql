-- amtsweg, PostgreSQL, migration 12: versions of what the app nodes keep in memory, and the ledger
-- looked up by reference from one index (issue 18).
-- A bearer token's user (`access`) and the catalog (`catalog`) are read once and kept while
-- their version is unchanged. Every change to a table they read raises the version in the
-- same transaction, by trigger, and tells every app node at its commit
-- (`NOTIFY amtsweg_cache`, the payload names what changed): each node listens and drops what
-- it kept, also after a change from another process (the console, a hand-made UPDATE).

CREATE TABLE cache_versions (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO cache_versions (name, version) VALUES ('access', 0), ('catalog', 0);

CREATE FUNCTION amtsweg_cache_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope TEXT;
BEGIN
    FOREACH scope IN ARRAY TG_ARGV LOOP
        UPDATE cache_versions SET version = version + 1 WHERE name = scope;
        PERFORM pg_notify('amtsweg_cache', scope);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_cache AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('access');

CREATE TRIGGER api_tokens_cache AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('access');

CREATE TRIGGER authorities_cache AFTER INSERT OR UPDATE OR DELETE ON authorities
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('access', 'catalog');

CREATE TRIGGER services_cache AFTER INSERT OR UPDATE OR DELETE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('catalog');

CREATE TRIGGER responsibilities_cache AFTER INSERT OR UPDATE OR DELETE ON responsibilities
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('catalog');

CREATE TRIGGER service_rules_cache AFTER INSERT OR UPDATE OR DELETE ON service_rules
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('catalog');

-- The first entry recorded under a reference (a receipt's look-up) straight from one index:
-- with the reference alone, the planner could walk the whole tree in index order instead.
CREATE INDEX ledger_entries_by_reference_and_index ON ledger_entries (reference, idx);
DROP INDEX ledger_entries_by_reference;
