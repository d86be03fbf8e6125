-- When a report's passing of its deadline was noted (the department alerted): once per report.
ALTER TABLE reports ADD COLUMN overdue_noted_at TIMESTAMPTZ;
CREATE INDEX reports_by_deadline ON reports (deadline_at) WHERE overdue_noted_at IS NULL;
