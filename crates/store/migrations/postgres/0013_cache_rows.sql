-- amtsweg, PostgreSQL, migration 13: the versions of what app nodes keep move only with a row
-- that changed (issue 18). Migration 12's triggers fired once per statement, also for a statement
-- that changed no row (a citizen's login that changes nothing moved `access`, and every node let
-- its kept tokens go): now once per row updated to something different or deleted, and once per
-- TRUNCATE; for the catalog also per row inserted (its absence is kept too). A new user or token
-- changes nothing kept (only tokens found valid are kept), and leaving inserts out keeps first
-- logins from queueing on the version's row.

DROP TRIGGER users_cache ON users;
CREATE TRIGGER users_cache_write AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION amtsweg_cache_changed('access');
CREATE TRIGGER users_cache_update AFTER UPDATE ON users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION amtsweg_cache_changed('access');
CREATE TRIGGER users_cache_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('access');

DROP TRIGGER api_tokens_cache ON api_tokens;
CREATE TRIGGER api_tokens_cache_write AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION amtsweg_cache_changed('access');
CREATE TRIGGER api_tokens_cache_update AFTER UPDATE ON api_tokens
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION amtsweg_cache_changed('access');
CREATE TRIGGER api_tokens_cache_truncate AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('access');

DROP TRIGGER authorities_cache ON authorities;
CREATE TRIGGER authorities_cache_write AFTER INSERT OR DELETE ON authorities
    FOR EACH ROW EXECUTE FUNCTION amtsweg_cache_changed('access', 'catalog');
CREATE TRIGGER authorities_cache_update AFTER UPDATE ON authorities
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION amtsweg_cache_changed('access', 'catalog');
CREATE TRIGGER authorities_cache_truncate AFTER TRUNCATE ON authorities
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('access', 'catalog');

DROP TRIGGER services_cache ON services;
CREATE TRIGGER services_cache_write AFTER INSERT OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION amtsweg_cache_changed('catalog');
CREATE TRIGGER services_cache_update AFTER UPDATE ON services
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION amtsweg_cache_changed('catalog');
CREATE TRIGGER services_cache_truncate AFTER TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('catalog');

DROP TRIGGER responsibilities_cache ON responsibilities;
CREATE TRIGGER responsibilities_cache_write AFTER INSERT OR DELETE ON responsibilities
    FOR EACH ROW EXECUTE FUNCTION amtsweg_cache_changed('catalog');
CREATE TRIGGER responsibilities_cache_update AFTER UPDATE ON responsibilities
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION amtsweg_cache_changed('catalog');
CREATE TRIGGER responsibilities_cache_truncate AFTER TRUNCATE ON responsibilities
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('catalog');

DROP TRIGGER service_rules_cache ON service_rules;
CREATE TRIGGER service_rules_cache_write AFTER INSERT OR DELETE ON service_rules
    FOR EACH ROW EXECUTE FUNCTION amtsweg_cache_changed('catalog');
CREATE TRIGGER service_rules_cache_update AFTER UPDATE ON service_rules
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION amtsweg_cache_changed('catalog');
CREATE TRIGGER service_rules_cache_truncate AFTER TRUNCATE ON service_rules
    FOR EACH STATEMENT EXECUTE FUNCTION amtsweg_cache_changed('catalog');
