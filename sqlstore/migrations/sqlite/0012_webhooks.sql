-- Webhooks (issue 10, item 5): a company's subscriptions of its own URLs to
-- event types of the notification catalog, and one delivery row per event
-- sent to a webhook. IDs are never reused (AUTOINCREMENT), so a job left
-- for a deleted delivery can never reach a newer one.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id  INTEGER NOT NULL REFERENCES companies (id),
    url         TEXT NOT NULL,
    -- event_types is a JSON array of event type names.
    event_types TEXT NOT NULL,
    -- secret_enc is the signing secret (whsec_…), AES-256-GCM under a key
    -- derived from the master key; it is shown once, at creation.
    secret_enc  TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_company ON webhooks (company_id, id);

-- Written in the transaction of the event; a resend gives the delivery a
-- new job (job_id) and the next seq, so the old job knows it is stale.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id      INTEGER NOT NULL REFERENCES companies (id),
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    job_id          INTEGER,
    seq             INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_response   TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    delivered_at    TIMESTAMP
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_company ON webhook_deliveries (company_id, id);
