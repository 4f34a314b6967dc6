-- SCIM filters on the attributes identity providers filter by, each served by an index: `co`
-- and `ew` (a substring anywhere, or at the end) by trigram indexes over the very expressions
-- the filters compare (pg_trgm ships with PostgreSQL and is a trusted extension: the owner of
-- the database may create it), and `active` by a plain one.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_user_name_trigrams ON users USING gin (lower(user_name) gin_trgm_ops);
CREATE INDEX users_external_id_trigrams ON users USING gin (external_id gin_trgm_ops);
CREATE INDEX users_email_trigrams ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_trigrams ON users USING gin (lower(name) gin_trgm_ops);
CREATE INDEX users_active ON users (org_id, active, id);
CREATE INDEX org_groups_external_id_trigrams ON org_groups USING gin (external_id gin_trgm_ops);
CREATE INDEX org_groups_name_trigrams ON org_groups USING gin (lower(name) gin_trgm_ops);
