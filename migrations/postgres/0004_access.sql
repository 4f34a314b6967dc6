-- Project members may be viewers.
ALTER TABLE project_users DROP CONSTRAINT project_users_role_check;
ALTER TABLE project_users ADD CONSTRAINT project_users_role_check CHECK (role IN ('owner', 'member', 'viewer'));

-- Roles, role assignments and groups.

-- Custom and predefined roles of an organization (project_id NULL) or of one project. The
-- predefined ones are rows too, so that assignments reference every role alike.
CREATE TABLE roles (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    -- The organization or project the role belongs to; names are unique within it.
    resource_id TEXT NOT NULL,
    resource_type TEXT NOT NULL CHECK (resource_type IN ('api.organization', 'api.project')),
    name TEXT NOT NULL,
    description TEXT,
    -- JSON array of permission names.
    permissions TEXT NOT NULL,
    predefined BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by TEXT,
    UNIQUE (resource_id, name)
);
CREATE UNIQUE INDEX roles_scope ON roles (resource_id, id);

CREATE TABLE org_groups (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX org_groups_org_id ON org_groups (org_id, id);

CREATE TABLE group_users (
    group_id TEXT NOT NULL REFERENCES org_groups (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_users_user ON group_users (user_id);

-- A group's access to a project; its project roles are role assignments.
CREATE TABLE project_groups (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    group_id TEXT COLLATE "C" NOT NULL REFERENCES org_groups (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, group_id)
);
CREATE INDEX project_groups_group ON project_groups (group_id);

-- A role held by a user or a group, in the organization or in one project. A user's predefined
-- role is the `role` column of users / project_users (the contract's legacy field), so these
-- rows hold custom roles for users, and every role of groups. A project assignment hangs off the
-- membership (or the group's project access) it depends on: removing that removes it.
CREATE TABLE role_assignments (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role_id TEXT COLLATE "C" NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    group_id TEXT REFERENCES org_groups (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (project_id, user_id) REFERENCES project_users (project_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (project_id, group_id) REFERENCES project_groups (project_id, group_id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX role_assignments_principal ON role_assignments (principal_id, resource_id, role_id);
CREATE INDEX role_assignments_role ON role_assignments (role_id);
CREATE INDEX role_assignments_user ON role_assignments (user_id);
CREATE INDEX role_assignments_group ON role_assignments (group_id);

-- The predefined roles of the organizations and projects that already exist.
INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by)
SELECT 'role-api-organization-owner__api-organization__' || id, id, NULL, id, 'api.organization', 'owner', 'Manages the organization: every permission, in every project', '["api.organization.read","api.organization.write","api.management.read","api.management.write","api.groups.read","api.groups.write","api.roles.read","api.roles.write","api.audit_logs.read","api.usage.read","api.organization.projects.api_keys.read","api.organization.projects.api_keys.write","api.project.read","api.model.read","api.model.request","api.responses.write"]', 1, created_at, created_at, NULL FROM organizations;
INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by)
SELECT 'role-api-organization-reader__api-organization__' || id, id, NULL, id, 'api.organization', 'reader', 'Reads the organization: its settings, groups, roles and usage', '["api.organization.read","api.management.read","api.groups.read","api.roles.read","api.usage.read"]', 1, created_at, created_at, NULL FROM organizations;
INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by)
SELECT 'role-api-project-owner__api-project__' || id, org_id, id, id, 'api.project', 'owner', 'Manages the project: its members, roles and API keys', '["api.roles.read","api.roles.write","api.usage.read","api.organization.projects.api_keys.read","api.organization.projects.api_keys.write","api.project.read","api.model.read","api.model.request","api.responses.write"]', 1, created_at, created_at, NULL FROM projects;
INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by)
SELECT 'role-api-project-member__api-project__' || id, org_id, id, id, 'api.project', 'member', 'Uses the project: models, responses and its own API keys', '["api.usage.read","api.organization.projects.api_keys.read","api.organization.projects.api_keys.write","api.project.read","api.model.read","api.model.request","api.responses.write"]', 1, created_at, created_at, NULL FROM projects;
INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by)
SELECT 'role-api-project-viewer__api-project__' || id, org_id, id, id, 'api.project', 'viewer', 'Reads the project', '["api.usage.read","api.organization.projects.api_keys.read","api.project.read","api.model.read"]', 1, created_at, created_at, NULL FROM projects;
