#!/bin/sh
# Run once by the postgres image on an empty volume: the application role and its database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv pw HDMS_DB_PASSWORD
CREATE ROLE hdms LOGIN CREATEDB PASSWORD :'pw';
CREATE DATABASE hdms OWNER hdms;
SQL
