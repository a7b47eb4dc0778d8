-- Credentials and sign-in security (issue 3): the durable jobs table (the
-- e-mail outbox and every other background job), password reset links,
-- brute-force counters, two-factor state, IP allowlists, per-user idle
-- timeouts and per-company credential settings.

ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE users ADD COLUMN mfa_method TEXT NOT NULL DEFAULT 'none';
-- totp_secret is encrypted (secure.Encrypt); totp_pending_secret holds a
-- secret being enrolled until a code confirms it.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
-- ip_allowlist is the normalized list, one entry per line; empty allows all.
ALTER TABLE users ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN idle_timeout_seconds INTEGER;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN reset_hash BLOB;
ALTER TABLE users ADD COLUMN reset_expires_at TIMESTAMP;
CREATE UNIQUE INDEX users_invitation_hash ON users (invitation_hash) WHERE invitation_hash IS NOT NULL;
CREATE UNIQUE INDEX users_reset_hash ON users (reset_hash) WHERE reset_hash IS NOT NULL;

ALTER TABLE companies ADD COLUMN invitation_ttl_hours INTEGER NOT NULL DEFAULT 8;
ALTER TABLE companies ADD COLUMN password_min_length INTEGER NOT NULL DEFAULT 12;
ALTER TABLE companies ADD COLUMN idle_timeout_seconds INTEGER NOT NULL DEFAULT 1800;

-- Single-use TOTP recovery codes, stored hashed.
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BLOB NOT NULL,
    PRIMARY KEY (user_id, hash)
) WITHOUT ROWID;

-- A sign-in attempt waiting for its second factor. The token is not a
-- session: it only finishes this attempt.
CREATE TABLE mfa_challenges (
    id         INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    code_hash  BLOB,
    issued_at  TIMESTAMP NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    used       INTEGER NOT NULL DEFAULT 0,
    address    TEXT NOT NULL DEFAULT '',
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);

-- Failed sign-ins per client address in a sliding window, shared by every
-- instance.
CREATE TABLE login_throttle (
    address      TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    failures     INTEGER NOT NULL
);

-- Durable background jobs: e-mail (the outbox) and notifications. Written in
-- the transaction of the change that causes them; claimed with a lease.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending',
    run_at       TIMESTAMP NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 8,
    last_error   TEXT NOT NULL DEFAULT '',
    locked_by    TEXT NOT NULL DEFAULT '',
    locked_until TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at, id);
CREATE INDEX jobs_kind ON jobs (kind, id);
