-- The trigram index gives a term's matches in name order (issue 8).
--
-- Its rowid was company_id << 32 | id, so a company's matches came in
-- creation order, and a page by name had to look up and sort every match
-- (up to 1,000) to show 50. Each user now has a position in their
-- company's name order: user_name_order.pos, ordered like (sort_name, id)
-- with gaps between neighbours, and the index's rowid is
-- company_id << 39 | pos. A company is still one rowid range, and a page
-- by name is the first 51 rowids of the term's matches in that range.
--
-- The store keeps the positions (placeNames, at the end of every write
-- transaction): the triggers below only take a user out of the order when
-- their sort_name or company changes, and list them in user_name_unplaced;
-- a user is in the trigram index while placed.
CREATE TABLE user_name_order (
    user_id    INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    pos        INTEGER NOT NULL CHECK (pos > 0 AND pos < 549755813888)
);
CREATE UNIQUE INDEX user_name_order_pos ON user_name_order (company_id, pos);
CREATE TABLE user_name_unplaced (user_id INTEGER PRIMARY KEY);

DROP TRIGGER users_fts_insert;
DROP TRIGGER users_fts_delete;
DROP TRIGGER users_fts_update;

-- Every company's users, spread evenly over the positions.
INSERT INTO user_name_order (user_id, company_id, pos)
SELECT id, company_id, (row_number() OVER byName) * (549755813888 / (count(*) OVER company + 1))
FROM users
WINDOW byName AS (PARTITION BY company_id ORDER BY sort_name, id), company AS (PARTITION BY company_id);

INSERT INTO users_fts (users_fts) VALUES ('delete-all');
INSERT INTO users_fts (rowid, search)
SELECT (o.company_id << 39) | o.pos, u.search FROM user_name_order o JOIN users u ON u.id = o.user_id;

CREATE TRIGGER user_name_order_insert AFTER INSERT ON user_name_order BEGIN
    INSERT INTO users_fts (rowid, search)
    SELECT (new.company_id << 39) | new.pos, u.search FROM users u WHERE u.id = new.user_id;
END;
CREATE TRIGGER user_name_order_delete AFTER DELETE ON user_name_order BEGIN
    DELETE FROM users_fts WHERE rowid = (old.company_id << 39) | old.pos;
END;

CREATE TRIGGER users_name_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_name_unplaced (user_id) VALUES (new.id);
END;
CREATE TRIGGER users_name_delete AFTER DELETE ON users BEGIN
    DELETE FROM user_name_order WHERE user_id = old.id;
    DELETE FROM user_name_unplaced WHERE user_id = old.id;
END;
CREATE TRIGGER users_name_update AFTER UPDATE OF sort_name, company_id ON users
WHEN old.sort_name IS NOT new.sort_name OR old.company_id IS NOT new.company_id BEGIN
    DELETE FROM user_name_order WHERE user_id = old.id;
    INSERT OR IGNORE INTO user_name_unplaced (user_id) VALUES (new.id);
END;
-- A changed search text of a placed user (an unplaced one is indexed
-- when placed). Written only when the text changed: see migration 0021.
CREATE TRIGGER users_fts_update AFTER UPDATE OF search ON users
WHEN old.search IS NOT new.search BEGIN
    DELETE FROM users_fts WHERE rowid = (SELECT (o.company_id << 39) | o.pos FROM user_name_order o WHERE o.user_id = old.id);
    INSERT INTO users_fts (rowid, search)
    SELECT (o.company_id << 39) | o.pos, new.search FROM user_name_order o WHERE o.user_id = new.id;
END;
