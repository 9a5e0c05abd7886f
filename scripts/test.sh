#!/usr/bin/env bash
# `make test`: a throwaway cluster, a build, every test; the cluster is removed even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
# Dead links and anchors in README.md, CONTRIBUTING.md and docs/ (well under a second): fail before
# anything is started or built. tests/integration/test_doc_links.py shows that it fails on a dead link.
python3 scripts/check-doc-links.py
if [ -z "${DATABASE_URL:-}" ]; then
  trap 'scripts/local-postgres.sh destroy test' EXIT
  database_line=$(scripts/local-postgres.sh start test)
  export "${database_line?}"
fi
echo "tests use $DATABASE_URL"
# The test virtualenv (tests/integration/requirements.txt) before the Swift tests: the OpenAPI
# validity test uses its openapi-spec-validator. Offline it is skipped with a message (not under CI).
scripts/install-python-test-deps.sh
swift build --build-tests
swift test --skip-build "$@"
# With no arguments (the whole suite), the date-sensitive suites run twice more on other days of the
# shared test clock (Tests/TestSupport/TestClock.swift): a test whose expectation is pinned to one
# calendar day, instead of computed from the clock, fails here.
date_sensitive_suites='CatalogTests|RegistryAPITests.CatalogImportTests|RegistryAPITests.LifecycleStatusTests|RegistryAPITests.ModelEndpointTests|RegistryAPITests.ModelConfigHardeningTests|StorageTests.MigratorTests|StorageTests.ImportCatalogCommandTests'
if [ $# -eq 0 ]; then
  for day in 2026-01-01 2028-12-31; do
    echo "date-sensitive suites on $day (SWITCHBOARD_TEST_TODAY)"
    SWITCHBOARD_TEST_TODAY=$day swift test --skip-build --filter "$date_sensitive_suites"
  done
fi
# With no arguments (the whole suite), the Python integration tests follow on the same cluster.
if [ $# -eq 0 ]; then
  SKIP_BUILD=1 scripts/test-integration.sh
fi
