-- SLA targets per department and priority, counted in the organisation's business hours.
CREATE TABLE tickets.sla_policies (
    id uuid PRIMARY KEY,
    department_id uuid NOT NULL,
    priority text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    first_response_minutes integer NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes integer NOT NULL CHECK (resolution_minutes > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    UNIQUE (department_id, priority)
);

-- The one business calendar of the organisation.
CREATE TABLE tickets.business_calendar (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    time_zone text NOT NULL DEFAULT 'UTC',
    work_days integer[] NOT NULL DEFAULT '{1,2,3,4,5}',
    day_start_minute integer NOT NULL DEFAULT 540 CHECK (day_start_minute BETWEEN 0 AND 1439),
    day_end_minute integer NOT NULL DEFAULT 1020 CHECK (day_end_minute BETWEEN 1 AND 1440),
    holidays date[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    CHECK (day_start_minute < day_end_minute)
);
INSERT INTO tickets.business_calendar (id) VALUES (1);

ALTER TABLE tickets.tickets ADD COLUMN sla_breach_notified_at timestamptz;
CREATE INDEX tickets_sla_due ON tickets.tickets (resolution_due)
    WHERE sla_breach_notified_at IS NULL AND status IN ('submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress');
