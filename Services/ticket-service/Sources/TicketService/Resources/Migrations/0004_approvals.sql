-- Approval routes and decisions (DOMAIN.md: approvers are positions, not a role).
CREATE TABLE tickets.approval_routes (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array' AND jsonb_array_length(steps) > 0),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX approval_routes_name ON tickets.approval_routes (lower(name));

-- One row per step reached: who held the position when the step began, and what they decided.
CREATE TABLE tickets.approvals (
    id uuid PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets.tickets (id),
    route_id uuid NOT NULL REFERENCES tickets.approval_routes (id),
    step integer NOT NULL,
    position text NOT NULL,
    approver_id uuid NOT NULL,
    decision text NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'approved', 'declined', 'cancelled')),
    comment text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz
);
CREATE INDEX approvals_ticket ON tickets.approvals (ticket_id, requested_at);
CREATE INDEX approvals_approver ON tickets.approvals (approver_id) WHERE decision = 'pending';

ALTER TABLE tickets.tickets ADD COLUMN approval_route_id uuid REFERENCES tickets.approval_routes (id);
ALTER TABLE tickets.tickets ADD COLUMN approval_step integer;
ALTER TABLE tickets.tickets ADD COLUMN current_approver_id uuid;
CREATE INDEX tickets_current_approver ON tickets.tickets (current_approver_id) WHERE current_approver_id IS NOT NULL;
