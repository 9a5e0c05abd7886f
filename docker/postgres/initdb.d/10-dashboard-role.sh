#!/usr/bin/env bash
# Read-only login for dashboards (Grafana, Metabase), run by the postgres image's entrypoint on the
# first start of an empty data directory (/docker-entrypoint-initdb.d), before `migrate` runs.
#
#   GRAFANA_DB_PASSWORD  password of the login role (unset or empty: nothing is created)
#   GRAFANA_DB_USER      its name (default grafana_reader)
#
# The login role is a member of the NOLOGIN group role switchboard_dashboard, which migration 0017
# grants SELECT on the dashboard views (and nothing else). Created here too when absent, so the
# order of initdb and migrate does not matter. statement_timeout is set on the LOGIN role:
# PostgreSQL applies ALTER ROLE … SET only for the role a session logs in as, not for its groups.
# Idempotent: running it again only resets the password and settings.
# Also usable against any server: PGHOST/PGPORT/PGUSER… as for psql, POSTGRES_USER/POSTGRES_DB
# as in the postgres image (defaults: the current libpq defaults).
set -euo pipefail

dashboard_role_setup() {
  local user=${GRAFANA_DB_USER:-grafana_reader}
  local password=${GRAFANA_DB_PASSWORD:-}
  if [ -z "$password" ]; then
    echo "10-dashboard-role: GRAFANA_DB_PASSWORD is not set; no dashboard login role created"
    return 0
  fi
  local args=(-v ON_ERROR_STOP=1 --no-psqlrc -q)
  if [ -n "${POSTGRES_USER:-}" ]; then args+=(--username "$POSTGRES_USER"); fi
  if [ -n "${POSTGRES_DB:-}" ]; then args+=(--dbname "$POSTGRES_DB"); fi
  # Values go in as psql variables (:'name' quotes them as literals, :"name" as identifiers).
  psql "${args[@]}" -v login="$user" -v password="$password" <<'SQL'
SET client_min_messages = warning;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_dashboard') THEN
        CREATE ROLE switchboard_dashboard NOLOGIN;
        ALTER ROLE switchboard_dashboard SET statement_timeout = '10s';
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile (a migration or another run of this script)
END
$$;
SELECT format('CREATE ROLE %I LOGIN', :'login')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'login') \gexec
ALTER ROLE :"login" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'password';
ALTER ROLE :"login" SET statement_timeout = '10s';
ALTER ROLE :"login" SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE :"login" SET default_transaction_read_only = on;
GRANT switchboard_dashboard TO :"login";
SQL
  echo "10-dashboard-role: login role $user (member of switchboard_dashboard, statement_timeout 10s) ready"
}

dashboard_role_setup
