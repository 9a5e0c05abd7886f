#!/usr/bin/env bash
# The Python integration tests (tests/integration: official SDKs, the browser, API fuzzing) against
# real model-registry, llm-gateway and provider-stub processes of this checkout. Arguments go to
# pytest (e.g. `scripts/test-integration.sh -k openai`). Uses DATABASE_URL's server, else its own
# throwaway cluster. scripts/test.sh runs it after the Swift tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  trap 'scripts/local-postgres.sh destroy integration' EXIT
  database_line=$(scripts/local-postgres.sh start integration)
  export "${database_line?}"
fi
scripts/install-python-test-deps.sh
if [ ! -x .build/py-venv/bin/pytest ]; then
  echo "SKIP Python integration tests: no virtualenv (see above)" >&2
  exit 0
fi
[ "${SKIP_BUILD:-}" = 1 ] || swift build
.build/py-venv/bin/pytest -q -p no:cacheprovider tests/integration "$@"
