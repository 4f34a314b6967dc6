-- The indexes of 0012 and 0013 over the folded columns of 0015: userName unique per
-- organization whatever its case, and the filters' B-tree and trigram indexes.
CREATE UNIQUE INDEX users_user_name ON users (org_id, user_name_folded);
CREATE INDEX users_display_name ON users (org_id, name_folded);
CREATE INDEX org_groups_display_name ON org_groups (org_id, name_folded);

CREATE VIRTUAL TABLE users_search USING fts5 (
    user_name_folded, external_id, email, name_folded, content = 'users',
    content_rowid = 'rowid', tokenize = 'trigram'
);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, user_name_folded, external_id, email, name_folded)
    VALUES (new.rowid, new.user_name_folded, new.external_id, new.email, new.name_folded);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, user_name_folded, external_id, email, name_folded)
    VALUES ('delete', old.rowid, old.user_name_folded, old.external_id, old.email, old.name_folded);
END;
CREATE TRIGGER users_search_update
AFTER UPDATE OF user_name_folded, external_id, email, name_folded ON users
BEGIN
    INSERT INTO users_search (users_search, rowid, user_name_folded, external_id, email, name_folded)
    VALUES ('delete', old.rowid, old.user_name_folded, old.external_id, old.email, old.name_folded);
    INSERT INTO users_search (rowid, user_name_folded, external_id, email, name_folded)
    VALUES (new.rowid, new.user_name_folded, new.external_id, new.email, new.name_folded);
END;
INSERT INTO users_search (users_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE org_groups_search USING fts5 (
    external_id, name_folded, content = 'org_groups', content_rowid = 'rowid',
    tokenize = 'trigram'
);
CREATE TRIGGER org_groups_search_insert AFTER INSERT ON org_groups BEGIN
    INSERT INTO org_groups_search (rowid, external_id, name_folded)
    VALUES (new.rowid, new.external_id, new.name_folded);
END;
CREATE TRIGGER org_groups_search_delete AFTER DELETE ON org_groups BEGIN
    INSERT INTO org_groups_search (org_groups_search, rowid, external_id, name_folded)
    VALUES ('delete', old.rowid, old.external_id, old.name_folded);
END;
CREATE TRIGGER org_groups_search_update AFTER UPDATE OF external_id, name_folded ON org_groups
BEGIN
    INSERT INTO org_groups_search (org_groups_search, rowid, external_id, name_folded)
    VALUES ('delete', old.rowid, old.external_id, old.name_folded);
    INSERT INTO org_groups_search (rowid, external_id, name_folded)
    VALUES (new.rowid, new.external_id, new.name_folded);
END;
INSERT INTO org_groups_search (org_groups_search) VALUES ('rebuild');
