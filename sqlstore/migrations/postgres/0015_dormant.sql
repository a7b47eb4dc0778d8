-- Dormant accounts (issue 10, item 6): a company may block accounts that
-- nobody signed in to for dormant_block_days days (0 = off); the owner is
-- warned by e-mail a week before, once — dormant_warned_at records when,
-- and a sign-in after it makes the warning stale.
ALTER TABLE companies ADD COLUMN dormant_block_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN dormant_warned_at TIMESTAMPTZ;
