-- Project memberships and invites.

-- A membership's own id records the order users were added; the list pages by it, with the
-- cursor (a user id) resolved through the (project_id, user_id) unique index.
CREATE TABLE project_users (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    added_at BIGINT NOT NULL,
    UNIQUE (project_id, user_id)
);
CREATE UNIQUE INDEX project_users_project_order ON project_users (project_id, id);
CREATE INDEX project_users_user ON project_users (user_id);

CREATE TABLE invites (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'reader')),
    -- The invite's projects, as the contract shows them: JSON [{"id": ..., "role": ...}].
    projects TEXT NOT NULL,
    token_digest TEXT NOT NULL,
    invited_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT
);
CREATE UNIQUE INDEX invites_org_id ON invites (org_id, id);
CREATE UNIQUE INDEX invites_token ON invites (token_digest);
-- At most one open (not accepted) invite per address; expired ones are cleared before a new one.
CREATE UNIQUE INDEX invites_open_email ON invites (org_id, email) WHERE accepted_at IS NULL;
