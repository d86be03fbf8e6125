-- When a report's passing of its deadline was noted (the department alerted): once per report.
ALTER TABLE reports ADD COLUMN overdue_noted_at TIMESTAMPTZ;
CREATE INDEX reports_by_deadline ON reports (deadline_at) WHERE overdue_noted_at IS NULL;

-- A whole region by its Amtlicher Regionalschlüssel as an area (no drawing).
ALTER TABLE report_areas ADD COLUMN ars TEXT;
-- The nearest house of a point (its regional key decides for regions by key).
CREATE INDEX addresses_by_place ON addresses (lat, lon);
