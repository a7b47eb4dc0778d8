-- Ids are never reused (issue 11, finding 5). An INTEGER PRIMARY KEY
-- without AUTOINCREMENT takes max(id) + 1, so deleting the newest user gave
-- their id, and with it their event history, to the next user created.
-- With AUTOINCREMENT SQLite takes the next id from sqlite_sequence, which
-- never goes back.
--
-- SQLite cannot add AUTOINCREMENT to a table: every table whose ids are
-- shown, kept in events or referred to by other rows is rebuilt (create the
-- new table, copy the rows with their ids, drop the old table, rename the
-- new one), then its indexes and triggers are created again. The migration
-- runner applies this with foreign keys off, so that dropping an old table
-- deletes nothing that refers to it, and checks them before committing.
-- Tables keyed by another table's id (operator_settings, avatars, …) and
-- WITHOUT ROWID tables have no ids of their own and stay as they are.
--
-- Finally sqlite_sequence starts each table above the highest id it ever
-- gave that is still known: in the table, or in the events and rows that
-- refer to it, so that the id of a row deleted before this migration is not
-- given again either.

CREATE TABLE companies_new (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id            INTEGER REFERENCES companies (id),
    name                 TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    invitation_ttl_hours INTEGER NOT NULL DEFAULT 8,
    password_min_length  INTEGER NOT NULL DEFAULT 12,
    idle_timeout_seconds INTEGER NOT NULL DEFAULT 1800,
    user_count           BIGINT NOT NULL DEFAULT 0
);
INSERT INTO companies_new (id, parent_id, name, created_at, updated_at, invitation_ttl_hours, password_min_length,
    idle_timeout_seconds, user_count)
SELECT id, parent_id, name, created_at, updated_at, invitation_ttl_hours, password_min_length,
    idle_timeout_seconds, user_count FROM companies;
DROP TABLE companies;
ALTER TABLE companies_new RENAME TO companies;
CREATE INDEX companies_parent ON companies (parent_id);

CREATE TABLE users_new (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id             INTEGER NOT NULL REFERENCES companies (id),
    auth_method            TEXT NOT NULL,
    email                  TEXT NOT NULL DEFAULT '',
    login                  TEXT NOT NULL DEFAULT '',
    first_name             TEXT NOT NULL DEFAULT '',
    middle_name            TEXT NOT NULL DEFAULT '',
    last_name              TEXT NOT NULL DEFAULT '',
    phone                  TEXT NOT NULL DEFAULT '',
    work_phone             TEXT NOT NULL DEFAULT '',
    position               TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL,
    name_set_by_self       INTEGER NOT NULL DEFAULT 0,
    password_hash          TEXT NOT NULL DEFAULT '',
    password_temporary     INTEGER NOT NULL DEFAULT 0,
    created_by             INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    last_login_at          TIMESTAMP,
    invitation_hash        BLOB,
    invitation_expires_at  TIMESTAMP,
    invitation_accepted_at TIMESTAMP,
    -- sort_name is the lower-cased display name; search is the lower-cased
    -- text matched by q (names, e-mail, login, phones). Both are computed in Go
    -- because SQLite's lower() only folds ASCII.
    sort_name              TEXT NOT NULL,
    search                 TEXT NOT NULL,
    lang                   TEXT NOT NULL DEFAULT 'en',
    mfa_method             TEXT NOT NULL DEFAULT 'none',
    -- totp_secret is encrypted (secure.Encrypt); totp_pending_secret holds a
    -- secret being enrolled until a code confirms it.
    totp_secret            TEXT NOT NULL DEFAULT '',
    totp_pending_secret    TEXT NOT NULL DEFAULT '',
    totp_last_step         INTEGER NOT NULL DEFAULT 0,
    -- ip_allowlist is the normalized list, one entry per line; empty allows all.
    ip_allowlist           TEXT NOT NULL DEFAULT '',
    idle_timeout_seconds   INTEGER,
    failed_logins          INTEGER NOT NULL DEFAULT 0,
    locked_until           TIMESTAMP,
    reset_hash             BLOB,
    reset_expires_at       TIMESTAMP
);
INSERT INTO users_new (id, company_id, auth_method, email, login, first_name, middle_name, last_name, phone, work_phone,
    position, status, name_set_by_self, password_hash, password_temporary, created_by, created_at, updated_at,
    last_login_at, invitation_hash, invitation_expires_at, invitation_accepted_at, sort_name, search, lang, mfa_method,
    totp_secret, totp_pending_secret, totp_last_step, ip_allowlist, idle_timeout_seconds, failed_logins, locked_until,
    reset_hash, reset_expires_at)
