#!/usr/bin/env bash
# `make run`: the whole product on this machine, in one command.
#
#   1. installs the missing system packages (scripts/install-deps.sh; as root, else it says what)
#   2. builds model-registry, llm-gateway and provider-stub (release mode)
#   3. starts a local PostgreSQL cluster `dev` (or uses DATABASE_URL) and migrates it
#   4. demo mode, when none of OPENAI_API_KEY / ANTHROPIC_API_KEY / HF_TOKEN is set: starts
#      provider-stub and points the providers at it; with a key set, real providers are used and a
#      previous demo's redirection is undone (from the audit trail, config_changes)
#   5. starts one llm-gateway and model-registry (127.0.0.1:$PORT), then, in demo mode, creates two
#      demo agents (idempotently) and submits a small demo workflow (scripts/run-demo.py)
#   6. Ctrl-C (SIGINT) or SIGTERM: stops every process it started, then the local cluster
#      (never a DATABASE_URL server); its data is kept for the next run.
#
# Environment (all optional):
#   DATABASE_URL            use this database instead of the local cluster (migrated, never stopped)
#   OPENAI_API_KEY, ANTHROPIC_API_KEY, HF_TOKEN   provider keys; with none set: demo mode
#   SWITCHBOARD_ADMIN_TOKEN the admin credential for /api and /v1 (default: one generated once, kept in
#                           $SWITCHBOARD_RUN_DIR/api-token; SWITCHBOARD_API_TOKEN, deprecated, is read as it)
#   PORT                    model-registry port (default 8080)
#   PROVIDER_STUB_PORT      provider-stub port in demo mode (default 8090)
#   GATEWAY_METRICS_PORT    llm-gateway /metrics, /readyz port (default 9464)
#   GATEWAY_GRACE_PERIOD    seconds in-flight calls may finish after Ctrl-C (default here 10)
#   SWITCHBOARD_DEMO        0: no demo mode even without keys (the providers are left as they are)
#   SWITCHBOARD_BUILD       release (default) or debug
#   SWITCHBOARD_BIN_DIR     run these built executables instead of building (tests)
#   SWITCHBOARD_RUN_DIR     logs and the generated token (default .build/run)
#   SWITCHBOARD_PG_DIR      where the local cluster lives (see scripts/local-postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

registry_port=${PORT:-8080}
stub_port=${PROVIDER_STUB_PORT:-8090}
gateway_metrics_port=${GATEWAY_METRICS_PORT:-9464}
export GATEWAY_GRACE_PERIOD=${GATEWAY_GRACE_PERIOD:-10}
# The last outcomes' write timeout at shutdown (database down); with the grace period it ends before stop_process gives up.
export GATEWAY_SHUTDOWN_WRITE_SECONDS=${GATEWAY_SHUTDOWN_WRITE_SECONDS:-10}
run_dir=${SWITCHBOARD_RUN_DIR:-.build/run}
build_mode=${SWITCHBOARD_BUILD:-release}
# The provider key variable the demo gives the providers: only provider-stub ever sees its value.
demo_key_env=PROVIDER_STUB_API_KEY

say() { printf '%s\n' "$*"; }
die() { printf 'make run: %s\n' "$*" >&2; exit 1; }

# --- processes we start, and how they stop ------------------------------------------------------
names=() pids=()
local_database=false
stopping=false

# Each process runs in its own session (setsid), so a Ctrl-C reaches only this script, which then
# stops them in order; otherwise they would all start shutting down at once, and bash skips the
# trap when the child it waits for exits normally after a SIGINT.
start_process() { # NAME ARGS... : runs NAME from $bin_dir in the background, output to its log
  local name=$1; shift
  setsid "$bin_dir/$name" "$@" >"$run_dir/$name.log" 2>&1 </dev/null &
  names+=("$name"); pids+=("$!")
}

alive() { kill -0 "$1" 2>/dev/null; }

