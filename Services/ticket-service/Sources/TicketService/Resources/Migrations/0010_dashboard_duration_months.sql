-- The duration histograms summed per calendar month, so that a long range reads its whole months
-- from here and only the days of its partial months from tickets.dashboard_durations.
-- tickets.refresh_dashboard_summary() now rebuilds them too, in the same transaction.
CREATE TABLE tickets.dashboard_duration_months (
    department_id uuid,
    month date NOT NULL,
    kind smallint NOT NULL,
    bucket integer NOT NULL,
    n integer NOT NULL,
    shortest float8 NOT NULL,
    longest float8 NOT NULL
);
CREATE INDEX dashboard_duration_months_month ON tickets.dashboard_duration_months (month);

ALTER FUNCTION tickets.refresh_dashboard_summary() RENAME TO refresh_dashboard_days;

CREATE FUNCTION tickets.refresh_dashboard_summary() RETURNS boolean AS $$
BEGIN
    IF NOT tickets.refresh_dashboard_days() THEN
        RETURN false;
    END IF;
    DELETE FROM tickets.dashboard_duration_months;
    INSERT INTO tickets.dashboard_duration_months
    SELECT department_id, date_trunc('month', day)::date, kind, bucket, sum(n), min(shortest), max(longest)
    FROM tickets.dashboard_durations
    GROUP BY 1, 2, 3, 4;
    RETURN true;
END;
$$ LANGUAGE plpgsql;
