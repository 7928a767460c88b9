#!/bin/sh
# Renders the gateway template for the compose network and runs nginx in the foreground.
set -eu
sed -e 's|@GATEWAY_LISTEN@|8000|' \
    -e 's|@AUTH@|server auth-service:8081;|' \
    -e 's|@TICKETS@|server ticket-service:8082;|' \
    -e 's|@COMMS@|server communication-service:8083;|' \
    -e 's|@FILES@|server file-service:8084;|' \
    -e 's|@FRONTEND@|server frontend-service:8080;|' \
    /hdms/nginx/hdms.conf.template >/etc/nginx/conf.d/default.conf
exec nginx -g 'daemon off;'