SELECT id, company_id, auth_method, email, login, first_name, middle_name, last_name, phone, work_phone,
    position, status, name_set_by_self, password_hash, password_temporary, created_by, created_at, updated_at,
    last_login_at, invitation_hash, invitation_expires_at, invitation_accepted_at, sort_name, search, lang, mfa_method,
    totp_secret, totp_pending_secret, totp_last_step, ip_allowlist, idle_timeout_seconds, failed_logins, locked_until,
    reset_hash, reset_expires_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';
CREATE UNIQUE INDEX users_login ON users (login) WHERE login <> '';
CREATE INDEX users_company_name ON users (company_id, sort_name, id);
-- Creation order is id order: ids are assigned as users are created.
CREATE INDEX users_company_created ON users (company_id, id);
CREATE INDEX users_name ON users (sort_name, id);
CREATE INDEX users_created_by ON users (created_by) WHERE created_by IS NOT NULL;
CREATE UNIQUE INDEX users_invitation_hash ON users (invitation_hash) WHERE invitation_hash IS NOT NULL;
CREATE UNIQUE INDEX users_reset_hash ON users (reset_hash) WHERE reset_hash IS NOT NULL;
-- The trigram index users_fts keeps its rows: their rowids, company_id << 32
-- | id, hold the ids the copy kept. Its triggers went with the old table.
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, search) VALUES ((new.company_id << 32) | new.id, new.search);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_fts WHERE rowid = (old.company_id << 32) | old.id;
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search, company_id ON users BEGIN
    DELETE FROM users_fts WHERE rowid = (old.company_id << 32) | old.id;
    INSERT INTO users_fts (rowid, search) VALUES ((new.company_id << 32) | new.id, new.search);
END;

CREATE TABLE roles_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER REFERENCES companies (id),
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    system     INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO roles_new (id, company_id, key, name, system, created_at, updated_at)
SELECT id, company_id, key, name, system, created_at, updated_at FROM roles;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
CREATE UNIQUE INDEX roles_company_key ON roles (coalesce(company_id, 0), key);

CREATE TABLE sessions_new (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash           BLOB NOT NULL UNIQUE,
    kind                 TEXT NOT NULL,
    user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id            INTEGER REFERENCES sessions (id) ON DELETE CASCADE,
    impersonator_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    address              TEXT NOT NULL DEFAULT '',
    user_agent           TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMP NOT NULL,
    last_seen_at         TIMESTAMP NOT NULL,
    idle_timeout_seconds INTEGER NOT NULL,
    expires_at           TIMESTAMP NOT NULL
);
INSERT INTO sessions_new (id, token_hash, kind, user_id, parent_id, impersonator_id, address, user_agent, created_at,
    last_seen_at, idle_timeout_seconds, expires_at)
