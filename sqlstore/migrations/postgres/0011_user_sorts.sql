-- The users list sorts by last sign-in and by status (issue 12), keyset
-- paged inside a company like the name sort. Never signed in counts as the
-- earliest time (year 1), so the key is never NULL and row-value
-- comparisons work; the store writes the same expression
-- (dialect.lastLoginKey).
CREATE INDEX users_company_login ON users (company_id, (coalesce(last_login_at, '0001-01-01 00:00:00+00'::timestamptz)), id);
-- Status, then name: the blocked users of a company together, by name.
CREATE INDEX users_company_status ON users (company_id, status, sort_name, id);
-- sort_name now starts with the last name: the store recomputes it for
-- every user after this file (migrationSteps), with Go's case folding.
