"""The /v1 facade's overhead: p50/p99 of sequential `POST /v1/chat/completions` calls through
model-registry → queue → one idle llm-gateway → provider-stub (0 ms), against the same request
sent straight to provider-stub. A part of `make bench` (scripts/bench.sh: release builds, throwaway cluster); alone: `make bench-facade`.

Both sides use the same Python client (http.client, one request at a time), so its own cost cancels
out of the difference. The facade closes the connection after each answer (it watches the inbound
side to cancel the job of a client that leaves), so the direct calls are measured both on a kept-alive
connection and with a new connection per call; the added latency is reported against both. The
facade is called with the admin token and with an inference key (a database key, looked up by its
hash at most once a second), interleaved, so what key auth adds shows as a difference in one run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# As a part of `make bench` (benchmarks/run.py), the release executables are named by BENCH_BIN.
if "BENCH_BIN" in os.environ:
    os.environ.setdefault("SWITCHBOARD_BIN_DIR", os.environ["BENCH_BIN"])

from stack import REPOSITORY_ROOT, STUB_KEY, Stack, bin_dir  # noqa: E402
from common import write_part  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(url: str, path: str, body: dict, headers: dict, calls: int, keep_alive: bool) -> list[float]:
    address = urllib.parse.urlsplit(url)
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **headers}
    connection = None
    samples = []
    for _ in range(calls):
        if connection is None:
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        started = time.perf_counter_ns()
        connection.request("POST", path, payload, headers)
        response = connection.getresponse()
        data = response.read()
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status} {data[:500]!r}")
        samples.append(elapsed)
        if not keep_alive or response.getheader("connection", "").lower() == "close" or response.will_close:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()
    return samples


def summary(name: str, samples: list[float]) -> dict:
    return {"name": name, "calls": len(samples), "p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99),
            "mean_ms": statistics.fmean(samples)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    arguments = parser.parse_args()

    with Stack.start(token="bench-token") as stack:
        stack.add_model("stub-bench-facade", provider="openai")
        stack.create_agent("bench-facade", "stub-bench-facade")
        message = [{"role": "user", "content": "hi"}]
        facade = ("/v1/chat/completions", {"model": "agent:bench-facade", "messages": message},
                  {"Authorization": "Bearer bench-token"})
        direct = ("/v1/chat/completions", {"model": "stub-bench-facade", "messages": message},
                  {"Authorization": f"Bearer {STUB_KEY}"})
        key = subprocess.run([str(bin_dir() / "model-registry"), "keys", "create", "--role", "inference"], cwd=REPOSITORY_ROOT,
                             env=stack._environment(), check=True, capture_output=True, text=True).stdout.strip()
        facade_key = (facade[0], facade[1], {"Authorization": f"Bearer {key}"})
        measure(stack.registry_url, *facade, calls=arguments.warmup, keep_alive=True)
        measure(stack.stub_url, *direct, calls=arguments.warmup, keep_alive=True)
        results = []
        # Interleaved in rounds so a burst of machine load hits every variant alike.
        rounds = 4
        samples = {"direct_keepalive": [], "direct_new_connection": [], "facade": [], "facade_with_key": []}
        for _ in range(rounds):
            samples["direct_keepalive"] += measure(stack.stub_url, *direct, calls=arguments.calls // rounds, keep_alive=True)
            samples["direct_new_connection"] += measure(stack.stub_url, *direct, calls=arguments.calls // rounds, keep_alive=False)
            samples["facade"] += measure(stack.registry_url, *facade, calls=arguments.calls // rounds, keep_alive=True)
            samples["facade_with_key"] += measure(stack.registry_url, *facade_key, calls=arguments.calls // rounds, keep_alive=True)
        for name, values in samples.items():
            results.append(summary(name, values))
        jobs = stack.sql("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'")[0][0]
    by_name = {result["name"]: result for result in results}
    print(f"{'variant':<24}{'calls':>8}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for result in results:
        print(f"{result['name']:<24}{result['calls']:>8}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}{result['mean_ms']:>10.2f}")
    added = by_name["facade"]["p50_ms"] - by_name["direct_keepalive"]["p50_ms"]
    added_new = by_name["facade"]["p50_ms"] - by_name["direct_new_connection"]["p50_ms"]
    print(f"added p50: {added:.2f} ms vs a kept-alive direct call, {added_new:.2f} ms vs a new connection per direct call "
          f"(target <= 5 ms); {jobs} jobs succeeded; load average {os.getloadavg()[0]:.1f}")
    key_ratio = by_name["facade_with_key"]["p50_ms"] / by_name["facade"]["p50_ms"]
    print(f"with an API key: p50 {by_name['facade_with_key']['p50_ms']:.2f} ms = {key_ratio:.3f}x the admin token's "
          f"{by_name['facade']['p50_ms']:.2f} ms (target <= 1.05)")
    if os.environ.get("BENCH_OUT"):
        facade, keepalive = by_name["facade"], by_name["direct_keepalive"]
        write_part([{
            "scenario": "/v1 facade vs direct stub call, sequential",
            "result": f"added p50 {added:.2f} ms (target <= 5 ms); facade p50 {facade['p50_ms']:.2f} / p99 {facade['p99_ms']:.2f} ms",
            "note": f"direct kept-alive p50 {keepalive['p50_ms']:.2f} / p99 {keepalive['p99_ms']:.2f} ms; "
                    f"{facade['calls']} calls each",
        }, {
            "scenario": "/v1 facade with an API key vs the admin token, sequential",
            "result": f"p50 {by_name['facade_with_key']['p50_ms']:.2f} ms = {key_ratio:.3f}x the token's (target <= 1.05)",
            "note": f"p99 {by_name['facade_with_key']['p99_ms']:.2f} vs {facade['p99_ms']:.2f} ms; interleaved in {rounds} rounds",
        }], {"variants": results, "added_p50_ms": added, "added_p50_vs_new_connection_ms": added_new,
             "key_auth_p50_ratio": key_ratio})


if __name__ == "__main__":
    main()
