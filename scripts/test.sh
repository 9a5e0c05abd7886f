#!/usr/bin/env bash
# `make test`: a throwaway cluster, a build, every test; the cluster is removed even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  trap 'scripts/local-postgres.sh destroy test' EXIT
  eval "export $(scripts/local-postgres.sh start test)"
fi
echo "tests use $DATABASE_URL"
swift build --build-tests
# Parallel test functions share 2 cores; a worker count keeps timing-sensitive tests honest.
swift test --skip-build "$@"
