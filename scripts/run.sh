#!/usr/bin/env bash
# `make run`: local Postgres (or DATABASE_URL), migrations and seed data, then what runs where.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "export $(scripts/local-postgres.sh start dev)"
.build/debug/model-registry migrate
echo
echo "Switchboard is ready."
echo "  database:  $DATABASE_URL"
echo "             (psql \"$DATABASE_URL\"; stop it with: make stop-db)"
