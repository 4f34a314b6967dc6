-- SCIM 2.0: an organization's identity provider keeps its users and groups in step.

-- Bearer tokens of an organization's identity provider: shown once, stored as a digest.
CREATE TABLE scim_tokens (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,
    name TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX scim_tokens_org ON scim_tokens (org_id, id);

-- What SCIM keeps of a user beside the contract's fields. `scim_managed` users were made by the
-- identity provider and are changed only through it; `active` = 0 suspends one (her keys stop).
-- `user_name` is SCIM's userName (the email, for users SCIM did not make), unique per
-- organization whatever its case; `version` counts
-- changes (the ETag) and `updated_at` is meta.lastModified.
ALTER TABLE users ADD COLUMN scim_managed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN user_name TEXT;
UPDATE users SET user_name = email;
ALTER TABLE users ADD COLUMN external_id TEXT;
-- The User resource as the identity provider last sent it (JSON, without id and meta); the
-- columns above are what Roster reads of it (`email` the primary address, `name` the display
-- name, `role` from Roster's extension).
ALTER TABLE users ADD COLUMN scim_resource TEXT;
ALTER TABLE users ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE users SET updated_at = added_at;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- The filters identity providers send, each served by an index.
CREATE UNIQUE INDEX users_user_name ON users (org_id, lower(user_name));
CREATE INDEX users_external_id ON users (org_id, external_id);
CREATE INDEX users_display_name ON users (org_id, lower(name));
CREATE INDEX users_updated_at ON users (org_id, updated_at, id);

ALTER TABLE org_groups ADD COLUMN scim_managed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE org_groups ADD COLUMN external_id TEXT;
ALTER TABLE org_groups ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE org_groups SET updated_at = created_at;
ALTER TABLE org_groups ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX org_groups_external_id ON org_groups (org_id, external_id);
CREATE INDEX org_groups_display_name ON org_groups (org_id, lower(name));
CREATE INDEX org_groups_updated_at ON org_groups (org_id, updated_at, id);
