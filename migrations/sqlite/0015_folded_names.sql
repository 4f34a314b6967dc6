-- SCIM's userName and displayName compare ignoring case (RFC 7643's `caseExact: false`), as
-- Unicode lowercases them. SQLite's lower() knows only ASCII, so each is kept folded beside
-- itself, folded by Roster (`name::folded`) on every write. Here the columns, filled with
-- lower() and then, where Unicode folds otherwise, by Roster before this migration is recorded;
-- the next migration indexes them (a unique index cannot wait for the second pass).
DROP INDEX users_user_name;
DROP INDEX users_display_name;
DROP INDEX org_groups_display_name;
DROP TRIGGER users_search_insert;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_update;
DROP TABLE users_search;
DROP TRIGGER org_groups_search_insert;
DROP TRIGGER org_groups_search_delete;
DROP TRIGGER org_groups_search_update;
DROP TABLE org_groups_search;
ALTER TABLE users ADD COLUMN user_name_folded TEXT;
ALTER TABLE users ADD COLUMN name_folded TEXT;
UPDATE users SET user_name_folded = lower(user_name), name_folded = lower(name);
ALTER TABLE org_groups ADD COLUMN name_folded TEXT;
UPDATE org_groups SET name_folded = lower(name);
