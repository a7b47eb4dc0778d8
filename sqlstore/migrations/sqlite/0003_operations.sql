-- Contact-center operations (issue 5): queues, shifts and agent groups;
-- operator settings (dialogue maxima, presence, client visibility);
-- dialogues and calls; clients and client tags; notification subscriptions
-- and deliveries; per-company operations settings.

-- Queues, shifts and agent groups share one shape: kind tells them apart.
CREATE TABLE work_groups (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX work_groups_name ON work_groups (company_id, kind, name);

CREATE TABLE work_group_members (
    group_id INTEGER NOT NULL REFERENCES work_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX work_group_members_user ON work_group_members (user_id, group_id);

-- Managers of an agent group may manage that group (and no other).
CREATE TABLE work_group_managers (
    group_id INTEGER NOT NULL REFERENCES work_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX work_group_managers_user ON work_group_managers (user_id, group_id);

-- One row per user who has any operations setting. active_dialogues is the
-- routing counter, changed only under the write lock.
CREATE TABLE operator_settings (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    company_id       INTEGER NOT NULL REFERENCES companies (id),
    max_dialogues    INTEGER NOT NULL DEFAULT 0,
    active_dialogues INTEGER NOT NULL DEFAULT 0,
    presence         TEXT NOT NULL DEFAULT '',
    presence_at      TIMESTAMP,
    mask_data        INTEGER NOT NULL DEFAULT 0,
    countries_mode   TEXT NOT NULL DEFAULT '',
    countries        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX operator_settings_company ON operator_settings (company_id, user_id);

CREATE TABLE dialogues (
    id          INTEGER PRIMARY KEY,
    company_id  INTEGER NOT NULL REFERENCES companies (id),
    operator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    closed_at   TIMESTAMP
);
CREATE INDEX dialogues_operator ON dialogues (operator_id, status);

CREATE TABLE calls (
    id               INTEGER PRIMARY KEY,
    company_id       INTEGER NOT NULL REFERENCES companies (id),
    call_id          TEXT NOT NULL,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    direction        TEXT NOT NULL DEFAULT '',
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX calls_call_id ON calls (company_id, call_id);
CREATE INDEX calls_user ON calls (user_id);

CREATE TABLE company_operations (
    company_id      INTEGER PRIMARY KEY REFERENCES companies (id),
    call_statistics INTEGER NOT NULL DEFAULT 0,
    telegram_token  TEXT NOT NULL DEFAULT '',
    slack_token     TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE client_tags (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX client_tags_name ON client_tags (company_id, name_key);

CREATE TABLE clients (
    id         INTEGER PRIMARY KEY,
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
CREATE INDEX clients_company ON clients (company_id, id);

CREATE TABLE client_tag_links (
    client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    tag_id    INTEGER NOT NULL REFERENCES client_tags (id) ON DELETE CASCADE,
    PRIMARY KEY (client_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX client_tag_links_tag ON client_tag_links (tag_id, client_id);

-- The client tags a user may see; none means every client.
CREATE TABLE user_client_tags (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES client_tags (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, tag_id)
) WITHOUT ROWID;

CREATE TABLE notification_targets (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    telegram_chat_id TEXT NOT NULL DEFAULT '',
    slack_channel_id TEXT NOT NULL DEFAULT ''
);

CREATE TABLE notification_subscriptions (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    channel    TEXT NOT NULL,
    PRIMARY KEY (user_id, event_type, channel)
) WITHOUT ROWID;
CREATE INDEX notification_subscriptions_type ON notification_subscriptions (event_type, user_id);

-- One row per message to send; written in the transaction of its event, so
-- a notification exists exactly when its event does.
CREATE TABLE notification_deliveries (
    id         INTEGER PRIMARY KEY,
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
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_at);
CREATE INDEX notification_deliveries_company ON notification_deliveries (company_id, status, id);
