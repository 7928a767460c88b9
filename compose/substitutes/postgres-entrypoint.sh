#!/bin/bash
# The part of the official postgres image's entry point that compose/docker-compose.yml uses: on an
# empty data folder, initdb with POSTGRES_PASSWORD and POSTGRES_INITDB_ARGS, run the scripts in
# /docker-entrypoint-initdb.d on a socket-only server, then start the server as user postgres.
set -euo pipefail
export POSTGRES_USER=${POSTGRES_USER:-postgres}
if [[ $(id -u) == 0 ]]; then
    install -d -o postgres -g postgres -m 700 "$PGDATA"
    chown -R postgres:postgres "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [[ ! -s $PGDATA/PG_VERSION ]]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    # shellcheck disable=SC2086
    initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        ${POSTGRES_INITDB_ARGS:-}
    rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start
    for file in /docker-entrypoint-initdb.d/*; do
        case $file in
        *.sh) if [[ -x $file ]]; then "$file"; else . "$file"; fi ;;
        *.sql) psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$file" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec "$@"
