#!/usr/bin/env bash
# `make bench-gateway`: release builds, a throwaway PostgreSQL cluster (fsync off, autovacuum_naptime 1s,
# as scripts/local-postgres.sh starts it), migrations, then benchmarks/gateway/bench.py (arguments passed on,
# e.g. --jobs 50000 --only throughput). The cluster is destroyed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product llm-gateway
swift build -c release --product provider-stub
export SWITCHBOARD_PG_DIR=/tmp/switchboard-gwbench-$(id -u)-$$
unset DATABASE_URL
trap 'scripts/local-postgres.sh destroy gwbench >/dev/null 2>&1 || true' EXIT
database_line=$(scripts/local-postgres.sh start gwbench)
export "${database_line?}"
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
for file in migrations/*.sql; do
  "$bindir/psql" -X -q -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f "$file" >/dev/null
done
BENCH_POSTMASTER_PID=$(head -n 1 "$SWITCHBOARD_PG_DIR/data/postmaster.pid")
export BENCH_POSTMASTER_PID
python3 benchmarks/gateway/bench.py "$@"
