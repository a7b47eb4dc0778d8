-- Sign-in lockout that cannot be turned against users (issue 11, findings
-- 6–9). Failures are counted per account and client address (the address
-- that fails waits; others do not) and per account across all addresses
-- (the row whose address is ''), keyed by roster.LoginKey: a hash of the
-- normalized username, so names that belong to nobody are counted like real
-- accounts and no typed name is stored. users.failed_logins and
-- users.locked_until keep a copy of the account-wide row for the user card.

CREATE TABLE login_failures (
    account_key  BYTEA NOT NULL,
    address      TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_key, address)
);
CREATE INDEX login_failures_updated ON login_failures (updated_at);

-- Counts start again from zero under the new rules.
UPDATE users SET failed_logins = 0, locked_until = NULL;

-- Single-use unlock links e-mailed to a locked-out user; only the token's
-- hash is stored, one live link per user.
CREATE TABLE unlock_tokens (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       BYTEA NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Self-service e-mails (forgot password, unlock link) per account key and
-- kind: at most one every few minutes and a few an hour.
CREATE TABLE mail_limits (
    account_key  BYTEA NOT NULL,
    kind         TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    sent         INTEGER NOT NULL,
    last_sent_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_key, kind)
);
CREATE INDEX mail_limits_last_sent ON mail_limits (last_sent_at);
