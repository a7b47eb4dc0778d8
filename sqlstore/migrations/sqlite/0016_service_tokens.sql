-- Service tokens (issue 10, item 1): named API tokens of a company for its
-- integrations. Only the SHA-256 of the secret is stored; a revoked token
-- is deleted, so the next request with it finds nothing.
CREATE TABLE service_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id      INTEGER NOT NULL REFERENCES companies (id),
    name            TEXT NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    -- permissions is a JSON array of permission keys.
    permissions     TEXT NOT NULL,
    -- ip_allowlist is a JSON array of addresses and CIDR ranges; empty allows all.
    ip_allowlist    TEXT NOT NULL DEFAULT '[]',
    expires_at      TIMESTAMP,
    created_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_by_name TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    last_used_at    TIMESTAMP,
    last_used_from  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_tokens_company ON service_tokens (company_id, id);
