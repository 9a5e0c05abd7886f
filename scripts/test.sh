#!/usr/bin/env bash
# `make test`: a throwaway cluster, a build, every test; the cluster is removed even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  trap 'scripts/local-postgres.sh destroy test' EXIT
  database_line=$(scripts/local-postgres.sh start test)
  export "${database_line?}"
fi
echo "tests use $DATABASE_URL"
swift build --build-tests
swift test --skip-build "$@"
