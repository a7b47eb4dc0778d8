-- Avatars (SPEC U14): one re-encoded picture per user, removed with the user.
CREATE TABLE avatars (
    user_id      BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
