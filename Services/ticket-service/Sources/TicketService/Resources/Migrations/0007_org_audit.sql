-- The organisation-wide audit log: every service's audited changes, gathered from the event
-- stream (one row per event id). Rows are never changed or deleted.
CREATE TABLE tickets.org_audit (
    id uuid PRIMARY KEY,
    at timestamptz NOT NULL,
    service text NOT NULL,
    actor_id uuid,
    entity_kind text NOT NULL,
    entity_id text NOT NULL,
    action text NOT NULL,
    before jsonb,
    after jsonb,
    request_id text
);
CREATE INDEX org_audit_at ON tickets.org_audit (at DESC, id DESC);
CREATE INDEX org_audit_actor ON tickets.org_audit (actor_id, at DESC);
CREATE INDEX org_audit_entity ON tickets.org_audit (entity_kind, entity_id, at DESC);
CREATE INDEX org_audit_action ON tickets.org_audit (action, at DESC);
CREATE FUNCTION tickets.org_audit_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows cannot be changed or deleted';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER org_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON tickets.org_audit
    FOR EACH STATEMENT EXECUTE FUNCTION tickets.org_audit_is_append_only();
