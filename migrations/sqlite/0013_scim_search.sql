-- SCIM filters on the attributes identity providers filter by, each served by an index: `co`
-- and `ew` (a substring anywhere, or at the end) by FTS5 trigram indexes, which answer LIKE
-- (case-insensitive) with candidates that the exact comparison then checks; `active` by a
-- plain one. Each index holds its table's rows by rowid, kept in step by triggers; `VACUUM INTO`
-- (`roster backup`) keeps rowids, and `roster restore` rebuilds the indexes all the same.
CREATE VIRTUAL TABLE users_search USING fts5 (
    user_name, external_id, email, name, content = 'users', content_rowid = 'rowid',
    tokenize = 'trigram'
);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, user_name, external_id, email, name)
    VALUES (new.rowid, new.user_name, new.external_id, new.email, new.name);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, user_name, external_id, email, name)
    VALUES ('delete', old.rowid, old.user_name, old.external_id, old.email, old.name);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF user_name, external_id, email, name ON users
BEGIN
    INSERT INTO users_search (users_search, rowid, user_name, external_id, email, name)
    VALUES ('delete', old.rowid, old.user_name, old.external_id, old.email, old.name);
    INSERT INTO users_search (rowid, user_name, external_id, email, name)
    VALUES (new.rowid, new.user_name, new.external_id, new.email, new.name);
END;
INSERT INTO users_search (users_search) VALUES ('rebuild');
CREATE INDEX users_active ON users (org_id, active, id);

CREATE VIRTUAL TABLE org_groups_search USING fts5 (
    external_id, name, content = 'org_groups', content_rowid = 'rowid', tokenize = 'trigram'
);
CREATE TRIGGER org_groups_search_insert AFTER INSERT ON org_groups BEGIN
    INSERT INTO org_groups_search (rowid, external_id, name)
    VALUES (new.rowid, new.external_id, new.name);
END;
CREATE TRIGGER org_groups_search_delete AFTER DELETE ON org_groups BEGIN
    INSERT INTO org_groups_search (org_groups_search, rowid, external_id, name)
    VALUES ('delete', old.rowid, old.external_id, old.name);
END;
CREATE TRIGGER org_groups_search_update AFTER UPDATE OF external_id, name ON org_groups BEGIN
    INSERT INTO org_groups_search (org_groups_search, rowid, external_id, name)
    VALUES ('delete', old.rowid, old.external_id, old.name);
    INSERT INTO org_groups_search (rowid, external_id, name)
    VALUES (new.rowid, new.external_id, new.name);
END;
INSERT INTO org_groups_search (org_groups_search) VALUES ('rebuild');
