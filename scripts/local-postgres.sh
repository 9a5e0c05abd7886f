#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for development and tests.
#
#   scripts/local-postgres.sh start NAME    start (creating if needed); prints DATABASE_URL=…
#   scripts/local-postgres.sh stop NAME     stop it
#   scripts/local-postgres.sh destroy NAME  stop it and delete its files
#   scripts/local-postgres.sh url NAME      print its DATABASE_URL
#
# When DATABASE_URL is already set, `start` prints it and touches nothing: that database is used.
# As root the server runs as the `postgres` user (it refuses root) with its files under /tmp,
# which that user can reach whatever the checkout's permissions; as a normal user it runs directly.
set -euo pipefail

command=${1:-}
name=${2:-dev}
repo=$(cd "$(dirname "$0")/.." && pwd)
repo_hash=$(printf '%s' "$repo" | md5sum | cut -c1-8)
dir=${SWITCHBOARD_PG_DIR:-/tmp/switchboard-pg-$(id -u)-$repo_hash-$name}
database=switchboard

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] && command -v pg_ctl >/dev/null; then bindir=$(dirname "$(command -v pg_ctl)"); fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql://switchboard@127.0.0.1:$(cat "$dir/port")/$database"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Candidate ports lie below the kernel's ephemeral range, so that no outgoing connection (tests
# open thousands) can be holding the port when the server binds it.
free_port() {
  local low port
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for port in $(seq $((low - 600)) $((low - 1)) | shuf); do
    if ! port_in_use "$port"; then echo "$port"; return; fi
  done
  echo "no free port below $low" >&2
  exit 1
}

start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "DATABASE_URL=$DATABASE_URL"
    return
  fi
  [ -n "$bindir" ] || { echo "PostgreSQL server binaries not found: install the 'postgresql' package (make deps)" >&2; exit 1; }
  if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres "$dir"; else mkdir -p "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U switchboard --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "DATABASE_URL=$(url)"
    return
  fi
  # Another process may take the chosen port between our check and the server's bind: retry.
  local port attempt started=false
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    echo "$port" | as_owner tee "$dir/port" >/dev/null
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c autovacuum_naptime=1s" \
        start >/dev/null; then
      started=true
      break
    fi
  done
  if [ "$started" != true ]; then
    tail -n 20 "$dir/log" >&2
    exit 1
  fi
  if ! "$bindir/psql" -X -q -d "postgresql://switchboard@127.0.0.1:$port/postgres" -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    "$bindir/psql" -X -q -d "postgresql://switchboard@127.0.0.1:$port/postgres" -c "CREATE DATABASE $database" >/dev/null
  fi
  echo "DATABASE_URL=$(url)"
}

stop() {
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "$command" in
  start) start ;;
  stop) stop ;;
  destroy) stop; rm -rf "$dir" ;;
  url) url ;;
  *) echo "usage: $0 start|stop|destroy|url [NAME]" >&2; exit 2 ;;
esac