# Sends SIGTERM to one process and waits up to SECONDS for it, then SIGKILL.
stop_process() { # NAME PID SECONDS
  local name=$1 pid=$2 seconds=$3 waited=0
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && [ "$waited" -lt $((seconds * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  if alive "$pid"; then
    say "  $name did not stop within ${seconds}s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

pid_of() { local i; for i in "${!names[@]}"; do if [ "${names[$i]}" = "$1" ]; then echo "${pids[$i]}"; fi; done; }

# Stops in dependency order: the registry, then the worker (it may still be calling the stub and
# releases its jobs into the database), then the stub, then the database.
cleanup() {
  [ "$stopping" = true ] && return 0
  stopping=true
  set +e  # stop everything, whatever fails on the way
  trap 'say "  (stopping: killing what is left)"; for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done' INT TERM
  if [ ${#pids[@]} -gt 0 ]; then say; say "stopping…"; fi
  local name pid
  for name in model-registry llm-gateway provider-stub; do
    pid=$(pid_of "$name")
    [ -n "$pid" ] || continue
    stop_process "$name" "$pid" $((${GATEWAY_GRACE_PERIOD%.*} + 15))
    say "  $name stopped"
  done
  if [ "$local_database" = true ]; then
    scripts/local-postgres.sh stop dev
    say "  PostgreSQL (local cluster dev) stopped; its data is kept for the next run"
  fi
}

on_signal() { cleanup; exit 0; }
trap on_signal INT TERM
trap cleanup EXIT

# --- 1. packages and build ---------------------------------------------------------------------
scripts/install-deps.sh
mkdir -p "$run_dir"
if [ -n "${SWITCHBOARD_BIN_DIR:-}" ]; then
  bin_dir=$SWITCHBOARD_BIN_DIR
else
  command -v swift >/dev/null \
    || die "the Swift 6 toolchain is not installed (see https://www.swift.org/install/linux/), then run make run again"
  case "$build_mode" in release|debug) ;; *) die "SWITCHBOARD_BUILD must be release or debug, not '$build_mode'" ;; esac
  say "building ($build_mode; the first release build takes several minutes)…"
  swift build -c "$build_mode" --product model-registry
  swift build -c "$build_mode" --product llm-gateway
  swift build -c "$build_mode" --product provider-stub
  bin_dir=$(swift build -c "$build_mode" --show-bin-path)
fi
for executable in model-registry llm-gateway provider-stub; do
  [ -x "$bin_dir/$executable" ] || die "$bin_dir/$executable is missing"
done

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
check_port() { # PORT VARIABLE WHAT
  if port_in_use "$1"; then die "port $1 ($3) is in use: stop what listens there or set $2"; fi
}
check_port "$registry_port" PORT model-registry
check_port "$gateway_metrics_port" GATEWAY_METRICS_PORT "llm-gateway metrics"

# --- 2. database -------------------------------------------------------------------------------
if [ -z "${DATABASE_URL:-}" ]; then
  local_database=true
  database_line=$(scripts/local-postgres.sh start dev)
  export "${database_line?}"
fi
if "$bin_dir/model-registry" migrate >"$run_dir/migrate.log" 2>&1; then
  tail -n 1 "$run_dir/migrate.log"
else
  cat "$run_dir/migrate.log" >&2
  die "model-registry migrate failed"
fi

psql_run() { psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"; }

# --- 3. demo mode or real providers ------------------------------------------------------------
if [ -z "${OPENAI_API_KEY:-}" ] && [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -z "${HF_TOKEN:-}" ] \
    && [ "${SWITCHBOARD_DEMO:-auto}" != 0 ]; then
  demo=true
else
  demo=false
fi

if [ "$demo" = true ]; then
  check_port "$stub_port" PROVIDER_STUB_PORT provider-stub
  say "demo mode: no OPENAI_API_KEY / ANTHROPIC_API_KEY / HF_TOKEN — using the local provider-stub"
  if [ "$local_database" != true ]; then
    say "  (this points the providers of the database at DATABASE_URL to the stub; a later run with a key"
    say "   restores them; SWITCHBOARD_DEMO=0 runs without demo)"
  fi
  export "$demo_key_env=demo-key-for-provider-stub"
  # The demo key may reach the stub's loopback host and nothing else (docs/security.md).
  export SWITCHBOARD_KEY_HOSTS="${SWITCHBOARD_KEY_HOSTS:+$SWITCHBOARD_KEY_HOSTS,}$demo_key_env=127.0.0.1"
  # The audit trigger records the values replaced here; a later run with keys restores them.
  psql_run -v stub_url="http://127.0.0.1:$stub_port" -v key_env="$demo_key_env" <<'SQL'
UPDATE llm_providers
   SET base_url = :'stub_url', api_key_env = :'key_env', updated_at = now()
 WHERE name IN ('openai', 'anthropic', 'huggingface')
   AND (base_url, api_key_env) IS DISTINCT FROM (:'stub_url', :'key_env');
SQL
  start_process provider-stub --port "$stub_port" --host 127.0.0.1 --api-key-env "$demo_key_env"
else
  # A provider an earlier demo run pointed at the stub gets back what it had before, as the audit
  # trail recorded it (the seeded endpoint when that history is gone).
  psql_run -v key_env="$demo_key_env" <<'SQL'
WITH before_demo AS (
    SELECT DISTINCT ON (entity_id) entity_id AS name,
           before ->> 'base_url' AS base_url, before ->> 'api_key_env' AS api_key_env
      FROM config_changes
     WHERE entity = 'provider' AND action = 'update'
       AND after ->> 'api_key_env' = :'key_env'
       AND before ->> 'api_key_env' IS DISTINCT FROM :'key_env'
     ORDER BY entity_id, id DESC
), seeded (name, base_url, api_key_env) AS (
    VALUES ('openai', 'https://api.openai.com', 'OPENAI_API_KEY'),
           ('anthropic', 'https://api.anthropic.com', 'ANTHROPIC_API_KEY'),
           ('huggingface', 'https://router.huggingface.co', 'HF_TOKEN')
)
UPDATE llm_providers p
   SET base_url = COALESCE(b.base_url, s.base_url),
       api_key_env = CASE WHEN b.name IS NOT NULL THEN b.api_key_env ELSE s.api_key_env END,
       updated_at = now()
  FROM (SELECT name FROM llm_providers WHERE api_key_env = :'key_env') demo
  LEFT JOIN before_demo b USING (name)
  LEFT JOIN seeded s USING (name)
 WHERE p.name = demo.name AND (b.name IS NOT NULL OR s.name IS NOT NULL);
SQL
  say "providers: real endpoints; keys set:$([ -n "${OPENAI_API_KEY:-}" ] && printf ' OPENAI_API_KEY')$([ -n "${ANTHROPIC_API_KEY:-}" ] && printf ' ANTHROPIC_API_KEY')$([ -n "${HF_TOKEN:-}" ] && printf ' HF_TOKEN')"
fi

# --- 4. the admin token ------------------------------------------------------------------------
# The bootstrap admin credential; applications get keys of their own (model-registry keys create).
token_shown="(the value of SWITCHBOARD_ADMIN_TOKEN)"  # the operator's own secret is not echoed
token_note="from your environment"
if [ -z "${SWITCHBOARD_ADMIN_TOKEN:-}" ] && [ -n "${SWITCHBOARD_API_TOKEN:-}" ]; then
  SWITCHBOARD_ADMIN_TOKEN=$SWITCHBOARD_API_TOKEN   # the deprecated name, read for one release
fi
unset SWITCHBOARD_API_TOKEN
if [ -z "${SWITCHBOARD_ADMIN_TOKEN:-}" ]; then
  if [ ! -s "$run_dir/api-token" ]; then
    (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$run_dir/api-token")
  fi
  SWITCHBOARD_ADMIN_TOKEN=$(cat "$run_dir/api-token")
  token_shown=$SWITCHBOARD_ADMIN_TOKEN
  token_note="generated, kept in $run_dir/api-token"
fi
export SWITCHBOARD_ADMIN_TOKEN

# --- 5. the services ---------------------------------------------------------------------------
start_process llm-gateway run --metrics-port "$gateway_metrics_port" --metrics-host 127.0.0.1
start_process model-registry serve --port "$registry_port" --host 127.0.0.1

api=http://127.0.0.1:$registry_port
ready_urls=("$api/readyz" "http://127.0.0.1:$gateway_metrics_port/readyz")
[ "$demo" = true ] && ready_urls+=("http://127.0.0.1:$stub_port/healthz")
if ! python3 scripts/run-demo.py wait-ready --seconds 120 --pids "${pids[*]}" "${ready_urls[@]}"; then
  for name in "${names[@]}"; do say "--- $run_dir/$name.log"; tail -n 20 "$run_dir/$name.log" || true; done
  die "the services did not become ready"
fi

say
say "Switchboard is running:"
say "  UI              $api/"
say "  API             $api/api/…   (OpenAPI: $api/openapi.json)"
say "  API token       $token_shown   ($token_note; the admin credential: send Authorization: Bearer <token>)"
say "  keys            $bin_dir/model-registry keys create --tenant default --role inference   (one per application)"
if [ "$local_database" = true ]; then
  say "  database        $DATABASE_URL   (local cluster dev; psql \"$DATABASE_URL\")"
else
  say "  database        from DATABASE_URL (left running on exit)"
fi
say "  llm-gateway     http://127.0.0.1:$gateway_metrics_port/metrics   (one worker)"
[ "$demo" = true ] && say "  provider-stub   http://127.0.0.1:$stub_port   (stands in for OpenAI, Anthropic and Hugging Face)"
say "  logs            $run_dir/{$(IFS=,; echo "${names[*]}")}.log"

if [ "$demo" = true ]; then
  say
  # The token goes by the environment (exported above): not visible in ps, and a token starting
  # with '-' (token_urlsafe may) is not taken for an option.
  python3 scripts/run-demo.py seed --api "$api" \
    || say "the demo workflow did not complete (see the logs above); the services keep running"
fi
say
say "Press Ctrl-C to stop every process started here$([ "$local_database" = true ] && printf ' and the local database')."

# --- 6. until Ctrl-C, or until a service dies ---------------------------------------------------
set +e
wait -n "${pids[@]}"
status=$?
set -e
for i in "${!pids[@]}"; do
  if ! alive "${pids[$i]}"; then
    say "${names[$i]} exited unexpectedly (status $status); last lines of $run_dir/${names[$i]}.log:" >&2
    tail -n 20 "$run_dir/${names[$i]}.log" >&2 || true
  fi
done
cleanup
exit 1
