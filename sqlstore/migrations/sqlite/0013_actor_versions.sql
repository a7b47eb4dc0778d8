-- Version numbers that say when a cached actor (the user behind a session,
-- with roles, permissions, company and scope) is stale. Triggers bump them
-- in the transaction of every change that can affect an actor, so no write
-- path can forget one and no other roster process can miss one:
-- users.version for anything about the user (the row: status, password,
-- 2FA, allowlist; roles, queues, operator settings, client tags, calls);
-- companies.version for the company row and company-wide things (its
-- roles and their permissions, groups, operations settings);
-- auth_epoch.version for the company tree (dependents) and system roles.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE auth_epoch (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO auth_epoch (id, version) VALUES (1, 0);

CREATE TRIGGER users_version AFTER UPDATE ON users WHEN new.version = old.version BEGIN
    UPDATE users SET version = old.version + 1 WHERE id = new.id;
END;
CREATE TRIGGER companies_version AFTER UPDATE ON companies WHEN new.version = old.version BEGIN
    UPDATE companies SET version = old.version + 1 WHERE id = new.id;
END;
CREATE TRIGGER companies_tree_insert AFTER INSERT ON companies BEGIN
    UPDATE auth_epoch SET version = version + 1;
END;
CREATE TRIGGER companies_tree_delete AFTER DELETE ON companies BEGIN
    UPDATE auth_epoch SET version = version + 1;
END;
CREATE TRIGGER companies_tree_update AFTER UPDATE OF parent_id ON companies BEGIN
    UPDATE auth_epoch SET version = version + 1;
END;

CREATE TRIGGER user_roles_version_insert AFTER INSERT ON user_roles BEGIN
    UPDATE users SET version = version + 1 WHERE id = new.user_id;
END;
CREATE TRIGGER user_roles_version_delete AFTER DELETE ON user_roles BEGIN
    UPDATE users SET version = version + 1 WHERE id = old.user_id;
END;
CREATE TRIGGER work_group_members_version_insert AFTER INSERT ON work_group_members BEGIN
    UPDATE users SET version = version + 1 WHERE id = new.user_id;
END;
CREATE TRIGGER work_group_members_version_delete AFTER DELETE ON work_group_members BEGIN
    UPDATE users SET version = version + 1 WHERE id = old.user_id;
END;
CREATE TRIGGER operator_settings_version_insert AFTER INSERT ON operator_settings BEGIN
    UPDATE users SET version = version + 1 WHERE id = new.user_id;
END;
CREATE TRIGGER operator_settings_version_update AFTER UPDATE ON operator_settings BEGIN
    UPDATE users SET version = version + 1 WHERE id IN (old.user_id, new.user_id);
END;
CREATE TRIGGER operator_settings_version_delete AFTER DELETE ON operator_settings BEGIN
    UPDATE users SET version = version + 1 WHERE id = old.user_id;
END;
CREATE TRIGGER user_client_tags_version_insert AFTER INSERT ON user_client_tags BEGIN
    UPDATE users SET version = version + 1 WHERE id = new.user_id;
END;
CREATE TRIGGER user_client_tags_version_delete AFTER DELETE ON user_client_tags BEGIN
    UPDATE users SET version = version + 1 WHERE id = old.user_id;
END;
CREATE TRIGGER calls_version_insert AFTER INSERT ON calls BEGIN
    UPDATE users SET version = version + 1 WHERE id = new.user_id;
END;
CREATE TRIGGER calls_version_delete AFTER DELETE ON calls BEGIN
    UPDATE users SET version = version + 1 WHERE id = old.user_id;
END;

CREATE TRIGGER roles_version_update AFTER UPDATE ON roles BEGIN
    UPDATE companies SET version = version + 1 WHERE id IN (old.company_id, new.company_id);
    UPDATE auth_epoch SET version = version + 1 WHERE old.company_id IS NULL OR new.company_id IS NULL;
END;
CREATE TRIGGER roles_version_delete AFTER DELETE ON roles BEGIN
    UPDATE companies SET version = version + 1 WHERE id = old.company_id;
    UPDATE auth_epoch SET version = version + 1 WHERE old.company_id IS NULL;
END;
CREATE TRIGGER role_permissions_version_insert AFTER INSERT ON role_permissions BEGIN
    UPDATE companies SET version = version + 1 WHERE id = (SELECT company_id FROM roles WHERE id = new.role_id);
    UPDATE auth_epoch SET version = version + 1 WHERE (SELECT company_id FROM roles WHERE id = new.role_id) IS NULL;
END;
CREATE TRIGGER role_permissions_version_delete AFTER DELETE ON role_permissions BEGIN
    UPDATE companies SET version = version + 1 WHERE id = (SELECT company_id FROM roles WHERE id = old.role_id);
    UPDATE auth_epoch SET version = version + 1 WHERE (SELECT company_id FROM roles WHERE id = old.role_id) IS NULL;
END;

CREATE TRIGGER work_groups_version_update AFTER UPDATE ON work_groups BEGIN
    UPDATE companies SET version = version + 1 WHERE id IN (old.company_id, new.company_id);
END;
CREATE TRIGGER work_groups_version_delete AFTER DELETE ON work_groups BEGIN
    UPDATE companies SET version = version + 1 WHERE id = old.company_id;
END;
CREATE TRIGGER company_operations_version_insert AFTER INSERT ON company_operations BEGIN
    UPDATE companies SET version = version + 1 WHERE id = new.company_id;
END;
CREATE TRIGGER company_operations_version_update AFTER UPDATE ON company_operations BEGIN
    UPDATE companies SET version = version + 1 WHERE id IN (old.company_id, new.company_id);
END;
CREATE TRIGGER company_operations_version_delete AFTER DELETE ON company_operations BEGIN
    UPDATE companies SET version = version + 1 WHERE id = old.company_id;
END;
