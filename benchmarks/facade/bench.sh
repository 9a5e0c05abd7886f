#!/usr/bin/env bash
# `make bench-facade`: the /v1 facade's added latency. Release builds of model-registry, llm-gateway
# and provider-stub, a throwaway PostgreSQL cluster, then benchmarks/facade/bench.py (arguments
# passed on, e.g. --calls 5000): one idle worker, provider-stub at 0 ms, sequential calls. 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product model-registry
swift build -c release --product llm-gateway
swift build -c release --product provider-stub
scripts/install-python-test-deps.sh
if [ ! -x .build/py-venv/bin/python ]; then
  echo "bench-facade needs the Python test virtualenv (requests, psycopg); see above" >&2
  exit 1
fi
export SWITCHBOARD_PG_DIR=/tmp/switchboard-facadebench-$(id -u)-$$
unset DATABASE_URL
trap 'scripts/local-postgres.sh destroy facadebench >/dev/null 2>&1 || true' EXIT
database_line=$(scripts/local-postgres.sh start facadebench)
export "${database_line?}"
SWITCHBOARD_BIN_DIR=.build/release .build/py-venv/bin/python benchmarks/facade/bench.py "$@"
