#!/usr/bin/env bash
# `make run`: local Postgres (or DATABASE_URL), migrations and seed data, then the services:
# provider-stub in the background (the offline stand-in for OpenAI/Anthropic) and model-registry
# in the foreground. Ctrl-C stops both; the database keeps running (make stop-db stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
database_line=$(scripts/local-postgres.sh start dev)
export "${database_line?}"
.build/debug/model-registry migrate

registry_port=${PORT:-8080}
stub_port=${PROVIDER_STUB_PORT:-8090}

gateway_metrics_port=${GATEWAY_METRICS_PORT:-9464}

.build/debug/provider-stub --port "$stub_port" >/tmp/switchboard-provider-stub.log 2>&1 &
stub_pid=$!
.build/debug/llm-gateway run --metrics-port "$gateway_metrics_port" >/tmp/switchboard-llm-gateway.log 2>&1 &
gateway_pid=$!
trap 'kill "$stub_pid" "$gateway_pid" 2>/dev/null || true' EXIT INT TERM

echo
echo "Switchboard is running:"
echo "  database        $DATABASE_URL   (psql \"\$DATABASE_URL\"; make stop-db stops it)"
echo "  model-registry  http://127.0.0.1:$registry_port   (/api/models, /openapi.json, /healthz, /readyz, /metrics)"
echo "  provider-stub   http://127.0.0.1:$stub_port   (fake OpenAI + Anthropic; log /tmp/switchboard-provider-stub.log)"
echo "  llm-gateway     http://127.0.0.1:$gateway_metrics_port/metrics   (the worker; log /tmp/switchboard-llm-gateway.log)"
echo "                  point a provider at the stub: UPDATE llm_providers SET base_url = 'http://127.0.0.1:$stub_port' WHERE name = 'openai'"
if [ -z "${SWITCHBOARD_API_TOKEN:-}" ]; then
  echo "  auth            off: listening on 127.0.0.1 only (set SWITCHBOARD_API_TOKEN to require a bearer token on /api)"
fi
echo "Ctrl-C stops the services."
echo
PORT=$registry_port .build/debug/model-registry serve --port "$registry_port"
