-- Version numbers that say when a cached actor (the user behind a session,
-- with roles, permissions, company and scope) is stale. Triggers bump them
-- in the transaction of every change that can affect an actor, so no write
-- path can forget one and no other roster process can miss one:
-- users.version for anything about the user (the row: status, password,
-- 2FA, allowlist; roles, queues, operator settings, client tags, calls);
-- companies.version for the company row and company-wide things (its
-- roles and their permissions, groups, operations settings);
-- auth_epoch.version for the company tree (dependents) and system roles.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE TABLE auth_epoch (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, version) VALUES (1, 0);

CREATE FUNCTION roster_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version = OLD.version THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_version BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION roster_row_version();
CREATE TRIGGER companies_version BEFORE UPDATE ON companies FOR EACH ROW EXECUTE FUNCTION roster_row_version();

CREATE FUNCTION roster_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET version = version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER companies_tree AFTER INSERT OR DELETE OR UPDATE OF parent_id ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION roster_auth_epoch();

-- A change of a row that belongs to a user (column user_id).
CREATE FUNCTION roster_user_child_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE users SET version = version + 1 WHERE id = OLD.user_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
        UPDATE users SET version = version + 1 WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER user_roles_version AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION roster_user_child_version();
CREATE TRIGGER work_group_members_version AFTER INSERT OR UPDATE OR DELETE ON work_group_members
    FOR EACH ROW EXECUTE FUNCTION roster_user_child_version();
CREATE TRIGGER operator_settings_version AFTER INSERT OR UPDATE OR DELETE ON operator_settings
    FOR EACH ROW EXECUTE FUNCTION roster_user_child_version();
CREATE TRIGGER user_client_tags_version AFTER INSERT OR UPDATE OR DELETE ON user_client_tags
    FOR EACH ROW EXECUTE FUNCTION roster_user_child_version();
CREATE TRIGGER calls_version AFTER INSERT OR UPDATE OR DELETE ON calls
    FOR EACH ROW EXECUTE FUNCTION roster_user_child_version();

-- A change of a row that belongs to a company (column company_id; NULL is
-- system-wide and bumps the epoch).
CREATE FUNCTION roster_company_child_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        ids := ids || OLD.company_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        ids := ids || NEW.company_id;
    END IF;
    UPDATE companies SET version = version + 1 WHERE id = ANY (ids);
    IF array_position(ids, NULL) IS NOT NULL THEN
        UPDATE auth_epoch SET version = version + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER roles_version AFTER UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION roster_company_child_version();
CREATE TRIGGER work_groups_version AFTER UPDATE OR DELETE ON work_groups
    FOR EACH ROW EXECUTE FUNCTION roster_company_child_version();
CREATE TRIGGER company_operations_version AFTER INSERT OR UPDATE OR DELETE ON company_operations
    FOR EACH ROW EXECUTE FUNCTION roster_company_child_version();

CREATE FUNCTION roster_role_permissions_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rid BIGINT;
    cid BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN rid := OLD.role_id; ELSE rid := NEW.role_id; END IF;
    SELECT company_id INTO cid FROM roles WHERE id = rid;
    IF cid IS NULL THEN
        UPDATE auth_epoch SET version = version + 1;
    ELSE
        UPDATE companies SET version = version + 1 WHERE id = cid;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER role_permissions_version AFTER INSERT OR UPDATE OR DELETE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION roster_role_permissions_version();
