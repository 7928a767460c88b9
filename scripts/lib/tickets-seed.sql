-- Seeds :rows tickets into tickets.tickets for `scripts/bench tickets` and `scripts/bench dashboards`
-- (psql, as role hdms). Variables: total (rows of the whole seed), first and rows (this session's
-- share, rows first to first + rows - 1, so that sessions can seed parts side by side), seed (for
-- setseed), requestor and moderator (demo employee ids), it, operations, hr, finance, executive
-- (department ids), and optionally agent (the demo assignee's id: one of the 200 agents, so that
-- its workload dashboard has tickets; without it all 200 are made-up ids).
--
-- The spread: created_at over the last 365 days in row order (so numbers and time-ordered ids rise
-- together); tickets older than 30 days are nearly all closed/resolved/rejected/withdrawn, newer ones
-- ~40 % open (submitted, under_review, pending_approval, assigned, in_progress, pending, postponed).
-- As the scheduler would leave them: resolved tickets were resolved in the last two days (older ones
-- are auto-closed), postponed ones resume 2 to 30 days from now, and open tickets past their
-- resolution time are flagged breached (8 % of the closed ones were).
-- Departments IT 40 %, Operations 25 %, HR 15 %, Finance 15 %, Executive 5 %; priorities low 30 %,
-- medium 45 %, high 18 %, urgent 7 %. The demo requestor raised ~5 % of the tickets, 20,000 other
-- employees the rest; tickets past assignment have one of 200 agents. Titles and descriptions come
-- from small word lists: a subject ("Printer") is in ~5 % of the titles and its description, an
-- issue word ("toner") in ~5 % of the titles and a remedy ("replacing the toner") in ~10 % of the
-- descriptions, so `q=printer toner` matches ~0.7 %.
-- Numbers are HD-2025-<row>: the live counter allocates HD-2026-..., and the 2025 counter row is set
-- past the seeded numbers.
\set ON_ERROR_STOP on
\if :{?agent}
\else
\set agent ''
\endif
SELECT setseed(:seed) AS seeded \gset

INSERT INTO tickets.tickets (id, number, title, description, priority, status, requestor_id, department_id,
    assignee_id, moderator_id, progress, reopen_count, submitted_at, first_response_at, first_response_due,
    resolution_due, sla_breached, resume_at, resolved_at, closed_at, created_at, updated_at, version)
