#!/usr/bin/env python3
"""Peer comparison, a part of `make bench`: LiteLLM's Router against llm-gateway on the same N calls.

Both run against one provider-stub at 0 ms with the same model (bench-model), fallback (bench-fallback),
retry policy (2 retries of the same model), timeout (60 s) and concurrency (--concurrency calls in
flight: the gateway's --concurrency, LiteLLM's asyncio semaphore). llm-gateway: N jobs bulk-inserted,
one worker, until all succeeded; its CPU = the gateway process + Postgres (every backend) over the run.
LiteLLM: litellm_calls.py in the bench-only venv .build/bench-venv (created here on first use from
requirements.txt), CPU of that process during the calls. What LiteLLM does not do, so it is cheaper
by construction: no durable queue (a crash loses the calls in flight), no job rows, no usage rows or
counters in a database.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gateway"))
from common import ROOT, free_port, row, start_stub, stop_all, write_part  # noqa: E402
import bench as gateway  # noqa: E402

VENV = os.path.join(ROOT, ".build", "bench-venv")


def venv_python():
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(os.path.join(VENV, ".requirements-installed")):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "-r", os.path.join(HERE, "requirements.txt")], check=True)
        open(os.path.join(VENV, ".requirements-installed"), "w").close()
    return python


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    options = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    postmaster = int(os.environ["BENCH_POSTMASTER_PID"])
    python = venv_python()
    port = free_port()
    stub = start_stub(port, 0)
    rows, data = [], {}
    try:
        gateway.setup(url, port)
        g = data["llm_gateway"] = gateway.run_jobs(url, postmaster, 1, options.calls, options.concurrency, 64)
        g["cpu_s_per_1k"] = g["gateway_cpu_s_per_1k"] + g["postgres_cpu_s_per_1k"]
        out = subprocess.run([python, os.path.join(HERE, "litellm_calls.py"), "--base-url", f"http://127.0.0.1:{port}",
                              "--calls", str(options.calls), "--concurrency", str(options.concurrency)],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        peer = data["litellm"] = json.loads(lines[-1])
        peer["calls_per_s"] = peer["calls"] / peer["seconds"]
        peer["cpu_s_per_1k"] = peer["cpu_seconds"] * 1000 / peer["calls"]
        data["stub"] = {"port": port, "pid": stub.pid}
        rows.append(row(f"peer: LiteLLM {peer.get('litellm_version')} Router, {peer['calls']:,} calls",
                        f"{peer['calls_per_s']:,.0f} calls/s; CPU s per 1,000 calls {peer['cpu_s_per_1k']:.3f}",
                        f"{peer['failures']} failed; asyncio, {options.concurrency} in flight; no queue, no usage rows"))
        rows.append(row(f"peer: llm-gateway, the same {g['jobs']:,} calls",
                        f"{g['jobs_per_s']:,.0f} calls/s; CPU s per 1,000 calls {g['cpu_s_per_1k']:.3f} "
                        f"(gateway {g['gateway_cpu_s_per_1k']:.3f} + Postgres {g['postgres_cpu_s_per_1k']:.3f})",
                        f"{g['succeeded']:,} succeeded, {g['usage_rows']:,} usage rows; 1 worker --concurrency "
                        f"{options.concurrency}"))
        data["ratio"] = {"calls_per_s": g["jobs_per_s"] / peer["calls_per_s"],
                         "cpu_per_call": g["cpu_s_per_1k"] / peer["cpu_s_per_1k"]}
        rows.append(row("llm-gateway ÷ LiteLLM",
                        f"calls/s {data['ratio']['calls_per_s']:.1f}×; CPU per call {data['ratio']['cpu_per_call']:.2f}×"))
    finally:
        stop_all()
        write_part(rows, data)


if __name__ == "__main__":
    main()
