-- Events of given types in given projects, the pair most audit lists ask for: one index range
-- per (project, type), so that such a page reads only what it returns.
CREATE INDEX audit_logs_project_type ON audit_logs (org_id, project_id, type, id);
