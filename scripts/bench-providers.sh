#!/usr/bin/env bash
# `make bench-providers`: CPU per ProviderClient call against provider-stub (release builds), both
# API styles; the stub runs pinned to core 1, the client to core 0; then a perf profile of the client.
# Options through the environment: CALLS (20000), CONCURRENCY (100), PORT (18090), PROFILE (1).
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${CALLS:-20000}
concurrency=${CONCURRENCY:-100}
port=${PORT:-18090}
swift build -c release --product provider-stub
swift build -c release --product bench-providers
bin=$(swift build -c release --show-bin-path)

taskset -c 1 "$bin/provider-stub" --port "$port" >/tmp/bench-providers-stub.log 2>&1 &
stub_pid=$!
trap 'kill "$stub_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "bench-providers: $calls calls per style at concurrency $concurrency (client on core 0, stub on core 1)"
taskset -c 0 "$bin/bench-providers" --base-url "http://127.0.0.1:$port" --calls "$calls" \
  --concurrency "$concurrency" --style both --stub-pid "$stub_pid"

if [ "${PROFILE:-1}" = "1" ] && command -v perf >/dev/null; then
  for style in openai anthropic; do
    data=/tmp/bench-providers-$style.perf
    perf record -q -F 2000 -g -o "$data" -- taskset -c 0 "$bin/bench-providers" \
      --base-url "http://127.0.0.1:$port" --calls "$calls" --concurrency "$concurrency" --style "$style" >/dev/null 2>&1 || true
    echo
    echo "perf profile ($style): share of client CPU by library"
    { perf report -i "$data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -12; } || true
    echo "top symbols ($style)"
    { perf report -i "$data" --no-children --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25; } || true
  done
fi
