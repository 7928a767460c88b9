-- Lists filtered by priority (the triage view: urgent first) page by creation time like the
-- others; without this index such a page scans the newest tickets of every priority.
CREATE INDEX tickets_priority ON tickets.tickets (priority, created_at DESC, id DESC);
