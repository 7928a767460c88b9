-- Tickets and their lifecycle (DOMAIN.md "Tickets").
CREATE TABLE tickets.categories (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    department_id uuid,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX categories_name ON tickets.categories (lower(name));

-- Ticket numbers are allocated from one row per year inside the creating transaction: the row
-- lock serialises creators and a rolled-back creation gives its number back, so there are no gaps.
CREATE TABLE tickets.number_counters (
    year integer PRIMARY KEY,
    last_value integer NOT NULL
);

CREATE TABLE tickets.tickets (
    id uuid PRIMARY KEY,
    number text NOT NULL UNIQUE,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    category_id uuid REFERENCES tickets.categories (id),
    priority text NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    status text NOT NULL CHECK (status IN ('draft', 'submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress',
                                           'pending', 'postponed', 'resolved', 'closed', 'rejected', 'withdrawn')),
    requestor_id uuid NOT NULL,
    department_id uuid,
    assignee_id uuid,
    moderator_id uuid,
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    reopen_count integer NOT NULL DEFAULT 0 CHECK (reopen_count BETWEEN 0 AND 2),
    parent_id uuid REFERENCES tickets.tickets (id),
    due_at timestamptz,
    submitted_at timestamptz,
    first_response_at timestamptz,
    first_response_due timestamptz,
    resolution_due timestamptz,
    sla_paused_at timestamptz,
    sla_breached boolean NOT NULL DEFAULT false,
    resume_at timestamptz,
    resolved_at timestamptz,
    closed_at timestamptz,
    chat_text text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', description), 'B') ||
        setweight(to_tsvector('english', chat_text), 'C')
    ) STORED
);
CREATE INDEX tickets_created ON tickets.tickets (created_at DESC, id DESC);
CREATE INDEX tickets_updated ON tickets.tickets (updated_at DESC, id DESC);
CREATE INDEX tickets_department ON tickets.tickets (department_id, status, created_at DESC, id DESC);
CREATE INDEX tickets_requestor ON tickets.tickets (requestor_id, created_at DESC, id DESC);
CREATE INDEX tickets_assignee ON tickets.tickets (assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_status ON tickets.tickets (status, created_at DESC);
CREATE INDEX tickets_parent ON tickets.tickets (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX tickets_search ON tickets.tickets USING gin (search);

CREATE TABLE tickets.watchers (
    ticket_id uuid NOT NULL REFERENCES tickets.tickets (id),
    employee_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, employee_id)
);
CREATE INDEX watchers_employee ON tickets.watchers (employee_id);
