-- Company plan and administrator appointment (issue 13, items 2 and 4).
-- plan is standard, professional or pro_plus; call statistics are on
-- exactly for professional and pro_plus, so companies that had them on
-- become professional. reseller lets a company's administrators appoint
-- administrators of its dependent companies; admins_appoint_admins lets
-- them appoint administrators of their own company. Only the Main
-- administrator changes these three.
ALTER TABLE companies ADD COLUMN plan TEXT NOT NULL DEFAULT 'standard'
    CHECK (plan IN ('standard', 'professional', 'pro_plus'));
ALTER TABLE companies ADD COLUMN reseller BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE companies ADD COLUMN admins_appoint_admins BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE companies SET plan = 'professional'
WHERE id IN (SELECT company_id FROM company_operations WHERE call_statistics);
