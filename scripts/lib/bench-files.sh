# scripts/bench files, sourced by scripts/bench (which provides start_servers, start_service, record,
# sign_in, db and cleanup). The release file-service, with auth-service for tokens and ticket-service
# for ticket visibility, moving one 1 GiB file (HDMS_BENCH_FILE_BYTES) up and down, then 100
# concurrent 1 MiB uploads (HDMS_BENCH_FILE_CLIENTS); throughput, latency, and file-service's RSS
# before, after and at its peak (VmHWM).

# Exports file-service's environment as scripts/stack sets it, with the store in the private folder
# and a limit that admits the large file.
file_env() {
    service_env file-service "$files_port" 12
    export HDMS_FILES_DIR=$tmp/files HDMS_MAX_UPLOAD_BYTES=$((file_bytes + 1048576))
}

rss_peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# A PDF of BYTES bytes at PATH: the magic the type check wants, then random bytes (nothing on the
# way can compress them).
make_pdf() {
    { printf '%%PDF-1.7\n'; head -c $(($2 - 9)) /dev/urandom; } >"$1"
}

# Stops file-service too, then everything cleanup stops.
files_cleanup() {
    local status=$?
    hdms_stop_pidfile "$tmp/file-service.pid" file-service
    (exit "$status")
    cleanup
}

