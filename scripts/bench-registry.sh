#!/usr/bin/env bash
# `make bench-registry`: GET /api/models (the catalog cache's hot path) against GET /healthz on a
# release build, with wrk over 127.0.0.1 only. Targets: /api/models at least 0.6 × the /healthz
# rate, p99 at most 10 ms. Prints both runs and the verdict; exits 1 when a target is missed.
#   BENCH_SECONDS (default 15)  BENCH_CONNECTIONS (default 32)  BENCH_THREADS (default 2)
#   BENCH_MODELS_PATH (default /api/models: the default page of 100 models, ≈ 90 KB)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-15}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
command -v wrk >/dev/null || EXTRA_APT_PACKAGES=wrk scripts/install-deps.sh
swift build -c release --product model-registry >/dev/null
binary=.build/release/model-registry

trap 'kill "${server_pid:-}" 2>/dev/null || true; wait "${server_pid:-}" 2>/dev/null || true; scripts/local-postgres.sh destroy bench >/dev/null 2>&1 || true' EXIT
database_line=$(scripts/local-postgres.sh start bench)
export "${database_line?}"
"$binary" migrate >/dev/null
"$binary" import-catalog --format litellm ../shared/data/litellm/model_prices_and_context_window.json >/dev/null 2>&1 || true

port=$(( 20000 + RANDOM % 10000 ))
SWITCHBOARD_API_TOKEN=bench-token LOG_LEVEL=warning "$binary" serve --host 127.0.0.1 --port "$port" 2>/tmp/switchboard-bench-registry.log &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
auth="Authorization: Bearer bench-token"
models_path=${BENCH_MODELS_PATH:-/api/models}
total=$(curl -fs -H "$auth" "http://127.0.0.1:$port$models_path" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["count"], "of", d["total"])')
echo "GET $models_path answers $total models (default page)"

run() {  # name path → "req/s p99_ms"
  wrk -t"$threads" -c"$connections" -d3s -H "$auth" "http://127.0.0.1:$port$2" >/dev/null  # warm-up
  local out; out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -H "$auth" "http://127.0.0.1:$port$2")
  echo "$out" | sed "s/^/  [$1] /" >&2
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $p99"
}
to_ms() {  # wrk latency text (e.g. 812.00us, 3.21ms, 1.02s) → milliseconds
  python3 -c 'import sys,re; v=sys.argv[1]; n=float(re.match(r"[0-9.]+",v).group()); print(n/1000 if v.endswith("us") else n*1000 if v.endswith("s") and not v.endswith("ms") else n)' "$1"
}
read -r health_rps health_p99 < <(run healthz /healthz)
read -r models_rps models_p99 < <(run models "$models_path")
health_p99_ms=$(to_ms "$health_p99"); models_p99_ms=$(to_ms "$models_p99")
ratio=$(python3 -c "print(round($models_rps / $health_rps, 3))")
echo "wrk -t$threads -c$connections -d${seconds}s --latency (127.0.0.1, release build)"
echo "  GET /healthz     ${health_rps} req/s  p99 ${health_p99_ms} ms"
echo "  GET $models_path  ${models_rps} req/s  p99 ${models_p99_ms} ms  (ratio ${ratio}; targets ≥ 0.6 and p99 ≤ 10 ms)"
python3 -c "import sys; sys.exit(0 if $ratio >= 0.6 and $models_p99_ms <= 10 else 1)" && echo "PASS" || { echo "MISS"; exit 1; }
