#!/usr/bin/env bash
# Install (if needed) and start a throwaway PostgreSQL on 127.0.0.1:55432 for the test suite.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >/dev/null
    timeout 600 apt-get install -y -qq postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data=$(mktemp -d /tmp/frontdoor-pg.XXXXXX)
chown postgres "$data"
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
run "$bin/initdb -D $data -U postgres -A trust >/dev/null"
run "$bin/pg_ctl -D $data -o '-p 55432 -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off' -l $data/log -w start >/dev/null"
run "$bin/psql -h 127.0.0.1 -p 55432 -U postgres -q -c \"CREATE USER frontdoor PASSWORD 'frontdoor'\" -c 'CREATE DATABASE frontdoor_test OWNER frontdoor'"
