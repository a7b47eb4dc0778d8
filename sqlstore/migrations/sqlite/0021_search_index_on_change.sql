-- The trigram index is rewritten only when the searchable text or the
-- company changes. Every update of a user sets users.search (to the same
-- text when a position or a setting changed), and SQLite fires an
-- "AFTER UPDATE OF search" trigger for a column that is set, changed or
-- not: each such update deleted and re-inserted the user's FTS5 row, the
-- largest part of a PATCH's cost. PostgreSQL needs no counterpart: it
-- has no such trigger (its trigram index is an expression index that
-- follows the row).
DROP TRIGGER users_fts_update;
CREATE TRIGGER users_fts_update AFTER UPDATE OF search, company_id ON users
WHEN old.search IS NOT new.search OR old.company_id IS NOT new.company_id BEGIN
    DELETE FROM users_fts WHERE rowid = (old.company_id << 32) | old.id;
    INSERT INTO users_fts (rowid, search) VALUES ((new.company_id << 32) | new.id, new.search);
END;
