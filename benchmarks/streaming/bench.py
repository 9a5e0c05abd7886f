"""Live streaming's overhead (issue 24): the same streamed chat call straight to provider-stub and
through model-registry /v1 → queue → llm-gateway (streaming call, push) → the registry's SSE, in
the same run with the same client. A part of `make bench`; alone: `make bench-streaming`.

- added time to first token: sequential streams of a short answer (stub without pacing); TTFT is
  the arrival of the first `data:` line carrying content, p50/p99 of each side and their difference;
- added inter-chunk latency: sequential streams of 64 deltas paced at 20 ms by the stub; the gaps
  between consecutive content chunks as the client sees them, p50/p99 each side;
- concurrent streams: N streams of 64 deltas at 20 ms at once through one registry and one worker;
  the largest gap any stream saw, how many gaps exceeded 100 ms, and the CPU the worker and the
  registry spent per 1,000 chunks delivered.

The client is Python (http.client, one thread per concurrent stream), so at high N its own cost
shows in the gaps too: the direct side at the same N is the baseline to read them against.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "BENCH_BIN" in os.environ:
    os.environ.setdefault("SWITCHBOARD_BIN_DIR", os.environ["BENCH_BIN"])

from stack import STUB_KEY, Stack  # noqa: E402
from common import proc_cpu, write_part  # noqa: E402

# "Stub reply to: " + 61 words = 64 content deltas.
LONG = " ".join(f"w{index}" for index in range(61))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


def stream_once(url: str, body: dict, headers: dict) -> tuple[float, list[float]]:
    """One streamed call: (ms to the first content chunk, the arrival times in ms of every content chunk)."""
    address = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    started = time.perf_counter_ns()
    connection.request("POST", "/v1/chat/completions", json.dumps(body).encode(),
                       {"Content-Type": "application/json", **headers})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"{url}: {response.status} {response.read()[:300]!r}")
    arrivals = []
    done = False
    while True:
        line = response.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        payload = line[6:].strip()
        if payload == b"[DONE]":
            done = True
            break
        chunk = json.loads(payload)
        if "error" in chunk:
            raise RuntimeError(f"{url}: error event {chunk}")
        if any((choice.get("delta") or {}).get("content") for choice in chunk.get("choices", [])):
            arrivals.append((time.perf_counter_ns() - started) / 1e6)
    connection.close()
    if not done or not arrivals:
        raise RuntimeError(f"{url}: the stream ended without [DONE] or content")
    return arrivals[0], arrivals


def gaps(arrivals: list[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]


def concurrent(url: str, body: dict, headers: dict, streams: int) -> dict:
    results: list[list[float]] = []
    failures: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(streams)

    def run() -> None:
        gate.wait()
        try:
            _, arrivals = stream_once(url, body, headers)
            with lock:
                results.append(arrivals)
        except Exception as error:  # noqa: BLE001 - counted and reported
            with lock:
                failures.append(str(error)[:200])

    threads = [threading.Thread(target=run) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_gaps = [gap for arrivals in results for gap in gaps(arrivals)]
    return {"streams": streams, "completed": len(results), "failures": len(failures), "failure_sample": failures[:3],
            "chunks": sum(len(arrivals) for arrivals in results), "max_gap_ms": max(all_gaps, default=float("nan")),
            "gaps_over_100ms": sum(1 for gap in all_gaps if gap > 100), "p99_gap_ms": percentile(all_gaps, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ttft-calls", type=int, default=300)
    parser.add_argument("--paced-calls", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=200)
    arguments = parser.parse_args()

    with Stack.start(token="bench-token", gateway_args=["--concurrency", str(max(256, arguments.concurrent + 16))]) as stack:
        for model in ("stub-bench-stream", "stub-bench-stream-pace-20ms"):
            stack.add_model(model, provider="openai")
            stack.create_agent(model.replace("stub-", ""), model, max_tokens=400)

        def bodies(model: str, prompt: str):
            message = [{"role": "user", "content": prompt}]
            direct = ({"model": model, "stream": True, "stream_options": {"include_usage": True}, "messages": message},
                      {"Authorization": f"Bearer {STUB_KEY}"})
            facade = ({"model": "agent:" + model.replace("stub-", ""), "stream": True, "messages": message},
                      {"Authorization": "Bearer bench-token"})
            return direct, facade

        short_direct, short_facade = bodies("stub-bench-stream", "hi there")
        paced_direct, paced_facade = bodies("stub-bench-stream-pace-20ms", LONG)
        for _ in range(30):  # warm-up: connections, caches, the JIT-less paths' first allocations
            stream_once(stack.stub_url, *short_direct)
            stream_once(stack.registry_url, *short_facade)

        ttft = {"direct": [], "facade": []}
        for _ in range(arguments.ttft_calls):  # interleaved: machine load hits both alike
            ttft["direct"].append(stream_once(stack.stub_url, *short_direct)[0])
            ttft["facade"].append(stream_once(stack.registry_url, *short_facade)[0])
        inter = {"direct": [], "facade": []}
        for _ in range(arguments.paced_calls):
            inter["direct"] += gaps(stream_once(stack.stub_url, *paced_direct)[1])
            inter["facade"] += gaps(stream_once(stack.registry_url, *paced_facade)[1])

        direct_concurrent = concurrent(stack.stub_url, *paced_direct, arguments.concurrent)
        worker, registry = stack.services["llm-gateway"].process.pid, stack.services["model-registry"].process.pid
        cpu_before = (proc_cpu(worker), proc_cpu(registry))
        facade_concurrent = concurrent(stack.registry_url, *paced_facade, arguments.concurrent)
        cpu_after = (proc_cpu(worker), proc_cpu(registry))
        chunks = max(1, facade_concurrent["chunks"])
        worker_ms = (cpu_after[0] - cpu_before[0]) * 1000 / chunks * 1000
        registry_ms = (cpu_after[1] - cpu_before[1]) * 1000 / chunks * 1000

    summary = {
        "ttft_ms": {side: {"p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "calls": len(v)} for side, v in ttft.items()},
        "inter_chunk_ms": {side: {"p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "gaps": len(v)} for side, v in inter.items()},
        "concurrent": {"direct": direct_concurrent, "facade": facade_concurrent},
        "cpu_ms_per_1000_chunks": {"worker": worker_ms, "registry": registry_ms},
    }
    added_ttft_p50 = summary["ttft_ms"]["facade"]["p50"] - summary["ttft_ms"]["direct"]["p50"]
    added_ttft_p99 = summary["ttft_ms"]["facade"]["p99"] - summary["ttft_ms"]["direct"]["p99"]
    added_gap_p99 = summary["inter_chunk_ms"]["facade"]["p99"] - summary["inter_chunk_ms"]["direct"]["p99"]
    print(json.dumps(summary, indent=2))
    rows = [{
        "scenario": "live stream: added time to first token vs a direct streaming call to the stub",
        "result": f"p50 +{added_ttft_p50:.2f} ms, p99 +{added_ttft_p99:.2f} ms (targets 2 / 5 ms)",
        "note": f"facade p50 {summary['ttft_ms']['facade']['p50']:.2f} / p99 {summary['ttft_ms']['facade']['p99']:.2f} ms, "
                f"direct {summary['ttft_ms']['direct']['p50']:.2f} / {summary['ttft_ms']['direct']['p99']:.2f} ms; "
                f"{arguments.ttft_calls} sequential calls each, interleaved; includes enqueue, claim and the push's connect",
    }, {
        "scenario": "live stream: inter-chunk gaps at 20 ms per token",
        "result": f"p99 +{added_gap_p99:.2f} ms over direct (target 0.5 ms)",
        "note": f"facade p50 {summary['inter_chunk_ms']['facade']['p50']:.2f} / p99 {summary['inter_chunk_ms']['facade']['p99']:.2f} ms, "
                f"direct {summary['inter_chunk_ms']['direct']['p50']:.2f} / {summary['inter_chunk_ms']['direct']['p99']:.2f} ms; "
                f"{arguments.paced_calls} streams of 64 deltas each side",
    }, {
        "scenario": f"live stream: {arguments.concurrent} concurrent streams of 64 deltas at 20 ms, one worker, one registry",
        "result": f"{facade_concurrent['completed']}/{arguments.concurrent} complete, max gap {facade_concurrent['max_gap_ms']:.1f} ms, "
                  f"{facade_concurrent['gaps_over_100ms']} gaps > 100 ms (direct: max {direct_concurrent['max_gap_ms']:.1f} ms, "
                  f"{direct_concurrent['gaps_over_100ms']} > 100 ms)",
        "note": f"CPU per 1,000 chunks: worker {worker_ms:.1f} ms, registry {registry_ms:.1f} ms; Python client, one thread per stream",
    }]
    write_part(rows, summary)


if __name__ == "__main__":
    main()