SELECT
    -- A UUID version 7 from created_at, as the service makes them.
    (lpad(to_hex((extract(epoch FROM created_at) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
    'HD-2025-' || lpad(i::text, greatest(6, length(i::text)), '0'),
    subjects[s] || ' ' || issues[p] || ' on floor ' || (i % 12),
    'Reported from room ' || (100 + i % 400) || ' at the ' || sites[1 + i % 6] || ' office. The ' || lower(subjects[s2]) || ' '
        || symptoms[1 + floor(r_symptom * 10)::int] || ' since ' || days[1 + i % 7] || '. We already tried '
        || remedies[1 + floor(r_remedy * 10)::int] || ' but the problem remains. ' || impacts[1 + i % 6],
    priority, status,
    CASE WHEN r_requestor < 0.05 THEN :'requestor'::uuid ELSE md5('employee-' || floor(r_requestor * 20000))::uuid END,
    department,
    CASE WHEN status IN ('assigned', 'in_progress', 'pending', 'postponed', 'resolved', 'closed') THEN
        CASE WHEN floor(r_agent * 200) = 0 THEN COALESCE(NULLIF(:'agent', '')::uuid, md5('agent-0')::uuid)
             ELSE md5('agent-' || floor(r_agent * 200))::uuid END END,
    CASE WHEN status NOT IN ('submitted', 'withdrawn') THEN
        CASE WHEN department IN (:'it'::uuid, :'hr'::uuid, :'operations'::uuid) THEN :'moderator'::uuid
             ELSE md5('moderator-' || floor(r_agent * 10))::uuid END END,
    CASE status WHEN 'resolved' THEN 100 WHEN 'closed' THEN 100 WHEN 'in_progress' THEN floor(r_agent * 90)::int ELSE 0 END,
    CASE WHEN status IN ('closed', 'in_progress') AND r_breach > 0.97 THEN 1 ELSE 0 END,
    created_at + interval '2 minutes',
    CASE WHEN status NOT IN ('submitted', 'under_review', 'pending_approval', 'rejected', 'withdrawn')
         THEN least(now(), created_at + interval '1 minute' * (5 + floor(r_duration * 600))) END,
    created_at + CASE priority WHEN 'urgent' THEN interval '1 hour' WHEN 'high' THEN interval '4 hours'
                               WHEN 'medium' THEN interval '8 hours' ELSE interval '1 day' END,
    created_at + CASE priority WHEN 'urgent' THEN interval '8 hours' WHEN 'high' THEN interval '1 day'
                               WHEN 'medium' THEN interval '3 days' ELSE interval '10 days' END,
    CASE WHEN status IN ('submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress', 'pending', 'postponed')
         THEN created_at + CASE priority WHEN 'urgent' THEN interval '8 hours' WHEN 'high' THEN interval '1 day'
                                         WHEN 'medium' THEN interval '3 days' ELSE interval '10 days' END < now()
         ELSE r_breach > 0.92 END,
    CASE WHEN status = 'postponed' THEN now() + interval '1 day' * (2 + r_duration * 28) END,
    CASE WHEN status = 'resolved' THEN greatest(created_at, now() - interval '2 days' * r_duration)
         WHEN status = 'closed' THEN least(now(), created_at + interval '1 hour' * (2 + r_duration * 238)) END,
    CASE WHEN status IN ('closed', 'rejected', 'withdrawn') THEN least(now(), created_at + interval '1 hour' * (3 + r_duration * 400)) END,
    created_at,
    CASE WHEN status = 'resolved' THEN greatest(created_at, now() - interval '2 days' * r_duration)
         ELSE least(now(), created_at + interval '1 hour' * (CASE WHEN status IN ('closed', 'rejected', 'withdrawn') THEN 3 + r_duration * 400
                                                                  ELSE r_duration * 48 END)) END,
    CASE status WHEN 'submitted' THEN 2 WHEN 'withdrawn' THEN 2 WHEN 'under_review' THEN 3 WHEN 'pending_approval' THEN 4
                WHEN 'rejected' THEN 4 WHEN 'assigned' THEN 4 WHEN 'in_progress' THEN 6 WHEN 'pending' THEN 7
                WHEN 'postponed' THEN 7 WHEN 'resolved' THEN 8 ELSE 9 END
FROM (
    SELECT g.*,
        CASE WHEN recent THEN
                 CASE WHEN r_status < 0.08 THEN 'submitted' WHEN r_status < 0.13 THEN 'under_review'
                      WHEN r_status < 0.15 THEN 'pending_approval' WHEN r_status < 0.23 THEN 'assigned'
                      WHEN r_status < 0.35 THEN 'in_progress' WHEN r_status < 0.38 THEN 'pending'
                      WHEN r_status < 0.40 THEN 'postponed' WHEN r_status < 0.50 THEN 'resolved'
                      WHEN r_status < 0.94 THEN 'closed' WHEN r_status < 0.97 THEN 'rejected' ELSE 'withdrawn' END
             ELSE
                 CASE WHEN r_status < 0.003 THEN 'assigned' WHEN r_status < 0.008 THEN 'in_progress'
                      WHEN r_status < 0.010 THEN 'pending' WHEN r_status < 0.015 THEN 'postponed'
                      WHEN r_status < 0.930 THEN 'closed'
                      WHEN r_status < 0.970 THEN 'rejected' ELSE 'withdrawn' END
        END AS status,
        CASE WHEN r_dept < 0.40 THEN :'it'::uuid WHEN r_dept < 0.65 THEN :'operations'::uuid WHEN r_dept < 0.80 THEN :'hr'::uuid
             WHEN r_dept < 0.95 THEN :'finance'::uuid ELSE :'executive'::uuid END AS department,
        CASE WHEN r_priority < 0.30 THEN 'low' WHEN r_priority < 0.75 THEN 'medium' WHEN r_priority < 0.93 THEN 'high'
             ELSE 'urgent' END AS priority,
        CASE WHEN r_same < 0.8 THEN s ELSE 1 + floor(r_other * 20)::int END AS s2,
        ARRAY['Printer', 'Laptop', 'VPN', 'Email', 'Payroll', 'Monitor', 'Badge', 'Phone', 'Wireless', 'Password',
              'Invoice', 'Expense claim', 'Contract', 'Desk', 'Chair', 'Keyboard', 'Licence', 'Account', 'Projector', 'Parking'] AS subjects,
        ARRAY['jam', 'offline', 'toner', 'slow', 'broken', 'access', 'error', 'crash', 'missing', 'update',
              'install', 'reset', 'replacement', 'request', 'login', 'sync', 'noise', 'battery', 'screen', 'refund'] AS issues,
        ARRAY['stopped working', 'keeps showing an error', 'is very slow', 'does not respond', 'prints blank pages',
              'cannot connect', 'asks for a password again and again', 'makes a grinding noise', 'shows the wrong figures',
              'lost all its settings'] AS symptoms,
        ARRAY['restarting it', 'replacing the toner', 'a different cable', 'reinstalling the driver', 'clearing the cache',
              'signing out and in', 'a colleague''s machine', 'resetting the password', 'calling the vendor', 'waiting a day'] AS remedies,
        ARRAY['Berlin', 'Lisbon', 'Warsaw', 'Dublin', 'Madrid', 'Vienna'] AS sites,
        ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] AS days,
        ARRAY['Urgent for the month-end close.', 'It blocks the whole team.', 'Only I am affected.',
              'We have a customer meeting tomorrow.', 'Not urgent.', 'It happens every few days.'] AS impacts
    FROM (
        -- Volatile target lists keep this level from being flattened: each random() is drawn once a row.
        SELECT i, md5(i::text) AS h,
            now() - make_interval(secs => 31536000 * (1 - i::float8 / :total) + 3600 * random()) AS created_at,
            i::float8 / :total > 335.0 / 365 AS recent,
            1 + floor(random() * 20)::int AS s, 1 + floor(random() * 20)::int AS p,
            random() AS r_status, random() AS r_dept, random() AS r_priority, random() AS r_requestor, random() AS r_agent,
            random() AS r_breach, random() AS r_duration, random() AS r_symptom, random() AS r_remedy, random() AS r_same,
            random() AS r_other
        FROM generate_series(:first, :first + :rows - 1) AS i
    ) g
) s;
