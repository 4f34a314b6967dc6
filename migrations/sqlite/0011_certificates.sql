-- The CA certificates of an organization's clients, for mutual TLS: uploaded once, active in the
-- organization (`active`) and in single projects (`project_certificates`).
CREATE TABLE certificates (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT,
    content TEXT NOT NULL,
    valid_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0
);
-- Lists page by id within an organization.
CREATE INDEX certificates_org ON certificates (org_id, id);

CREATE TABLE project_certificates (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    certificate_id TEXT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    activated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, certificate_id)
);
CREATE INDEX project_certificates_certificate ON project_certificates (certificate_id);
