-- Core schema: companies, users, roles, sessions, events, settings.
-- Times are TIMESTAMP columns holding UTC unix microseconds (the DSN sets
-- _time_integer_format=unix_micro), so they sort and compare as integers.

CREATE TABLE companies (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES companies (id),
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX companies_parent ON companies (parent_id);

CREATE TABLE users (
    id                     INTEGER PRIMARY KEY,
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
    search                 TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';
CREATE UNIQUE INDEX users_login ON users (login) WHERE login <> '';
CREATE INDEX users_company_name ON users (company_id, sort_name, id);
-- Creation order is id order: ids are assigned as users are created.
CREATE INDEX users_company_created ON users (company_id, id);
CREATE INDEX users_name ON users (sort_name, id);
CREATE INDEX users_created_by ON users (created_by) WHERE created_by IS NOT NULL;

-- Substring search: a contentless trigram index over users.search, kept in
-- sync by triggers. Its rowid is company_id << 32 | id, so one company's
-- matches are a rowid range the index seeks to directly.
CREATE VIRTUAL TABLE users_fts USING fts5 (search, content = '', contentless_delete = 1, tokenize = 'trigram');
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

CREATE TABLE roles (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER REFERENCES companies (id),
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    system     INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_company_key ON roles (coalesce(company_id, 0), key);

CREATE TABLE role_permissions (
    role_id    INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
) WITHOUT ROWID;

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
) WITHOUT ROWID;
CREATE INDEX user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE sessions (
    id                   INTEGER PRIMARY KEY,
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
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE events (
    id                INTEGER PRIMARY KEY,
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
CREATE INDEX events_company ON events (company_id, id);
CREATE INDEX events_actor ON events (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX events_target ON events (target_user_id, id) WHERE target_user_id IS NOT NULL;

CREATE TABLE event_comments (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL,
    author_name TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX event_comments_event ON event_comments (event_id, id);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
