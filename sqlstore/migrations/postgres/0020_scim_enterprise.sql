-- SCIM 2.0 (issue 10 item 2): the identity provider's own ID of a user
-- (externalId) and the enterprise user extension (RFC 7643 §4.3):
-- employee number, department and manager. All optional. The manager is a
-- user of the same company (the store checks that); deleting the manager
-- leaves the field empty.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN employee_number TEXT;
ALTER TABLE users ADD COLUMN department TEXT;
ALTER TABLE users ADD COLUMN manager_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
-- Identity providers look users up by externalId on every sync.
CREATE INDEX users_external_id ON users (company_id, external_id);
CREATE INDEX users_manager ON users (manager_id);
