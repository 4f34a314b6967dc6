-- Organizations, users, projects, admin API keys and the audit log.
-- Ids are prefixed lowercase ULIDs, so ORDER BY id is creation order and keyset cursors are ids.
-- Every table is scoped by org_id; the (org_id, id) indexes serve the lists.

CREATE TABLE roster_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    default_project_id TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'reader')),
    added_at BIGINT NOT NULL,
    UNIQUE (org_id, email)
);
CREATE UNIQUE INDEX users_org_id ON users (org_id, id);

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    archived_at BIGINT,
    external_key_id TEXT,
    residency TEXT
);
CREATE UNIQUE INDEX projects_org_id ON projects (org_id, id);
-- The default listing skips archived projects: this keeps its page O(limit).
CREATE UNIQUE INDEX projects_org_active_id ON projects (org_id, id) WHERE archived_at IS NULL;

CREATE TABLE admin_api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    owner_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT,
    digest TEXT NOT NULL,
    redacted_value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
);
-- Authentication is one lookup of this index.
CREATE UNIQUE INDEX admin_api_keys_digest ON admin_api_keys (digest);
CREATE UNIQUE INDEX admin_api_keys_org_id ON admin_api_keys (org_id, id);
CREATE INDEX admin_api_keys_owner ON admin_api_keys (owner_user_id);

CREATE TABLE audit_logs (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    effective_at BIGINT NOT NULL,
    project_id TEXT,
    actor_id TEXT,
    actor_email TEXT,
    actor TEXT,
    resource_id TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_logs_org_id ON audit_logs (org_id, id);
