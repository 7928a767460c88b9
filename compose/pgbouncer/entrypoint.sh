#!/bin/sh
# Renders pgbouncer/pgbouncer.ini and its user list for the compose network, then runs PgBouncer
# in the foreground (logging to stderr).
set -eu
run=/tmp/pgbouncer
mkdir -p "$run"
sed -e 's|@LISTEN_ADDR@|0.0.0.0|' -e 's|@LISTEN_PORT@|6432|' -e 's|@PG_HOST@|postgres|' \
    -e 's|@PG_PORT@|5432|' -e "s|@RUN_DIR@|$run|g" -e '/^logfile = /d' \
    /hdms/pgbouncer/pgbouncer.ini >"$run/pgbouncer.ini"
umask 077
sed -e 's|@DB_USER@|hdms|' -e "s|@DB_PASSWORD@|$HDMS_DB_PASSWORD|" \
    /hdms/pgbouncer/userlist.txt.template >"$run/userlist.txt"
exec pgbouncer "$run/pgbouncer.ini"
