-- User preferences (SPEC U3): small named settings that follow a user from
-- browser to browser, such as the users list's table or card view.
CREATE TABLE user_preferences (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
