#!/usr/bin/env bash
# `make bench-native`: release build of benchmarks/native, a local HTTP hold server, a throwaway
# PostgreSQL cluster, and libpq from C as the baseline. Prints Markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  scripts/local-postgres.sh stop bench >/dev/null 2>&1 || true
}
trap cleanup EXIT

swift build -c release --product bench-native >&2
cc -O2 -o "$work/pq_baseline" benchmarks/native/pq_baseline.c $(pkg-config --cflags --libs libpq)

unset DATABASE_URL
line=$(scripts/local-postgres.sh start bench)
export "${line?}"

python3 benchmarks/native/hold_server.py >"$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
BENCH_HTTP_PORT=$(head -n 1 "$work/port")
export BENCH_HTTP_PORT

BENCH_PQ_BASELINE_US=$("$work/pq_baseline" "$DATABASE_URL" 20000)
export BENCH_PQ_BASELINE_US

echo "command: make bench-native ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
.build/release/bench-native
echo
echo "Again with the idle transfers held on another curl host bundle (localhost, not 127.0.0.1):"
echo
env -u DATABASE_URL BENCH_HOLD_HOST=localhost BENCH_CURL_LEVELS=10,2000 .build/release/bench-native