SELECT id, token_hash, kind, user_id, parent_id, impersonator_id, address, user_agent, created_at,
    last_seen_at, idle_timeout_seconds, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE events_new (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id        INTEGER NOT NULL REFERENCES companies (id),
    type              TEXT NOT NULL,
    actor_id          INTEGER,
    actor_name        TEXT NOT NULL DEFAULT '',
    impersonator_id   INTEGER,
    impersonator_name TEXT NOT NULL DEFAULT '',
    target_user_id    INTEGER,
    target_name       TEXT NOT NULL DEFAULT '',
    target_role_id    INTEGER,
    address           TEXT NOT NULL DEFAULT '',
    before            TEXT,
    after             TEXT,
    comment           TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
INSERT INTO events_new (id, company_id, type, actor_id, actor_name, impersonator_id, impersonator_name, target_user_id,
    target_name, target_role_id, address, before, after, comment, created_at)
SELECT id, company_id, type, actor_id, actor_name, impersonator_id, impersonator_name, target_user_id,
    target_name, target_role_id, address, before, after, comment, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_company ON events (company_id, id);
CREATE INDEX events_actor ON events (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX events_target ON events (target_user_id, id) WHERE target_user_id IS NOT NULL;

CREATE TABLE event_comments_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL,
    author_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO event_comments_new (id, event_id, author_id, author_name, body, created_at)
SELECT id, event_id, author_id, author_name, body, created_at FROM event_comments;
DROP TABLE event_comments;
ALTER TABLE event_comments_new RENAME TO event_comments;
CREATE INDEX event_comments_event ON event_comments (event_id, id);

CREATE TABLE mfa_challenges_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO mfa_challenges_new (id, token_hash, user_id, method, code_hash, issued_at, tries, used, address, expires_at)
SELECT id, token_hash, user_id, method, code_hash, issued_at, tries, used, address, expires_at FROM mfa_challenges;
DROP TABLE mfa_challenges;
ALTER TABLE mfa_challenges_new RENAME TO mfa_challenges;
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);

CREATE TABLE jobs_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO jobs_new (id, kind, payload, state, run_at, attempts, max_attempts, last_error, locked_by, locked_until,
    created_at, updated_at)
SELECT id, kind, payload, state, run_at, attempts, max_attempts, last_error, locked_by, locked_until,
    created_at, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (state, run_at, id);
CREATE INDEX jobs_kind ON jobs (kind, id);

CREATE TABLE work_groups_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO work_groups_new (id, company_id, kind, name, created_at, updated_at)
SELECT id, company_id, kind, name, created_at, updated_at FROM work_groups;
DROP TABLE work_groups;
ALTER TABLE work_groups_new RENAME TO work_groups;
CREATE UNIQUE INDEX work_groups_name ON work_groups (company_id, kind, name);

CREATE TABLE dialogues_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id  INTEGER NOT NULL REFERENCES companies (id),
    operator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    closed_at   TIMESTAMP
);
INSERT INTO dialogues_new (id, company_id, operator_id, external_id, status, created_at, closed_at)
SELECT id, company_id, operator_id, external_id, status, created_at, closed_at FROM dialogues;
DROP TABLE dialogues;
ALTER TABLE dialogues_new RENAME TO dialogues;
CREATE INDEX dialogues_operator ON dialogues (operator_id, status);

CREATE TABLE calls_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id       INTEGER NOT NULL REFERENCES companies (id),
    call_id          TEXT NOT NULL,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    direction        TEXT NOT NULL DEFAULT '',
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL
);
INSERT INTO calls_new (id, company_id, call_id, user_id, direction, duration_seconds, created_at)
SELECT id, company_id, call_id, user_id, direction, duration_seconds, created_at FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
CREATE UNIQUE INDEX calls_call_id ON calls (company_id, call_id);
CREATE INDEX calls_user ON calls (user_id);

CREATE TABLE client_tags_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO client_tags_new (id, company_id, name, name_key, created_at, updated_at)
SELECT id, company_id, name, name_key, created_at, updated_at FROM client_tags;
DROP TABLE client_tags;
ALTER TABLE client_tags_new RENAME TO client_tags;
CREATE UNIQUE INDEX client_tags_name ON client_tags (company_id, name_key);

CREATE TABLE clients_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    name       TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    country    TEXT NOT NULL DEFAULT '',
    -- search is the lower-cased name, e-mail and phone, matched only for
    -- viewers who see those fields unmasked.
    search     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO clients_new (id, company_id, name, email, phone, country, search, created_at, updated_at)
SELECT id, company_id, name, email, phone, country, search, created_at, updated_at FROM clients;
DROP TABLE clients;
ALTER TABLE clients_new RENAME TO clients;
CREATE INDEX clients_company ON clients (company_id, id);

CREATE TABLE notification_deliveries_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    event_id   INTEGER NOT NULL,
    -- job_id is the jobs row that delivers this message.
    job_id     INTEGER,
    event_type TEXT NOT NULL,
    channel    TEXT NOT NULL,
    target     TEXT NOT NULL,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_at    TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO notification_deliveries_new (id, company_id, user_id, event_id, job_id, event_type, channel, target, body,
    status, attempts, last_error, next_at, created_at, updated_at)
