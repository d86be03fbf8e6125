-- When a report's passing of its deadline was noted (the department alerted): once per report.
ALTER TABLE reports ADD COLUMN overdue_noted_at TIMESTAMPTZ;
CREATE INDEX reports_by_deadline ON reports (deadline_at) WHERE overdue_noted_at IS NULL;

-- A whole region by its Amtlicher Regionalschlüssel as an area (no drawing).
ALTER TABLE report_areas ADD COLUMN ars TEXT;
-- The nearest house of a point (its regional key decides for regions by key).
CREATE INDEX addresses_by_place ON addresses (lat, lon);

-- E-mail to reporters who are not logged in: the hash of the confirmation token (until it is
-- used), and when the address was confirmed; both go with the personal data.
ALTER TABLE reports ADD COLUMN reporter_email_token TEXT;
ALTER TABLE reports ADD COLUMN email_confirmed_at TIMESTAMPTZ;
