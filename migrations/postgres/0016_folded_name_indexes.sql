-- The indexes of 0012 and 0013 over the folded columns of 0015: userName unique per
-- organization whatever its case, and the filters' B-tree and trigram indexes.
CREATE UNIQUE INDEX users_user_name ON users (org_id, user_name_folded);
CREATE INDEX users_display_name ON users (org_id, name_folded);
CREATE INDEX org_groups_display_name ON org_groups (org_id, name_folded);
CREATE INDEX users_user_name_trigrams ON users USING gin (user_name_folded gin_trgm_ops);
CREATE INDEX users_name_trigrams ON users USING gin (name_folded gin_trgm_ops);
CREATE INDEX org_groups_name_trigrams ON org_groups USING gin (name_folded gin_trgm_ops);
