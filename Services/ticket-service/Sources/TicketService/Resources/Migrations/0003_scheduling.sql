-- Scheduled work: when a postponed ticket's reminder went out.
ALTER TABLE tickets.tickets ADD COLUMN postpone_reminded_at timestamptz;
CREATE INDEX tickets_postponed_due ON tickets.tickets (resume_at) WHERE status = 'postponed';
CREATE INDEX tickets_resolved_due ON tickets.tickets (resolved_at) WHERE status = 'resolved';
