-- How many users and groups each organization has, kept by triggers in the transaction of every
-- insert and delete: a SCIM list's `totalResults` is this count when there is no filter, and
-- this count less the few rows that do not match when a filter matches nearly every row, so
-- that neither grows with the organization. The count is kept in parts, by the last character
-- of the row's id (random, or one on from the id before it): concurrent inserts in one
-- organization seldom wait for each other at one part's row. A part is made by the first insert
-- into it, and goes with its organization.
CREATE TABLE org_row_counts (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    table_name TEXT NOT NULL,
    part TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    PRIMARY KEY (org_id, table_name, part)
);
INSERT INTO org_row_counts (org_id, table_name, part, row_count)
SELECT org_id, 'users', substr(id, length(id), 1), COUNT(*) FROM users GROUP BY 1, 2, 3;
INSERT INTO org_row_counts (org_id, table_name, part, row_count)
SELECT org_id, 'org_groups', substr(id, length(id), 1), COUNT(*) FROM org_groups GROUP BY 1, 2, 3;
-- A delete only subtracts: its part was made by the row's insert, and when the organization
-- itself is being deleted the part may be gone already, with nothing left to count.
CREATE FUNCTION count_org_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO org_row_counts (org_id, table_name, part, row_count)
        VALUES (NEW.org_id, TG_TABLE_NAME, substr(NEW.id, length(NEW.id), 1), 1)
        ON CONFLICT (org_id, table_name, part)
        DO UPDATE SET row_count = org_row_counts.row_count + 1;
    ELSE
        UPDATE org_row_counts SET row_count = row_count - 1
        WHERE org_id = OLD.org_id AND table_name = TG_TABLE_NAME
            AND part = substr(OLD.id, length(OLD.id), 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_counted AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION count_org_rows();
CREATE TRIGGER org_groups_counted AFTER INSERT OR DELETE ON org_groups
    FOR EACH ROW EXECUTE FUNCTION count_org_rows();

-- `meta.created`, the one filterable attribute no index served yet.
CREATE INDEX users_added_at ON users (org_id, added_at, id);
CREATE INDEX org_groups_created_at ON org_groups (org_id, created_at, id);
