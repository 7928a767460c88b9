-- The summary the department and organisation dashboards read instead of the tickets: one row per
-- department and UTC creation day with the counts they show, and the first-response and resolution
-- times of those tickets as histograms (buckets 25 % wide with their count, shortest and longest
-- time), from which medians are interpolated. tickets.refresh_dashboard_summary() rebuilds both in
-- one transaction (readers keep the previous summary until it commits); ticket-service's summary
-- job calls it every HDMS_DASHBOARD_REFRESH_SECONDS.
CREATE TABLE tickets.dashboard_days (
    department_id uuid,
    day date NOT NULL,
    created integer NOT NULL,
    with_resolution integer NOT NULL,
    open integer NOT NULL,
    pending integer NOT NULL,
    in_progress integer NOT NULL,
    resolved integer NOT NULL,
    backlog_under_1_day integer NOT NULL,
    backlog_1_to_3_days integer NOT NULL,
    backlog_3_to_7_days integer NOT NULL,
    backlog_over_7_days integer NOT NULL,
    sla_met integer NOT NULL,
    sla_measured integer NOT NULL,
    breaches integer NOT NULL
);
CREATE INDEX dashboard_days_department ON tickets.dashboard_days (department_id, day);
CREATE INDEX dashboard_days_day ON tickets.dashboard_days (day);

-- kind 1: seconds from submission to first response; kind 2: from submission to resolution.
CREATE TABLE tickets.dashboard_durations (
    department_id uuid,
    day date NOT NULL,
    kind smallint NOT NULL,
    bucket integer NOT NULL,
    n integer NOT NULL,
    shortest float8 NOT NULL,
    longest float8 NOT NULL
);
CREATE INDEX dashboard_durations_department ON tickets.dashboard_durations (department_id, day);
CREATE INDEX dashboard_durations_day ON tickets.dashboard_durations (day);

CREATE TABLE tickets.dashboard_refresh (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    refreshed_at timestamptz NOT NULL
);

-- Rebuilds the summary as of now(); false when another session is rebuilding it already.
CREATE FUNCTION tickets.refresh_dashboard_summary() RETURNS boolean AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('tickets.refresh_dashboard_summary')) THEN
        RETURN false;
    END IF;
    DELETE FROM tickets.dashboard_days;
    INSERT INTO tickets.dashboard_days
    SELECT department_id, (created_at AT TIME ZONE 'UTC')::date,
        count(*),
        count(*) FILTER (WHERE resolved_at IS NOT NULL),
        count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress', 'pending', 'postponed')),
        count(*) FILTER (WHERE status IN ('pending', 'postponed', 'pending_approval')),
        count(*) FILTER (WHERE status = 'in_progress'),
        count(*) FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL),
        count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                         AND now() - COALESCE(submitted_at, created_at) < interval '1 day'),
        count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                         AND now() - COALESCE(submitted_at, created_at) BETWEEN interval '1 day' AND interval '3 days'),
        count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                         AND now() - COALESCE(submitted_at, created_at) > interval '3 days'
                         AND now() - COALESCE(submitted_at, created_at) <= interval '7 days'),
        count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                         AND now() - COALESCE(submitted_at, created_at) > interval '7 days'),
        count(*) FILTER (WHERE resolved_at IS NOT NULL AND NOT sla_breached AND resolution_due IS NOT NULL),
        count(*) FILTER (WHERE resolved_at IS NOT NULL AND resolution_due IS NOT NULL),
        count(*) FILTER (WHERE sla_breached)
    FROM tickets.tickets
    WHERE status <> 'draft'
    GROUP BY 1, 2;
    DELETE FROM tickets.dashboard_durations;
    INSERT INTO tickets.dashboard_durations
    SELECT department_id, day, kind, bucket, count(*), min(seconds), max(seconds)
    FROM (
        SELECT t.department_id, (t.created_at AT TIME ZONE 'UTC')::date AS day, d.kind, d.seconds,
            CASE WHEN d.seconds < 1 THEN -1 ELSE floor(ln(d.seconds) / ln(1.25))::int END AS bucket
        FROM tickets.tickets AS t,
            LATERAL (VALUES (1::smallint, extract(epoch FROM t.first_response_at - t.submitted_at)::float8),
                            (2::smallint, extract(epoch FROM t.resolved_at - t.submitted_at)::float8)) AS d (kind, seconds)
        WHERE t.status <> 'draft' AND d.seconds IS NOT NULL
    ) AS durations
    GROUP BY 1, 2, 3, 4;
    INSERT INTO tickets.dashboard_refresh (id, refreshed_at) VALUES (true, now())
    ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at;
    RETURN true;
END;
$$ LANGUAGE plpgsql;

-- The requestor's dashboard (counts by status, resolution times) from the index alone.
CREATE INDEX tickets_requestor_dashboard ON tickets.tickets (requestor_id, created_at) INCLUDE (status, submitted_at, resolved_at);
