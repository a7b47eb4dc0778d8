-- A company's number of users, kept by the store in the transaction that
-- creates or deletes a user: reading it is free, where counting a
-- 100,000-user company on every request that loads the company was not.
ALTER TABLE companies ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0;
UPDATE companies SET user_count = (SELECT count(*) FROM users u WHERE u.company_id = companies.id);
