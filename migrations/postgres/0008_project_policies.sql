-- A project's policies on what its keys may use. No row: every model and every hosted tool.
CREATE TABLE project_policies (
    project_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- NULL: no model permissions (every model).
    model_mode TEXT CHECK (model_mode IN ('allow_list', 'deny_list')),
    -- JSON array of model ids, with model_mode.
    model_ids TEXT,
    -- JSON array of the hosted tools turned off.
    disabled_tools TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL
);

-- A project's rate limits for one model, where they differ from the organization's (the model
-- catalogue's): a JSON object of the values set.
CREATE TABLE project_rate_limits (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    model TEXT COLLATE "C" NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    limits TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, model)
);
