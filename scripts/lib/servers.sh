# Sourced by scripts/test and scripts/stack: installs and starts PostgreSQL, PgBouncer, Redis and
# nginx as plain processes, each inside the folder it is given, listening on 127.0.0.1 only.

HDMS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HDMS_PACKAGES=(postgresql redis-server nginx libhiredis-dev libssl-dev libpq-dev pkg-config
    curl procps wrk python3 libjs-bootstrap5 libjs-chart.js gcc make patch xz-utils libevent-dev libc-ares-dev)

hdms_log() { printf '%s\n' "$*" >&2; }
hdms_die() { hdms_log "error: $*"; exit 1; }

hdms_apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    hdms_log "installing ${missing[*]}"
    # Debian's maintainer scripts would start system-wide servers (nginx on :80 of every
    # interface, a PostgreSQL cluster on 5432); policy-rc.d stops them from doing so.
    local policy=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    if ((created)); then rm -f "$policy"; fi
}

hdms_install_packages() {
    hdms_apt_install "${HDMS_PACKAGES[@]}"
    hdms_pgbouncer >/dev/null
}

# Prints the PgBouncer to run. The services prepare their hot reads as named statements, which
# PgBouncer tracks in transaction mode from 1.21 on: the system's pgbouncer when it is that recent,
# else 1.24.1 built once from Debian 13's source into HDMS_TOOLS_DIR (default /var/cache/hdms)
# by scripts/lib/pgbouncer-build.sh.
hdms_pgbouncer() {
    local system version tools=${HDMS_TOOLS_DIR:-/var/cache/hdms}
    system=$(PATH=$PATH:/usr/sbin command -v pgbouncer || true)
    if [[ -n $system ]]; then
        version=$("$system" --version 2>/dev/null | sed -n 's/^PgBouncer \([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
        if [[ -n $version ]] && printf '1.21\n%s\n' "$version" | sort -V -C; then
            printf '%s\n' "$system"
            return 0
        fi
    fi
    local built=$tools/pgbouncer-1.24.1-c-ares
    if [[ ! -x $built/bin/pgbouncer ]]; then
        mkdir -p "$tools"
        chmod 755 "$tools"
        # One build at a time when several scripts start together.
        (flock 9 && { [[ -x $built/bin/pgbouncer ]] || "$HDMS_ROOT/scripts/lib/pgbouncer-build.sh" "$built"; }) 9>"$tools/.pgbouncer.lock" \
            || hdms_die "building PgBouncer failed"
    fi
    printf '%s\n' "$built/bin/pgbouncer"
}

# Prints COUNT (default 1) distinct free TCP ports of 127.0.0.1, one a line. They are taken below
# the kernel's ephemeral range (with room for scripts/stack's replica ports, +100 each), so that no
# outgoing connection can take one between this check and the server's bind: with ten services
# connecting while they start, a port from the ephemeral range was taken that way about once in
# forty stack starts.
hdms_free_port() {
    python3 - "${1:-1}" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
chosen, socks = [], []
if low - 1000 > 10000:
    for port in random.sample(range(10000, low - 1000), min(2000, low - 11000)):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
        chosen.append(port)
        if len(chosen) == count:
            break
while len(chosen) < count:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    chosen.append(s.getsockname()[1])
print("\n".join(str(port) for port in chosen))
PY
}

hdms_random_secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

hdms_pg_bin() {
    local dirs=(/usr/lib/postgresql/*/bin)
    [[ -x ${dirs[0]}/postgres ]] || hdms_die "PostgreSQL binaries not found in /usr/lib/postgresql"
    printf '%s\n' "${dirs[@]}" | sort -V | tail -n1
}

# Raises the open-file limit to N, or to the hard limit where raising that is not allowed.
hdms_raise_nofile() {
    local want=$1 hard
    ulimit -n "$want" 2>/dev/null && return 0
    hard=$(ulimit -Hn)
    [[ $hard == unlimited || $hard -ge $want ]] || want=$hard
    ulimit -n "$want"
}

hdms_as() {
    local user=$1
    shift
    (cd / && runuser -u "$user" -- "$@")
}

# Creates DIR (owned by USER) and fails early when USER cannot reach it.
hdms_owned_dir() {
    local dir=$1 user=$2
    mkdir -p "$dir"
    chown "$user:" "$dir"
    chmod 700 "$dir"
    hdms_as "$user" test -w "$dir" || hdms_die "$user cannot reach $dir (a parent folder is closed to it)"
}

# Copies TEMPLATE to OUT with every @KEY@ replaced by VALUE, for each KEY=VALUE given.
hdms_render() {
    local template=$1 out=$2 text pair
    shift 2
    text=$(<"$template")
    for pair in "$@"; do
        text=${text//"@${pair%%=*}@"/"${pair#*=}"}
    done
    [[ ! $text =~ @[A-Z_]+@ ]] || hdms_die "$template: no value for ${BASH_REMATCH[0]}"
    printf '%s\n' "$text" >"$out"
}

# True while PID runs and, when NAME is given, its command line contains NAME (so that a PID file
# left from an earlier boot never names someone else's process). A zombie counts as stopped: it has
# exited and only waits to be reaped, which init on these machines does only every second or so.
hdms_running() {
    local pid=$1 name=${2:-} stat="" cmdline=""
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]] || return 1
    [[ -n $name ]] || return 0
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $cmdline == *"$name"* ]]
}

# True while the process named by the PID file FILE runs (see hdms_running for NAME).
hdms_pid_alive() {
    local file=$1 name=${2:-}
    [[ -s $file ]] && hdms_running "$(head -n1 "$file")" "$name"
}

# DIR gets data/, pg-socket/ and postgres.log. Needs HDMS_DB_PASSWORD; HDMS_PG_FAST=1 turns
# durability off (tests only); HDMS_DB_SUPERUSER=1 makes role hdms a superuser (tests only).
hdms_start_postgres() {
    local dir=$1 port=$2 bin
    : "${HDMS_DB_PASSWORD:?HDMS_DB_PASSWORD must be set}"
    bin=$(hdms_pg_bin)
    hdms_owned_dir "$dir" postgres
    if [[ ! -s $dir/data/PG_VERSION ]]; then
        hdms_as postgres "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log"
        printf '%s\n' "listen_addresses = '127.0.0.1'" "max_connections = 500" \
            "include_if_exists = 'hdms-runtime.conf'" >>"$dir/data/postgresql.conf"
    fi
    if ! hdms_as postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null; then
        {
            echo "port = $port"
            echo "unix_socket_directories = '$dir/pg-socket'"
            if [[ ${HDMS_PG_FAST:-0} == 1 ]]; then
                printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off"
            fi
        } >"$dir/data/hdms-runtime.conf"
        chown postgres: "$dir/data/hdms-runtime.conf"
        install -d -o postgres -g postgres -m 700 "$dir/pg-socket"
        hdms_as postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
            || { tail -n 20 "$dir/postgres.log" >&2; hdms_die "PostgreSQL did not start"; }
    fi
    local super=NOSUPERUSER
    [[ ${HDMS_DB_SUPERUSER:-0} == 1 ]] && super=SUPERUSER
    # \getenv keeps the password off every command line.
    hdms_as postgres "$bin/psql" -h "$dir/pg-socket" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
        -v super="$super" >/dev/null <<'SQL'
\getenv pw HDMS_DB_PASSWORD
SELECT 'CREATE ROLE hdms' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hdms') \gexec
SELECT format('ALTER ROLE hdms WITH LOGIN CREATEDB %s PASSWORD %L', :'super', :'pw') \gexec
SELECT 'CREATE DATABASE hdms OWNER hdms' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'hdms') \gexec
SQL
}

hdms_stop_postgres() {
    local dir=$1 bin
    [[ -s $dir/data/postmaster.pid ]] || return 0
    bin=$(hdms_pg_bin)
    if hdms_as postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null; then
        hdms_as postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
}

# DIR gets pgbouncer.ini, userlist.txt, pgbouncer.pid and pgbouncer.log. Needs HDMS_DB_PASSWORD.
hdms_start_pgbouncer() {
    local dir=$1 port=$2 pg_port=$3 i isready pgbouncer
    : "${HDMS_DB_PASSWORD:?HDMS_DB_PASSWORD must be set}"
    hdms_owned_dir "$dir" postgres
    if hdms_pid_alive "$dir/pgbouncer.pid" pgbouncer; then return 0; fi
    hdms_render "$HDMS_ROOT/pgbouncer/pgbouncer.ini" "$dir/pgbouncer.ini" LISTEN_ADDR=127.0.0.1 \
        LISTEN_PORT="$port" PG_HOST=127.0.0.1 PG_PORT="$pg_port" RUN_DIR="$dir"
    (umask 077 && hdms_render "$HDMS_ROOT/pgbouncer/userlist.txt.template" "$dir/userlist.txt" \
        DB_USER=hdms DB_PASSWORD="${HDMS_DB_PASSWORD//\"/\"\"}")
    chown postgres: "$dir/pgbouncer.ini" "$dir/userlist.txt"
    pgbouncer=$(hdms_pgbouncer)
    (hdms_raise_nofile 8192 && hdms_as postgres "$pgbouncer" -d "$dir/pgbouncer.ini")
    isready=$(hdms_pg_bin)/pg_isready
    for ((i = 0; i < 100; i++)); do
        "$isready" -q -h 127.0.0.1 -p "$port" -U hdms -d hdms && return 0
        sleep 0.1
    done
    tail -n 20 "$dir/pgbouncer.log" >&2
    hdms_die "PgBouncer did not answer on port $port"
}

# DIR gets redis.pid, redis.log and the append-only files.
hdms_start_redis() {
    local dir=$1 port=$2 i
    hdms_owned_dir "$dir" redis
    if hdms_pid_alive "$dir/redis.pid" redis-server; then return 0; fi
    hdms_as redis redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --appendonly yes --appendfsync everysec
    for ((i = 0; i < 100; i++)); do
        [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] && return 0
        sleep 0.1
    done
    tail -n 20 "$dir/redis.log" >&2
    hdms_die "Redis did not answer on port $port"
}

# One "server host:port;" line per instance, for an upstream block.
hdms_upstream_servers() {
    local hostport lines=""
    for hostport in "$@"; do
        lines+="${lines:+$'\n    '}server $hostport;"
    done
    printf '%s' "$lines"
}

# Upstreams come from HDMS_UPSTREAM_{AUTH,TICKETS,COMMS,FILES,FRONTEND}: space-separated host:port
# lists. Renders DIR/hdms.conf and DIR/nginx.conf, then starts nginx, or reloads it if it runs.
hdms_start_nginx() {
    local dir=$1 port=$2 name args=() i
    mkdir -p "$dir/tmp"
    for name in AUTH TICKETS COMMS FILES FRONTEND; do
        local var=HDMS_UPSTREAM_$name
        [[ -n ${!var:-} ]] || hdms_die "$var must list the $name instances (host:port ...)"
        # shellcheck disable=SC2086
        args+=("$name=$(hdms_upstream_servers ${!var})")
    done
    hdms_render "$HDMS_ROOT/compose/nginx/hdms.conf.template" "$dir/hdms.conf" \
        GATEWAY_LISTEN="127.0.0.1:$port" "${args[@]}"
    cat >"$dir/nginx.conf" <<CONF
daemon on;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
worker_processes 2;
events { worker_connections 4096; }
http {
    access_log $dir/nginx-access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    default_type application/octet-stream;
    include $dir/hdms.conf;
}
CONF
    local nginx=(nginx -p "$dir" -e "$dir/nginx-error.log" -c "$dir/nginx.conf")
    "${nginx[@]}" -t -q || hdms_die "nginx rejected $dir/nginx.conf"
    if hdms_pid_alive "$dir/nginx.pid" nginx; then
        kill -HUP "$(<"$dir/nginx.pid")"
        return 0
    fi
    "${nginx[@]}"
    for ((i = 0; i < 50; i++)); do
        hdms_pid_alive "$dir/nginx.pid" && return 0
        sleep 0.1
    done
    hdms_die "nginx did not start (see $dir/nginx-error.log)"
}

# TERM, up to 10 s of grace, then KILL, to the process of the PID file FILE (only if its command
# line contains NAME, when given); removes FILE.
hdms_stop_pidfile() {
    local file=$1 name=${2:-} pid i
    [[ -s $file ]] || { rm -f "$file"; return 0; }
    pid=$(head -n1 "$file")
    if hdms_running "$pid" "$name"; then
        kill -TERM "$pid"
        for ((i = 0; i < 100; i++)); do
            hdms_running "$pid" || break
            sleep 0.1
        done
        if hdms_running "$pid"; then kill -KILL "$pid"; fi
    fi
    rm -f "$file"
}
