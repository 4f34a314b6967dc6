-- Service accounts and project API keys: the machine identities of a project.

CREATE TABLE service_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- `none`: created with create_service_account_only, without project access.
    role TEXT NOT NULL CHECK (role IN ('owner', 'member', 'none')),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX service_accounts_project ON service_accounts (project_id, id);

-- A project API key, owned by a service account (deleted with it) or by an organization user
-- (kept while she is away from the project, but refused until she is back: `inactive`).
CREATE TABLE project_api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    redacted_value TEXT NOT NULL,
    -- JSON array of permission names; empty means every permission of the owner.
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    service_account_id TEXT REFERENCES service_accounts (id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (service_account_id IS NULL))
);
CREATE UNIQUE INDEX project_api_keys_digest ON project_api_keys (digest);
CREATE UNIQUE INDEX project_api_keys_project ON project_api_keys (project_id, id);
CREATE INDEX project_api_keys_user ON project_api_keys (user_id);
CREATE INDEX project_api_keys_service_account ON project_api_keys (service_account_id);
