-- The audit log is read newest first under any combination of filters. Each filter has an
-- index that ends in the id, so a page walks one index range per filter value; time ranges
-- need none, because an event's id encodes its effective_at.
ALTER TABLE audit_logs ADD COLUMN actor_key_id TEXT;
CREATE INDEX audit_logs_type ON audit_logs (org_id, type, id);
CREATE INDEX audit_logs_project ON audit_logs (org_id, project_id, id);
CREATE INDEX audit_logs_actor ON audit_logs (org_id, actor_id, id);
CREATE INDEX audit_logs_actor_key ON audit_logs (org_id, actor_key_id, id);
CREATE INDEX audit_logs_actor_email ON audit_logs (org_id, actor_email, id);
CREATE INDEX audit_logs_resource ON audit_logs (org_id, resource_id, id);
