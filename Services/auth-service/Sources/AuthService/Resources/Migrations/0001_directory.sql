-- The organisation's directory and HDMS access (DOMAIN.md "People and organisation").
CREATE TABLE auth.departments (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    code text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX departments_name ON auth.departments (lower(name));
CREATE UNIQUE INDEX departments_code ON auth.departments (lower(code));

CREATE TABLE auth.employees (
    id uuid PRIMARY KEY,
    email text NOT NULL CHECK (email = lower(email)),
    full_name text NOT NULL,
    department_id uuid REFERENCES auth.departments (id),
    job_title text NOT NULL DEFAULT '',
    is_department_head boolean NOT NULL DEFAULT false,
    is_ceo boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    password_hash text,
    roles text[] NOT NULL DEFAULT '{}' CHECK (roles <@ ARRAY['requestor', 'moderator', 'assignee', 'admin']),
    moderated_department_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX employees_email ON auth.employees (email);
CREATE INDEX employees_department ON auth.employees (department_id);
-- One head per department and one CEO: approval steps resolve to exactly one person.
CREATE UNIQUE INDEX employees_one_head ON auth.employees (department_id) WHERE is_department_head AND active;
CREATE UNIQUE INDEX employees_one_ceo ON auth.employees ((true)) WHERE is_ceo AND active;

-- Public halves of the token signing keys this service has used. The current key has no
-- retired_at; a retired key stays published until tokens it signed have expired.
CREATE TABLE auth.signing_keys (
    kid text PRIMARY KEY,
    public_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);

-- Refresh tokens: only a SHA-256 of the opaque value is stored. Each login starts a family;
-- every refresh uses one token and issues the next. A used token presented again revokes the family.
CREATE TABLE auth.refresh_tokens (
    id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    employee_id uuid NOT NULL REFERENCES auth.employees (id),
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_employee ON auth.refresh_tokens (employee_id) WHERE revoked_at IS NULL;

