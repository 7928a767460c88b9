#!/bin/sh
# As the official redis image does: without a configuration file, Redis is reached over the
# container network, so protected mode (loopback-only without a password) is switched off.
set -eu
if [ "${1:-}" = redis-server ]; then
    case " $* " in
    *" --protected-mode "*) ;;
    *) set -- "$@" --protected-mode no ;;
    esac
fi
exec "$@"