SELECT id, company_id, user_id, event_id, job_id, event_type, channel, target, body,
    status, attempts, last_error, next_at, created_at, updated_at FROM notification_deliveries;
DROP TABLE notification_deliveries;
ALTER TABLE notification_deliveries_new RENAME TO notification_deliveries;
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_at);
CREATE INDEX notification_deliveries_company ON notification_deliveries (company_id, status, id);

-- Each table continues above the highest id known to have been given.
-- Events name deleted users, roles and companies in columns, and deleted
-- work groups, dialogues, clients and client tags in their data.
DELETE FROM sqlite_sequence WHERE name IN ('companies', 'users', 'roles', 'sessions', 'events', 'event_comments',
    'mfa_challenges', 'jobs', 'work_groups', 'dialogues', 'calls', 'client_tags', 'clients', 'notification_deliveries');
INSERT INTO sqlite_sequence (name, seq)
SELECT 'companies', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM companies
    UNION ALL SELECT max(parent_id) FROM companies
    UNION ALL SELECT max(company_id) FROM events
    UNION ALL SELECT max(company_id) FROM notification_deliveries)
UNION ALL
SELECT 'users', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM users
    UNION ALL SELECT max(created_by) FROM users
    UNION ALL SELECT max(actor_id) FROM events
    UNION ALL SELECT max(impersonator_id) FROM events
    UNION ALL SELECT max(target_user_id) FROM events
    UNION ALL SELECT max(author_id) FROM event_comments
    UNION ALL SELECT max(user_id) FROM notification_deliveries)
UNION ALL
SELECT 'roles', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM roles
    UNION ALL SELECT max(target_role_id) FROM events)
UNION ALL
SELECT 'sessions', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM sessions
    UNION ALL SELECT max(parent_id) FROM sessions)
UNION ALL
SELECT 'events', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM events
    UNION ALL SELECT max(event_id) FROM event_comments
    UNION ALL SELECT max(event_id) FROM notification_deliveries)
UNION ALL
SELECT 'event_comments', coalesce(max(id), 0) FROM event_comments
UNION ALL
SELECT 'mfa_challenges', coalesce(max(id), 0) FROM mfa_challenges
UNION ALL
SELECT 'jobs', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM jobs
    UNION ALL SELECT max(job_id) FROM notification_deliveries)
UNION ALL
SELECT 'work_groups', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM work_groups
    UNION ALL SELECT max(CAST(json_extract(after, '$.group_id') AS INTEGER)) FROM events WHERE type LIKE 'work\_group.%' ESCAPE '\'
    UNION ALL SELECT max(CAST(json_extract(after, '$.id') AS INTEGER)) FROM events WHERE type LIKE 'work\_group.%' ESCAPE '\'
    UNION ALL SELECT max(CAST(json_extract(before, '$.id') AS INTEGER)) FROM events WHERE type LIKE 'work\_group.%' ESCAPE '\')
UNION ALL
SELECT 'dialogues', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM dialogues
    UNION ALL SELECT max(CAST(json_extract(after, '$.dialogue_id') AS INTEGER)) FROM events WHERE type LIKE 'dialogue.%')
UNION ALL
SELECT 'calls', coalesce(max(id), 0) FROM calls
UNION ALL
SELECT 'client_tags', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM client_tags
    UNION ALL SELECT max(CAST(json_extract(after, '$.id') AS INTEGER)) FROM events WHERE type LIKE 'client\_tag.%' ESCAPE '\'
    UNION ALL SELECT max(CAST(json_extract(before, '$.id') AS INTEGER)) FROM events WHERE type LIKE 'client\_tag.%' ESCAPE '\')
UNION ALL
SELECT 'clients', coalesce(max(v), 0) FROM (
    SELECT max(id) AS v FROM clients
    UNION ALL SELECT max(CAST(json_extract(after, '$.id') AS INTEGER)) FROM events WHERE type LIKE 'client.%'
    UNION ALL SELECT max(CAST(json_extract(before, '$.id') AS INTEGER)) FROM events WHERE type LIKE 'client.%')
UNION ALL
SELECT 'notification_deliveries', coalesce(max(id), 0) FROM notification_deliveries;