bench_files() {
    local started file_bytes=${HDMS_BENCH_FILE_BYTES:-1073741824} clients=${HDMS_BENCH_FILE_CLIENTS:-100}
    started=$(now)
    start_servers 5
    files_port=$(hdms_free_port 1)
    trap files_cleanup EXIT

    release_binaries auth-service ticket-service file-service
    record host.load_average_1m "$(cut -d' ' -f1 /proc/loadavg)" "load"

    start_service auth-service auth_env "$http_port"
    seed_demo
    start_service ticket-service ticket_env "$tickets_port"
    start_service file-service file_env "$files_port"
    auth=http://127.0.0.1:$http_port
    local tickets=http://127.0.0.1:$tickets_port files=http://127.0.0.1:$files_port token it ticket pid
    read -r token _ < <(sign_in requestor@hdms.test)
    [[ -n ${token:-} ]] || hdms_die "demo sign-in failed"
    it=$(curl -fsS -H "Authorization: Bearer $token" "$auth/api/v1/departments" \
        | python3 -c 'import json, sys; print(next(d["id"] for d in json.load(sys.stdin)["items"] if d["name"] == "IT"))')
    ticket=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"title\":\"Scanner output is garbled\",\"description\":\"Scans attached.\",\"priority\":\"medium\",\"department_id\":\"$it\"}" \
        "$tickets/api/v1/tickets" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"action":"submit"}' \
        "$tickets/api/v1/tickets/$ticket/transitions" || hdms_die "submitting the ticket failed"
    pid=$(<"$tmp/file-service.pid")
    local rss_before
    rss_before=$(rss_kb "$pid")
    record file_service.rss_before "$rss_before" "kB"

    # One large file up, then down. `-T` streams the file (`--data-binary` would load it whole);
    # an empty `Expect:` skips the 100-continue round trip.
    local mib big_sha line code seconds
    mib=$(awk -v b="$file_bytes" 'BEGIN { printf "%.0f", b / 1048576 }')
    hdms_log "making a $mib MiB file"
    make_pdf "$tmp/big.pdf" "$file_bytes"
    big_sha=$(sha256sum "$tmp/big.pdf" | cut -d' ' -f1)
    local upload_url="$files/api/v1/files?ticket_id=$ticket&filename=big.pdf"
    line=$(curl -sS -o "$tmp/big.json" -w '%{http_code} %{time_total}' -X POST -T "$tmp/big.pdf" -H 'Expect:' \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/pdf' "$upload_url") || hdms_die "the $mib MiB upload failed"
    read -r code seconds <<<"$line"
    [[ $code == 201 ]] || hdms_die "the $mib MiB upload answered $code: $(head -c 500 "$tmp/big.json")"
    local big_id stored_sha
    read -r big_id stored_sha < <(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["id"], d["sha256"])' "$tmp/big.json")
    [[ $stored_sha == "$big_sha" ]] || hdms_die "the stored SHA-256 $stored_sha is not the file's $big_sha"
    record upload_large.seconds "$seconds" "s"
    record upload_large.throughput "$(awk -v m="$mib" -v s="$seconds" 'BEGIN { printf "%.1f", m / s }')" "MiB/s"
    record file_service.rss_after_upload "$(rss_kb "$pid")" "kB"
    record file_service.rss_peak_after_upload "$(rss_peak_kb "$pid")" "kB"
    rm -f "$tmp/big.pdf"

    local size
    line=$(curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' -H "Authorization: Bearer $token" "$files/api/v1/files/$big_id") \
        || hdms_die "the $mib MiB download failed"
    read -r code seconds size <<<"$line"
    [[ $code == 200 && $size == "$file_bytes" ]] || hdms_die "the download answered $code with $size bytes"
    record download_large.seconds "$seconds" "s"
    record download_large.throughput "$(awk -v m="$mib" -v s="$seconds" 'BEGIN { printf "%.1f", m / s }')" "MiB/s"
    # A second, untimed download checks the bytes that come back (their SHA-256 against the file's).
    local down_sha
    down_sha=$(curl -fsS -H "Authorization: Bearer $token" "$files/api/v1/files/$big_id" | sha256sum | cut -d' ' -f1)
    [[ $down_sha == "$big_sha" ]] || hdms_die "the downloaded SHA-256 $down_sha is not the file's $big_sha"
    record download_large.sha256_matches 1 "bool"
    record file_service.rss_after_download "$(rss_kb "$pid")" "kB"
    record file_service.rss_peak_after_download "$(rss_peak_kb "$pid")" "kB"

    # Many small uploads at once, each its own curl process.
    make_pdf "$tmp/small.pdf" 1048576
    hdms_log "$clients concurrent 1 MiB uploads"
    local wave_start wave_seconds
    wave_start=$(now)
    seq "$clients" | xargs -P "$clients" -I{} curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X POST -T "$tmp/small.pdf" \
        -H 'Expect:' -H "Authorization: Bearer $token" -H 'Content-Type: application/pdf' \
        "$files/api/v1/files?ticket_id=$ticket&filename=small-{}.pdf" >"$tmp/concurrent.txt" || true
    wave_seconds=$(awk -v a="$wave_start" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
    local created
    created=$(awk '$1 == 201' "$tmp/concurrent.txt" | wc -l)
    ((created == clients)) || hdms_die "$((clients - created)) of $clients concurrent uploads failed: $(sort "$tmp/concurrent.txt" | cut -d' ' -f1 | uniq -c | tr '\n' ' ')"
    record concurrent_1mib.clients "$clients" "uploads"
    record concurrent_1mib.wall_seconds "$wave_seconds" "s"
    record concurrent_1mib.throughput "$(awk -v n="$clients" -v s="$wave_seconds" 'BEGIN { printf "%.1f", n / s }')" "MiB/s"
    local p50 p95 worst
    read -r p50 p95 worst < <(cut -d' ' -f2 "$tmp/concurrent.txt" | sort -n | awk '{ v[NR] = $1 } END {
        printf "%.0f %.0f %.0f\n", v[int((NR + 1) * 0.5)] * 1000, v[int((NR * 0.95) + 0.5)] * 1000, v[NR] * 1000 }')
    record concurrent_1mib.latency_p50 "$p50" "ms"
    record concurrent_1mib.latency_p95 "$p95" "ms"
    record concurrent_1mib.latency_max "$worst" "ms"
    local rows rss_after rss_peak
    rows=$(db -At -c "SELECT count(*) FROM files.files WHERE deleted_at IS NULL")
    ((rows == clients + 1)) || hdms_die "expected $((clients + 1)) file rows, found $rows"
    rss_after=$(rss_kb "$pid")
    rss_peak=$(rss_peak_kb "$pid")
    record file_service.rss_after "$rss_after" "kB"
    record file_service.rss_peak "$rss_peak" "kB"
    record run.total_seconds "$(seconds_since "$started")" "s"
    printf '\nfile-service (release): %s MiB up in %s s, down at %s MiB/s; %s concurrent 1 MiB uploads in %s s (p95 %s ms)\n' \
        "$mib" "$(figure_of upload_large.seconds)" "$(figure_of download_large.throughput)" "$clients" "$wave_seconds" "$p95"
    printf 'RSS %s kB before, %s kB after, peak %s kB; figures appended to %s\n' "$rss_before" "$rss_after" "$rss_peak" "$out/$bench.jsonl"
}

# The last recorded value of figure NAME in this run.
figure_of() {
    python3 - "$out/$bench.jsonl" "$HDMS_BENCH_RUN" "$1" <<'PY'
import json, sys
values = [l["value"] for l in map(json.loads, open(sys.argv[1])) if l["run"] == sys.argv[2] and l["name"] == sys.argv[3]]
print(values[-1] if values else "?")
PY
}
