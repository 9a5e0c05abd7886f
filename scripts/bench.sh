#!/usr/bin/env bash
# `make bench` (and bench-gateway, bench-registry, bench-sustained): release builds, a throwaway
# PostgreSQL cluster (fsync off, autovacuum_naptime 1 s, as scripts/local-postgres.sh starts it),
# migrations, then benchmarks/run.py with the arguments given (e.g. --parts gateway -- --jobs 50000).
# Everything listens on 127.0.0.1; the cluster is destroyed afterwards. wrk (registry part) is a
# bench-only package: installed here when missing, not by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || EXTRA_APT_PACKAGES=wrk scripts/install-deps.sh
command -v perf >/dev/null || echo "perf not found: the gateway profile will be empty (apt-get install linux-perf)" >&2
for product in llm-gateway provider-stub model-registry; do
  echo "swift build -c release --product $product"
  out=$(swift build -c release --product "$product" 2>&1) || { echo "$out" | tail -n 40 >&2; exit 1; }
done
scripts/install-python-test-deps.sh  # the facade part's client and stack harness
export BENCH_BIN
BENCH_BIN=$(swift build -c release --show-bin-path)
export SWITCHBOARD_PG_DIR=/tmp/switchboard-bench-$(id -u)-$$
export BENCH_LOGS=$SWITCHBOARD_PG_DIR-logs
mkdir -p "$BENCH_LOGS"
unset DATABASE_URL
trap 'scripts/local-postgres.sh destroy bench >/dev/null 2>&1 || true' EXIT
database_line=$(scripts/local-postgres.sh start bench)
export "${database_line?}"
# The project's own migrator (checksums, schema_migrations, no-transaction files), as users migrate.
out=$("$BENCH_BIN/model-registry" migrate 2>&1) || { echo "$out" >&2; exit 1; }
BENCH_POSTMASTER_PID=$(head -n 1 "$SWITCHBOARD_PG_DIR/data/postmaster.pid")
export BENCH_POSTMASTER_PID
echo "logs of the processes: $BENCH_LOGS"
python3 benchmarks/run.py "$@"
