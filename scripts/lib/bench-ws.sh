# scripts/bench ws, sourced by scripts/bench (which provides start_servers, start_service, record,
# sign_in, db and cleanup). The release communication-service (with auth-service for its keys and
# ticket-service for ticket visibility and watchers) holding HDMS_BENCH_SOCKETS (10,000) authenticated
# sockets: HDMS_BENCH_TICKETS_WS (50) tickets of HDMS_BENCH_SOCKETS / tickets watchers each, every
# watcher with one socket (authenticated through the `hdms.v1, bearer.<token>` subprotocols, tokens
# signed by hdms-bench with auth-service's key), then HDMS_BENCH_RATE messages per second (20) for
# HDMS_BENCH_SECONDS (30) posted round-robin over the tickets. Reports the delivery latency from the
# POST to each frame (p50/p90/p99), and the service's RSS before the sockets, with them idle (per
# 1,000 sockets) and at its peak. Sockets and service are separate processes, each with up to 20,000
# descriptors (the hard limit here).

# Exports communication-service's environment as scripts/stack sets it, with the message rate limit
# off (one poster sends every message of the run).
comms_env() {
    service_env communication-service "$comms_port" 12 warning
    export HDMS_MESSAGE_RATE_LIMIT=0
}

ws_cleanup() {
    local status=$?
    hdms_stop_pidfile "$tmp/communication-service.pid" communication-service
    (exit "$status")
    cleanup
}

bench_ws() {
    local started sockets=${HDMS_BENCH_SOCKETS:-10000} tickets=${HDMS_BENCH_TICKETS_WS:-50}
    started=$(now)
    start_servers 5
    comms_port=$(hdms_free_port 1)
    trap ws_cleanup EXIT

    release_binaries auth-service ticket-service communication-service hdms-bench
    record host.load_average_1m "$(cut -d' ' -f1 /proc/loadavg)" "load"

    start_service auth-service auth_env "$http_port"
    seed_demo
    start_service ticket-service ticket_env "$tickets_port"
    # Its own descriptor limit: one per socket, plus the pools.
    (hdms_raise_nofile 20000 && comms_env && exec "$bin/communication-service" serve >"$tmp/communication-service.log" 2>&1 </dev/null) &
    echo $! >"$tmp/communication-service.pid"
    local i
    for ((i = 0; i < 600; i++)); do
        curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$comms_port/health/ready" 2>/dev/null && break
        sleep 0.2
    done
    ((i < 600)) || { tail -n 30 "$tmp/communication-service.log" >&2; hdms_die "communication-service not ready"; }
    record ws.descriptor_limit "$(awk '/^Max open files/ { print $4 }' "/proc/$(<"$tmp/communication-service.pid")/limits")" "files"

    auth=http://127.0.0.1:$http_port
    local token it ticket
    read -r token _ < <(sign_in requestor@hdms.test)
    [[ -n ${token:-} ]] || hdms_die "demo sign-in failed"
    it=$(curl -fsS -H "Authorization: Bearer $token" "$auth/api/v1/departments" \
        | python3 -c 'import json, sys; print(next(d["id"] for d in json.load(sys.stdin)["items"] if d["name"] == "IT"))')
    hdms_log "raising $tickets tickets with $((sockets / tickets)) watchers each"
    for ((i = 0; i < tickets; i++)); do
        ticket=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
            -d "{\"title\":\"Printer queue stuck $i\",\"description\":\"Jobs never leave the queue.\",\"priority\":\"medium\",\"department_id\":\"$it\"}" \
            "http://127.0.0.1:$tickets_port/api/v1/tickets" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
        curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"action":"submit"}' \
            "http://127.0.0.1:$tickets_port/api/v1/tickets/$ticket/transitions" || hdms_die "submitting ticket $i failed"
    done
    # The watchers are synthetic employees: sockets need only valid tokens, and ticket-service lists
    # watchers from its own table.
    db -c "INSERT INTO tickets.watchers (ticket_id, employee_id)
           SELECT t.id, gen_random_uuid() FROM tickets.tickets t, generate_series(1, $((sockets / tickets)))"
    db -At -F ' ' -c "SELECT ticket_id, employee_id FROM tickets.watchers ORDER BY employee_id" >"$tmp/participants.txt"
    record ws.sockets_planned "$(wc -l <"$tmp/participants.txt")" "sockets"

    # A fresh token for the poster (15 minutes).
    read -r token _ < <(sign_in requestor@hdms.test)
    (hdms_raise_nofile 20000 && HDMS_BENCH_COMMS_URL=http://127.0.0.1:$comms_port HDMS_BENCH_COMMS_PID=$(<"$tmp/communication-service.pid") \
        HDMS_BENCH_PARTICIPANTS=$tmp/participants.txt HDMS_BENCH_JWT_KEY=$jwt_key HDMS_BENCH_POSTER_TOKEN=$token \
        "$bin/hdms-bench" ws) || hdms_die "hdms-bench ws failed"
    # Every message also notifies its ticket's watchers (stored by the event consumer, behind the
    # live frames): how many were stored, and how long after the last post the last one was.
    local expected stored waited=0
    expected=$(db -At -c "SELECT count(*) FROM comms.messages m JOIN tickets.watchers w ON w.ticket_id = m.ticket_id")
    stored=$(db -At -c "SELECT count(*) FROM comms.notifications WHERE kind = 'message.posted'")
    while ((stored < expected && waited < 600)); do
        sleep 1
        waited=$((waited + 1))
        stored=$(db -At -c "SELECT count(*) FROM comms.notifications WHERE kind = 'message.posted'")
    done
    record ws.watcher_notifications_expected "$expected" "notifications"
    record ws.watcher_notifications_stored "$stored" "notifications"
    record ws.watcher_notifications_seconds_after_posting "$waited" "s"
    record run.total_seconds "$(seconds_since "$started")" "s"
    printf '\nTargets (reported, never enforced): delivery p99 < 100 ms, < 20 MiB per 1,000 idle sockets; figures appended to %s\n' \
        "$out/$bench.jsonl"
}
