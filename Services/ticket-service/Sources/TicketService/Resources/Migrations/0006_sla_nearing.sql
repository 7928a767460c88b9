-- Tickets whose resolution clock has used most of its time (HDMS_SLA_NEARING_PERCENT).
ALTER TABLE tickets.tickets ADD COLUMN sla_nearing boolean NOT NULL DEFAULT false;
